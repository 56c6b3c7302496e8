"""The live assistant: wires ears (microphone, recording or keyboard), understanding, the dialogue and
the speaker together. It listens until the next guide deadline, so a command said during a timed
pause acts at once and the timer still fires on time.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Callable, Protocol

from .clock import Clock, RealClock, VirtualClock
from .content import Content
from .dialogue import Assistant, Spoken
from .speaker import PrintSpeaker, Speaker, SpeakerUnavailable, WavSpeaker, open_speaker
from .store import FileStore
from .understand import Understander


class Ears(Protocol):
    def listen(self, timeout: float | None) -> str | None:
        """What was said before `timeout` seconds ran out ("" when heard but not understood),
        or None at the timeout; raises EOFError when there is nothing more to hear."""


class Screen(Protocol):
    """Where the live loop shows what happens; the terminal implementation lives in cli_screen."""

    def notice(self, message: str) -> None: ...

    def heard(self, text: str, intent: str | None) -> None: ...

    def spoken(self, line: Spoken) -> None: ...

    def countdown(self, title: str, step: int, seconds_left: float, paused: bool) -> None: ...


# How often the countdown on screen is refreshed while waiting for the next deadline.
REFRESH_SECONDS = 1.0


def converse(assistant: Assistant, ears: Ears, understander: Understander, clock: Clock, screen: Screen,
             refresh: float | None = REFRESH_SECONDS) -> None:
    """Listen, understand, answer, and fire guide deadlines, until goodbye or the input ends."""
    assistant.start()
    while not assistant.finished:
        deadline = assistant.next_deadline()
        run = assistant.run
        if run is not None and run.started_at is not None:
            screen.countdown(run.guide.title, run.number, run.remaining(clock.now()), run.paused)
        timeout = None if deadline is None else max(0.0, deadline - clock.now())
        if refresh is not None and run is not None:
            timeout = refresh if timeout is None else min(timeout, refresh)
        try:
            text = ears.listen(timeout)
        except EOFError:
            return
        if text is not None:
            heard = understander.understand(text)
            if text:
                screen.heard(text, heard.intent)
            assistant.hear(heard)
        assistant.tick()


def run_live(args, content: Content) -> int:
    """`backcare` itself: choose ears and voice, falling back to typing and printing when devices fail."""
    from .cli_screen import TerminalScreen

    screen = TerminalScreen()
    understander = Understander(content)
    clock: Clock = VirtualClock() if args.fast else RealClock()
    ears = _open_ears(args, content, clock, screen)
    speaker = _open_speaker(args, clock, screen)
    on_spoken: Callable[[Spoken], None] = screen.spoken
    if args.log:
        on_spoken = _with_transcript(Path(args.log), screen)
    assistant = Assistant(content, speaker, clock, rng=random.Random(args.seed), store=FileStore(warn=screen.notice),
                          on_spoken=on_spoken)
    try:
        converse(assistant, ears, understander, clock, screen, refresh=None if args.fast else REFRESH_SECONDS)
    finally:
        speaker.close()
        close = getattr(ears, "close", None)
        if close:
            close()
    return 0


def _open_ears(args, content: Content, clock: Clock, screen: Screen) -> Ears:
    from .listen import AudioFileEars, KeyboardEars, MicrophoneEars
    from .audio import AudioError

    if args.text:
        return KeyboardEars()
    try:
        if args.input_audio:
            return AudioFileEars(Path(args.input_audio), content, clock, real_time=not args.fast)
        return MicrophoneEars(content, wake=args.wake, screen=screen)
    except AudioError as err:
        if args.input_audio:
            raise SystemExit(f"backcare: {err}")
        screen.notice(f"backcare: {err}; type instead (Enter after each line).")
        return KeyboardEars()


def _open_speaker(args, clock: Clock, screen: Screen) -> Speaker:
    if args.fast:
        from .simulate import TimedSpeaker

        return TimedSpeaker(clock)
    if args.quiet:
        return PrintSpeaker(stream=None)
    try:
        speaker = open_speaker()
    except SpeakerUnavailable as err:
        screen.notice(f"backcare: {err}; replies will be printed only.")
        return PrintSpeaker(stream=None)
    if args.log:
        return WavSpeaker(Path(args.log), rate=speaker.rate, then=speaker)
    return speaker


def _with_transcript(directory: Path, screen: Screen) -> Callable[[Spoken], None]:
    directory.mkdir(parents=True, exist_ok=True)
    transcript = (directory / "transcript.txt").open("a", encoding="utf-8")

    def spoken(line: Spoken) -> None:
        screen.spoken(line)
        transcript.write(f"{line.t:.1f}\tassistant\t{line.text}\n")
        transcript.flush()

    return spoken


def print_error(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
