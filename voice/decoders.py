"""PocketSphinx's decoders: the options they share, and the three that give rejection its second opinions, run in
a process of their own.

Rejection (voice/recognize.py) weighs the grammar's sentence against a phone loop, an n-gram decoder and an
open-vocabulary decoder that hear the same audio. PocketSphinx holds Python's global lock while it decodes, so
in one process the four decoders take turns on one core. The grammar's decoder, about half the work (two thirds
in loud noise), stays in the assistant's process; the other three run in a second process, fed the same pieces
of audio as they arrive, so both cores decode and the end of an utterance waits for the slower half instead of the sum. If that
process cannot start or dies, the three decoders are built here instead and the utterance in progress is fed
to them again: slower, never lost.

This module imports PocketSphinx and the standard library only, so the second process starts quickly.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Beams wider than PocketSphinx's defaults and no second (lattice) pass: on the benchmark's audio the
# narrow beams we had lost the whole sentence on 1 utterance in 7, and the lattice pass was what made
# the end of an utterance slow (p95 435 ms); its result is the same sentence. Measured: templates 98%
# clean (was 93%), end of audio -> text p95 24 ms (was 80 ms), decode time about the same.
# dither: pure digital silence (as in files) otherwise gives log(0) features; a fixed seed keeps runs repeatable.
# cmninit: the cepstral mean the live normalisation starts from, measured after a few utterances
# (the default start value garbles the first utterance or two of a session).
# The acoustic model's own feat.params wins over anything passed for its keys (the front end: nfilt, lowerf, cmn,
# remove_noise...): Decoder(remove_noise=False) still removes noise. So PocketSphinx's spectral noise subtraction is
# always on; it is not ours to tune here.
# compallsen: score every sound of the model at every frame, so the decoders whose scores rejection compares
# (grammar, phone loop, n-gram) all measure against the same per-frame best.
DECODER_OPTIONS = {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "maxhmmpf": 30000, "bestpath": False,
                   "dither": True, "seed": 1,
                   "cmninit": "57.6,5.1,-6.5,18.7,-19.5,3.5,-0.5,-19.4,-0.9,-6.1,8.8,-0.9,-4.1",
                   "compallsen": True}
# The grammar's decoder keeps at most 8000 phone models active a frame (maxhmmpf). In loud noise many more survive
# the beam, and this decoder, the heaviest of the four, ran slower than real time on some clips (5 dB white: alone
# 0.6 of real time, against 0.3 for the other three together; fed as fast as possible, some clips above 1.0), so
# the answer came late. On 48 clips at 5 dB white and 10 dB babble, two runs each: real-time factor p95 0.74-0.87 ->
# 0.63-0.69, max 0.87-0.95 -> 0.76-0.80; on half the tuning audio (scripts/tune --every 2) every cell the same.
# At 4000: p95 0.57-0.68, but 1 right fewer, 2 more wrong and 1 more false accept. In the benchmark after it: real-time
# factor on steady noise 0.83 -> 0.51, end of audio -> intent p95 over five conditions 644 -> 63 ms.
GRAMMAR_OPTIONS = {**DECODER_OPTIONS, "maxhmmpf": 8000}
# The phone loop: any sequence of English sounds, PocketSphinx's own phone model.
PHONE_LOOP_OPTIONS = {**DECODER_OPTIONS, "lw": 2.0, "beam": 1e-20, "pbeam": 1e-20}
# The n-gram decoder: no second (flat-lexicon) pass over the whole utterance at its end: it added about 95 ms to
# every utterance's end (p50 118 ms instead of 23 ms on 16 test utterances) for 3 points more of clean
# paraphrases on the tuning audio.
NGRAM_OPTIONS = {**DECODER_OPTIONS, "fwdflat": False}
# The open-vocabulary decoder (PocketSphinx's own English language model and dictionary): only its words are used,
# never its score, so it need not score every sound at every frame (compallsen), and it keeps at most 3000 phone
# models active a frame (maxhmmpf; PocketSphinx's default is 30000): on the tuning audio (as the endpointing hands
# it over, MIN_SCORE -8) it took 42% less decode time, with 347 of the 608 in-scope clips right and 93 of all 1048
# given a wrong intent or taken though off-topic, against 346 and 94 (at 1500: 345 right).
OPEN_OPTIONS = {**{name: DECODER_OPTIONS[name] for name in ("dither", "seed", "cmninit")},
                "fwdflat": False, "bestpath": False, "maxhmmpf": 3000}


def adapted(options: dict, adaptation: Path | None) -> dict:
    """The options with the person's voice transform applied (voice/adapt.py), when there is one."""
    return {**options, "mllr": str(adaptation)} if adaptation is not None else options


@dataclass(frozen=True)
class Opinions:
    """What the three decoders heard in one utterance, as plain values that cross between processes. Scores are
    path scores in PocketSphinx's integer log units (None: the decoder found no path)."""

    sounds: tuple[tuple[str, int], ...]  # the phone loop's segments: each phone ("SIL", "+NSN+" or a speech sound) and its 10 ms frames
    phone_score: int | None
    loose: str = ""  # what the n-gram decoder heard
    loose_score: int | None = None
    open: str = ""  # what the open-vocabulary decoder heard

    @property
    def speech_frames(self) -> int:
        """10 ms frames the phone loop spent in speech sounds."""
        return sum(frames for phone, frames in self.sounds if is_speech_sound(phone))


def is_speech_sound(phone: str) -> bool:
    return phone != "SIL" and not phone.startswith("+")


def phone_sounds(phone_loop) -> tuple[tuple[str, int], ...]:
    """The phone loop's segments of the utterance it last decoded: each phone and its length in 10 ms frames."""
    return tuple((segment.word, segment.end_frame - segment.start_frame + 1) for segment in phone_loop.seg())


class LocalOpinions:
    """The phone loop, n-gram and open-vocabulary decoders in this process; warm for the whole session. With
    wake=True only the phone loop listens (the wake phrase is measured against it alone)."""

    def __init__(self, ngram: Path, dictionary: Path, adaptation: Path | None = None):
        from pocketsphinx import Decoder, get_model_path

        phones = Path(get_model_path()) / "en-us" / "en-us-phone.lm.bin"
        self.phone_loop = Decoder(allphone=str(phones), logfn=os.devnull, **adapted(PHONE_LOOP_OPTIONS, adaptation))
        self.loose = Decoder(lm=str(ngram), dict=str(dictionary), logfn=os.devnull, **adapted(NGRAM_OPTIONS, adaptation))
        self.open_vocabulary = Decoder(logfn=os.devnull, **adapted(OPEN_OPTIONS, adaptation))
        self.logmath = self.phone_loop.get_logmath()
        self.decoders, self.cmn = [], []

    def start(self, wake: bool = False) -> None:
        self.decoders = [self.phone_loop] + ([] if wake else [self.loose, self.open_vocabulary])
        self.cmn = [decoder.get_cmn() for decoder in self.decoders]
        for decoder in self.decoders:
            decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        for decoder in self.decoders:
            decoder.process_raw(pcm, False, False)

    def end(self) -> None:
        for decoder in self.decoders:
            decoder.end_utt()

    def result(self) -> Opinions:
        free = self.phone_loop.hyp()
        if free is None:
            return Opinions((), None)
        sounds = phone_sounds(self.phone_loop)
        listened = self.loose in self.decoders  # not for the wake phrase
        loose, openly = (self.loose.hyp(), self.open_vocabulary.hyp()) if listened else (None, None)
        return Opinions(sounds, self.logmath.log(free.score),
                        loose.hypstr.strip() if loose is not None else "",
                        self.logmath.log(loose.score) if loose is not None else None,
                        openly.hypstr if openly is not None else "")

    def forget(self) -> None:
        """Undo what the utterance taught the running cepstral mean (it was noise, not speech)."""
        for decoder, cmn in zip(self.decoders, self.cmn):
            decoder.set_cmn(cmn)


def serve() -> None:
    """The second process (`python -c "from voice.decoders import serve; serve()" NGRAM DICTIONARY [TRANSFORM]`): LocalOpinions
    driven by pickled (method, arguments) messages on stdin, answers pickled on stdout, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches every process of the terminal; the assistant's ends this one
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing else may write into the answers
    try:
        opinions = LocalOpinions(*map(Path, sys.argv[1:4]))
    except RuntimeError as err:
        pickle.dump(("error", str(err)), answers)
        answers.flush()
        return
    pickle.dump(("ready", ""), answers)
    answers.flush()
    requests = sys.stdin.buffer
    try:
        while True:
            name, arguments = pickle.load(requests)
            answer = getattr(opinions, name)(*arguments)
            if name == "result":
                pickle.dump(answer, answers)
                answers.flush()
    except (EOFError, OSError):
        pass


class OpinionProcess:
    """LocalOpinions in a second process, with the same methods. The utterance in progress is kept, so that if the
    process dies the decoders are built here and fed it again."""

    def __init__(self, ngram: Path, dictionary: Path, adaptation: Path | None = None):
        self.paths = (ngram, dictionary) + ((adaptation,) if adaptation is not None else ())
        self.wake, self.utterance, self.ended = False, None, False  # the utterance in progress: its pieces so far
        self.local: LocalOpinions | None = None
        self.process: subprocess.Popen | None = None
        package_parent = str(Path(__file__).resolve().parent.parent)  # importable however this process found it
        path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from voice.decoders import serve; serve()", *map(str, self.paths)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path})
        except OSError:
            self._fall_back()

    def wait_until_ready(self) -> None:
        """Raises RuntimeError when the decoders cannot be built (as PocketSphinx would here)."""
        if self.local is not None:
            return
        try:
            status, message = pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self._fall_back()
            return
        if status == "error":
            self.close()
            raise RuntimeError(message)

    def start(self, wake: bool = False) -> None:
        self._call("start", wake)
        self.wake, self.utterance, self.ended = wake, [], False

    def feed(self, pcm: bytes) -> None:
        self._call("feed", pcm)
        self.utterance.append(pcm)

    def end(self) -> None:
        self._call("end")
        self.ended = True

    def result(self) -> Opinions:
        if self.local is None:
            try:
                self._send("result")
                return pickle.load(self.process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._fall_back()
        return self.local.result()

    def forget(self) -> None:
        self._call("forget")

    def close(self) -> None:
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:  # a request it never read
                    pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def _call(self, name: str, *arguments) -> None:
        if self.local is None:
            try:
                self._send(name, *arguments)
                return
            except OSError:
                self._fall_back()
        getattr(self.local, name)(*arguments)

    def _send(self, name: str, *arguments) -> None:
        pickle.dump((name, arguments), self.process.stdin)
        self.process.stdin.flush()

    def _fall_back(self) -> None:
        """From here on, decode in this process, starting with the utterance so far (the call that failed is
        carried out after this)."""
        self.close()
        try:
            self.local = LocalOpinions(*self.paths)
        except RuntimeError:  # the session's copy of the voice profile is gone (the cache was cleared): listen as shipped
            self.local = LocalOpinions(*self.paths[:2])
        if self.utterance is not None:
            self.local.start(self.wake)
            for pcm in self.utterance:
                self.local.feed(pcm)
            if self.ended:
                self.local.end()
