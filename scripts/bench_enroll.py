"""Enrollment (`backcare enroll`) measured: each voice reads the enrollment sentences once, in one recording heard
through the same path as the microphone, and the held-out set in the same voice is then decoded without and
with the voice transform learned from it, with the quiet around a turn as the live loop hears it. Also runs alone
(`.venv/bin/python scripts/bench_enroll.py [--quick]`, about 30 minutes on both cores; --quick about 6).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import FLITE_VOICES, VOICES, conversation, speak  # noqa: E402
from tests.test_understand import BLIND_SET, load_dev_set  # noqa: E402
from trials import decode, in_a_second_process, outcomes, with_quiet_around  # noqa: E402
from voice.adapt import ReadingCheck, enrollment_dictionary, learn  # noqa: E402
from voice.audio import Microphone, load_wav  # noqa: E402
from voice.clock import VirtualClock  # noqa: E402
from voice.enroll import MemoryTakes, listener, record  # noqa: E402
from voice.listen import Recording  # noqa: E402
from voice.recognize import Recognizer  # noqa: E402
from voice.speaker import PrintSpeaker  # noqa: E402

GAP_SECONDS = 2.0  # between sentences in the enrollment recording


def enrolled(content, voice: str, directory: Path) -> tuple[Path, int, int]:
    """The voice's transform, learned as `backcare enroll --input-audio` learns it; and how many sentences were
    heard, and followed."""
    turns, start = [], 1.0
    for sentence in content.lines.enroll_sentences:
        clip = speak(sentence, directory, voice=voice)
        turns.append((start, clip))
        start += clip.seconds + GAP_SECONDS
    recording = Recording(load_wav(conversation(turns, directory / f"enroll-{voice.replace(':', '-')}.wav")), VirtualClock())
    microphone = Microphone(source=recording)
    dictionary = enrollment_dictionary(content)
    recordings = record(content, listener(microphone, recording), PrintSpeaker(stream=None), lambda _: None, MemoryTakes(),
                        random.Random(0), ReadingCheck(content, dictionary), attempts=1)
    microphone.close()
    out = directory / f"{voice.replace(':', '-')}.mllr"
    return out, len(recordings), learn(recordings, dictionary, out)


def judge(understander, voice: str, rows, directory: Path, profile: Path | None) -> tuple[int, int, int]:
    """(in-scope right, given a wrong intent, off-topic taken) of the rows in one voice; one recognizer throughout."""
    recognizer = Recognizer(understander, adaptation=profile)
    clips = with_quiet_around([(intent, speak(text, directory, voice=voice)) for intent, text in rows])
    values = [(decode(recognizer, clip)[0], intent) for intent, clip in clips]
    recognizer.close()
    judged = list(zip(outcomes(values), (intent for intent, _ in rows)))
    return (sum(right for (right, _), said in judged if said is not None),
            sum(wrong for (_, wrong), said in judged if said is not None),
            sum(wrong for (_, wrong), said in judged if said is None))


def voices_row(content, understander, voices, rows, directory: Path) -> list[tuple]:
    results = []
    for voice in voices:
        profile, heard, followed = enrolled(content, voice, directory)
        results.append((voice, heard, followed, judge(understander, voice, rows, directory, None),
                        judge(understander, voice, rows, directory, profile)))
    return results


def bench_enroll(content, understander, quick: bool):
    from bench import Section

    every = 6 if quick else 2
    rows = [(intent, text) for intent, _, text in load_dev_set(BLIND_SET)][::every]
    voices = (VOICES[:1] + FLITE_VOICES[1:2]) if quick else VOICES + FLITE_VOICES
    directory = Path(tempfile.mkdtemp(prefix="backcare-bench-enroll-"))
    half = (len(voices) + 1) // 2
    waiting = in_a_second_process(lambda: voices_row(content, understander, voices[half:], rows, directory))
    results = voices_row(content, understander, voices[:half], rows, directory) + waiting()
    in_scope = sum(intent is not None for intent, _ in rows)
    section = Section("Enrollment: the held-out set in one voice, without and with that voice's transform",
                      ["voice", "sentences heard / followed", "right, as shipped", "right, enrolled", "wrong intent",
                       "off-topic taken"])
    totals = {}
    for voice, heard, followed, before, after in results:
        family = "flite" if voice.startswith("flite:") else "espeak-ng"
        total = totals.setdefault(family, [0, 0, 0, 0, 0, 0])
        for index, value in enumerate(before + after):
            total[index] += value
        section.rows.append([voice, f"{heard} / {followed}", _of(before[0], in_scope), _of(after[0], in_scope),
                             f"{before[1]} -> {after[1]}", f"{before[2]} -> {after[2]}"])
    for family, (right, wrong, taken, right_after, wrong_after, taken_after) in totals.items():
        count = in_scope * sum(1 for voice, *_ in results if voice.startswith("flite:") == (family == "flite"))
        section.rows.append([f"all {family}", "", _of(right, count), _of(right_after, count), f"{wrong} -> {wrong_after}",
                             f"{taken} -> {taken_after}"])
    section.notes.append(f"One row in {every} of the held-out set ({in_scope} in-scope, {len(rows) - in_scope} off-topic), "
                         f"clean, with the quiet around a turn; the enrollment recording: the content's "
                         f"{len(content.lines.enroll_sentences)} enrollment sentences in the same voice, "
                         f"{GAP_SECONDS:g} s apart, heard through SpeechRecognition's endpointing.")
    return section


def _of(count: int, total: int) -> str:
    return f"{count}/{total} = {100 * count / total:.0f}%"


if __name__ == "__main__":
    from bench import show
    from voice.content import load_content
    from voice.understand import Understander

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one voice of each family, every 6th row")
    arguments = parser.parse_args()
    loaded = load_content()
    show(bench_enroll(loaded, Understander(loaded), arguments.quick))
