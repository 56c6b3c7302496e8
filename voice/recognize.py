"""Audio -> text, offline, with PocketSphinx restricted to our sentences.

The decoder is built once from a JSGF grammar compiled from the content's templates (voice/grammar.py)
and kept warm. Audio is fed in chunks as it arrives, so at the end of an utterance only the last
chunk remains to decode. Speech that is not one of our sentences comes back rejected (empty text):
either the grammar finds no complete sentence for it, or it matches the templates of things that
are not for us (out_of_scope: media and smart-home commands).
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

# Beams narrower than PocketSphinx's defaults: the grammar is small, and latency matters more.
# dither: pure digital silence (as in files) otherwise gives log(0) features; a fixed seed keeps runs repeatable.
# cmninit: the cepstral mean the live normalisation starts from, measured after a few utterances
# (the default start value garbles the first utterance or two of a session).
DECODER_OPTIONS = {"beam": 1e-30, "wbeam": 1e-20, "pbeam": 1e-30, "maxhmmpf": 3000, "dither": True, "seed": 1,
                   "cmninit": "57.6,5.1,-6.5,18.7,-19.5,3.5,-0.5,-19.4,-0.9,-6.1,8.8,-0.9,-4.1"}
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

    def __init__(self, content: Content, directory: Path | None = None, wake: str | None = None):
        from pocketsphinx import Decoder

        self.content = content
        grammar, dictionary = build_files(content, directory, wake)
        try:
            self.decoder = Decoder(jsgf=str(grammar), dict=str(dictionary), logfn=os.devnull, **DECODER_OPTIONS)
        except RuntimeError as err:
            raise RecognizerError(f"the speech recognizer could not start ({err})") from None
        self.grammar_search = self.decoder.current_search()

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
        return Transcript("" if not raw or self._not_ours(raw) else raw, raw)

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
