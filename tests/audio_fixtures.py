"""Test audio made at test time: espeak-ng and flite voices writing WAV, numpy for silence and noise."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

from voice.audio import SAMPLE_RATE, AudioClip, Endpointing, handed_over, load_wav, pink_noise, with_noise_under

VOICES = ("en-us+m3", "en-us", "en+f3")
# flite's voices, named "flite:<voice>": slt, rms and awb are built from recordings of real speakers (CMU ARCTIC),
# kal16 from diphones. They sound far more like a person than espeak-ng's formant voices do.
FLITE_VOICES = ("flite:slt", "flite:rms", "flite:awb", "flite:kal16")


def speak(text: str, directory: Path, voice: str = "en-us+m3", speed: int = 150) -> AudioClip:
    """One utterance in an espeak-ng voice (or a flite one, see FLITE_VOICES), as the recognizer receives it
    (16 kHz mono). `speed` is in words per minute; for flite, 150 is its own pace."""
    path = directory / f"tts-{abs(hash((text, voice, speed)))}.wav"
    if not path.exists():
        if voice.startswith("flite:"):
            command = ["flite", "-voice", voice.removeprefix("flite:"), "--setf", f"duration_stretch={150 / speed:.3f}",
                       "-t", text, "-o", str(path)]
        else:
            command = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text]
        subprocess.run(command, check=True)
    return load_wav(path)


def without_padding(samples: np.ndarray) -> np.ndarray:
    """espeak-ng and flite pad their output with silence: where a turn's hesitation or its end is, is where its sound
    stops."""
    loud = np.flatnonzero(np.abs(samples) > 200)
    return samples[loud[0]: loud[-1] + 1] if len(loud) else samples


def with_quiet_around(clip: AudioClip) -> AudioClip:
    """The clip as the microphone hands a turn over: the quiet the endpointing hears around it (its lead-in before,
    its end silence after), cut as Microphone.listen cuts it. The synthetic clips start at once; a turn comes with quiet."""
    endpointing = Endpointing()
    before, after = (np.zeros(int(seconds * SAMPLE_RATE), dtype="<i2") for seconds in (endpointing.lead_in, endpointing.end_silence))
    return handed_over(AudioClip(np.concatenate([before, clip.samples(), after]).astype("<i2").tobytes()))


def with_noise(clip: AudioClip, snr_db: float, kind: str = "white", seed: int = 0, babble: np.ndarray | None = None) -> AudioClip:
    """The clip with noise mixed in at `snr_db` (speech power over noise power)."""
    rng = np.random.default_rng(seed)
    length = len(clip.samples())
    if kind == "white":
        noise = rng.standard_normal(length)
    elif kind == "pink":
        noise = pink_noise(length, rng)
    elif kind == "babble":
        noise = np.resize(babble, length).astype(np.float64)
    else:
        raise ValueError(kind)
    return with_noise_under(clip, noise, snr_db)


def conversation(turns: list[tuple[float, AudioClip]], path: Path) -> Path:
    """One WAV with each clip starting at its time in seconds, silence between."""
    end = max(t + clip.seconds for t, clip in turns) + 1.0
    out = np.zeros(int(end * SAMPLE_RATE), dtype=np.int16)
    for t, clip in turns:
        start = int(t * SAMPLE_RATE)
        samples = clip.samples()
        out[start: start + len(samples)] = samples
    write_wav(path, out)
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path
