"""Ears: where the live loop's user turns come from (keyboard, microphone or a recording).

Each answers `listen(timeout, idle)` with what was said, understood (text "" when heard but not one
of our sentences), None when the timeout passed first, or raises EOFError when nothing more will come.
`idle` is true when a wake phrase, if the ears have one (`wake`), is needed first. Hearing it (then, or said
anyway when it was not needed), the ears answer WOKEN, and the dialogue keeps the time in which the request may follow.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

import speech_recognition as sr

from .audio import (MICROPHONE_CHUNK, SAMPLE_RATE, AudioClip, AudioError, DenoisedReads, Endpointing, Microphone, load_wav,
                    quietest_stretch, room_noise)
from .clock import Clock, RealClock, VirtualClock
from .denoise import load_denoiser
from .dialogue import WOKEN
from .recognize import Recognizer, RecognizerError
from .understand import Understander, Understanding


# Inside a guide, someone still talking when the next step or cue is due is heard out for at most this many
# seconds more; then what was heard is decoded and the step is spoken. Without a cut, a sound that never pauses
# (a television) held a step back until SpeechRecognition's phrase limit, 15 s.
STEP_GRACE_SECONDS = 3.0


class KeyboardEars:
    """Typed lines; read on a thread so that guide deadlines fire while nobody is typing."""

    def __init__(self, understander: Understander, stream=None):
        self.understander = understander
        self.lines: queue.Queue[str | None] = queue.Queue()
        stream = stream or sys.stdin
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        try:
            for line in stream:
                if line.strip():  # an empty Enter is not a turn
                    self.lines.put(line.rstrip("\r\n"))
        except (OSError, ValueError):  # stdin closed or not readable: same as the end of input
            pass
        self.lines.put(None)

    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.lines.put(None)
            raise EOFError
        return self.understander.understand(line)


class Recording(sr.AudioSource):
    """A recording as a microphone delivers it (a SpeechRecognition audio source): each chunk is read
    once its sound has arrived on the clock, so `--input-audio` runs in real time on the real clock and
    at once on a virtual one, through the same endpointing as the microphone."""

    CHUNK, SAMPLE_RATE, SAMPLE_WIDTH = MICROPHONE_CHUNK, SAMPLE_RATE, 2  # as sr.Microphone reads

    def __init__(self, clip: AudioClip, clock: Clock):
        self.pcm, self.clock = clip.pcm, clock
        self.started = clock.now()
        self.position = 0  # bytes read so far
        self.stream = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def read(self, frames: int) -> bytes:
        chunk = self.pcm[self.position: self.position + 2 * frames]
        self.position += len(chunk)
        self.clock.sleep_until(self.started + self.position / (2 * SAMPLE_RATE))
        return chunk

    @property
    def finished(self) -> bool:
        return self.position >= len(self.pcm)


def recording_microphone(path: Path, clock: Clock, settings: Endpointing = Endpointing()) -> Microphone:
    """A recording heard through the microphone's path. Its room noise is measured as the microphone's is, but in its
    quietest stretch instead of its first seconds: a recording may start with its speech, which the calibration then
    took for the room, and the threshold above the voice lost every turn in it."""
    clip = load_wav(path)
    room = None
    if settings.calibration > 0:
        quiet, denoiser = Recording(quietest_stretch(clip, settings.calibration), VirtualClock()), load_denoiser()
        room = room_noise(quiet if denoiser is None else DenoisedReads(quiet, denoiser), settings.calibration)
    return Microphone(settings, source=Recording(clip, clock), denoiser=load_denoiser(), room=room)


class MicrophoneEars:
    """The microphone. With a wake phrase, an idle assistant first waits for it; inside a guide the
    commands are heard directly."""

    def __init__(self, understander: Understander, wake: str | None = None, settings: Endpointing = Endpointing(),
                 microphone: Microphone | None = None, recognizer: Recognizer | None = None, clock: Clock | None = None,
                 adaptation: Path | None = None):
        # The microphone first: a person without one hears so at once, not after the recognizer's seconds of loading.
        self.microphone = microphone or Microphone(settings, denoiser=load_denoiser())
        try:
            self.recognizer = recognizer or Recognizer(understander, wake=wake, adaptation=adaptation)
        except BaseException:
            self.microphone.close()
            raise
        self.clock = clock or RealClock()

    @property
    def wake(self) -> str | None:
        return self.recognizer.wake

    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        chunks = self.microphone.listen(timeout)
        if chunks is None:
            return None
        if until is not None:  # a guide's step is due then: cut the utterance STEP_GRACE_SECONDS after it
            chunks = itertools.takewhile(lambda _: self.clock.now() <= until + STEP_GRACE_SECONDS, chunks)
        wake = self.recognizer.wake
        waiting = wake is not None and idle
        again = wake is not None and not idle and until is None  # turned away, it may be heard again as the wake phrase
        heard: list[bytes] = []
        transcript = self.recognizer.transcribe_chunks(_copied(chunks, heard) if again else chunks, wake=waiting)
        if waiting:
            return WOKEN if transcript.text else None
        if again and not transcript.text and self.recognizer.transcribe_chunks(heard, wake=True).text:
            # Not one of our sentences but the wake phrase, said out of habit in a reply when none was needed: it
            # wakes the assistant instead of getting a "sorry" that costs the turn after it. Not while a guide's step
            # is due: there stray speech gets no "sorry", and a second decode would only make the step late.
            return WOKEN
        return transcript.heard

    def close(self) -> None:
        self.microphone.close()
        self.recognizer.close()


class MicrophoneThenKeyboard:
    """The microphone, until it cannot be used, at start (none, no PyAudio, a recognizer that cannot start) or
    mid-session (unplugged, taken by another program); then the keyboard, told in one line, and the session goes on
    where it was: a guide keeps its step and its time. If nothing can be typed either (no terminal, or it was
    closed), a guide still goes on to its end: the couple's hands are busy, and a massage cut off by a lost
    microphone would lose what they started."""

    def __init__(self, open_microphone: Callable[[], MicrophoneEars], keyboard: Callable[[], KeyboardEars],
                 warn: Callable[[str], None], clock: Clock):
        self.keyboard, self.warn, self.clock = keyboard, warn, clock
        try:
            self.ears: MicrophoneEars | KeyboardEars | Deaf = open_microphone()
        except (AudioError, RecognizerError) as err:
            self._type_instead(err)

    @property
    def wake(self) -> str | None:
        return getattr(self.ears, "wake", None)

    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        try:
            return self.ears.listen(timeout, idle, until)
        except AudioError as err:  # only the microphone raises it
            self.ears.close()
            self._type_instead(err)
            return None
        except EOFError:
            if until is None or isinstance(self.ears, Deaf):  # no guide timing a step: nothing goes on without a word
                raise
            self.warn("backcare: nothing can be typed either (the input is closed); the guide goes on to its end.")
            self.ears = Deaf(self.clock)
            return self.ears.listen(timeout, idle, until)

    def _type_instead(self, err: Exception) -> None:
        self.warn(f"backcare: {err}; type instead (Enter after each line).")
        self.ears = self.keyboard()

    def close(self) -> None:
        getattr(self.ears, "close", lambda: None)()


class Deaf:
    """No way to hear anything any more: a guide timing its steps goes on, and once none is (it ended, or was
    paused with nobody left to resume it) the session ends."""

    def __init__(self, clock: Clock):
        self.clock = clock

    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        if until is None or timeout is None:
            raise EOFError
        self.clock.sleep_until(self.clock.now() + timeout)
        return None


class AudioFileEars:
    """A recording with several utterances separated by silence, heard exactly as the microphone is: the
    same endpointing (SpeechRecognition's), the same streaming into the recognizer, the same wake phrase."""

    def __init__(self, path: Path, understander: Understander, clock: Clock, recognizer: Recognizer | None = None,
                 settings: Endpointing = Endpointing(), wake: str | None = None, adaptation: Path | None = None):
        microphone = recording_microphone(path, clock, settings)
        self.recording = microphone.source
        self.turns = 0  # heard, understood or not
        self.ears = MicrophoneEars(understander, wake=wake, settings=settings, microphone=microphone, recognizer=recognizer,
                                   clock=clock, adaptation=adaptation)

    @property
    def wake(self) -> str | None:
        return self.ears.wake

    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        if self.recording.finished:
            raise EOFError
        heard = self.ears.listen(timeout, idle, until)
        if heard is None and self.recording.finished:
            raise EOFError
        self.turns += heard is not None
        return heard

    def close(self) -> None:
        self.ears.close()


def _copied(chunks: Iterable[bytes], into: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        into.append(chunk)
        yield chunk
