"""Decoding test audio the way the live loop does, for the benchmark (bench_audio.py) and the tuning script
(tune.py): the same pieces, the same quiet around a turn, the same noise, judged at any rejection threshold."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import with_noise, with_quiet_around as quiet_around  # noqa: E402
from voice.recognize import CHUNK_SECONDS, MIN_SCORE, Evidence  # noqa: E402


def decode(recognizer, clip, paced=False):
    """What rejection weighed (the evidence by intent name: small to keep, and all that judging it again at another
    threshold needs); the seconds from the end of the audio to that, and the seconds the whole decode took.

    Paced, each piece is fed when it would have arrived from the microphone, and the end of the audio is when the
    last piece arrived: the latency a person waits. Unpaced, pieces are fed as fast as they are decoded and the end
    is when the last was fed: with the second decoding process behind, that waits for it to catch up too."""
    start = time.perf_counter()
    recognizer.start()
    last = 0
    for index, chunk in enumerate(clip.chunks(CHUNK_SECONDS)):
        last = time.perf_counter()
        if paced:
            last = start + (index + 1) * CHUNK_SECONDS  # its sound is all there then
            time.sleep(max(0.0, last - time.perf_counter()))
        recognizer.feed(chunk)
    transcript = recognizer.finish()
    end = time.perf_counter()
    return by_intent(transcript.evidence), end - last, end - start


def by_intent(evidence: Evidence) -> Evidence[str]:
    """The evidence with each reading cut down to its intent name: what the accuracy tables compare with the intent
    said, small enough to keep for thousands of clips and to send back from a second process."""
    readings = {name: getattr(evidence, name) for name in ("candidate", "confirmed", "symptom")}
    return replace(evidence, **{name: reading.intent for name, reading in readings.items() if reading is not None})


def outcomes(values, threshold=MIN_SCORE, ask_ngram=True):
    """(right, wrong intent) for each (evidence, intent said), taken as the recognizer would with this threshold
    (ask_ngram=False: with the grammar's score alone, and any warning symptom)."""
    judged = []
    for evidence, said in values:
        taken = (evidence if ask_ngram else replace(evidence, agreed=False, confirmed=None)).taken(threshold)
        judged.append((taken is not None and taken == said, taken is not None and taken != said))
    return judged


def with_quiet_around(clips):
    """(intent, clip) pairs with the quiet around a turn, as the microphone hands it over (tests/audio_fixtures)."""
    return [(intent, quiet_around(clip)) for intent, clip in clips]


def noisy(clips, snr, kind, babble):
    """(intent, clip) pairs with noise mixed in at `snr` dB (none: as they are), each its own stretch of it."""
    if snr is None:
        return clips
    return [(intent, with_noise(clip, snr, kind, seed=index, babble=babble)) for index, (intent, clip) in enumerate(clips)]


def in_a_second_process(work):
    """Start work() in a forked process (PocketSphinx holds the GIL, so a thread would not use the second core);
    returns a function that waits for its (picklable) result."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=lambda: send.send(work()))
    process.start()
    send.close()  # so that a child that died unheard ends the wait with EOFError instead of hanging

    def result():
        try:
            return receive.recv()
        except EOFError:
            raise RuntimeError("the benchmark's second process failed (its traceback is above)") from None
        finally:
            process.join()

    return result
