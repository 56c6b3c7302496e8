"""`backcare enroll`: the person reads the content's enrollment sentences aloud once, and the assistant learns
their voice from them (voice/adapt.py). The sentences are shown and spoken one at a time; each is heard through the same microphone
and endpointing as the live assistant, so a recording (`--input-audio`) of them read in order works the same.
"""

from __future__ import annotations

from typing import Callable, Iterator

from .adapt import AdaptError, check_tools, enrollment_pronunciations, learn, profile_path
from .audio import AudioClip, Microphone
from .content import Content
from .listen import Recording
from .speaker import Speaker

# How long to wait for the person to start reading a sentence before going on to the next.
WAIT_SECONDS = 15.0
# Fewer sentences than this heard, and nothing is learned: a transform from a handful fits them, not the voice.
MIN_RECORDINGS = 10
# Shorter than this is not one of the sentences read (every one has five words or more): a cough, a click.
MIN_SECONDS = 0.5


def record(content: Content, listen: Callable[[float], Iterator[bytes] | None], speaker: Speaker,
           show: Callable[[str], None]) -> list[tuple[AudioClip, str]]:
    """Each sentence shown and said, then what the person read of it; a sentence nobody read in time is left out.
    `listen` raises EOFError when nothing more will come (a recording has ended)."""
    recordings = []
    sentences = content.lines.enroll_sentences
    for number, sentence in enumerate(sentences, 1):
        show(f"({number}/{len(sentences)}) {sentence}")
        speaker.say(content.lines.enroll_prompt[0].format(sentence=sentence))
        try:
            chunks = listen(WAIT_SECONDS)
        except EOFError:
            break
        clip = AudioClip(b"".join(chunks or ()))
        if clip.seconds < MIN_SECONDS:
            show("(nothing heard; on to the next one)")
            continue
        recordings.append((clip, sentence))
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
           show: Callable[[str], None]) -> None:
    """The whole enrollment, saved as the person's profile. What cannot work is found before anyone reads a sentence."""
    check_tools()
    dictionary = enrollment_pronunciations(content)
    speaker.say(content.lines.enroll_intro[0])
    recordings = record(content, listen, speaker, show)
    if len(recordings) < MIN_RECORDINGS:
        raise AdaptError(f"only {len(recordings)} sentences were heard, {MIN_RECORDINGS} are needed; nothing was changed")
    out = profile_path()
    followed = learn(recordings, dictionary, out)
    speaker.say(content.lines.enroll_done[0])
    show(f"learned from {followed} of {len(recordings)} sentences; saved to {out}")


def forget(show: Callable[[str], None]) -> None:
    """`backcare enroll --forget`: listen with the model as it ships again."""
    path = profile_path()
    try:
        path.unlink()
    except FileNotFoundError:
        show("there is no voice profile to remove")
        return
    except OSError as err:
        raise AdaptError(f"cannot remove {path} ({err.strerror or err})") from None
    show(f"removed {path}; the assistant listens without it")
