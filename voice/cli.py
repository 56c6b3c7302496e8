"""The `backcare` command: the live assistant by default, and the tools scripts and evaluations use.

Every failure a user can cause (bad content, a missing device, a bad file) ends in one clear line
on stderr and a non-zero exit, never a traceback; BACKCARE_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence

from .errors import OneLineError


class UsageError(OneLineError):
    """A mistake in how the command was called; its message is the one line the user sees."""


def _say_error(message: str) -> None:
    """One line on stderr, always naming the program (some errors are raised deep down, without its name)."""
    prefix = "" if message.startswith("backcare: ") else "backcare: "
    print(prefix + message, file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse prints its whole usage block above a mistake; here the mistake is one line that points to --help
    (subcommands' parsers are of this class too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _content_options(parser: argparse.ArgumentParser, default) -> argparse.ArgumentParser:
    """--content and --seed, before the command or after it ("backcare understand --content DIR ..."). After it
    they default to SUPPRESS, so that the command's parser does not overwrite what was given before it."""
    parser.add_argument("--content", metavar="DIR", default=default, help="content directory (default: the bundled prompts/)")
    parser.add_argument("--seed", type=int, default=default, help="seed for picking wordings (repeatable runs)")
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _content_options(_Parser(prog="backcare", description="Offline voice assistant for back pain after sex."), None)
    parser.add_argument("--text", action="store_true", help="type instead of speaking; replies are printed and spoken")
    parser.add_argument("--quiet", action="store_true", help="print replies only, no voice")
    parser.add_argument("--input-audio", metavar="FILE.wav", help="listen to a recording instead of the microphone")
    parser.add_argument("--fast", action="store_true", help="with --input-audio: as fast as possible, on a virtual clock")
    parser.add_argument("--wake", metavar="PHRASE", help='wake phrase needed when idle, e.g. "hey coach"')
    parser.add_argument("--end-silence", type=float, metavar="SECONDS",
                        help="quiet that ends an utterance (default 0.7; more for slow speakers)")
    parser.add_argument("--energy-threshold", type=float, metavar="RMS",
                        help="loudness that counts as speech before calibration (default 100)")
    parser.add_argument("--calibration", type=float, metavar="SECONDS",
                        help="room noise measured at start (in a recording, its quietest stretch) to set the loudness of "
                             "speech (default 0.5; 0: none)")
    parser.add_argument("--log", metavar="DIR", help="keep a transcript and the assistant's audio in DIR (off by default)")
    parser.add_argument("--as-shipped", action="store_true",
                        help="listen without the voice `backcare enroll` learned, this time only (someone else is speaking)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    shared = [_content_options(argparse.ArgumentParser(add_help=False), argparse.SUPPRESS)]

    understand = commands.add_parser("understand", parents=shared, help="print what the assistant understands, as JSON")
    understand.add_argument("inputs", nargs="*", metavar="TEXT_OR_WAV")
    understand.add_argument("--batch", metavar="FILE", help="one utterance (or WAV path with --audio) per line; - for stdin")
    understand.add_argument("--audio", action="store_true", help="inputs are WAV files")

    validate = commands.add_parser("validate", parents=shared, help="check a content directory and list every mistake")
    validate.add_argument("directory", nargs="?", metavar="DIR")

    simulate = commands.add_parser("simulate", parents=shared, help="play a scripted conversation on a virtual clock")
    simulate.add_argument("script", metavar="FILE", help="lines of SECONDS<TAB>UTTERANCE; - for stdin")

    render = commands.add_parser("render", parents=shared, help="write a whole guide, pauses included, to one WAV file")
    render.add_argument("guide", help="massage, compress or rest")
    render.add_argument("out", metavar="OUT.wav")
    render.add_argument("--minutes", type=int, help="compress length in minutes")

    enroll = commands.add_parser("enroll", parents=shared, help="read a few sentences aloud once, so the recognizer learns your voice")
    enroll.add_argument("--forget", action="store_true", help="remove the learned voice and listen as shipped")
    enroll.add_argument("--input-audio", metavar="FILE.wav", default=argparse.SUPPRESS, help="the sentences read in a recording")
    enroll.add_argument("--fast", action="store_true", default=argparse.SUPPRESS, help="with --input-audio: on a virtual clock")
    enroll.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="show the sentences, no voice")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The modules that do the work are imported inside, not at the top, so that a Ctrl-C while they load (the
    first fraction of a second) ends in one line too."""
    try:
        args = _parser().parse_args(argv)
        return _run(args)
    except OneLineError as err:
        _say_error(str(err))
        return 1
    except KeyboardInterrupt:
        _say_error("backcare: stopped.")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # the last resort: one line, not a traceback
        if os.environ.get("BACKCARE_DEBUG"):
            raise
        _say_error(f"backcare: unexpected error: {type(err).__name__}: {err}")
        return 1


def _run(args: argparse.Namespace) -> int:
    from .content import load_content

    if args.command == "validate":
        from .adapt import enrollment_dictionary
        from .recognize import check_speakable

        content = load_content(args.directory or args.content)
        _tell(content.notices)
        check_speakable(content)
        enrollment_dictionary(content)
        print("content is valid")
        return 0
    content = load_content(args.content)
    if args.command is None:
        from .loop import run_live

        return run_live(args, content)  # which tells content.notices itself (see there)
    _tell(content.notices)
    return {"understand": _understand, "simulate": _simulate, "render": _render, "enroll": _enroll}[args.command](args, content)


def _enroll(args: argparse.Namespace, content) -> int:
    from .loop import run_enroll

    return run_enroll(args, content)


def _tell(notices: Iterable[str]) -> None:
    for notice in notices:
        _say_error(notice)


def _read_lines(name: str) -> Iterable[str]:
    if name == "-":
        return sys.stdin
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise UsageError(f"backcare: cannot read {name}: {err.strerror or err}")


def _understand(args: argparse.Namespace, content) -> int:
    from .understand import Understander

    inputs = list(args.inputs)
    if args.batch:
        lines = [line.rstrip("\r\n") for line in _read_lines(args.batch)]
        if args.audio:  # paths: blank lines and # comments skipped, the spaces around a path not part of it
            lines = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        inputs += lines
    if not inputs:
        raise UsageError("backcare: understand needs TEXT, WAV files with --audio, or --batch FILE")
    understander = Understander(content)
    if args.audio:
        from .adapt import saved_profile
        from .recognize import understand_audio_files

        adaptation = None if args.as_shipped else saved_profile(_say_error)  # the person's voice, if they enrolled
        failed = 0
        for result in understand_audio_files(understander, [i for i in inputs if i.strip()], adaptation):
            print(json.dumps(result), flush=True)
            if "error" in result:  # in its JSON line for a program, and in one line for the person
                _say_error(result["error"])
                failed += 1
        return 1 if failed else 0
    for text in inputs:
        print(json.dumps(understander.understand(text).as_json()), flush=True)
    return 0


def _simulate(args: argparse.Namespace, content) -> int:
    from .simulate import parse_script, simulate
    from .understand import Understander

    turns = parse_script(_read_lines(args.script), warn=lambda message: _say_error(f"{args.script}: {message}"))
    seed = 0 if args.seed is None else args.seed
    for event in simulate(content, Understander(content), turns, seed=seed):
        print(json.dumps(event), flush=True)
    return 0


def _render(args: argparse.Namespace, content) -> int:
    from .render import guide_timeline, render_wav
    from .speaker import DEFAULT_RATE

    guide = content.guide_named(args.guide)
    if guide is None:
        names = ", ".join(g.name for g in content.guides)
        raise UsageError(f"backcare: no guide named {args.guide!r}; choose one of {names}")
    if args.minutes is not None:
        if guide.minutes is None:
            raise UsageError(f"backcare: the {guide.title} has fixed step lengths; --minutes is for the compress")
        if guide.minutes.clamp(args.minutes) != args.minutes:
            raise UsageError(f"backcare: --minutes must be from {guide.minutes.low} to {guide.minutes.high}")
        guide = guide.with_minutes(args.minutes)
    try:
        render_wav(guide_timeline(guide), Path(args.out), DEFAULT_RATE)
    except OSError as err:
        raise UsageError(f"backcare: cannot write {args.out}: {err.strerror or err}") from None
    print(f"wrote {args.out}")
    return 0
