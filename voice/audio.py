"""Audio in: WAV files of any common format, cutting a recording into utterances, and the microphone.

Everything becomes 16 kHz mono 16-bit, the format the recognizer's model expects. A bad file or a
missing microphone raises AudioError with one line for the user.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
WAVE_PCM, WAVE_FLOAT, WAVE_EXTENSIBLE = 1, 3, 0xFFFE  # format tags in a WAV header


class AudioError(Exception):
    """One line for the user: what is wrong with the audio or the device."""


@dataclass(frozen=True)
class AudioClip:
    pcm: bytes  # 16-bit little-endian mono at SAMPLE_RATE
    start: float = 0.0  # seconds into the recording it was cut from

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE

    def samples(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype="<i2")

    def chunks(self, seconds: float) -> Iterator[bytes]:
        """The audio in pieces of `seconds`, as a microphone delivers it."""
        step = int(seconds * SAMPLE_RATE) * 2
        return (self.pcm[offset: offset + step] for offset in range(0, len(self.pcm), step))


@dataclass(frozen=True)
class Endpointing:
    """When an utterance starts and ends. Defaults measured by scripts/bench (scripts/bench_endpointing.py):
    a person lying down speaks softly and hesitates mid-sentence. 0.7 s of quiet kept every hesitating turn
    whole where 0.5 s split most; an energy floor of 100 kept soft speech (-18 dB) where 300 lost 8 in 20.
    Over a fan the floor rises with the measured noise anyway."""

    end_silence: float = 0.7  # seconds of quiet that end an utterance
    energy_threshold: float = 100.0  # RMS on the 16-bit scale below which a frame is quiet
    dynamic_energy: bool = True  # follow the room's noise level
    calibration: float = 0.5  # seconds of room noise measured at start
    min_speech: float = 0.25  # shorter bursts are clicks, not words

    @property
    def lead_in(self) -> float:
        """Seconds of quiet kept before speech starts (decoders need some)."""
        return min(self.end_silence, 0.5)


def load_wav(path: Path | str) -> AudioClip:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as err:
        raise AudioError(f"{path}: not a readable WAV file ({err})") from None
    floating, channels, width, rate, frames = _parse_wav(path, data)
    if width not in ((4, 8) if floating else (1, 2, 3, 4)) or channels < 1 or rate < 4000:
        raise AudioError(f"{path}: unsupported WAV format ({channels} channels, {8 * width}-bit, {rate} Hz)")
    usable = len(frames) - len(frames) % (width * channels)
    if usable == 0:
        raise AudioError(f"{path}: the recording is empty")
    return AudioClip(to_pcm16(frames[:usable], channels, width, rate, floating))


def _parse_wav(path: Path, data: bytes) -> tuple[bool, int, int, int, bytes]:
    """(floating point?, channels, bytes per sample, rate, sample bytes) of a RIFF WAVE file. Python's wave
    module refuses the extensible header (sox, Audacity: 24/32-bit) and floating-point samples."""
    fmt = frames = None
    offset = 12 if data[:4] == b"RIFF" and data[8:12] == b"WAVE" else len(data)
    while offset + 8 <= len(data):
        kind, size = data[offset: offset + 4], struct.unpack("<I", data[offset + 4: offset + 8])[0]
        body = data[offset + 8: offset + 8 + size]  # a header that promises more than there is: keep what is there
        if kind == b"fmt ":
            fmt = body
        elif kind == b"data":
            frames = body
        offset += 8 + size + size % 2
    if fmt is None or frames is None or len(fmt) < 16:
        raise AudioError(f"{path}: not a readable WAV file (no RIFF WAVE format and data)")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == WAVE_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # the real format: first two bytes of the subformat GUID
    if tag not in (WAVE_PCM, WAVE_FLOAT):
        raise AudioError(f"{path}: compressed WAV (format {tag}) is not supported; save it as PCM")
    return tag == WAVE_FLOAT, channels, bits // 8, rate, frames


def to_pcm16(frames: bytes, channels: int, width: int, rate: int, floating: bool = False) -> bytes:
    """Any PCM (8-32 bit integers or 32/64 bit floats, any channels, any rate) as 16 kHz mono 16-bit."""
    if floating:
        data = np.frombuffer(frames, dtype="<f4" if width == 4 else "<f8").astype(np.float32) * 32768
    elif width == 1:
        data = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128) * 256
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        data = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int8).astype(np.int32) << 16)
        data = data.astype(np.float32) / 256
    else:
        data = np.frombuffer(frames, dtype="<i2" if width == 2 else "<i4").astype(np.float32)
        if width == 4:
            data /= 65536
    data = data.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        positions = np.arange(0, len(data) * SAMPLE_RATE / rate) * rate / SAMPLE_RATE
        data = np.interp(positions, np.arange(len(data)), data)
    return np.clip(data, -32768, 32767).astype("<i2").tobytes()


FRAME_SECONDS = 0.03


def split_utterances(clip: AudioClip, settings: Endpointing = Endpointing()) -> list[AudioClip]:
    """Cut a recording with several utterances separated by silence into one clip per utterance, each as
    the microphone would deliver it: from `lead_in` before the speech to the end of the silence that ended it."""
    samples = clip.samples().astype(np.float32)
    frame = int(FRAME_SECONDS * SAMPLE_RATE)
    count = len(samples) // frame
    if count == 0:
        return []
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    threshold = settings.energy_threshold
    if settings.dynamic_energy:
        noise = np.percentile(rms, 10)
        threshold = max(threshold, noise * 3.0)
    loud = rms > threshold
    utterances = []
    gap_frames = int(settings.end_silence / FRAME_SECONDS)
    lead_frames = int(settings.lead_in / FRAME_SECONDS)
    start = None
    quiet = 0
    for i, is_loud in enumerate(np.append(loud, [False] * (gap_frames + 1))):
        if is_loud:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet > gap_frames:
                end = i - quiet + 1
                if (end - start) * FRAME_SECONDS >= settings.min_speech:
                    lo = max(0, start - lead_frames) * frame
                    hi = min(count, i) * frame
                    utterances.append(AudioClip(clip.pcm[lo * 2: hi * 2], clip.start + lo / SAMPLE_RATE))
                start = None
    return utterances


class Microphone:
    """The microphone through SpeechRecognition (PyAudio), with our endpointing settings."""

    def __init__(self, settings: Endpointing = Endpointing(), source=None):
        """`source`: a SpeechRecognition AudioSource to use instead of the default microphone (tests)."""
        try:
            import speech_recognition as sr

            self.sr = sr
            self.source = source or sr.Microphone(sample_rate=SAMPLE_RATE)
            self.recognizer = sr.Recognizer()
            self.recognizer.pause_threshold = settings.end_silence
            self.recognizer.non_speaking_duration = settings.lead_in
            self.recognizer.energy_threshold = settings.energy_threshold
            self.recognizer.dynamic_energy_threshold = settings.dynamic_energy
            self.stream = self.source.__enter__()
            if settings.calibration > 0:
                self.recognizer.adjust_for_ambient_noise(self.stream, duration=settings.calibration)
        except (ImportError, AttributeError) as err:
            raise AudioError(f"no microphone: PyAudio is not installed ({err})") from None
        except Exception as err:  # PyAudio raises OSError or its own errors for a missing device
            raise AudioError(f"no microphone found ({type(err).__name__}: {err})") from None

    def listen(self, timeout: float | None) -> Iterator[bytes] | None:
        """The next utterance in chunks as it is spoken (16 kHz, 16-bit), so that it can be decoded while
        the person talks; None if nobody started speaking within `timeout` seconds."""
        chunks = self.recognizer.listen(self.stream, timeout=timeout, phrase_time_limit=15, stream=True)
        try:
            first = next(chunks)
        except (self.sr.WaitTimeoutError, StopIteration):
            return None
        return (audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=2) for audio in itertools.chain([first], chunks))

    def close(self) -> None:
        self.source.__exit__(None, None, None)
