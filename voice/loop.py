"""The live assistant: wires ears (microphone, recording or keyboard), understanding, the dialogue and
the speaker together. It listens until the next guide deadline, so a command said during a timed
pause acts at once and the timer still fires on time.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path
from typing import Protocol, TextIO

from .audio import Endpointing
from .cli import UsageError
from .clock import Clock, RealClock, VirtualClock
from .content import Content
from .dialogue import WOKEN, Assistant, Spoken
from .speaker import PrintSpeaker, Speaker, VoiceThenPrint, WavSpeaker, open_speaker
from .store import FileStore
from .understand import Understander, Understanding


class Ears(Protocol):
    def listen(self, timeout: float | None, idle: bool = True, until: float | None = None) -> Understanding | None:
        """What was said before `timeout` seconds ran out, understood (text "" when heard but not one
        of our sentences), or None at the timeout; raises EOFError when there is nothing more to hear.
        `idle`: a wake phrase, if any, is needed first (no guide runs and the assistant is not waiting for a reply);
        the wake phrase itself is answered with WOKEN (also when said though it was not needed).
        `until`: the clock time a guide's next step is due; an utterance still going on then is cut soon after."""


class Screen(Protocol):
    """Where the live loop shows what happens; the terminal implementation lives in cli_screen."""

    def notice(self, message: str) -> None: ...

    def heard(self, text: str, intent: str | None) -> None: ...

    def spoken(self, line: Spoken) -> None: ...

    def countdown(self, title: str, step: int, seconds_left: float, paused: bool) -> None: ...


# What the screen shows for speech that was heard but is not one of our sentences.
NOT_OURS = "(not one of our sentences)"
# How often the countdown on screen is refreshed while waiting for the next deadline.
REFRESH_SECONDS = 1.0


def converse(assistant: Assistant, ears: Ears, clock: Clock, screen: Screen, refresh: float | None = REFRESH_SECONDS) -> None:
    """Listen, answer, and fire guide deadlines, until goodbye or the input ends."""
    assistant.start()
    while not assistant.finished:
        deadline = assistant.next_deadline()
        run = assistant.run
        if run is not None and run.started_at is not None:
            screen.countdown(run.guide.title, run.number, run.remaining(clock.now()), run.paused)
        timeout = None if deadline is None else max(0.0, deadline - clock.now())
        if refresh is not None and run is not None:
            timeout = refresh if timeout is None else min(timeout, refresh)
        replying = run is None and clock.now() < assistant.reply_until  # a reply needs no wake phrase
        if replying:
            timeout = min(timeout if timeout is not None else float("inf"), assistant.reply_until - clock.now())
        try:
            heard = ears.listen(timeout, idle=run is None and not replying, until=deadline)
        except EOFError:
            return
        if heard is None and replying:
            assistant.no_reply()  # on a recording's own time too, which falls behind the clock while the assistant speaks
        if heard is WOKEN:
            screen.notice("(listening)")
            assistant.woken()
        elif heard is not None and heard.text:
            screen.heard(heard.text, heard.intent)
            assistant.hear(heard)
        elif heard is not None and assistant.run is None:  # inside a guide, stray speech (the TV) is ignored
            screen.heard(NOT_OURS, None)
            assistant.hear(Understanding(NOT_OURS, None))
        assistant.tick()


def run_live(args, content: Content) -> int:
    """`backcare` itself: choose ears and voice, falling back to typing and printing when devices fail."""
    from .cli_screen import TerminalScreen

    screen: Screen = TerminalScreen()
    log = Path(args.log) if args.log else None
    log_trouble = _log_trouble_teller(screen, log)
    if log is not None:
        try:
            screen = TranscriptScreen(screen, log, log_trouble)
        except OSError as err:
            log_trouble(err)
            log = None
    for notice in content.notices:  # here, not before, so that --log keeps them with the rest
        screen.notice(f"backcare: {notice}")
    understander = Understander(content)
    clock: Clock = VirtualClock() if args.fast else RealClock()
    ears = _open_ears(args, understander, clock, screen)
    speaker = _open_speaker(args, clock, screen, log, log_trouble)
    assistant = Assistant(content, speaker, clock, rng=random.Random(args.seed), store=FileStore(warn=screen.notice),
                          on_spoken=screen.spoken, wake=getattr(ears, "wake", None))  # none when typing
    try:
        converse(assistant, ears, clock, screen, refresh=None if args.fast else REFRESH_SECONDS)
        if args.input_audio and not ears.turns:  # an AudioFileEars; else the session just ends, and nobody knows why
            screen.notice(unheard_recording(args.input_audio, endpointing(args).calibration))
    finally:
        speaker.close()
        getattr(ears, "close", lambda: None)()
        getattr(screen, "close", lambda: None)()
    return 0


def _open_ears(args, understander: Understander, clock: Clock, screen: Screen) -> Ears:
    from .adapt import saved_profile
    from .grammar import words_of
    from .listen import AudioFileEars, KeyboardEars, MicrophoneEars, MicrophoneThenKeyboard

    settings = endpointing(args)
    if args.wake is not None and not words_of(args.wake):  # else no wake phrase at all, silently
        raise UsageError('backcare: --wake needs words to listen for, e.g. --wake "hey coach"')
    if args.text:
        return KeyboardEars(understander)
    adaptation = None if args.as_shipped else saved_profile(screen.notice)
    if args.input_audio:
        return AudioFileEars(Path(args.input_audio), understander, clock, settings=settings, wake=args.wake,
                             adaptation=adaptation)
    return MicrophoneThenKeyboard(
        lambda: MicrophoneEars(understander, wake=args.wake, settings=settings, clock=clock, adaptation=adaptation),
        lambda: KeyboardEars(understander), screen.notice, clock)


def unheard_recording(path: str, calibration: float) -> str:
    """What to tell someone whose recording gave no turn at all. Besides a recording of silence or noise: speech with no
    pause as long as the calibration, whose quietest stretch, taken for the room, set the threshold above the voice."""
    if calibration == 0:
        return f"backcare: no speech was heard in {path}"
    return (f"backcare: no speech was heard in {path}: nothing stood out from its quietest {calibration:g} s, taken for "
            "the room; if it has no pause that long, pass --calibration 0")


# The endpointing options: Endpointing field -> (lowest, highest, unit in the message).
ENDPOINTING_LIMITS = {"end_silence": (0.2, 5, " seconds"), "energy_threshold": (10, 10000, ""),
                      "calibration": (0, 10, " seconds")}


def endpointing(args) -> Endpointing:
    """The defaults, with what the command line changed; out-of-range values are refused in one line."""
    settings = Endpointing()
    for name, (lowest, highest, unit) in ENDPOINTING_LIMITS.items():
        value = getattr(args, name)
        if value is None:
            continue
        if not lowest <= value <= highest:
            raise UsageError(f"backcare: --{name.replace('_', '-')} must be from {lowest:g} to {highest:g}{unit}")
        settings = dataclasses.replace(settings, **{name: value})
    return settings


def run_enroll(args, content: Content) -> int:
    """`backcare enroll`: the sentences are spoken and shown, and heard through the microphone (or a recording, which
    is a whole enrollment in itself: nothing of it is kept for a later run)."""
    from .adapt import AdaptError
    from .audio import AudioError, Microphone
    from .denoise import load_denoiser
    from .cli_screen import TerminalScreen
    from .enroll import MemoryTakes, TakesDirectory, enroll, forget, listener, stopped_short
    from .listen import recording_microphone

    screen = TerminalScreen()
    if args.forget:
        try:
            forget(screen.notice, TakesDirectory())
        except AdaptError as err:
            raise UsageError(f"backcare: {err}") from None
        return 0
    clock: Clock = VirtualClock() if args.fast else RealClock()
    try:
        if args.input_audio:
            microphone = recording_microphone(Path(args.input_audio), clock, endpointing(args))
        else:
            microphone = Microphone(endpointing(args), denoiser=load_denoiser())
        recording = microphone.source if args.input_audio else None
    except AudioError as err:
        raise UsageError(f"backcare: {err}") from None
    speaker = _open_speaker(args, clock, screen, None, None, printed=sys.stdout)  # enrollment shows only its sentences
    takes = MemoryTakes() if recording else TakesDirectory(warn=screen.notice)
    try:
        enroll(content, listener(microphone, recording), speaker, screen.notice, takes,
               attempts=1 if recording else 2)  # a recording cannot read a sentence again
    except AdaptError as err:
        raise UsageError(f"backcare: {err}") from None
    except AudioError as err:  # the microphone stopped working midway
        raise UsageError(stopped_short(f"backcare: {err}", takes, content.lines.enroll_sentences)) from None
    except KeyboardInterrupt:
        kept = stopped_short("", takes, content.lines.enroll_sentences)
        if kept:
            screen.notice(f"backcare: {kept}.")
        raise
    finally:
        speaker.close()
        microphone.close()
    return 0


def _open_speaker(args, clock: Clock, screen: Screen, log: Path | None, log_trouble, printed: TextIO | None = None) -> Speaker:
    """The voice; without one, lines go to `printed` (None: the screen shows them already)."""
    if args.fast:
        from .simulate import TimedSpeaker

        speaker: Speaker = TimedSpeaker(clock)
    elif args.quiet:
        speaker = PrintSpeaker(stream=None)
    else:
        speaker = VoiceThenPrint(open_speaker, warn=screen.notice, stream=printed)
    if log is not None:
        try:
            return WavSpeaker(log, rate=speaker.rate, then=speaker, warn=log_trouble)
        except OSError as err:
            log_trouble(err)
    return speaker


def _log_trouble_teller(screen: Screen, directory: Path | None):
    """--log is the person's own record, never worth the session: the first failure to keep it (a directory that
    cannot be made, a full disk) is said in one line, and the assistant goes on without it."""
    told = False

    def tell(err: OSError) -> None:
        nonlocal told
        if not told:
            told = True
            screen.notice(f"backcare: cannot keep the log in {directory} ({err.strerror or err}); going on without it.")

    return tell


class TranscriptScreen:
    """--log: everything shown is also appended to DIR/transcript.txt, flushed line by line; a write that fails
    (a full disk) stops the writing and is told to `warn`."""

    def __init__(self, screen: Screen, directory: Path, warn):
        directory.mkdir(parents=True, exist_ok=True)
        self.screen = screen
        self.warn = warn
        self.file: TextIO | None = (directory / "transcript.txt").open("a", encoding="utf-8")

    def notice(self, message: str) -> None:
        self.screen.notice(message)
        self._write("notice", message)

    def heard(self, text: str, intent: str | None) -> None:
        self.screen.heard(text, intent)
        self._write("user", text)

    def spoken(self, line: Spoken) -> None:
        self.screen.spoken(line)
        self._write("assistant", line.text)

    def countdown(self, title: str, step: int, seconds_left: float, paused: bool) -> None:
        self.screen.countdown(title, step, seconds_left, paused)

    def _write(self, who: str, text: str) -> None:
        if self.file is None:
            return
        try:
            self.file.write(f"{who}\t{text}\n")
            self.file.flush()
        except OSError as err:
            self.close()
            self.warn(err)

    def close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            try:
                file.close()
            except OSError:
                pass  # what could not be flushed is already reported
