"""Speech out: a small Speaker interface with the real voice, WAV files and print-only behind it.

Speech is made with pyttsx3's binding to libespeak-ng (the engine pyttsx3 uses on Linux), driven
synchronously, and played with `aplay`. pyttsx3 2.99's own espeak driver is not used, because of
quirks measured here (each workaround has a test in tests/test_speaker.py):
- its driver runs espeak asynchronously (AUDIO_OUTPUT_RETRIEVAL) and runAndWait returns before the
  audio is done: consecutive utterances get the wrong rate and mixed or stale audio (of 60
  save_to_file calls alternating three rates, most had another rate's length). We initialise the
  binding in synchronous mode and collect the samples in our own callback;
- the file name given to save_to_file sticks to the driver, so a later say() writes that file again
  instead of speaking; it prints "Audio saved to ..." on stdout; runAndWait hangs on empty text:
  we never call save_to_file or runAndWait, and blank text is never synthesized;
- it plays through `os.system("aplay ...")` and ignores the failure, so a machine without a sound
  card talks to nobody: we play the WAV ourselves, see the failure, and let Ctrl-C stop playback;
- espeak can be initialised once per process: one Synthesizer is shared.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from pathlib import Path
from typing import Callable, Protocol, TextIO

DEFAULT_RATE = 170
MIN_RATE = 110
MAX_RATE = 260
# espeak-ng through pyttsx3 writes 16-bit mono at this rate.
SAMPLE_RATE = 22050
# Extra time a listener hears at each sentence end (espeak pauses there).
SENTENCE_PAUSE_SECONDS = 0.3
# How much longer than its sound a line may take to play: aplay waits for ever on a sound device another program
# holds, and a guide must not stop with it.
PLAYER_PATIENCE_SECONDS = 5.0


class SpeakerUnavailable(Exception):
    """The voice cannot be used; the message is one line for the user, and the caller falls back."""


class Speaker(Protocol):
    rate: int  # words per minute; "slower"/"faster" change it

    def say(self, text: str) -> None:
        """Blocks until the text has been spoken."""

    def close(self) -> None: ...


def speaking_seconds(text: str, rate: int) -> float:
    """How long `text` takes to say at `rate` words per minute; the simulator's clock moves by this."""
    words = len(text.split())
    sentence_ends = len(re.findall(r"[.!?](\s|$)", text))
    return words * 60.0 / rate + sentence_ends * SENTENCE_PAUSE_SECONDS


class Synthesizer:
    """Text -> 16-bit mono samples, through pyttsx3's libespeak-ng binding in synchronous mode."""

    _shared: Synthesizer | None = None
    _lock = threading.Lock()

    def __init__(self, espeak):
        """`espeak` is pyttsx3's binding module (see load_espeak); use `shared()`, as espeak allows one
        initialisation and one callback per process."""
        self.espeak = espeak
        self.sample_rate = espeak.Initialize(espeak.AUDIO_OUTPUT_SYNCHRONOUS, 500)
        if self.sample_rate <= 0:
            raise SpeakerUnavailable("the speech engine could not start (espeak-ng did not initialise)")
        self.chunks: list[bytes] = []
        espeak.SetSynthCallback(self._collect)

    def _collect(self, wav, count, events) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    @classmethod
    def shared(cls) -> Synthesizer:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls(load_espeak())
            return cls._shared

    def samples(self, text: str, rate: int) -> bytes:
        if not text.strip():
            return b""
        with self._lock:
            self.chunks = []
            self.espeak.SetParameter(self.espeak.RATE, int(rate), 0)
            self.espeak.Synth(text.encode("utf-8"), flags=self.espeak.ENDPAUSE | self.espeak.CHARS_UTF8)
            return b"".join(self.chunks)

    def to_file(self, text: str, rate: int, path: Path) -> None:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.samples(text, rate))


def load_espeak():
    try:
        return importlib.import_module("pyttsx3.drivers._espeak")
    except Exception as err:  # ImportError, or OSError/RuntimeError when libespeak-ng is missing
        raise SpeakerUnavailable(f"the speech engine could not start ({type(err).__name__}: {err})") from err


def write_silence(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(b"\0\0" * int(seconds * SAMPLE_RATE))


def synthesize(text: str, rate: int, path: Path) -> None:
    """Speech for one text into a 16-bit mono WAV file."""
    Synthesizer.shared().to_file(text, rate, path)


class Pyttsx3Speaker:
    """The real voice: pyttsx3 synthesis, played by `aplay` so that failures and Ctrl-C are ours to handle."""

    def __init__(self, rate: int = DEFAULT_RATE, player: tuple[str, ...] = ("aplay", "-q"),
                 synthesizer: Synthesizer | None = None, patience: float = PLAYER_PATIENCE_SECONDS):
        if shutil.which(player[0]) is None:
            raise SpeakerUnavailable(f"no audio player ({player[0]} is not installed)")
        self.rate = rate
        self.player, self.patience = player, patience
        self.synthesizer = synthesizer or Synthesizer.shared()
        self.directory = Path(tempfile.mkdtemp(prefix="backcare-voice-"))
        probe = self.directory / "probe.wav"
        write_silence(probe, 0.05)
        self._play(probe)

    def _play(self, path: Path) -> None:
        with wave.open(str(path), "rb") as sound:
            seconds = sound.getnframes() / sound.getframerate()
        process = subprocess.Popen([*self.player, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = process.communicate(timeout=seconds + self.patience)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SpeakerUnavailable(f"no audio output ({self.player[0]} did not finish within {seconds + self.patience:.0f} s: "
                                     "is the sound device taken by another program?)") from None
        except BaseException:  # Ctrl-C while speaking: silence at once, then let it propagate
            process.kill()
            process.wait()
            raise
        if process.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {process.returncode}"
            raise SpeakerUnavailable(f"no audio output ({reason})")

    def say(self, text: str) -> None:
        if not text.strip():
            return
        path = self.directory / "utterance.wav"
        self.synthesizer.to_file(text, self.rate, path)
        self._play(path)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class WavSpeaker:
    """Writes each utterance to DIR/0001.wav, 0002.wav ... after any already there; optionally passes it on to
    another speaker. A write that fails (a full disk) stops the writing, not the speech, and is told to `warn`."""

    def __init__(self, directory: Path, rate: int = DEFAULT_RATE, then: Speaker | None = None, warn=None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.then = then
        self.warn = warn or (lambda err: None)
        self.writing = True
        self.count = max((int(path.stem) for path in self.directory.glob("*.wav") if path.stem.isdigit()), default=0)

    def say(self, text: str) -> None:
        if self.writing:
            self._write(text)
        if self.then is not None:
            self.then.rate = self.rate
            self.then.say(text)

    def _write(self, text: str) -> None:
        self.count += 1
        final = self.directory / f"{self.count:04d}.wav"
        partial = final.with_suffix(".partial")
        try:
            synthesize(text, self.rate, partial)
            os.replace(partial, final)
        except OSError as err:
            self.writing = False
            partial.unlink(missing_ok=True)
            self.warn(err)

    def close(self) -> None:
        if self.then is not None:
            self.then.close()


class PrintSpeaker:
    """Print-only: each line to a stream, or nowhere when the screen already shows the conversation."""

    def __init__(self, stream: TextIO | None = sys.stdout, rate: int = DEFAULT_RATE):
        self.stream = stream
        self.rate = rate

    def say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class VoiceThenPrint:
    """The voice, until it cannot be used, at start (no sound card, no espeak-ng) or mid-session (headphones
    unplugged, the sound device taken, no room left to synthesize in): then told once to `warn`, and the lines go to
    `stream` (None where a screen already shows every line), so the session goes on."""

    def __init__(self, open_voice: Callable[[], Speaker], warn: Callable[[str], None], stream: TextIO | None = None):
        self.warn, self.stream = warn, stream
        try:
            self.speaker: Speaker = open_voice()
        except SpeakerUnavailable as err:
            self._print_instead(err, DEFAULT_RATE)

    @property
    def rate(self) -> int:
        return self.speaker.rate

    @rate.setter
    def rate(self, value: int) -> None:
        self.speaker.rate = value

    def say(self, text: str) -> None:
        try:
            self.speaker.say(text)
        except (SpeakerUnavailable, OSError) as err:
            self.speaker.close()
            self._print_instead(err, self.speaker.rate)
            self.speaker.say(text)

    def _print_instead(self, err: Exception, rate: int) -> None:
        self.warn(f"backcare: {err}; replies will be printed only.")
        self.speaker = PrintSpeaker(stream=self.stream, rate=rate)

    def close(self) -> None:
        self.speaker.close()


def open_speaker(rate: int = DEFAULT_RATE) -> Speaker:
    """The real voice, or SpeakerUnavailable with the reason in one line."""
    return Pyttsx3Speaker(rate)
