"""British pronunciations in the recognizer's dictionary, spelled from espeak-ng's own rules for British English.

PocketSphinx's dictionary (cmudict) spells every word as Americans say it. Said the British way, words lose their r
after a vowel ("doctor" ends in a plain schwa), round the vowel of "stop", and lengthen the one of "after": heard
against the American spelling alone, espeak-ng's British voices ("en", its default, and "en+f3") were turned away more
often than its American ones (20 commands in each: 13 understood in "en", 19 in "en-us"; one-off). Each word of ours
gets its British spelling as one more pronunciation, where it differs from every one it has: on the tuning audio
(scripts/tune, with "en" among the voices), 538 -> 568 of 912 clips right, wrong intents 20 -> 17, off-topic clips
taken 24 -> 26 of 660 (docs/measurements.md, British pronunciations).
"""

from __future__ import annotations

import subprocess

# espeak-ng's English phonemes (`espeak-ng -x`) as the acoustic model's phones, the British way: "3" (the schwa of
# "doctor"), "A@" ("start"), "e@" ("there") and the other r-coloured vowels without their r; "0" ("stop") as AO; "aa"
# ("after") as AA. ";" only marks a palatalised consonant.
PHONES = {
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S",
    "z": "Z", "S": "SH", "Z": "ZH", "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "r-": "R", "w": "W",
    "j": "Y", "tS": "CH", "dZ": "JH",
    "a": "AE", "aa": "AA", "a#": "AH", "A:": "AA", "A@": "AA", "0": "AO", "O:": "AO", "O@": "AO", "o@": "AO",
    "V": "AH", "E": "EH", "e@": "EH", "I": "IH", "I2": "IH", "i": "IY", "i:": "IY", "i@": "IH AH", "i@3": "IH AH",
    "@": "AH", "@-": "AH", "@L": "AH L", "3": "AH", "3:": "ER", "U": "UH", "U@": "UH", "u:": "UW",
    "eI": "EY", "aI": "AY", "OI": "OY", "aU": "AW", "oU": "OW", ";": "",
}
ESPEAK_TIMEOUT_SECONDS = 30


def british_variants(lines: list[str]) -> list[str]:
    """More dictionary lines ("word(n) PHONES"): each word of `lines` said the British way, where that differs from
    every pronunciation it has there. None where espeak-ng cannot tell (not installed, or an answer not understood):
    the dictionary is then American only, as PocketSphinx ships it."""
    spellings: dict[str, list[str]] = {}
    for line in lines:
        word, phones = line.split(" ", 1)
        spellings.setdefault(word.split("(", 1)[0], []).append(" ".join(phones.split()))
    words = sorted(spellings)
    british = _espeak_phonemes(words)
    if british is None:
        return []
    variants = []
    for word, phonemes in zip(words, british):
        phones = _phones(phonemes)
        if phones and phones not in spellings[word]:
            variants.append(f"{word}({len(spellings[word]) + 1}) {phones}")
    return variants


def _espeak_phonemes(words: list[str]) -> list[str] | None:
    """espeak-ng's British phonemes for each word ("st'0p"), one clause each, or None."""
    try:
        result = subprocess.run(["espeak-ng", "-v", "en", "-q", "-x", "--sep=_"], input="".join(f"{w}.\n" for w in words),
                                capture_output=True, text=True, timeout=ESPEAK_TIMEOUT_SECONDS, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    answers = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return answers if len(answers) == len(words) else None


def _phones(phonemes: str) -> str | None:
    """The phones of one word's espeak-ng phonemes (stress marks dropped), or None if one of them is not in PHONES."""
    symbols = [symbol for symbol in phonemes.replace("'", "").replace(",", "").replace(" ", "_").split("_") if symbol]
    if not symbols or any(symbol not in PHONES for symbol in symbols):
        return None
    return " ".join(PHONES[symbol] for symbol in symbols if PHONES[symbol])
