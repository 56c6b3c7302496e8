"""Ears: where the live loop's user turns come from (keyboard, microphone or a recording).

Each answers `listen(timeout, idle)` with what was said, understood (text "" when heard but not one
of our sentences), None when the timeout passed first, or raises EOFError when nothing more will come.
`idle` is true when no guide runs (a wake phrase is only needed then).
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from .audio import SAMPLE_RATE, AudioClip, Endpointing, Microphone, load_wav, split_utterances
from .clock import Clock
from .recognize import CHUNK_SECONDS, Recognizer
from .understand import Understander, Understanding


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

    def listen(self, timeout: float | None, idle: bool = True) -> Understanding | None:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.lines.put(None)
            raise EOFError
        return self.understander.understand(line)


class AudioFileEars:
    """A recording with several utterances separated by silence, heard like the microphone: each utterance
    goes to the recognizer chunk by chunk as its sound would arrive, in real time with the real clock and
    as fast as possible with a virtual one."""

    def __init__(self, path: Path, understander: Understander, clock: Clock, recognizer: Recognizer | None = None,
                 settings: Endpointing = Endpointing()):
        self.utterances = split_utterances(load_wav(path), settings)
        self.recognizer = recognizer or Recognizer(understander)
        self.clock = clock
        self.started = clock.now()

    def listen(self, timeout: float | None, idle: bool = True) -> Understanding | None:
        if not self.utterances:
            raise EOFError
        begins = self.started + self.utterances[0].start
        now = self.clock.now()
        if timeout is not None and begins > now + timeout:  # nobody starts speaking before the timeout
            self.clock.sleep_until(now + timeout)
            return None
        return self.recognizer.transcribe_chunks(self._as_heard(self.utterances.pop(0), begins)).heard

    def _as_heard(self, clip: AudioClip, begins: float) -> Iterator[bytes]:
        heard = 0
        for chunk in clip.chunks(CHUNK_SECONDS):
            heard += len(chunk)
            self.clock.sleep_until(begins + heard / (2 * SAMPLE_RATE))
            yield chunk


class MicrophoneEars:
    """The microphone. With a wake phrase, an idle assistant first waits for it; inside a guide the
    commands are heard directly."""

    def __init__(self, understander: Understander, wake: str | None = None, screen=None, settings: Endpointing = Endpointing(),
                 microphone: Microphone | None = None, recognizer: Recognizer | None = None):
        self.recognizer = recognizer or Recognizer(understander, wake=wake)
        self.microphone = microphone or Microphone(settings)
        self.awake = False
        self.screen = screen

    def listen(self, timeout: float | None, idle: bool = True) -> Understanding | None:
        chunks = self.microphone.listen(timeout)
        if chunks is None:
            return None
        waiting = self.recognizer.wake is not None and idle and not self.awake
        transcript = self.recognizer.transcribe_chunks(chunks, wake=waiting)
        if waiting:
            self.awake = bool(transcript.text)
            if self.awake and self.screen is not None:
                self.screen.notice("(listening)")
            return None
        self.awake = False
        return transcript.heard

    def close(self) -> None:
        self.microphone.close()
