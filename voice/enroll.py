"""`backcare enroll`: the person reads the content's enrollment sentences aloud once, and the assistant learns
their voice from them (voice/adapt.py). The sentences are spoken and shown one at a time; each is heard through the
same microphone and endpointing as the live assistant, so a recording (`--input-audio`) of them read in order works
the same. Each reading that sounds like its sentence is kept as soon as it is heard (Takes), so an enrollment
stopped midway goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Iterator, Mapping, Protocol

from .adapt import (MIN_SENTENCES, AdaptError, Heard, ReadingCheck, TooFewFollowed, check_tools, enrollment_dictionary, learn,
                    profile_path)
from .audio import LONGEST_PHRASE_SECONDS, SAMPLE_RATE, AudioClip, AudioError, Microphone, load_wav, save_wav
from .content import Content
from .files import check_writable, replacing, user_data_directory
from .listen import Recording
from .speaker import Speaker

# How long to wait for the person to start reading a sentence before going on to the next.
WAIT_SECONDS = 15.0
# Shorter than this is not one of the sentences read (every one has five words or more): a cough, a click.
MIN_SECONDS = 0.5
# The most a kept reading can take on disk (16-bit samples, the microphone's longest turn); the profile is far less.
LONGEST_READING_BYTES = LONGEST_PHRASE_SECONDS * SAMPLE_RATE * 2


class Takes(Protocol):
    """The sentences read so far, each by its text (a sentence the content no longer has is never asked for)."""

    lasting: bool  # whether what is kept outlives this run

    def load(self, sentences: Iterable[str]) -> dict[str, AudioClip]: ...

    def keep(self, sentence: str, clip: AudioClip) -> None: ...

    def clear(self) -> None: ...


class MemoryTakes:
    """For a recording of the sentences read in order (`--input-audio`): it is a whole enrollment in itself."""

    lasting = False

    def __init__(self):
        self.clips: dict[str, AudioClip] = {}

    def load(self, sentences: Iterable[str]) -> dict[str, AudioClip]:
        return {sentence: self.clips[sentence] for sentence in sentences if sentence in self.clips}

    def keep(self, sentence: str, clip: AudioClip) -> None:
        self.clips[sentence] = clip

    def clear(self) -> None:
        self.clips.clear()


class TakesDirectory:
    """One WAV per sentence read, in the user data directory until the voice is learned from them. A take that
    cannot be kept (a full disk) is told once and the enrollment goes on; one that cannot be read is asked again."""

    def __init__(self, directory: Path | None = None, warn: Callable[[str], None] = lambda message: None):
        self.directory = directory or user_data_directory() / "enrollment"
        self.warn = warn
        self.lasting = True

    def _path(self, sentence: str) -> Path:
        return self.directory / f"{hashlib.sha256(sentence.encode('utf-8')).hexdigest()[:16]}.wav"

    def load(self, sentences: Iterable[str]) -> dict[str, AudioClip]:
        kept = {}
        for sentence in sentences:
            try:
                kept[sentence] = load_wav(self._path(sentence))
            except AudioError:  # never read, or damaged: asked again
                pass
        return kept

    def keep(self, sentence: str, clip: AudioClip) -> None:
        if not self.lasting:
            return
        try:
            with replacing(self._path(sentence)) as partial:
                save_wav(clip, partial)
        except OSError as err:
            self.lasting = False
            self.warn(f"backcare: cannot keep the sentences read in {self.directory} ({err.strerror or err}); "
                      "those read from now on are not kept if this enrollment is stopped")

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def record(content: Content, listen: Callable[[float], Iterator[bytes] | None], speaker: Speaker,
           show: Callable[[str], None], takes: Takes, rng: random.Random, sounds_like: Callable[[AudioClip, str], Heard],
           attempts: int = 2, kept: Mapping[str, AudioClip] = MappingProxyType({})) -> list[tuple[AudioClip, str]]:
    """Each sentence said, then shown, then what the person read of it, kept in `takes` at once. A reading that does
    not sound like the sentence (or was only noise: the person is told which) is asked for again, up to `attempts`
    in all; a sentence nobody read in time, or never read right, is left out; one read in an earlier run (`kept`,
    from takes.load) is not asked again. `listen` raises EOFError when nothing more will come (a recording has
    ended)."""
    recordings = []
    sentences = content.lines.enroll_sentences
    for number, sentence in enumerate(sentences, 1):
        if sentence in kept:
            recordings.append((kept[sentence], sentence))
            continue
        lines = content.lines.enroll_prompt
        for attempt in range(attempts):
            speaker.say(rng.choice(lines).format(sentence=sentence))
            show(f"({number}/{len(sentences)}) {sentence}")  # once it is said: shown sooner, it is read while nobody listens
            try:
                chunks = listen(WAIT_SECONDS)
            except EOFError:
                return recordings
            clip = AudioClip(b"".join(chunks or ()))
            if clip.seconds < MIN_SECONDS:
                show("(nothing heard; on to the next one)")
                break
            heard = sounds_like(clip, sentence)
            if heard is Heard.SENTENCE:
                takes.keep(sentence, clip)
                recordings.append((clip, sentence))
                break
            what = ("only noise, no voice: is a fan or a tap running?" if heard is Heard.NOISE
                    else "something that did not sound like this sentence")
            show(f"(I heard {what}" + ("; on to the next one)" if attempt == attempts - 1 else ")"))
            lines = content.lines.enroll_noise if heard is Heard.NOISE else content.lines.enroll_again
    return recordings


def listener(microphone: Microphone, recording: Recording | None = None) -> Callable[[float], Iterator[bytes] | None]:
    """What `record` listens with: the microphone's next turn; from a recording, EOFError once it has ended
    (SpeechRecognition would wait on it for ever)."""

    def listen(timeout: float) -> Iterator[bytes] | None:
        if recording is not None and recording.finished:
            raise EOFError
        return microphone.listen(timeout)

    return listen


def enroll(content: Content, listen: Callable[[float], Iterator[bytes] | None], speaker: Speaker,
           show: Callable[[str], None], takes: Takes, rng: random.Random | None = None, attempts: int = 2,
           sounds_like: Callable[[AudioClip, str], Heard] | None = None) -> None:
    """The whole enrollment, saved as the person's profile. What cannot work is found before anyone reads a
    sentence; sentences read in an earlier, unfinished run count, and are let go once the voice is learned."""
    rng = rng or random.Random()
    check_tools()
    dictionary = enrollment_dictionary(content)
    sounds_like = sounds_like or ReadingCheck(content, dictionary)
    out = profile_path()
    sentences = content.lines.enroll_sentences
    kept = takes.load(sentences)
    to_keep = len(sentences) - len(kept) if takes.lasting else 0  # the readings still to be kept on disk
    try:
        check_writable(out.parent, room=to_keep * LONGEST_READING_BYTES)
    except OSError as err:
        raise AdaptError(f"cannot save a voice profile in {out.parent} ({err.strerror or err}); nothing was asked") from None
    if kept:
        speaker.say(rng.choice(content.lines.enroll_resume).format(heard=len(kept), total=len(sentences)))
    else:
        speaker.say(rng.choice(content.lines.enroll_intro))
    recordings = record(content, listen, speaker, show, takes, rng, sounds_like, attempts, kept)
    if len(recordings) < MIN_SENTENCES:
        raise AdaptError(stopped_short(f"only {len(recordings)} sentences were heard, {MIN_SENTENCES} are needed; "
                                       "nothing was changed", takes, sentences))
    try:
        followed = learn(recordings, dictionary, out)
    except TooFewFollowed:
        takes.clear()  # kept, they would fail again: the next enrollment asks for every sentence
        raise
    except AdaptError as err:
        if not takes.lasting:
            raise
        raise AdaptError(f"{err}; the sentences read are kept (`backcare enroll --forget` lets them go)") from None
    takes.clear()
    speaker.say(rng.choice(content.lines.enroll_done))
    show(f"learned from {followed} of {len(recordings)} sentences; saved to {out}")


def stopped_short(message: str, takes: Takes, sentences: Iterable[str]) -> str:
    """`message`, and what an enrollment that stopped short says of the sentences read when they wait for the next
    run."""
    kept = "the sentences read so far are kept, and `backcare enroll` goes on from there"
    return "; ".join(part for part in (message, kept if takes.lasting and takes.load(sentences) else "") if part)


def forget(show: Callable[[str], None], takes: Takes) -> None:
    """`backcare enroll --forget`: listen with the model as it ships again, and let go of any sentences read."""
    takes.clear()
    path = profile_path()
    try:
        path.unlink()
    except FileNotFoundError:
        show("there is no voice profile to remove")
        return
    except OSError as err:
        raise AdaptError(f"cannot remove {path} ({err.strerror or err})") from None
    show(f"removed {path}; the assistant listens without it")
