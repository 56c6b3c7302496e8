"""A whole guide in one WAV file, its timed pauses included, to play on a phone without the assistant.

A timeline is a list of items: a str is spoken, a float is that many seconds of silence, `MARK`
starts a step's timer (as when the live assistant finishes reading a step) and `Until(s)` pads with
silence up to `s` seconds after the last mark, so cues land where the live assistant says them.
"""

from __future__ import annotations

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from .content import Guide
from .speaker import SAMPLE_RATE, synthesize

# Silence is written in blocks of this many seconds, so a 20-minute pause needs little memory.
SILENCE_BLOCK_SECONDS = 10.0


@dataclass(frozen=True)
class Until:
    seconds: float


MARK = "<mark>"
Item = Union[str, float, Until]


def guide_timeline(guide: Guide) -> list[Item]:
    items: list[Item] = [guide.intro[0]]
    for step in guide.steps:
        items += [step.text, MARK]
        for cue in sorted(step.cues, key=lambda c: c.elapsed_at(step.seconds)):
            at = cue.elapsed_at(step.seconds)
            if 0 < at < step.seconds:
                items += [Until(at), cue.text]
        items.append(Until(step.seconds))
    items.append(guide.outro[0])
    return items


def render_wav(items: Iterable[Item], out_path: Path, rate: int) -> float:
    """Writes the timeline to `out_path` (via a temporary file renamed at the end); returns its seconds. Through a
    symlink, the file it names is written; a device or directory there is refused before minutes of rendering."""
    out_path = Path(out_path).resolve()
    if out_path.exists() and not out_path.is_file():
        raise OSError(f"{out_path} is not a regular file")
    fd, partial = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
    os.close(fd)
    os.chmod(partial, out_path.stat().st_mode & 0o777 if out_path.exists() else 0o666 & ~_umask())
    try:
        with wave.open(partial, "wb") as out, tempfile.TemporaryDirectory(prefix="backcare-render-") as scratch:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            written = 0
            mark = 0
            for item in items:
                if item == MARK:
                    mark = written
                elif isinstance(item, str):
                    written += _append_speech(out, item, rate, Path(scratch) / "speech.wav")
                else:
                    seconds = item.seconds - (written - mark) / SAMPLE_RATE if isinstance(item, Until) else item
                    written += _append_silence(out, seconds)
        os.replace(partial, out_path)
    except BaseException:
        os.unlink(partial)
        raise
    return written / SAMPLE_RATE


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _append_speech(out: wave.Wave_write, text: str, rate: int, scratch: Path) -> int:
    synthesize(text, rate, scratch)
    with wave.open(str(scratch), "rb") as speech:
        if (speech.getnchannels(), speech.getsampwidth(), speech.getframerate()) != (1, 2, SAMPLE_RATE):
            raise ValueError(f"unexpected speech format from the engine: {speech.getparams()}")
        frames = speech.readframes(speech.getnframes())
    out.writeframes(frames)
    return len(frames) // 2


def _append_silence(out: wave.Wave_write, seconds: float) -> int:
    total = max(0, int(round(seconds * SAMPLE_RATE)))
    block = int(SILENCE_BLOCK_SECONDS * SAMPLE_RATE)
    remaining = total
    while remaining > 0:
        count = min(block, remaining)
        out.writeframes(b"\0\0" * count)
        remaining -= count
    return total
