"""A command in the live loop: how long after the person stops speaking the assistant knows what was said, timed whole
on the real clock. A recording of guide commands is read in real time as the microphone would hand it over
(voice/listen.py Recording), through SpeechRecognition's endpointing, the end silence that closes a turn, the noise
gate, the four decoders and the understanding: what "pause", "how much longer" and "stop" must do within a second
during a guide's timed pause. The audio speed step times the decode alone; this is the sum a person waits for.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_audio import babble_noise  # noqa: E402 (scripts/ is on sys.path when run as a script)
from tests.audio_fixtures import speak, with_noise, without_padding  # noqa: E402
from tests.test_understand import load_dev_set  # noqa: E402
from voice.audio import SAMPLE_RATE, AudioClip, Endpointing, Microphone  # noqa: E402
from voice.clock import RealClock  # noqa: E402
from voice.denoise import load_denoiser  # noqa: E402
from voice.listen import MicrophoneEars, Recording  # noqa: E402
from voice.recognize import Recognizer  # noqa: E402

# What a person says while a guide's step is timed, each with the intent it should get.
COMMANDS = [("how much longer", "time_left"), ("pause", "pause"), ("stop", "stop"), ("resume", "resume"),
            ("next", "next"), ("repeat", "repeat"), ("slower", "slower"), ("faster", "faster"),
            ("previous", "previous"), ("how much longer", "time_left")]
VOICES = ("en-us", "flite:rms")
# (name, noise kind, speech power over noise power in dB: the quiet room's faint noise is 60 dB under the speech)
ROOMS = [("quiet room", "pink", 60), ("fan, 20 dB", "pink", 20), ("fan, 10 dB", "pink", 10),
         ("television babble, 10 dB", "babble", 10)]
GAP_SECONDS = (1.5, 2.5)  # between one command's end and the next one's start


def bench_live(understander, quick: bool):
    from bench import Section, percentile

    directory = Path(tempfile.mkdtemp(prefix="backcare-bench-live-"))
    commands = COMMANDS[:3] if quick else COMMANDS
    babble = babble_noise([row for row in load_dev_set() if row[0] is None], directory)
    section = Section("A command in the live loop: end of speech -> understood, on the real clock",
                      ["room", "p50", "p95", "longest", "commands understood", "turns heard that were no command"])
    everything: list[float] = []
    recognizer = Recognizer(understander)  # loaded before any recording starts, and kept warm for every room
    clock = RealClock()
    for room, kind, snr in ROOMS:
        recording, ends, intents = _recording(commands, kind, snr, babble, directory)
        source = Recording(recording, clock)
        microphone = Microphone(Endpointing(), source=source, denoiser=load_denoiser())
        ears = MicrophoneEars(understander, microphone=microphone, recognizer=recognizer, clock=clock)
        latencies, right, strays, counted = [], 0, 0, 0
        while not source.finished:
            heard = ears.listen(None, idle=False)
            if heard is None:
                break
            now = clock.now() - source.started
            ended = sum(end <= now for end in ends)  # the commands whose speech is over
            if ended == counted:
                strays += not source.finished  # the endpointing cut a turn from noise alone
                continue
            latencies.append(now - ends[ended - 1])
            right += heard.intent == intents[ended - 1]
            counted = ended
        ears.microphone.close()
        everything += latencies
        section.rows.append([room] + _times(latencies, percentile) + [f"{right}/{len(commands)}", str(strays)])
    recognizer.close()
    section.rows.append(["all"] + _times(everything, percentile) + ["", ""])
    section.notes.append(
        f"{len(commands)} guide commands per room, in the voices {', '.join(VOICES)} in turn, "
        f"{GAP_SECONDS[0]:g}-{GAP_SECONDS[1]:g} s apart, after {Endpointing().calibration:g} s of the room alone "
        "(the calibration), read in real time through the microphone's path with the default endpointing "
        f"(end silence {Endpointing().end_silence:g} s): from the end of each command's speech to the moment the "
        "recognizer hands back what it understood. That includes the end silence that closes the turn, so the floor is "
        f"{Endpointing().end_silence:g} s. Noise runs the whole recording; the television is six off-topic sentences spoken "
        "at once. A turn missed or merged with the next counts once, at the end of the last command in it. Aim: under 1 s.")
    return section


def _times(latencies: list[float], percentile) -> list[str]:
    if not latencies:
        return ["", "", ""]
    return [f"{percentile(latencies, q):.2f} s" for q in (50, 95, 100)]


def _recording(commands, kind, snr, babble, directory) -> tuple[AudioClip, list[float], list[str]]:
    """One recording of every command with the room's noise throughout; the second each command's speech ends."""
    rng = random.Random(5)
    pieces = [np.zeros(int((Endpointing().calibration + 1.0) * SAMPLE_RATE), dtype=np.int16)]
    ends, intents, at = [], [], pieces[0].size
    for index, (text, intent) in enumerate(commands):
        speech = without_padding(speak(text, directory, voice=VOICES[index % len(VOICES)]).samples())
        pieces.append(speech)
        at += speech.size
        ends.append(at / SAMPLE_RATE)
        intents.append(intent)
        gap = np.zeros(int(rng.uniform(*GAP_SECONDS) * SAMPLE_RATE), dtype=np.int16)
        pieces.append(gap)
        at += gap.size
    clip = AudioClip(np.concatenate(pieces).astype("<i2").tobytes())
    return with_noise(clip, snr, kind, seed=3, babble=babble), ends, intents


if __name__ == "__main__":
    from bench import show
    from voice.content import load_content
    from voice.understand import Understander

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three commands per room")
    show(bench_live(Understander(load_content()), parser.parse_args().quick))
