"""Audio in: WAV files of any common format, cutting a recording into utterances, and the microphone.

Everything becomes 16 kHz mono 16-bit, the format the recognizer's model expects. A bad file or a
missing microphone raises AudioError with one line for the user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import stat
import struct
import sys
import threading
import time
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import OneLineError

if TYPE_CHECKING:
    from .denoise import Denoiser

SAMPLE_RATE = 16000
# Samples the microphone hands over at a time (SpeechRecognition's default): 64 ms. The recognizer decodes each
# as it arrives, so what is left to decode when an utterance ends is at most this much.
MICROPHONE_CHUNK = 1024
WAVE_PCM, WAVE_FLOAT, WAVE_EXTENSIBLE = 1, 3, 0xFFFE  # format tags in a WAV header
# The longest utterance the microphone hands over (SpeechRecognition's phrase limit): the decoders' memory grows
# with an utterance's length (2 minutes of noise decoded as one utterance took 4.5 GB).
LONGEST_PHRASE_SECONDS = 15
# The largest WAV read: an hour of 48 kHz stereo 16-bit is 0.7 GB; a device such as /dev/zero never ends.
LARGEST_WAV_BYTES = 1 << 30
# The WAV formats read. Below 8 kHz (telephone rate) is not speech the model can follow; far above 192 kHz is a damaged
# header, whose low-pass filter alone would take hours to run. More channels than this is a damaged header too.
LOWEST_RATE, HIGHEST_RATE = 8000, 192_000
MOST_CHANNELS = 32
# A microphone read normally returns within a chunk (64 ms); one that brings nothing for this long is a device that
# went away without an error (PyAudio can block for ever on it), told as one that stopped working.
MICROPHONE_PATIENCE_SECONDS = 3.0
# A microphone not read for longer than this was not listened to (the assistant was speaking): what it captured
# meanwhile is dropped before the next turn. Between two turns heard in a row (a guide's countdown asks every second)
# it is read again within milliseconds, and nothing is dropped.
UNHEARD_SECONDS = 0.5


class AudioError(OneLineError):
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


# The energy threshold is at least this many times the room noise measured at start, as the endpointing hears it.
# Chosen when it heard the audio as captured: over a fan (pink noise at RMS 300), with 0.7 s end silence, 2 times cut
# 16 of 20 three-turn recordings right, 3 times 20, 5 times 19 (scripts/bench_endpointing.py, one-off sweep). Now it
# hears the audio with the noise taken out (DenoisedReads), and a fan measures next to nothing; what it still counts
# is what RNNoise leaves in, other people talking.
NOISE_MARGIN = 3.0
# With the noise taken out for the endpointing (DenoisedReads), the threshold is at least this share of the room noise as
# captured: RNNoise lets a rare 64 ms of it through, at up to a fifth of its loudness (pink and white noise 10 dB
# under the speech: 3 and 4 of 347 noise-only chunks above 100, none above 200), and one after a command held the end
# of the turn back by another 0.7 s.
DENOISED_NOISE_SHARE = 0.25


@dataclass(frozen=True)
class Endpointing:
    """When an utterance starts and ends, for the microphone and recordings alike (both go through
    SpeechRecognition's endpointing). Defaults measured by scripts/bench (scripts/bench_endpointing.py): a
    person lying down speaks softly and hesitates mid-sentence. 0.7 s of quiet kept every hesitating turn
    whole where 0.5 s split most; an energy floor of 100 kept soft speech (-18 dB) where 300 lost 5 in 20.
    The threshold rises with the room noise measured at start (NOISE_MARGIN, DENOISED_NOISE_SHARE)."""

    end_silence: float = 0.7  # seconds of quiet that end an utterance
    energy_threshold: float = 100.0  # RMS on the 16-bit scale below which a frame is quiet
    calibration: float = 0.5  # seconds of room noise measured at start
    min_speech: float = 0.25  # shorter bursts are clicks, not words

    @property
    def lead_in(self) -> float:
        """Seconds of quiet SpeechRecognition keeps before the chunk that starts a turn (KEPT_QUIET_SECONDS of it are
        handed over)."""
        return min(self.end_silence, 0.5)


# Seconds of quiet handed over to the decoders before the first loud chunk of a turn and after its last. The
# endpointing hears more (its lead-in before, and the end silence that ends a turn), but PocketSphinx's running
# cepstral mean (the average spectrum every sound is heard against) learns from everything it is fed, and turn after
# turn of quiet drew it towards the quiet: 120 development sentences decoded one after another, each with the
# endpointing's quiet around it (0.5 s before, 0.7 s after), were heard worse than without it (espeak-ng's voices: 71
# understood against 78; the grammar's sentence read as the intent said, 96 against 108). Cut to 0.25 s: 75 (103);
# flite's voices 100 -> 104 (clean: 102). Off-topic sentences taken, of 120: 3 -> 4 and 6 -> 6. At 0.1 s and 0.4 s
# espeak-ng's the same within a clip; 0.25 s leaves room for the soft start of a word ("f", "h", "s") that is below
# the threshold. One-off, /tmp scripts.
KEPT_QUIET_SECONDS = 0.25


def trim_quiet(chunks: Iterable[bytes | tuple[bytes, bytes]], threshold: float,
               keep: float = KEPT_QUIET_SECONDS) -> Iterator[bytes]:
    """A turn's audio with at most `keep` seconds of quiet (64 ms pieces at or below `threshold` RMS, as the endpointing
    judges them) before its first loud piece and after its last; quiet between loud pieces is all kept. Quiet after
    speech is passed on at once up to `keep`, so nothing is left to decode when the turn ends, and held beyond it until
    more speech shows it was a pause within the turn. Audio with no loud piece is passed on whole: there is nothing to
    tell apart. Empty chunks (a source at its end hands them over) give nothing: PocketSphinx refuses them.

    A chunk may be a pair (what the endpointing heard, as captured): loudness is judged on the first, the second is
    passed on (see DenoisedReads)."""
    most = round(keep * SAMPLE_RATE / MICROPHONE_CHUNK)
    held: list[bytes] = []  # quiet not passed on yet
    spoke, since = False, 0  # a loud piece seen; quiet pieces since the last one
    for chunk in chunks:
        heard, captured = chunk if isinstance(chunk, tuple) else (chunk, chunk)
        for offset in range(0, len(captured), 2 * MICROPHONE_CHUNK):
            piece = captured[offset: offset + 2 * MICROPHONE_CHUNK]
            if is_loud(heard[offset: offset + 2 * MICROPHONE_CHUNK], threshold):
                yield from held if spoke else held[max(0, len(held) - most):]
                held, spoke, since = [], True, 0
                yield piece
            elif spoke and since < most:
                since += 1
                yield piece
            else:
                held.append(piece)
    if not spoke:
        yield from held


def handed_over(clip: AudioClip, threshold: float = Endpointing.energy_threshold) -> AudioClip:
    """A recording of one turn as the microphone would hand it over: the quiet around its speech cut (trim_quiet)."""
    return AudioClip(b"".join(trim_quiet(clip.chunks(MICROPHONE_CHUNK / SAMPLE_RATE), threshold)))


def is_loud(piece: bytes, threshold: float) -> bool:
    """Whether 16-bit audio is above `threshold` RMS: speech, as the endpointing judges a 64 ms piece."""
    return len(piece) >= 2 and rms(piece) > threshold


def rms(pcm: bytes) -> float:
    """The loudness of 16-bit audio (0 for none)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples ** 2))) if len(samples) else 0.0


# How loud an utterance is, measured in frames of this many samples (16 ms, four to a microphone chunk).
LOUDNESS_FRAME = 256


def frame_loudness(samples: np.ndarray) -> np.ndarray:
    """The RMS of each whole LOUDNESS_FRAME of the samples (a piece's last partial frame is left out)."""
    frames = np.asarray(samples, dtype=np.float64)[: len(samples) // LOUDNESS_FRAME * LOUDNESS_FRAME]
    return np.sqrt(np.mean(frames.reshape(-1, LOUDNESS_FRAME) ** 2, axis=1)) if len(frames) else np.zeros(0)


def signal_to_noise_db(loudness: np.ndarray) -> float:
    """How far an utterance's loud frames stand above its quiet ones, in dB: the 90th percentile of frame loudness
    over the 10th, so that a few clicks do not count as speech, and the quiet the microphone keeps around a turn and
    the pauses between words count as the room's noise. Infinite when there is nothing to measure."""
    if len(loudness) == 0:
        return float("inf")
    quiet, loud = np.percentile(loudness, [10, 90])
    return float(20 * np.log10(max(loud, 1.0) / max(quiet, 1.0)))  # digital silence has no level; 1 is far below any room's


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise (power falling with frequency, like a fan or a shower) at RMS 1."""
    if length == 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum /= np.sqrt(np.maximum(1, np.arange(len(spectrum))))
    noise = np.fft.irfft(spectrum, n=length)
    return noise / np.sqrt(np.mean(noise ** 2))


def with_noise_under(clip: AudioClip, noise: np.ndarray, snr_db: float) -> AudioClip:
    """The clip with `noise` (as long as it) mixed in at `snr_db`: the power of its speech (the samples above a
    whisper, so that quiet around it does not count) over the power of the noise."""
    speech = clip.samples().astype(np.float64)
    if len(noise) != len(speech):
        raise ValueError(f"{len(noise)} samples of noise for a clip of {len(speech)}")
    if len(speech) == 0:
        return clip
    loud = np.abs(speech) > 100
    power = np.mean(speech[loud] ** 2) if np.any(loud) else np.mean(speech ** 2)
    noise = noise * np.sqrt(power / (10 ** (snr_db / 10)) / max(np.mean(noise ** 2), 1e-9))
    return AudioClip(np.clip(speech + noise, -32768, 32767).astype("<i2").tobytes())


def load_wav(path: Path | str) -> AudioClip:
    path = Path(path)
    try:
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            mode, size = status.st_mode, status.st_size
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise AudioError(f"{path}: a device, not a WAV file")
            data = file.read(LARGEST_WAV_BYTES + 1) if size <= LARGEST_WAV_BYTES else b""
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: a directory, not a WAV file") from None
    except OSError as err:
        raise AudioError(f"{path}: not a readable WAV file ({err})") from None
    if size > LARGEST_WAV_BYTES or len(data) > LARGEST_WAV_BYTES:  # a pipe's size is only known once read
        raise AudioError(f"{path}: larger than {LARGEST_WAV_BYTES >> 30} GB; not read")
    floating, channels, width, rate, frames = _parse_wav(path, data)
    if (width not in ((4, 8) if floating else (1, 2, 3, 4)) or not 1 <= channels <= MOST_CHANNELS
            or not LOWEST_RATE <= rate <= HIGHEST_RATE):
        raise AudioError(f"{path}: unsupported WAV format ({channels} channels, {8 * width}-bit, {rate} Hz)")
    usable = len(frames) - len(frames) % (width * channels)
    if usable == 0:
        raise AudioError(f"{path}: the recording is empty")
    return AudioClip(to_pcm16(frames[:usable], channels, width, rate, floating))


def save_wav(clip: AudioClip, path: Path) -> None:
    """The clip as load_wav reads it back unchanged: 16 kHz mono 16-bit."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(clip.pcm)


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
            # A recorder stopped before it wrote the header's sizes leaves 0 (or 0xFFFFFFFF, kept whole above), and
            # a RIFF size that is not the file's: the samples are the rest of the file.
            if size == 0 and struct.unpack("<I", data[4:8])[0] + 8 != len(data):
                frames = data[offset + 8:]
                break
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
        data = np.nan_to_num(data, nan=0.0, posinf=32767, neginf=-32768)  # a damaged float file: silence, not a warning
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
    if rate > SAMPLE_RATE:
        data = np.convolve(data, _low_pass(rate), mode="same")
    if rate != SAMPLE_RATE:
        positions = np.arange(0, len(data) * SAMPLE_RATE / rate) * rate / SAMPLE_RATE
        data = np.interp(positions, np.arange(len(data)), data)
    return np.clip(data, -32768, 32767).astype("<i2").tobytes()


def _low_pass(rate: int) -> np.ndarray:
    """A windowed-sinc filter that removes what would fold back into the band a 16 kHz recognizer hears when a higher
    rate is taken down to 16 kHz (at 44.1 kHz, a hiss at 9 to 15 kHz would come back as 1 to 7 kHz): half the
    amplitude at 7.2 kHz, 87% kept at 6.8 kHz (the top of what the acoustic model listens to), nothing above 8 kHz."""
    cutoff = 0.45 * SAMPLE_RATE / rate  # in cycles per input sample
    taps = np.arange(-(16 * rate // SAMPLE_RATE), 16 * rate // SAMPLE_RATE + 1)
    kernel = np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
    return kernel / kernel.sum()


class Microphone:
    """The microphone through SpeechRecognition (PyAudio), with our endpointing settings; also how a
    recording is heard (voice/listen.py Recording), so both share one endpointing."""

    def __init__(self, settings: Endpointing = Endpointing(), source=None, patience: float = MICROPHONE_PATIENCE_SECONDS,
                 denoiser: Denoiser | None = None, room: tuple[float, float] | None = None):
        """`source`: a SpeechRecognition AudioSource to use instead of the default microphone (a recording).
        `denoiser`: what the endpointing hears through (see DenoisedReads); none, it hears the audio as captured.
        `room`: the room's noise as room_noise() gives it, measured beforehand (a recording's quietest stretch,
        voice/listen.py recording_microphone); none, it is measured in the first seconds read."""
        try:
            import speech_recognition as sr

            self.sr = sr
            with _native_stderr_silenced() if source is None else contextlib.nullcontext():
                self.source = source or sr.Microphone(sample_rate=SAMPLE_RATE, chunk_size=MICROPHONE_CHUNK)
                self.stream = self.source.__enter__()
            if self.stream.stream is None:  # SpeechRecognition swallows PyAudio's error and leaves no stream
                raise AudioError("no microphone found (no audio input device could be opened)")
            self.reads = MicrophoneReads(self.stream.stream, patience)
            self.denoised = None if denoiser is None else DenoisedReads(self.reads, denoiser)
            self.stream.stream = self.denoised or self.reads  # what SpeechRecognition reads
            self.recognizer = sr.Recognizer()
            self.recognizer.pause_threshold = settings.end_silence
            self.recognizer.non_speaking_duration = settings.lead_in
            self.recognizer.phrase_threshold = settings.min_speech
            self.recognizer.energy_threshold = settings.energy_threshold
            # Not SpeechRecognition's dynamic threshold: it follows the speech as well as the room, rises while a
            # person talks, and cut the turns of people who hesitate (scripts/bench_endpointing.py).
            self.recognizer.dynamic_energy_threshold = False
            if settings.calibration > 0:
                heard, captured = room or room_noise(self.stream.stream, settings.calibration)
                self.recognizer.energy_threshold = max(settings.energy_threshold, NOISE_MARGIN * heard,
                                                       DENOISED_NOISE_SHARE * captured)
        except AudioError:
            raise
        except (ImportError, AttributeError) as err:  # SpeechRecognition says AttributeError for a missing PyAudio
            raise AudioError(f"no microphone: PyAudio is not installed ({err})") from None
        except Exception as err:  # PyAudio raises OSError or its own errors for a missing device
            raise AudioError(f"no microphone found ({type(err).__name__}: {err})") from None

    def listen(self, timeout: float | None) -> Iterator[bytes] | None:
        """The next utterance in chunks as it is spoken (16 kHz, 16-bit), so that it can be decoded while
        the person talks, with at most KEPT_QUIET_SECONDS of quiet around its speech; None if nobody started
        speaking within `timeout` seconds, or before a recording ended."""
        # SpeechRecognition takes a timeout of 0 as none at all; a deadline already due must not wait for speech.
        timeout = None if timeout is None else max(timeout, 1e-3)
        chunks = _device_failures_told(self._heard(timeout))
        try:
            first = self._heard_and_captured(next(chunks))
        except (self.sr.WaitTimeoutError, StopIteration):
            return None
        if not is_loud(first[0][-2 * MICROPHONE_CHUNK:], self.recognizer.energy_threshold):
            return None  # a recording ended before anyone spoke: SpeechRecognition hands its last quiet over as a turn
        pcm = itertools.chain([first], (self._heard_and_captured(audio) for audio in chunks))
        return trim_quiet(pcm, self.recognizer.energy_threshold)

    def _heard_and_captured(self, audio) -> tuple[bytes, bytes]:
        """A piece SpeechRecognition handed over, as the endpointing heard it and as the microphone captured it: the
        captured audio of the same stretch, which is the last that was read (SpeechRecognition hands each piece over as
        soon as it has read it)."""
        heard = audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=2)
        if self.denoised is None:
            return heard, heard
        captured = self.sr.AudioData(self.denoised.captured(len(audio.frame_data)), audio.sample_rate, audio.sample_width)
        return heard, captured.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=2)

    def _heard(self, timeout: float | None) -> Iterator:
        self.reads.drop_unheard()
        yield from self.recognizer.listen(self.stream, timeout=timeout, phrase_time_limit=LONGEST_PHRASE_SECONDS, stream=True)

    def close(self) -> None:
        self.reads.stop()  # a recording's source closes nothing, so its reader thread would wait on for ever
        if self.reads.stuck:
            return  # closing a device that stopped answering blocks too; the process lets it go at exit
        with contextlib.suppress(OSError):  # a device that stopped working may fail to close too
            self.source.__exit__(None, None, None)


def room_noise(stream, seconds: float) -> tuple[float, float]:
    """RMS of the room in the next `seconds` read from a microphone's stream (16-bit scale), as the endpointing hears it
    and as captured (DenoisedReads, if the stream is one): the median over 64 ms chunks, so that a word said meanwhile
    does not raise the threshold above the person's voice."""
    levels = []
    for _ in range(round(seconds * SAMPLE_RATE / MICROPHONE_CHUNK) or 1):
        chunk = stream.read(MICROPHONE_CHUNK)
        if chunk:
            captured = stream.captured(len(chunk)) if isinstance(stream, DenoisedReads) else chunk
            levels.append([rms(chunk), rms(captured)])
    return tuple(np.median(levels, axis=0)) if levels else (0.0, 0.0)


def quietest_stretch(clip: AudioClip, seconds: float) -> AudioClip:
    """The `seconds` of a recording, in whole 64 ms chunks, whose chunks have the lowest median loudness (all of it,
    if shorter): where its room noise is measured as a microphone's is in its first seconds (room_noise)."""
    levels = np.array([rms(chunk) for chunk in clip.chunks(MICROPHONE_CHUNK / SAMPLE_RATE)])
    count = max(1, round(seconds * SAMPLE_RATE / MICROPHONE_CHUNK))
    if len(levels) <= count:
        return clip
    start = int(np.argmin(np.median(np.lib.stride_tricks.sliding_window_view(levels, count), axis=1)))
    return AudioClip(clip.pcm[start * 2 * MICROPHONE_CHUNK: (start + count) * 2 * MICROPHONE_CHUNK])


class MicrophoneReads:
    """How the microphone's stream (SpeechRecognition's) is read: each read waits at most `patience` seconds, made on a
    thread of its own, so a device that blocks for ever is told as an OSError like any other that stopped working; and
    what the device captured while nobody listened is dropped (drop_unheard)."""

    def __init__(self, stream, patience: float):
        self.stream, self.patience, self.stuck = stream, patience, False
        self.read_at = time.monotonic()
        self.asked: queue.Queue[int | None] = queue.Queue()
        self.answers: queue.Queue[bytes | BaseException] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while (frames := self.asked.get()) is not None:
            try:
                self.answers.put(self.stream.read(frames))
            except BaseException as err:  # raised to the reader, on its own thread
                self.answers.put(err)

    def read(self, frames: int) -> bytes:
        if self.stuck:
            raise OSError("it is not answering")
        self.asked.put(frames)
        try:
            answer = self.answers.get(timeout=self.patience)
        except queue.Empty:
            self.stuck = True
            raise OSError(f"no sound from it for {self.patience:g} s") from None
        if isinstance(answer, BaseException):
            raise answer
        self.read_at = time.monotonic()
        return answer

    def drop_unheard(self) -> None:
        """The sound system keeps what the microphone captured while nobody read it (under PulseAudio, seconds of
        it), and the assistant reads nothing while it speaks: without this, its own reply, heard through the room,
        is the next turn, and it answers itself. Stopping the stream and starting it again drops all of it. A
        recording keeps nothing of the kind (it is read on its own clock)."""
        device = getattr(self.stream, "pyaudio_stream", None)
        if device is not None and not self.stuck and time.monotonic() - self.read_at > UNHEARD_SECONDS:
            device.stop_stream()
            device.start_stream()

    def stop(self) -> None:
        """End the reading thread (at once if it is idle; a stuck read keeps it until the process exits)."""
        self.asked.put(None)

    def close(self) -> None:
        self.stop()
        self.stream.close()


class DenoisedReads:
    """What SpeechRecognition's endpointing reads: the microphone's audio with the room's noise taken out by RNNoise
    (voice/denoise.py), read for read and byte for byte as long. Its energy threshold tells speech from a quiet room,
    and over a fan the speech stood only as far above the noise as the threshold had to (NOISE_MARGIN), so words
    fell below it and turns were cut in two or lost. The decoders still get the audio as captured (captured()): they
    take the noise out themselves, only when the room is noisy (voice/denoise.py NoiseGate), and measure how noisy
    it is (voice/recognize.py NOISY_ROOM_RAISE)."""

    def __init__(self, stream, denoiser: Denoiser):
        self.stream, self.denoiser = stream, denoiser
        self.recent = bytearray()  # the latest CAPTURED_KEPT_SECONDS as captured
        self.ahead = np.zeros(0, dtype="<i2")  # denoised audio not read yet
        self.behind = RNNOISE_DELAY_SAMPLES  # how far what is read lags behind what was captured

    def read(self, frames: int) -> bytes:
        pcm = self.stream.read(frames)
        pcm = pcm[: len(pcm) // 2 * 2]
        self.recent += pcm
        del self.recent[: max(0, len(self.recent) - int(CAPTURED_KEPT_SECONDS * SAMPLE_RATE) * 2)]
        # RNNoise hands back a little more or less than it was given (it works in 10 ms frames at 48 kHz): silence
        # makes up for what is missing, and what is read falls that much further behind.
        out = np.concatenate([self.ahead, self.denoiser.feed(np.frombuffer(pcm, dtype="<i2"))])
        wanted = len(pcm) // 2
        missing = max(0, wanted - len(out))
        self.behind += missing
        out = np.concatenate([np.zeros(missing, dtype="<i2"), out])
        self.ahead = out[wanted:]
        return out[:wanted].astype("<i2").tobytes()

    def close(self) -> None:
        self.stream.close()

    def captured(self, length: int) -> bytes:
        """The captured audio of the last `length` bytes read: the same stretch of sound. The decoders' quiet before a
        turn is measured in it (voice/denoise.py NoiseGate), and read a chunk late it held the speech's first sound."""
        end = len(self.recent) - 2 * self.behind
        kept = self.recent[max(0, end - length): max(0, end)]
        return bytes(length - len(kept)) + bytes(kept)  # silence for what came before the first read


# SpeechRecognition hands over at most its lead-in (Endpointing.lead_in, at most 0.5 s) and one chunk at a time.
CAPTURED_KEPT_SECONDS = 2.0
# How far RNNoise's output lags its input, besides what it holds back (pyrnnoise 0.2.7, measured by cross-correlating
# a sentence with its denoised self): 20 ms.
RNNOISE_DELAY_SAMPLES = 320


def _device_failures_told(chunks: Iterator) -> Iterator:
    """The chunks, with a device that fails while it is read (unplugged, taken by another program: PyAudio raises
    OSError, while the utterance is being decoded as often as before it) told as an AudioError the loop answers."""
    try:
        yield from chunks
    except OSError as err:
        raise AudioError(f"the microphone stopped working ({err})") from None


@contextlib.contextmanager
def _native_stderr_silenced():
    """PortAudio's libraries (ALSA, JACK) print a hundred lines to the terminal while they look for devices, and
    more when there are none; the person gets our one line instead. Python's own errors are raised, not printed."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
