"""Loads the content pack (prompts/*.yaml) once, validates all of it, and freezes it into small dataclasses.

Every mistake is collected, not just the first, so `backcare validate` can list them all as
`file:line: what is wrong`; runtime code only ever sees the frozen objects below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

import yaml
from hassil import Intents, ListReference, RuleReference, Sentence, parse_sentence
from hassil.expression import Group

from .errors import OneLineError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "prompts"
FILES = ("intents.yaml", "answers.yaml", "guides.yaml", "dialogue.yaml")

QUESTION_INTENTS = (
    "ask_causes", "ask_cause_detail", "ask_is_common", "ask_risk_groups", "ask_relief",
    "ask_exercise", "ask_see_doctor", "red_flag", "ask_clinic",
)
GUIDE_INTENTS = ("guide_rest", "guide_compress", "guide_massage")
CONTROL_INTENTS = (
    "next", "previous", "repeat", "pause", "resume", "stop", "help", "time_left",
    "slower", "faster", "yes", "no", "goodbye",
)
INTENT_NAMES = QUESTION_INTENTS + GUIDE_INTENTS + CONTROL_INTENTS
# Templates of things that are not for us; a match means "no intent" (a garbage class for matching).
OUT_OF_SCOPE = "out_of_scope"
SLOT_VALUES = {
    "cause": ("musculoskeletal", "positions", "muscle_stiffness", "gynecological"),
    "symptom": (
        "bleeding", "abdominal_pain", "burning", "numbness", "weakness", "incontinence",
        "fever", "persistent_pain",
    ),
}
# The longest step anyone would time by voice; longer is a typo (seconds written for minutes).
MAX_STEP_SECONDS = 60 * 60


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ContentError(OneLineError):
    """Raised with every problem found, so one run of `validate` shows them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Answer:
    intent: str
    when: tuple[tuple[str, str], ...]
    texts: tuple[str, ...]
    offer: str | None


@dataclass(frozen=True)
class Cue:
    text: str
    remaining: float | None = None
    fraction: float | None = None

    def elapsed_at(self, step_seconds: float) -> float:
        """Seconds into the step at which the cue is spoken."""
        if self.fraction is not None:
            return step_seconds * self.fraction
        return max(0.0, step_seconds - (self.remaining or 0.0))


@dataclass(frozen=True)
class Step:
    text: str
    seconds: float
    cues: tuple[Cue, ...]


@dataclass(frozen=True)
class MinutesRange:
    default: int
    low: int
    high: int

    def clamp(self, minutes: int) -> int:
        return min(self.high, max(self.low, minutes))


@dataclass(frozen=True)
class Guide:
    name: str
    intent: str
    title: str
    intro: tuple[str, ...]
    steps: tuple[Step, ...]
    outro: tuple[str, ...]
    offer: str | None
    minutes: MinutesRange | None

    def with_minutes(self, minutes: int) -> Guide:
        """The same guide with its timed step lasting `minutes` (only for guides that have `minutes`)."""
        step = dataclasses.replace(self.steps[0], seconds=minutes * 60.0)
        return dataclasses.replace(self, steps=(step,) + self.steps[1:])


@dataclass(frozen=True)
class Lines:
    """Everything the assistant says that is not an answer or a guide; one field per situation."""

    greeting: tuple[str, ...]
    wake_hint: tuple[str, ...]  # after the greeting, when a wake phrase is needed between turns
    disclaimer: tuple[str, ...]
    help_idle: tuple[str, ...]
    help_guide: tuple[str, ...]
    not_understood: tuple[str, ...]
    hint: tuple[str, ...]
    goodbye: tuple[str, ...]
    declined: tuple[str, ...]
    nothing_offered: tuple[str, ...]
    no_guide: tuple[str, ...]
    paused: tuple[str, ...]
    already_paused: tuple[str, ...]
    resumed: tuple[str, ...]
    not_paused: tuple[str, ...]
    time_left_seconds: tuple[str, ...]
    time_left_minutes: tuple[str, ...]
    time_left_paused: tuple[str, ...]
    slower: tuple[str, ...]
    faster: tuple[str, ...]
    slowest: tuple[str, ...]
    fastest: tuple[str, ...]
    first_step: tuple[str, ...]
    guide_stopped: tuple[str, ...]
    guide_busy: tuple[str, ...]
    back_to_guide: tuple[str, ...]
    resume_offer: tuple[str, ...]
    minutes_clamped: tuple[str, ...]
    minutes_set: tuple[str, ...]
    enroll_intro: tuple[str, ...]
    enroll_resume: tuple[str, ...]  # instead of the intro, when sentences read in an unfinished run are kept
    enroll_prompt: tuple[str, ...]
    enroll_again: tuple[str, ...]  # a reading that did not sound like the sentence
    enroll_noise: tuple[str, ...]  # a reading that was only noise (a fan, a hum)
    enroll_done: tuple[str, ...]
    enroll_sentences: tuple[str, ...]  # read aloud, all of them, in order (`backcare enroll`)


# The placeholders each line may use; anything else in braces is a content mistake.
LINE_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "wake_hint": frozenset({"wake"}),
    "enroll_resume": frozenset({"heard", "total"}),
    "enroll_prompt": frozenset({"sentence"}),
    "enroll_again": frozenset({"sentence"}),
    "enroll_noise": frozenset({"sentence"}),
    "time_left_seconds": frozenset({"seconds"}),
    "time_left_minutes": frozenset({"minutes"}),
    "time_left_paused": frozenset({"seconds"}),
    "guide_stopped": frozenset({"guide"}),
    "guide_busy": frozenset({"guide"}),
    "back_to_guide": frozenset({"guide"}),
    "resume_offer": frozenset({"step", "guide"}),
    "minutes_clamped": frozenset({"low", "high", "minutes"}),
    "minutes_set": frozenset({"minutes"}),
}


@dataclass(frozen=True)
class Content:
    intents: Intents = field(compare=False)
    pronunciations: Mapping[str, str]  # word -> CMU phones, for words the recognizer's dictionary lacks
    endings: tuple[str, ...]  # courtesies that may end any sentence ("for now", "thanks"), longest first
    answers: tuple[Answer, ...]
    guides: tuple[Guide, ...]
    lines: Lines
    offers: Mapping[str, tuple[str, ...]]  # offered intent -> the question that offers it
    fingerprint: str
    # What was taken from the bundled content because this content lacks it, one line each (said at start).
    notices: tuple[str, ...] = field(default=(), compare=False)

    def answer_for(self, intent: str, slots: Mapping[str, Any]) -> Answer | None:
        """The most specific answer whose `when` slots all match."""
        best = None
        for answer in self.answers:
            if answer.intent != intent:
                continue
            if all(str(slots.get(k)) == v for k, v in answer.when):
                if best is None or len(answer.when) > len(best.when):
                    best = answer
        return best

    def guide_for(self, intent: str) -> Guide | None:
        return next((g for g in self.guides if g.intent == intent), None)

    def guide_named(self, name: str) -> Guide | None:
        return next((g for g in self.guides if g.name == name), None)


# --- YAML with line numbers -------------------------------------------------------------------


class _Map(dict):
    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Seq(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers where each mapping key and list item stands, and reports duplicate keys."""

    def __init__(self, stream, on_duplicate: Callable[[int, str], None]):
        super().__init__(stream)
        self.on_duplicate = on_duplicate


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            loader.on_duplicate(line, f"duplicate name {key!r} (first at line {result.key_lines[key]})")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class _File:
    """One content file being checked: its parsed document and the problems found in it."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def read(self, raw: bytes, top_key: str) -> _Map | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            self.problem(raw[: err.start].count(b"\n") + 1, "not UTF-8 text; save the file as UTF-8")
            return None
        try:
            doc = yaml.load(text, Loader=lambda s: _Loader(s, self.problem))  # noqa: S506 (SafeLoader subclass)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else 1
            self.problem(line, f"malformed YAML: {err.problem or err.context}")
            return None
        except yaml.YAMLError as err:
            self.problem(1, f"malformed YAML: {err}")
            return None
        if doc is None:
            self.problem(1, f"file is empty; expected a mapping with the key {top_key!r}")
            return None
        if not isinstance(doc, _Map) or top_key not in doc:
            self.problem(getattr(doc, "line", 1), f"expected a mapping with the key {top_key!r}")
            return None
        return doc

    def texts(self, value: Any, line: int, what: str) -> tuple[str, ...]:
        """One string or a non-empty list of strings, as a tuple."""
        if isinstance(value, str) and value.strip():
            return (value.strip(),)
        if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
            return tuple(v.strip() for v in value)
        self.problem(line, f"{what}: expected a sentence or a list of sentences")
        return ()

    def number(self, value: Any, line: int, what: str, low: float, high: float) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(line, f"{what}: expected a number, got {value!r}")
            return None
        if not low <= value <= high:
            self.problem(line, f"{what}: {value} is out of range ({low:g} to {high:g})")
            return None
        return value

    def intent(self, value: Any, line: int, what: str, allowed: tuple[str, ...] = INTENT_NAMES) -> str | None:
        if value not in allowed:
            self.problem(line, f"{what}: unknown intent {value!r}")
            return None
        return value

    def unknown_keys(self, mapping: _Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(mapping.line_of(key), f"{what}: unexpected key {key!r} (expected one of {', '.join(sorted(allowed))})")


# --- the four files -----------------------------------------------------------------------------


def _walk(expression) -> Iterator:
    yield expression
    if isinstance(expression, Group):
        for item in expression.items:
            yield from _walk(item)


def _check_intents(f: _File, doc: _Map) -> Intents | None:
    before = len(f.problems)
    lists = doc.get("lists") or {}
    rules = doc.get("expansion_rules") or {}
    intents = doc["intents"]
    if not isinstance(intents, _Map):
        f.problem(doc.line_of("intents"), "intents: expected a mapping of intent name to templates")
        return None
    for name in INTENT_NAMES:
        if name not in intents:
            f.problem(intents.line, f"intents: missing intent {name!r}")

    def check_template(text: Any, line: int, where: str) -> None:
        if not isinstance(text, str):
            f.problem(line, f"{where}: expected a template string, got {text!r}")
            return
        try:
            sentence: Sentence = parse_sentence(text)
        except Exception as err:  # hassil raises several error types for bad syntax
            f.problem(line, f"{where}: bad template syntax in {text!r}: {err}")
            return
        for part in _walk(sentence.expression):
            if isinstance(part, ListReference) and part.list_name not in lists:
                f.problem(line, f"{where}: unknown list {{{part.list_name}}}")
            if isinstance(part, RuleReference) and part.rule_name not in rules:
                f.problem(line, f"{where}: unknown expansion rule <{part.rule_name}>")

    def check_fixed_slots(slots: Any, line: int, intent: str) -> None:
        """A block's `slots:` fill a slot whatever its sentences say: a misspelt value would match and get no answer."""
        if slots is None:
            return
        if not isinstance(slots, _Map):
            f.problem(line, f"intent {intent!r}: expected `slots:` to map a slot name to its value")
            return
        for slot, value in slots.items():
            if slot not in SLOT_VALUES or value not in SLOT_VALUES[slot]:
                allowed = ", ".join(f"{name}: {' | '.join(values)}" for name, values in SLOT_VALUES.items())
                f.problem(slots.line_of(slot), f"intent {intent!r}: fixed slot {slot}: {value} is not one of {allowed}")

    if isinstance(rules, _Map):
        for rule, body in rules.items():
            check_template(body, rules.line_of(rule), f"expansion rule <{rule}>")
    for name, spec in intents.items():
        line = intents.line_of(name)
        if name not in INTENT_NAMES and name != OUT_OF_SCOPE:
            f.problem(line, f"unknown intent {name!r}")
            continue
        data = spec.get("data") if isinstance(spec, _Map) else None
        if not isinstance(data, _Seq) or not data:
            f.problem(line, f"intent {name!r}: expected `data:` with a list of `sentences:`")
            continue
        for item, item_line in zip(data, data.item_lines):
            sentences = item.get("sentences") if isinstance(item, _Map) else None
            if not isinstance(sentences, _Seq) or not sentences:
                f.problem(item_line, f"intent {name!r}: expected `sentences:` with at least one template")
                continue
            for text, text_line in zip(sentences, sentences.item_lines):
                check_template(text, text_line, f"intent {name!r}")
            check_fixed_slots(item.get("slots"), item.line_of("slots"), name)
    if isinstance(lists, _Map):
        for list_name, values in SLOT_VALUES.items():
            spec = lists.get(list_name)
            if not isinstance(spec, _Map) or not isinstance(spec.get("values"), _Seq):
                f.problem(lists.line, f"lists: missing list {list_name!r} with `values:`")
                continue
            for value, line in zip(spec["values"], spec["values"].item_lines):
                out = value.get("out") if isinstance(value, _Map) else None
                if out not in values:
                    f.problem(line, f"list {list_name!r}: value {out!r} is not one of {', '.join(values)}")
    if len(f.problems) > before:
        return None
    try:
        return Intents.from_dict(doc)
    except Exception as err:  # hassil's own checks: report them in our format
        f.problem(doc.line, f"templates could not be compiled: {err}")
        return None


def _check_pronunciations(f: _File, doc: _Map) -> Mapping[str, str]:
    specs = doc.get("pronunciations") or {}
    result = {}
    for word, phones in specs.items():
        if not isinstance(phones, str) or not re.fullmatch(r"[A-Z]{1,2}( [A-Z]{1,2})*", phones):
            f.problem(specs.line_of(word), f"pronunciation of {word!r}: expected CMU phones like \"S AO R N AH S\"")
        else:
            result[str(word).lower()] = phones
    return MappingProxyType(result)


def _check_endings(f: _File, doc: _Map) -> tuple[str, ...]:
    endings = doc.get("endings")
    if endings is None:
        return ()
    if not isinstance(endings, _Seq):
        f.problem(doc.line_of("endings"), "endings: expected a list of phrases")
        return ()
    for ending, line in zip(endings, endings.item_lines):
        if not isinstance(ending, str) or not re.fullmatch(r"[a-z']+( [a-z']+)*", ending):
            f.problem(line, f"endings: expected lower-case words, got {ending!r}")
    return tuple(sorted((e for e in endings if isinstance(e, str)), key=lambda e: -len(e.split())))


def _check_answers(f: _File, doc: _Map) -> tuple[Answer, ...]:
    entries = doc["answers"]
    if not isinstance(entries, _Seq):
        f.problem(doc.line_of("answers"), "answers: expected a list of answers")
        return ()
    answers: list[Answer] = []
    seen: dict[tuple, int] = {}
    for entry, line in zip(entries, entries.item_lines):
        if not isinstance(entry, _Map):
            f.problem(line, "answer: expected a mapping with `intent:` and `say:`")
            continue
        f.unknown_keys(entry, {"intent", "when", "say", "offer"}, "answer")
        intent = f.intent(entry.get("intent"), entry.line_of("intent"), "answer", QUESTION_INTENTS)
        texts = f.texts(entry.get("say"), entry.line_of("say"), "answer `say`")
        offer = entry.get("offer")
        if offer is not None:
            offer = f.intent(offer, entry.line_of("offer"), "answer `offer`", QUESTION_INTENTS + GUIDE_INTENTS)
        when = entry.get("when") or {}
        if not isinstance(when, dict) or any(k not in SLOT_VALUES or v not in SLOT_VALUES[k] for k, v in when.items()):
            f.problem(entry.line_of("when"), f"answer `when`: expected slot values from {SLOT_VALUES}")
            continue
        key = (intent, tuple(sorted(when.items())))
        if key in seen:
            f.problem(line, f"duplicate answer for {intent!r} {dict(when) or ''} (first at line {seen[key]})")
        seen[key] = line
        if intent and texts:
            answers.append(Answer(intent, key[1], texts, offer))
    for intent in QUESTION_INTENTS:
        if not any(a.intent == intent and not a.when for a in answers) and not _all_slot_values_answered(intent, answers):
            f.problem(entries.line, f"answers: missing answer for intent {intent!r}")
    return tuple(answers)


def _all_slot_values_answered(intent: str, answers: list[Answer]) -> bool:
    for slot, values in SLOT_VALUES.items():
        covered = {dict(a.when).get(slot) for a in answers if a.intent == intent}
        if covered.issuperset(values):
            return True
    return False


def _check_guides(f: _File, doc: _Map) -> tuple[Guide, ...]:
    specs = doc["guides"]
    if not isinstance(specs, _Map):
        f.problem(doc.line_of("guides"), "guides: expected a mapping of guide name to guide")
        return ()
    guides = []
    for name, spec in specs.items():
        line = specs.line_of(name)
        if not isinstance(spec, _Map):
            f.problem(line, f"guide {name!r}: expected a mapping")
            continue
        f.unknown_keys(spec, {"intent", "title", "intro", "steps", "outro", "offer", "minutes"}, f"guide {name!r}")
        intent = f.intent(spec.get("intent"), spec.line_of("intent"), f"guide {name!r}", GUIDE_INTENTS)
        title = spec.get("title")
        if not isinstance(title, str) or not title.strip():
            f.problem(spec.line_of("title"), f"guide {name!r}: expected a `title`")
        intro = f.texts(spec.get("intro"), spec.line_of("intro"), f"guide {name!r} `intro`")
        outro = f.texts(spec.get("outro"), spec.line_of("outro"), f"guide {name!r} `outro`")
        offer = spec.get("offer")
        if offer is not None:
            offer = f.intent(offer, spec.line_of("offer"), f"guide {name!r} `offer`", QUESTION_INTENTS + GUIDE_INTENTS)
        minutes = _check_minutes(f, spec, name)
        steps = _check_steps(f, spec, name, minutes)
        if intent and steps and title and intro and outro:
            guides.append(Guide(name, intent, title.strip(), intro, steps, outro, offer, minutes))
    for intent in GUIDE_INTENTS:
        if sum(g.intent == intent for g in guides) != 1 and not f.problems:
            f.problem(specs.line, f"guides: expected exactly one guide for intent {intent!r}")
    return tuple(guides)


def _check_minutes(f: _File, spec: _Map, name: str) -> MinutesRange | None:
    if "minutes" not in spec:
        return None
    value, line = spec["minutes"], spec.line_of("minutes")
    if not isinstance(value, _Map):
        f.problem(line, f"guide {name!r} `minutes`: expected {{default, low, high}}")
        return None
    parts = {k: f.number(value.get(k), line, f"guide {name!r} minutes.{k}", 1, MAX_STEP_SECONDS / 60) for k in ("default", "low", "high")}
    if None in parts.values():
        return None
    if not parts["low"] <= parts["default"] <= parts["high"]:
        f.problem(line, f"guide {name!r} `minutes`: expected low <= default <= high")
        return None
    return MinutesRange(int(parts["default"]), int(parts["low"]), int(parts["high"]))


def _check_steps(f: _File, spec: _Map, name: str, minutes: MinutesRange | None) -> tuple[Step, ...]:
    steps_spec = spec.get("steps")
    if not isinstance(steps_spec, _Seq) or not steps_spec:
        f.problem(spec.line_of("steps"), f"guide {name!r}: expected `steps:` with at least one step")
        return ()
    if minutes and len(steps_spec) != 1:
        f.problem(spec.line_of("steps"), f"guide {name!r}: a guide with `minutes` has exactly one step")
    steps = []
    for number, (step, line) in enumerate(zip(steps_spec, steps_spec.item_lines), start=1):
        what = f"guide {name!r} step {number}"
        if not isinstance(step, _Map):
            f.problem(line, f"{what}: expected a mapping with `say:` and `seconds:`")
            continue
        f.unknown_keys(step, {"say", "seconds", "cues"}, what)
        texts = f.texts(step.get("say"), step.line_of("say"), f"{what} `say`")
        if minutes:
            if "seconds" in step:
                f.problem(step.line_of("seconds"), f"{what}: no `seconds` here, the guide's `minutes` set the duration")
            seconds = minutes.default * 60.0
        else:
            seconds = f.number(step.get("seconds"), step.line_of("seconds"), f"{what} `seconds`", 1, MAX_STEP_SECONDS)
        cues = _check_cues(f, step, what, seconds)
        if texts and seconds is not None:
            steps.append(Step(" ".join(texts), float(seconds), cues))
    return tuple(steps)


def _check_cues(f: _File, step: _Map, what: str, seconds: float | None) -> tuple[Cue, ...]:
    specs = step.get("cues") or _Seq()
    if not isinstance(specs, _Seq):
        f.problem(step.line_of("cues"), f"{what} `cues`: expected a list")
        return ()
    cues = []
    for spec, line in zip(specs, specs.item_lines):
        if not isinstance(spec, _Map) or len({"remaining", "fraction"} & set(spec)) != 1:
            f.problem(line, f"{what} cue: expected `say:` and one of `remaining:` (seconds) or `fraction:`")
            continue
        f.unknown_keys(spec, {"say", "remaining", "fraction"}, f"{what} cue")
        texts = f.texts(spec.get("say"), line, f"{what} cue `say`")
        if "fraction" in spec:
            fraction = f.number(spec["fraction"], line, f"{what} cue `fraction`", 0.01, 0.99)
            cue = Cue(" ".join(texts), fraction=fraction) if fraction is not None else None
        else:
            remaining = f.number(spec["remaining"], line, f"{what} cue `remaining`", 1, seconds or MAX_STEP_SECONDS)
            cue = Cue(" ".join(texts), remaining=remaining) if remaining is not None else None
        if cue and texts:
            cues.append(cue)
    return tuple(cues)


def _check_offers(f: _File, doc: _Map, wanted: dict[str, int]) -> Mapping[str, tuple[str, ...]]:
    """`wanted` maps each offered intent to where it was first offered (for the error message)."""
    specs = doc.get("offers") or _Map()
    if not isinstance(specs, _Map):
        f.problem(doc.line_of("offers"), "offers: expected a mapping of intent to question")
        return MappingProxyType({})
    offers = {}
    for intent, texts in specs.items():
        if f.intent(intent, specs.line_of(intent), "offers", QUESTION_INTENTS + GUIDE_INTENTS):
            offers[intent] = f.texts(texts, specs.line_of(intent), f"offer {intent!r}")
    for intent, where in wanted.items():
        if intent not in offers:
            f.problem(specs.line or doc.line, f"offers: missing the question for {intent!r} (offered at {where})")
    return MappingProxyType(offers)


def _check_lines(f: _File, doc: _Map, bundled: Callable[[], Lines] | None, notices: list[str]) -> Lines | None:
    """A line missing from a content directory of one's own (made before a new kind of line was added) is taken
    from the bundled content, and said so, rather than refusing everything else in it."""
    specs = doc["lines"]
    if not isinstance(specs, _Map):
        f.problem(doc.line_of("lines"), "lines: expected a mapping of situation to sentences")
        return None
    names = [fld.name for fld in dataclasses.fields(Lines)]
    f.unknown_keys(specs, set(names), "lines")
    missing = [name for name in names if name not in specs]
    borrowed = bundled() if missing and bundled is not None else None
    if borrowed is not None:
        notices.append(f"{f.path}:{specs.line}: no line {', '.join(map(repr, missing))}; the bundled wording is used")
    values = {}
    for name in names:
        if name not in specs:
            if borrowed is not None:
                values[name] = getattr(borrowed, name)
            else:
                f.problem(specs.line, f"lines: missing line {name!r}")
            continue
        texts = f.texts(specs[name], specs.line_of(name), f"line {name!r}")
        allowed = LINE_PLACEHOLDERS.get(name, frozenset())
        item_lines = specs[name].item_lines if isinstance(specs[name], _Seq) else [specs.line_of(name)]
        for text, line in zip(texts, item_lines):
            used = set(re.findall(r"\{(\w*)\}", text))
            if not used <= allowed:
                f.problem(line, f"line {name!r}: unknown placeholder {{{', '.join(sorted(used - allowed))}}}"
                          f" (allowed: {', '.join(sorted(allowed)) or 'none'})")
        values[name] = texts
    if len(values) != len(names) or not all(values.values()):
        return None
    return Lines(**values)


def load_content(directory: Path | str | None = None) -> Content:
    """Parse and check every content file; raises ContentError listing every problem found."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    if not directory.is_dir():  # one line for the mistake, not one per file it should hold
        why = "not a directory" if directory.exists() else "no such directory"
        raise ContentError([Problem(directory, 0, f"{why}; a content directory holds {', '.join(FILES)}")])
    problems: list[Problem] = []
    docs: dict[str, _Map | None] = {}
    digest = hashlib.sha256()
    for name in FILES:
        path = directory / name
        f = _File(path, problems)
        try:
            raw = path.read_bytes()
        except OSError as err:
            f.problem(0, f"cannot read the file: {err.strerror or err}")
            docs[name] = None
            continue
        digest.update(name.encode() + b"\0" + raw + b"\0")
        top_key = {"intents.yaml": "intents", "answers.yaml": "answers", "guides.yaml": "guides", "dialogue.yaml": "lines"}[name]
        docs[name] = f.read(raw, top_key)

    def check(name: str, checker):
        doc = docs[name]
        return checker(_File(directory / name, problems), doc) if doc is not None else None

    intents = check("intents.yaml", _check_intents)
    answers = check("answers.yaml", _check_answers)
    guides = check("guides.yaml", _check_guides)
    notices: list[str] = []
    bundled = None if directory.resolve() == DEFAULT_DIR.resolve() else lambda: load_content(DEFAULT_DIR).lines
    lines = check("dialogue.yaml", lambda f, doc: _check_lines(f, doc, bundled, notices))
    wanted = {a.offer: f"answers.yaml, answer for {a.intent}" for a in answers or () if a.offer}
    wanted.update({g.offer: f"guides.yaml, guide {g.name}" for g in guides or () if g.offer})
    offers = check("dialogue.yaml", lambda f, doc: _check_offers(f, doc, wanted))
    if problems or intents is None or lines is None:
        raise ContentError(problems or [Problem(directory, 0, "content could not be loaded")])
    pronunciations = check("intents.yaml", _check_pronunciations)
    endings = check("intents.yaml", _check_endings)
    if problems:
        raise ContentError(problems)
    return Content(intents, pronunciations, endings, answers, guides, lines, offers, digest.hexdigest()[:16],
                   tuple(notices))
