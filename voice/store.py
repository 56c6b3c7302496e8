"""What the assistant remembers between runs: whether the first-start note was given, and where an
interrupted guide stopped, so a crash or Ctrl-C never loses the user's place.

A small JSON file in the user's data directory, replaced atomically; the tests use MemoryStore.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from .files import replacing, user_data_directory


@dataclass(frozen=True)
class Bookmark:
    guide: str
    step: int  # 1-based
    minutes: int | None = None


@dataclass(frozen=True)
class Memory:
    disclaimer_given: bool = False
    bookmark: Bookmark | None = None


class Store(Protocol):
    def load(self) -> Memory: ...

    def save(self, memory: Memory) -> None: ...


class MemoryStore:
    def __init__(self, memory: Memory | None = None):
        self.memory = memory or Memory()

    def load(self) -> Memory:
        return self.memory

    def save(self, memory: Memory) -> None:
        self.memory = memory


def default_state_path() -> Path:
    return user_data_directory() / "state.json"


class FileStore:
    """A missing or unreadable file means a fresh start; a failed write is reported once, never fatal."""

    def __init__(self, path: Path | None = None, warn=None):
        self.path = path or default_state_path()
        self.warn = warn or (lambda message: None)
        self._warned = False

    def load(self) -> Memory:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            mark = data.get("bookmark")
            minutes = mark.get("minutes") if mark else None
            bookmark = Bookmark(str(mark["guide"]), int(mark["step"]), None if minutes is None else int(minutes)) if mark else None
            return Memory(data.get("disclaimer_given") is True, bookmark)
        except FileNotFoundError:
            return Memory()
        except OSError as err:
            self.warn(f"backcare: ignoring an unreadable state file {self.path} ({err.strerror or err})")
            return Memory()
        except (ValueError, KeyError, TypeError, AttributeError):
            # Set aside, not overwritten by the next save: what it held may still be read by hand.
            # Named for when, so that a second damaged file does not replace the first.
            kept = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.path, kept)
            except OSError:
                kept = None
            self.warn(f"backcare: ignoring an unreadable state file {self.path}" + (f" (kept as {kept})" if kept else ""))
            return Memory()

    def save(self, memory: Memory) -> None:
        try:
            with replacing(self.path) as partial:
                partial.write_text(json.dumps(asdict(memory)), encoding="utf-8")
        except OSError as err:
            if not self._warned:
                self._warned = True
                self.warn(f"backcare: cannot save progress to {self.path}: {err.strerror or err}")
