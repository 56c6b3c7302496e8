"""Where the assistant keeps what it remembers (the user data directory) and what it can make again (the cache),
and how it writes there: a file is replaced whole or not at all, so a full disk or a Ctrl-C midway never leaves a
good file half overwritten."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import platformdirs


def user_data_directory() -> Path:
    return Path(platformdirs.user_data_dir("backcare-voice", appauthor=False))


def user_cache_directory() -> Path:
    """What can be made again from the content or the data directory (the compiled grammar, the voice in use)."""
    return Path(platformdirs.user_cache_dir("backcare-voice", appauthor=False))


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A scratch file beside `path` to write; once the block ends without an error it becomes `path` in one step,
    otherwise it is removed. OSError from making the directory or writing reaches the caller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        yield Path(partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def check_writable(directory: Path, room: int = 0) -> None:
    """Raises OSError unless a file can be written in `directory` (made if need be) and `room` bytes are free there:
    asked before a person's effort depends on it. An empty file can be made on a full disk, hence the room."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass
    if shutil.disk_usage(directory).free < room:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: {room // 2**20 + 1} MB are needed")
