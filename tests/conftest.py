"""Shared fixtures: the bundled content and understander (built once), its compiled grammar (once for both
workers), and an assistant on a virtual clock."""

from __future__ import annotations

import fcntl
import os
import random

import pytest

from voice.clock import VirtualClock
from voice.content import load_content
from voice.dialogue import Assistant, Spoken
from voice.simulate import TimedSpeaker
from voice.store import MemoryStore
from voice.understand import Understander


@pytest.fixture(scope="session")
def content():
    return load_content()


@pytest.fixture(scope="session")
def understander(content):
    return Understander(content)


@pytest.fixture(scope="session")
def shared_temp(tmp_path_factory):
    """A directory shared by the whole run: under xdist each worker's base temporary directory is one of the run's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@pytest.fixture(scope="session")
def cache_home(shared_temp):
    """The user cache directory (XDG_CACHE_HOME) of every test in the run."""
    return shared_temp / "cache-home"


@pytest.fixture(autouse=True)
def user_directories(cache_home, tmp_path, monkeypatch):
    """Never the person's own: every test's user data directory (XDG_DATA_HOME: state, bookmark, voice profile) is
    its own, and its cache directory (XDG_CACHE_HOME) is one for the run. Tests that must compile the grammar
    themselves (offline, from nothing) set a cache directory of their own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))


@pytest.fixture(scope="session")
def grammar_cache(content, shared_temp, cache_home):
    """The assistant's cache directory under `cache_home`, with the bundled content's grammar compiled in it:
    compiling takes 5 to 7 s, so it is done once for both workers (the second waits on a lock)."""
    from voice.recognize import build_files

    directory = cache_home / "backcare-voice"
    directory.mkdir(parents=True, exist_ok=True)
    with open(shared_temp / "grammar-cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_files(content, directory)
    return directory


class Harness:
    """An assistant on a virtual clock whose speaking takes estimated time; tests talk to it in plain text."""

    def __init__(self, content, understander, store=None):
        self.clock = VirtualClock()
        self.spoken: list[Spoken] = []
        self.understander = understander
        self.store = store or MemoryStore()
        self.assistant = Assistant(content, TimedSpeaker(self.clock), self.clock, rng=random.Random(1),
                                   store=self.store, on_spoken=self.spoken.append)

    def say(self, text: str) -> list[Spoken]:
        """The user's turn now; returns what the assistant said in reply."""
        before = len(self.spoken)
        self.assistant.hear(self.understander.understand(text))
        return self.spoken[before:]

    def wait(self, seconds: float) -> list[Spoken]:
        """Let virtual time pass, firing cues and steps as the live loop would."""
        before = len(self.spoken)
        until = self.clock.now() + seconds
        # Like the live loop, anything that fell due while the assistant was speaking fires at once.
        while (deadline := self.assistant.next_deadline()) is not None and deadline <= max(until, self.clock.now()):
            self.clock.advance_to(deadline)
            self.assistant.tick()
        self.clock.advance_to(until)
        return self.spoken[before:]

    def texts(self, lines: list[Spoken]) -> str:
        return " | ".join(line.text for line in lines)


@pytest.fixture
def harness(content, understander):
    return Harness(content, understander)
