"""Endpointing: does the microphone's endpointing (SpeechRecognition's, with our settings) give one piece
per turn of a person who hesitates mid-sentence, speaks softly, or talks over a fan? Each recording is
heard as the microphone hears it (voice/listen.py Recording). Measured for several end-of-utterance
silences and energy thresholds, to choose the defaults in voice/audio.py Endpointing.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import speak, without_padding  # noqa: E402
from tests.test_understand import load_dev_set  # noqa: E402
from voice.audio import SAMPLE_RATE, AudioClip, Endpointing, Microphone, pink_noise  # noqa: E402
from voice.clock import VirtualClock  # noqa: E402
from voice.denoise import load_denoiser  # noqa: E402
from voice.listen import Recording  # noqa: E402

END_SILENCES = (0.3, 0.5, 0.7, 1.0, 1.5)
ENERGY_THRESHOLDS = (100.0, 300.0, 1000.0)
# (name, speech gain, background noise RMS on the 16-bit scale, pink noise)
CONDITIONS = [("quiet room", 1.0, 20.0), ("soft voice", 0.12, 20.0), ("fan or TV hum", 1.0, 300.0),
              ("loud fan", 1.0, 1000.0)]


def bench_endpointing(quick: bool):
    from bench import Section

    rng = random.Random(11)
    texts = [text for intent, _, text in load_dev_set() if intent and len(text.split()) >= 4]
    rng.shuffle(texts)
    directory = Path(tempfile.mkdtemp(prefix="backcare-bench-endpointing-"))
    trials = [_trial(texts[3 * i: 3 * i + 3], rng, directory) for i in range(4 if quick else 20)]
    defaults = Endpointing()
    section = Section("Endpointing: recordings cut into exactly one piece per turn",
                      ["end silence (s)", "energy threshold"] + [name for name, _, _ in CONDITIONS])
    for end_silence in END_SILENCES:
        for threshold in ENERGY_THRESHOLDS:
            settings = dataclasses.replace(defaults, end_silence=end_silence, energy_threshold=threshold)
            row = [f"{end_silence:g}" + (" (default)" if end_silence == defaults.end_silence else ""),
                   f"{threshold:g}" + (" (default)" if threshold == defaults.energy_threshold else "")]
            for index, (_, gain, noise) in enumerate(CONDITIONS):
                right = sum(_cut_right(trial, gain, noise, seed, settings) for seed, trial in enumerate(trials))
                row.append(f"{right}/{len(trials)}")
            section.rows.append(row)
    section.notes.append(
        f"{len(trials)} recordings of 3 turns each (development-set sentences, espeak-ng), heard through the microphone's "
        f"endpointing (SpeechRecognition's, hearing the audio with the room's noise taken out by RNNoise, after "
        f"{defaults.calibration:g} s of calibration), every turn split in "
        "two by a hesitation of 0.3-0.6 s, turns 1.2-2.5 s apart. Soft voice: speech at 12% of full level "
        "(-18 dB); fan or TV hum: pink noise at RMS 300 (about 20 dB under the speech); loud fan: at RMS 1000 (about 10 "
        "dB under it). Right means each turn is one piece, whole. A longer "
        "end silence survives longer hesitations but the person waits that long for every answer.")
    return section


@dataclasses.dataclass
class Trial:
    turns: list[tuple[float, np.ndarray]]  # start second, samples
    length: int


def _trial(texts: list[str], rng: random.Random, directory: Path) -> Trial:
    turns, t = [], 0.8
    for text in texts:
        words = text.split()
        half = len(words) // 2
        first = speak(" ".join(words[:half]), directory).samples()
        second = speak(" ".join(words[half:]), directory).samples()
        hesitation = np.zeros(int(rng.uniform(0.3, 0.6) * SAMPLE_RATE), dtype=np.int16)
        samples = np.concatenate([without_padding(first), hesitation, without_padding(second)])
        turns.append((t, samples))
        t += len(samples) / SAMPLE_RATE + rng.uniform(1.2, 2.5)
    return Trial(turns, int((t + 1.0) * SAMPLE_RATE))


def _cut_right(trial: Trial, gain: float, noise_rms: float, seed: int, settings: Endpointing) -> bool:
    mix = np.zeros(trial.length, dtype=np.float64)
    spans = []
    for start, samples in trial.turns:
        offset = int(start * SAMPLE_RATE)
        mix[offset: offset + len(samples)] += samples * gain
        spans.append((start, start + len(samples) / SAMPLE_RATE))
    mix += noise_rms * pink_noise(trial.length, np.random.default_rng(seed))
    clip = AudioClip(np.clip(mix, -32768, 32767).astype("<i2").tobytes())
    pieces = _pieces(clip, settings, after=spans[-1][1])
    if len(pieces) != len(spans):
        return False
    return all(lo <= start + 0.1 and hi >= end - 0.1 for (lo, hi), (start, end) in zip(pieces, spans))


def _pieces(clip: AudioClip, settings: Endpointing, after: float) -> list[tuple[float, float]]:
    """(start, end) in seconds of the audio the microphone hands over for each utterance it cuts from the recording,
    but for the room's sound it hands over when the recording ends, `after` the last turn."""
    recording = Recording(clip, VirtualClock())
    microphone = Microphone(settings, source=recording, denoiser=load_denoiser())
    pieces = []
    while not recording.finished:
        chunks = microphone.listen(None)
        if chunks is None:
            break
        handed = [(recording.position, chunk) for chunk in chunks]  # where the recording was when each piece came
        if not handed:
            break
        first_at = handed[0][0]  # the quiet before the speech comes at once, with the piece that started the turn
        start = first_at - sum(len(chunk) for at, chunk in handed if at == first_at)
        if recording.finished and start / (2 * SAMPLE_RATE) > after:
            break  # only the room's sound at its end
        pieces.append((start / (2 * SAMPLE_RATE), handed[-1][0] / (2 * SAMPLE_RATE)))
    return pieces


if __name__ == "__main__":
    import argparse

    from bench import show

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="four recordings instead of twenty")
    show(bench_endpointing(parser.parse_args().quick))
