"""Text -> intent: exact templates, paraphrases, numbers as people say them, safety first, and rejection."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice.cli import main
from voice.content import INTENT_NAMES
from voice.understand import Understander

DEV_SET = Path(__file__).parent / "data" / "dev_set.tsv"
# The second to eighth: written without sight of the templates, measured once, then tuned on (see their headers).
DEV_SETS = (DEV_SET, *(DEV_SET.with_name(f"dev_set_{n}.tsv") for n in range(2, 9)))
# Held out: written without sight of the templates, never tuned on (see its header).
BLIND_SET = Path(__file__).parent / "data" / "blind_set.tsv"


def load_dev_set(path: Path = DEV_SET) -> list[tuple[str | None, dict, str]]:
    """(intent or None for out of scope, slots, text) rows of a tab-separated set."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, slots, text = line.split("\t")
            rows.append((None if intent == "-" else intent, json.loads(slots), text))
    return rows


@pytest.mark.parametrize("text,intent,slots", [
    ("why does my back hurt after sex", "ask_causes", {}),
    ("guide massage", "guide_massage", {}),
    ("make it twenty minutes", "guide_compress", {"minutes": 20}),
    ("make it 20 minutes", "guide_compress", {"minutes": 20}),
    ("warm compress for a quarter of an hour", "guide_compress", {"minutes": 15}),
    ("tell me about the gynecological causes", "ask_cause_detail", {"cause": "gynecological"}),
    ("how much longer", "time_left", {}),
    ("yes", "yes", {}),
    ("pause the timer for now", "pause", {}),  # a courtesy at the end (the content's endings)
    ("not now", "no", {}),  # ... but a sentence that needs the word keeps it
    ("who is prone to back pain after sex", "ask_risk_groups", {}),
    ("what can i do for the pain", "ask_relief", {}),
])
def test_exact_templates(understander, text, intent, slots):
    result = understander.understand(text)
    assert (result.intent, dict(result.slots), result.confidence) == (intent, slots, 1.0)


# What the greeting, the help lines (prompts/dialogue.yaml) and the README tell a person to say. Each must be a
# sentence of the templates, so of the recognizer's grammar: "what helps" was not, and spoken it was heard as
# "well too fast" (slower) or not at all.
@pytest.mark.parametrize("text", [
    "why does my back hurt after sex", "who gets this", "who gets it", "what helps", "guide massage",
    "warm compress", "resting positions", "make it twenty minutes", "next", "previous", "repeat", "pause",
    "resume", "how much longer", "slower", "faster", "stop", "help", "goodbye", "yes", "no",
])
def test_what_the_assistant_tells_people_to_say_is_a_sentence_it_can_hear(understander, text):
    assert understander.understand(text).confidence == 1.0


@pytest.mark.parametrize("text,symptom", [
    ("my back hurts after sex and there was bleeding", "bleeding"),
    ("guide massage but i have a fever", "fever"),
    ("my legs feel weak", "weakness"),
    ("Numbness!", "numbness"),
])
def test_a_warning_symptom_wins_over_everything(understander, text, symptom):
    result = understander.understand(text)
    assert (result.intent, dict(result.slots)) == ("red_flag", {"symptom": symptom})


@pytest.mark.parametrize("text", ["my back door is stuck", "next song", "", "   ", "?!", "turn off the kitchen lights"])
def test_near_misses_and_nothing_get_no_intent(understander, text):
    assert understander.understand(text).intent is None


def test_words_of_ours_fold_endings_and_drop_fillers_and_strangers(understander):
    # What tells whether two decoders heard any word of the same sentence of ours.
    assert understander.words_of_ours("um my back hurts please") == {"my", "back", "hurt"}
    assert understander.words_of_ours("back hurting my") == {"my", "back", "hurt"}
    assert not understander.words_of_ours("please") and not understander.words_of_ours("zeppelin aardvark")
    assert not understander.words_of_ours("massage her back") & understander.words_of_ours("pass the remote")


@pytest.mark.parametrize("minutes", ["twenty", "20"])  # typed digits count as the number's words
def test_paraphrase_slots_are_spotted(understander, minutes):
    result = understander.understand(f"could you time the heat thing for like {minutes} minutes")
    assert result.intent == "guide_compress" and result.slots == {"minutes": 20}
    assert 0 < result.confidence < 1


@pytest.mark.parametrize("text,minutes", [
    ("heat for 999 minutes", 999), ("warm compress for twenty thousand minutes", 20000),
    ("hot pack for a hundred and five minutes", 105), ("heat for minus five minutes", -5), ("heat for 0 minutes", 0)])
def test_numbers_beyond_the_templates_range_are_kept_for_the_dialogue_to_clamp(understander, text, minutes):
    result = understander.understand(text)
    assert result.intent == "guide_compress" and result.slots == {"minutes": minutes}


def test_every_number_the_templates_say_is_spotted_as_hassil_reads_it(content):
    """The spotter parses numbers itself; in the templates' own range it must agree with hassil's number words."""
    from hassil.numbers import get_rbnf_engine

    from voice.understand import normalize, spot_number

    numbers = content.intents.slot_lists["minutes"]
    for n in range(numbers.start, numbers.stop + 1, numbers.step):
        spelled = get_rbnf_engine("en").format_number(n).text_by_ruleset.values()  # hassil samples ranges with these
        assert {spot_number(normalize(words)) for words in spelled} | {spot_number(str(n))} == {n}


def test_the_fuzzy_matcher_learns_from_every_template(content):
    """Not only an intent's first templates: a big first template must not crowd out the others."""
    from hassil import Intents

    big = " ".join("(" + "|".join(f"{word}{i}" for i in range(80)) + ")" for word in ("word", "thing"))  # 6400 sentences
    intents = Intents.from_dict({"language": "en", "intents": {
        "ask_relief": {"data": [{"sentences": [big, "what do you recommend for my sore back"]}]},
        "next": {"data": [{"sentences": ["next step"]}]}}})
    result = Understander(dataclasses.replace(content, intents=intents)).understand("what would you recommend for a sore back")
    assert result.intent == "ask_relief" and 0 < result.confidence < 1


@pytest.mark.parametrize("path", [*DEV_SETS, BLIND_SET])
def test_dev_and_blind_sets_are_large_and_cover_every_intent(content, path):
    rows = load_dev_set(path)
    in_scope = [r for r in rows if r[0]]
    assert len(in_scope) >= 200 and len(rows) - len(in_scope) >= 60
    assert {r[0] for r in in_scope} == set(INTENT_NAMES)


@pytest.mark.parametrize("path", DEV_SETS)
def test_dev_set_accuracy_floor(understander, path):
    """The aim (95% / 5%) is reported by scripts/bench, also on the held-out set; this floor catches a broken matcher."""
    rows = load_dev_set(path)
    in_scope = [(i, s, t) for i, s, t in rows if i]
    right = sum(
        1 for intent, slots, text in in_scope
        if (r := understander.understand(text)).intent == intent and all(r.slots.get(k) == v for k, v in slots.items())
    )
    out = [t for i, _, t in rows if i is None]
    accepted = sum(1 for text in out if understander.understand(text).intent is not None)
    assert right / len(in_scope) >= 0.90
    assert accepted / len(out) <= 0.08


@pytest.mark.parametrize("path", DEV_SETS)
def test_every_warning_symptom_in_the_dev_sets_is_a_red_flag(understander, path):
    missed = [(text, slots) for intent, slots, text in load_dev_set(path) if intent == "red_flag"
              if understander.understand(text).intent != "red_flag"]
    assert missed == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_anything_typed_is_understood_or_rejected_without_raising(understander, text):
    result = understander.understand(text)
    assert result.intent is None or result.intent in understander.content.intents.intents
    assert 0.0 <= result.confidence <= 1.0
    json.dumps(result.as_json())


def test_cli_prints_one_json_object(capsys):
    assert main(["understand", "make it twenty minutes"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"text": "make it twenty minutes", "intent": "guide_compress", "slots": {"minutes": 20}, "confidence": 1.0}


def test_cli_batch_keeps_order_and_blank_lines(tmp_path, capsys):
    batch = tmp_path / "batch.txt"
    batch.write_text("next\n\nmy back door is stuck\nwhy does my back hurt after sex\n", encoding="utf-8")
    assert main(["understand", "--batch", str(batch)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["intent"] for o in out] == ["next", None, None, "ask_causes"]
    assert [o["text"] for o in out] == ["next", "", "my back door is stuck", "why does my back hurt after sex"]
