"""Ears: where the live loop's user turns come from (keyboard, microphone or a recording).

Each answers `listen(timeout)` with what was said, None when the timeout passed first, or raises
EOFError when nothing more will come.
"""

from __future__ import annotations

import queue
import sys
import threading


class KeyboardEars:
    """Typed lines; read on a thread so that guide deadlines fire while nobody is typing."""

    def __init__(self, stream=None):
        self.lines: queue.Queue[str | None] = queue.Queue()
        stream = stream or sys.stdin
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        try:
            for line in stream:
                self.lines.put(line.rstrip("\r\n"))
        except (OSError, ValueError):  # stdin closed or not readable: same as the end of input
            pass
        self.lines.put(None)

    def listen(self, timeout: float | None) -> str | None:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.lines.put(None)
            raise EOFError
        return line
