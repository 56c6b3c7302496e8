"""Enrollment (`backcare enroll`) measured: each voice reads the enrollment sentences once, in one recording heard
through the same path as the microphone, and the held-out set in the same voice is then decoded without and
with the voice transform learned from it, with the quiet around a turn as the live loop hears it, clean and in
noise. Also runs alone (`.venv/bin/python scripts/bench_enroll.py [--quick]`, about an hour on both cores;
--quick about 10).
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
from trials import decode, in_a_second_process, noisy, outcomes, with_quiet_around  # noqa: E402
from voice.adapt import ReadingCheck, enrollment_dictionary, learn  # noqa: E402
from voice.audio import Microphone, load_wav  # noqa: E402
from voice.clock import VirtualClock  # noqa: E402
from voice.denoise import load_denoiser  # noqa: E402
from voice.enroll import MemoryTakes, listener, record  # noqa: E402
from voice.listen import Recording  # noqa: E402
from voice.recognize import Recognizer  # noqa: E402
from voice.speaker import PrintSpeaker  # noqa: E402

GAP_SECONDS = 2.0  # between sentences in the enrollment recording
# Where the held-out set is heard: (name, signal-to-noise ratio in dB or None, noise). Enrollment is always read in quiet.
CONDITIONS = (("clean", None, None), ("10 dB pink", 10, "pink"))


def enrolled(content, voice: str, directory: Path) -> tuple[Path, int, int]:
    """The voice's transform, learned as `backcare enroll --input-audio` learns it; and how many sentences were
    heard, and followed."""
    turns, start = [], 1.0
    for sentence in content.lines.enroll_sentences:
        clip = speak(sentence, directory, voice=voice)
        turns.append((start, clip))
        start += clip.seconds + GAP_SECONDS
    recording = Recording(load_wav(conversation(turns, directory / f"enroll-{voice.replace(':', '-')}.wav")), VirtualClock())
    microphone = Microphone(source=recording, denoiser=load_denoiser())  # as `backcare enroll` hears
    dictionary = enrollment_dictionary(content)
    recordings = record(content, listener(microphone, recording), PrintSpeaker(stream=None), lambda _: None, MemoryTakes(),
                        random.Random(0), ReadingCheck(content, dictionary), attempts=1)
    microphone.close()
    out = directory / f"{voice.replace(':', '-')}.mllr"
    return out, len(recordings), learn(recordings, dictionary, out)


def judge(understander, voice: str, rows, directory: Path, profile: Path | None) -> dict[str, tuple[int, int, int]]:
    """Per condition, (in-scope right, given a wrong intent, off-topic taken) of the rows in one voice; one recognizer
    a condition, as in one room (its running averages settle to the noise)."""
    clips = with_quiet_around([(intent, speak(text, directory, voice=voice)) for intent, text in rows])
    results = {}
    for name, snr, kind in CONDITIONS:
        recognizer = Recognizer(understander, adaptation=profile)
        values = [(decode(recognizer, clip)[0], intent) for intent, clip in noisy(clips, snr, kind, None)]
        recognizer.close()
        judged = list(zip(outcomes(values), (intent for intent, _ in rows)))
        results[name] = (sum(right for (right, _), said in judged if said is not None),
                         sum(wrong for (_, wrong), said in judged if said is not None),
                         sum(wrong for (_, wrong), said in judged if said is None))
    return results


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
                      ["voice", "sentences heard / followed"]
                      + [f"{name}: {what}" for name, *_ in CONDITIONS for what in ("right", "wrong intent", "off-topic taken")])
    totals = {}  # family -> (voice count, condition -> [the six counts, as shipped then enrolled])
    for voice, heard, followed, before, after in results:
        family = "flite" if voice.startswith("flite:") else "espeak-ng"
        count, total = totals.setdefault(family, (0, {name: [0] * 6 for name, *_ in CONDITIONS}))
        totals[family] = (count + 1, total)
        for name, *_ in CONDITIONS:
            total[name] = [sum(pair) for pair in zip(total[name], before[name] + after[name])]
        section.rows.append([voice, f"{heard} / {followed}"]
                            + [cell for name, *_ in CONDITIONS for cell in _cells(before[name] + after[name], in_scope)])
    for family, (count, total) in totals.items():
        section.rows.append([f"all {family}", ""]
                            + [cell for name, *_ in CONDITIONS for cell in _cells(total[name], in_scope * count)])
    section.notes.append(f"One row in {every} of the held-out set ({in_scope} in-scope, {len(rows) - in_scope} off-topic), "
                         f"with the quiet around a turn, clean and with pink noise at 10 dB; each cell: as shipped -> "
                         f"enrolled. The enrollment recording, made in a quiet room: the content's "
                         f"{len(content.lines.enroll_sentences)} enrollment sentences in the same voice, "
                         f"{GAP_SECONDS:g} s apart, heard through SpeechRecognition's endpointing.")
    return section


def _cells(counts, in_scope: int) -> list[str]:
    """Right (as a share of the in-scope rows), wrong intent and off-topic taken, each as shipped -> enrolled."""
    right, wrong, taken, right_after, wrong_after, taken_after = counts
    return [f"{right} -> {right_after} of {in_scope} ({100 * right / in_scope:.0f} -> {100 * right_after / in_scope:.0f}%)",
            f"{wrong} -> {wrong_after}", f"{taken} -> {taken_after}"]


if __name__ == "__main__":
    from bench import show
    from voice.content import load_content
    from voice.understand import Understander

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one voice of each family, every 6th row")
    arguments = parser.parse_args()
    loaded = load_content()
    show(bench_enroll(loaded, Understander(loaded), arguments.quick))
