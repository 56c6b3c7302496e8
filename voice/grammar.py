"""The recognizer's language, compiled from the same hassil templates the text understanding uses.

The templates become one JSGF grammar (alternatives, optional words, lists and expansion rules map
one to one onto JSGF; any-order groups become every order), so PocketSphinx can only hear sentences we
can understand. They also become the text of an n-gram language model (random sentences drawn from the
templates), for the looser second decoder that rejection compares with (voice/recognize.py). Words the
pronouncing dictionary lacks are reported (also by `backcare validate`), never guessed.
"""

from __future__ import annotations

import io
import itertools
import random
import re

from hassil import Intents, RangeSlotList, TextSlotList
from hassil.expression import Alternative, Expression, ListReference, Permutation, RuleReference, Sequence, TextChunk
from hassil.numbers import get_rbnf_engine

from .content import INTENT_NAMES, OUT_OF_SCOPE


# The n-gram model is trained on this many random template sentences per intent; 1000 were no better on
# the tuning audio (see NGRAM_MIN_CONFIDENCE in voice/recognize.py).
NGRAM_SENTENCES_PER_INTENT = 300
# Filler words of one sound: allowed in the grammar, the decoder fits them to any stray noise and
# they swallow real words (templates understood fell from 98% to 90% on the benchmark's audio).
TOO_SHORT_TO_SKIP = {"uh", "er", "um"}
# The grammar's public rule, named as PocketSphinx names it (grammar.rule).
GRAMMAR_RULE = "backcare.utterance"


def words_of(text: str) -> list[str]:
    """Template text as the recognizer spells words: lower case, apostrophes kept, no punctuation."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def _rule_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


class JsgfWriter:
    def __init__(self, intents: Intents, endings: tuple[str, ...] = ()):
        self.intents = intents
        self.endings = endings
        self.rules: dict[str, str] = {}
        self.words: set[str] = set()

    def expression(self, exp: Expression) -> str:
        if isinstance(exp, TextChunk):
            words = words_of(exp.text)
            self.words.update(words)
            return " ".join(words)
        if isinstance(exp, ListReference):
            self.slot_list(exp.list_name)
            return f"<list_{_rule_name(exp.list_name)}>"
        if isinstance(exp, RuleReference):
            self.expansion_rule(exp.rule_name)
            return f"<rule_{_rule_name(exp.rule_name)}>"
        if isinstance(exp, Alternative):
            options = [self.expression(item) for item in exp.items]
            non_empty = [o for o in options if o.strip()]
            if not non_empty:
                return ""
            body = "( " + " | ".join(non_empty) + " )"
            return f"[ {body} ]" if exp.is_optional or len(non_empty) < len(options) else body
        if isinstance(exp, Permutation):  # (a;b) in any order: every order as an alternative
            parts = [part for part in (self.expression(item) for item in exp.items) if part.strip()]
            return "( " + " | ".join(" ".join(order) for order in itertools.permutations(parts)) + " )"
        if isinstance(exp, Sequence):
            return " ".join(part for part in (self.expression(item) for item in exp.items) if part.strip())
        raise ValueError(f"unexpected template part {exp!r}")

    def slot_list(self, name: str) -> None:
        rule = f"list_{_rule_name(name)}"
        if rule in self.rules:
            return
        self.rules[rule] = ""  # placeholder against recursion
        slot_list = self.intents.slot_lists[name]
        if isinstance(slot_list, TextSlotList):
            options = [self.expression(value.text_in) for value in slot_list.values]
        elif isinstance(slot_list, RangeSlotList):
            engine = get_rbnf_engine(self.intents.language)
            options = []
            for n in range(slot_list.start, slot_list.stop + 1, slot_list.step):
                for spoken in set(engine.format_number(n).text_by_ruleset.values()):
                    words = words_of(spoken.replace("-", " "))
                    self.words.update(words)
                    options.append(" ".join(words))
            options = sorted(set(options))
        else:
            raise ValueError(f"list {name!r} cannot be spoken")
        self.rules[rule] = "( " + " | ".join(o for o in options if o.strip()) + " )"

    def expansion_rule(self, name: str) -> None:
        rule = f"rule_{_rule_name(name)}"
        if rule in self.rules:
            return
        self.rules[rule] = ""
        self.rules[rule] = self.expression(self.intents.expansion_rules[name].expression)

    def grammar(self) -> str:
        intents = []
        for name in list(INTENT_NAMES) + [OUT_OF_SCOPE]:
            intent = self.intents.intents.get(name)
            if intent is None:
                continue
            sentences = [self.expression(s.expression) for data in intent.data for s in data.sentences]
            self.rules[f"intent_{name}"] = "( " + " | ".join(s for s in sentences if s.strip()) + " )"
            intents.append(f"<intent_{name}>")
        sentence = "( " + " | ".join(intents) + " )"
        if self.endings:  # as the understander takes them: one courtesy at the end of any sentence
            self.rules["ending"] = "( " + " | ".join(self.endings) + " )"
            self.words.update(w for ending in self.endings for w in ending.split())
            sentence = f"{sentence} [ <ending> ]"
        skip = sorted({w for word in self.intents.skip_words for w in words_of(word)} - TOO_SHORT_TO_SKIP)
        if skip:  # hassil ignores these anywhere; the recogniser allows one before and one after a sentence
            self.words.update(skip)
            self.rules["skip"] = "( " + " | ".join(skip) + " )"
            sentence = f"[ <skip> ] {sentence} [ <skip> ]"
        grammar, rule = GRAMMAR_RULE.split(".")
        lines = ["#JSGF V1.0;", f"grammar {grammar};", f"public <{rule}> = {sentence};"]
        lines += [f"<{name}> = {body};" for name, body in self.rules.items()]
        return "\n".join(lines) + "\n"


def compile_jsgf(intents: Intents, endings: tuple[str, ...] = ()) -> tuple[str, set[str]]:
    """The JSGF text of every template (which may end with one of `endings`), and its words."""
    writer = JsgfWriter(intents, endings)
    text = writer.grammar()
    return text, writer.words


def sample_sentences(intents: Intents, per_intent: int, seed: int = 0) -> list[tuple[str, str]]:
    """(intent, sentence): random sentences from each intent's templates, out_of_scope too, spelled as the
    recognizer spells them (numbers as words); about `per_intent` of them, an equal share from each template.

    Random rather than hassil's own sampler, which enumerates in order: its first few hundred sentences
    of an intent all come from its first template and differ only in the last list value."""
    rng = random.Random()  # seeded afresh for each template, below
    engine = get_rbnf_engine(intents.language)

    def draw(exp: Expression) -> str:
        if isinstance(exp, TextChunk):
            return exp.text
        if isinstance(exp, ListReference):
            slot_list = intents.slot_lists[exp.list_name]
            if isinstance(slot_list, RangeSlotList):
                n = rng.randrange(slot_list.start, slot_list.stop + 1, slot_list.step)
                return " " + rng.choice(sorted(set(engine.format_number(n).text_by_ruleset.values()))) + " "
            return draw(rng.choice(slot_list.values).text_in)
        if isinstance(exp, RuleReference):
            return draw(intents.expansion_rules[exp.rule_name].expression)
        if isinstance(exp, Permutation):
            return " ".join(draw(item) for item in rng.sample(exp.items, len(exp.items)))
        if isinstance(exp, Alternative):
            return draw(rng.choice(exp.items))
        if isinstance(exp, Sequence):
            return "".join(draw(item) for item in exp.items)
        raise ValueError(f"unexpected template part {exp!r}")

    sentences = []
    for name in list(INTENT_NAMES) + [OUT_OF_SCOPE]:
        intent = intents.intents.get(name)
        if intent is None:
            continue
        templates = [s for data in intent.data for s in data.sentences]
        share = -(-per_intent // len(templates))
        for template in templates:
            rng.seed(f"{seed}:{name}:{template.text}")  # editing one template leaves the others' draws as they were
            sentences += [(name, " ".join(words_of(draw(template.expression).replace("-", " ")))) for _ in range(share)]
    return sentences


def compile_arpa(intents: Intents) -> str:
    """A trigram model (ARPA text) of random template sentences, by pocketsphinx's own tool."""
    from pocketsphinx.lm import ArpaBoLM

    model = ArpaBoLM(text="\n".join(text for intent, text in sample_sentences(intents, NGRAM_SENTENCES_PER_INTENT)
                                    if intent != OUT_OF_SCOPE), add_start=True, case="lower")
    model.compute()
    out = io.StringIO()
    model.write(out)
    return out.getvalue()
