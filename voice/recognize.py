"""Audio -> text, offline, with PocketSphinx restricted to our sentences.

The decoder is built once from a JSGF grammar compiled from the content's templates (voice/grammar.py)
and kept warm. Audio is fed in chunks as it arrives, so at the end of an utterance only the last
chunk remains to decode. Speech that is not one of our sentences comes back rejected (empty text):
the grammar finds no complete sentence for it, or the sentence it found fits the sound poorly (low
acoustic score per frame of speech), or it matches the templates of things that are not for us
(out_of_scope: media and smart-home commands).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from .audio import AudioClip, AudioError, load_wav
from .content import OUT_OF_SCOPE, Content
from .grammar import compile_jsgf, words_of

# Beams wider than PocketSphinx's defaults and no second (lattice) pass: on the benchmark's audio the
# narrow beams we had lost the whole sentence on 1 utterance in 7, and the lattice pass was what made
# the end of an utterance slow (p95 435 ms); its result is the same sentence. Measured: templates 98%
# clean (was 93%), end of audio -> text p95 24 ms (was 80 ms), decode time about the same.
# dither: pure digital silence (as in files) otherwise gives log(0) features; a fixed seed keeps runs repeatable.
# cmninit: the cepstral mean the live normalisation starts from, measured after a few utterances
# (the default start value garbles the first utterance or two of a session).
DECODER_OPTIONS = {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "maxhmmpf": 30000, "bestpath": False,
                   "dither": True, "seed": 1,
                   "cmninit": "57.6,5.1,-6.5,18.7,-19.5,3.5,-0.5,-19.4,-0.9,-6.1,8.8,-0.9,-4.1"}
# Rejection: the decoded sentence's acoustic score per frame of speech (silence left out, so the
# endpointer's padding does not matter), in PocketSphinx's log units relative to the best-scoring
# sound at each frame; 0 is a perfect fit. Speech that is not one of our sentences is forced onto
# the nearest one and fits it worse. Chosen on the benchmark's development audio: everyday off-topic
# speech scores -55 to -75, short commands of ours -30 to -55, near misses ("my back garden needs
# mowing") overlap ours. docs/benchmark.md shows the trade-off at other values.
MIN_SPEECH_SCORE = -50.0
NOT_SPEECH = {"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]"}
# Audio is fed to the decoder in chunks of this many seconds, as a microphone delivers it.
CHUNK_SECONDS = 0.1
# A faint noise floor (RMS on the 16-bit scale, about -58 dBFS) added before decoding. The acoustic model
# was trained on recordings with room noise; digital silence (files, synthetic speech) is far outside it:
# on 40 template sentences spoken by espeak-ng, 29 were understood without it and 34 with it. Any real
# microphone is noisier than this, so live audio is unchanged in effect.
NOISE_FLOOR_RMS = 40.0


class RecognizerError(Exception):
    """The recognizer cannot be built (for example a template word has no pronunciation)."""


@dataclass(frozen=True)
class Transcript:
    text: str  # empty when rejected
    raw: str  # what the grammar decoded, before rejection
    score: float  # acoustic fit per frame of speech (see MIN_SPEECH_SCORE); -inf when nothing was decoded


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("backcare-voice", appauthor=False))


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def build_files(content: Content, directory: Path | None = None, wake: str | None = None) -> tuple[Path, Path]:
    """The grammar and dictionary for this content (and wake phrase), reused while they are unchanged."""
    from pocketsphinx import get_model_path

    key = content.fingerprint + (hashlib.sha1(wake.lower().encode()).hexdigest()[:8] if wake else "")
    directory = (directory or cache_dir()) / f"grammar-{key}"
    grammar, dictionary = directory / "backcare.jsgf", directory / "backcare.dict"
    if grammar.exists() and dictionary.exists():
        return grammar, dictionary
    directory.mkdir(parents=True, exist_ok=True)
    wake_words = set(words_of(wake)) if wake else set()
    jsgf, words = compile_jsgf(content.intents, extra=[" ".join(words_of(wake))] if wake else [])
    full = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    known = {}
    with open(full, encoding="utf-8") as source:
        for line in source:
            word = line.split(" ", 1)[0]
            base = word.split("(", 1)[0]
            if base in words:
                known.setdefault(word, line.rstrip("\n"))
    have = {w.split("(", 1)[0] for w in known}
    lines = list(known.values())
    for word in sorted(words - have):
        phones = content.pronunciations.get(word)
        if phones is None:
            continue
        lines.append(f"{word} {phones}")
    missing = sorted(words - have - set(content.pronunciations))
    if set(missing) & wake_words:
        raise RecognizerError(f"the wake phrase has words the recognizer cannot say: {', '.join(sorted(set(missing) & wake_words))}")
    if missing:
        raise RecognizerError("these template words need a pronunciation in intents.yaml: " + ", ".join(missing))
    _write_atomic(dictionary, "\n".join(lines) + "\n")
    _write_atomic(grammar, jsgf)
    return grammar, dictionary


class Recognizer:
    """One warm decoder for the whole session."""

    def __init__(self, content: Content, directory: Path | None = None, wake: str | None = None,
                 min_score: float = MIN_SPEECH_SCORE):
        from pocketsphinx import Decoder

        self.content = content
        self.min_score = min_score
        grammar, dictionary = build_files(content, directory, wake)
        try:
            self.decoder = Decoder(jsgf=str(grammar), dict=str(dictionary), logfn=os.devnull, **DECODER_OPTIONS)
        except RuntimeError as err:
            raise RecognizerError(f"the speech recognizer could not start ({err})") from None
        self.grammar_search = self.decoder.current_search()
        self.logmath = self.decoder.get_logmath()

    def start(self) -> None:
        self.noise = np.random.default_rng(0)  # the same floor for the same audio: repeatable results
        self.decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        samples += self.noise.normal(0.0, NOISE_FLOOR_RMS, len(samples)).astype(np.float32)
        self.decoder.process_raw(np.clip(samples, -32768, 32767).astype("<i2").tobytes(), False, False)

    def finish(self) -> Transcript:
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        raw = hyp.hypstr.strip() if hyp is not None else ""
        score = self._speech_score() if raw else float("-inf")
        rejected = not raw or score < self.min_score or self._not_ours(raw)
        return Transcript("" if rejected else raw, raw, score)

    def _speech_score(self) -> float:
        """Mean acoustic score per frame over the decoded words, silences left out."""
        total = frames = 0
        for segment in self.decoder.seg() or []:
            if segment.word in NOT_SPEECH:
                continue
            total += self.logmath.log(segment.ascore)
            frames += segment.end_frame - segment.start_frame + 1
        return total / frames if frames else float("-inf")

    def transcribe(self, clip: AudioClip) -> Transcript:
        self.start()
        step = int(CHUNK_SECONDS * 16000) * 2
        for offset in range(0, len(clip.pcm), step):
            self.feed(clip.pcm[offset: offset + step])
        return self.finish()

    def _not_ours(self, text: str) -> bool:
        """The garbage loop won, or the out_of_scope templates did: either way, not one of our sentences."""
        from hassil import recognize

        result = recognize(text, self.content.intents, language=self.content.intents.language)
        return result is None or result.intent.name == OUT_OF_SCOPE

def understand_audio_files(content: Content, understander, paths: list[str]):
    """`backcare understand --audio`: one JSON-able dict per file, in order; a bad file gets an error field."""
    recognizer = Recognizer(content)
    for path in paths:
        try:
            transcript = recognizer.transcribe(load_wav(path))
        except AudioError as err:
            yield {"file": path, "text": "", "transcript": "", "intent": None, "slots": {}, "confidence": 0.0,
                   "error": str(err)}
            continue
        result = understander.understand(transcript.text).as_json()
        yield {**result, "file": path, "transcript": transcript.text}
