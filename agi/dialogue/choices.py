"""Short answers to "which one?": the options a few words pick out of those offered.

Asked "which filling: grilled chicken, braised short rib or roasted
vegetables?", callers say "chicken", "the short rib", "veggie please",
"pollo entonces", "那就鸡肉吧". The answer picks, in this order of evidence:

1. the option one of whose spoken forms (name, name per language, synonym,
   in the singular or plural) it says in full, the longest such form first;
2. the option whose own words it says: words no other option offered has
   ("rib" of braised short rib); Chinese names have no spaces, so their
   two-character runs are their words ("鸡肉" of 烤鸡肉);
3. the options sharing a word it says ("vanilla" of vanilla bean and sugar
   free vanilla): the dialogue asks which of those (all of them again when
   every option has the word: "milk" of the milks).

A word said also stands for the words of `USUAL`: the usual short forms and
the other Playbook languages' words for what menus are mostly made of
("veggie" for roasted vegetables, "pollo" or "鸡肉" for chicken, "big" for
large), so a menu written in English alone still hears them. Everything else
comes from the options' spoken forms in the catalog (or the Playbook).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agi.dialogue.nlu_text import is_cjk, plural_variants, tokenize

# Words that join a name's parts; they pick nothing on their own.
_JOINERS = frozenset({"a", "an", "the", "and", "n", "with", "of", "de", "del", "la", "el", "los", "las", "y", "con",
                      "un", "una", "or", "o", "的"})


USUAL: dict[str, tuple[str, ...]] = {
    "veggie": ("vegetable", "vegetables", "vegetarian", "veg"),
    "veggies": ("vegetable", "vegetables", "vegetarian", "veg"),
    "veg": ("vegetable", "vegetables", "vegetarian", "veggie"),
    "vegetarian": ("veggie", "vegetable", "vegetables"),
    "vegetariano": ("veggie", "vegetarian", "vegetable", "vegetables"),
    "vegetariana": ("veggie", "vegetarian", "vegetable", "vegetables"),
    "verduras": ("veggie", "vegetable", "vegetables"),
    "vegetales": ("veggie", "vegetable", "vegetables"),
    "pollo": ("chicken",),
    "res": ("beef",),
    "carne": ("beef", "steak", "meat"),
    "cerdo": ("pork",),
    "puerco": ("pork",),
    "pescado": ("fish",),
    "camaron": ("shrimp",),
    "camarones": ("shrimp",),
    "queso": ("cheese",),
    "grande": ("large",),
    "mediano": ("medium",),
    "mediana": ("medium",),
    "chico": ("small",),
    "chica": ("small",),
    "pequeno": ("small",),
    "pequena": ("small",),
    "big": ("large",),
    "little": ("small",),
    "med": ("medium",),
    "reg": ("regular",),
    "decaf": ("decaffeinated",),
    "bbq": ("barbecue",),
    "鸡肉": ("chicken",),
    "牛肉": ("beef", "steak"),
    "猪肉": ("pork",),
    "鱼": ("fish",),
    "虾": ("shrimp",),
    "蔬菜": ("veggie", "vegetable", "vegetables"),
    "素": ("veggie", "vegetarian", "vegetables"),
    "大": ("large",),
    "中": ("medium",),
    "小": ("small",),
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered: its key (a catalog id) and every way of saying it."""

    key: str
    forms: tuple[str, ...]


def pick(answer: str, choices: Sequence[Choice]) -> list[str]:
    """The keys the answer picks: one, several to ask between, or none."""
    said = tokenize(answer)
    if not said or not choices:
        return []
    whole = _by_whole_form(said, choices)
    if whole:
        return whole
    words = {c.key: _words(c) for c in choices}
    heard = _heard(said)
    own = {
        key: mine - set().union(*(w for k, w in words.items() if k != key))
        for key, mine in words.items()
    }
    hits = {key: len(mine & heard) for key, mine in own.items()}
    best = max(hits.values())
    if best > 0:
        return [key for key, n in hits.items() if n == best]
    return [key for key, mine in words.items() if mine & heard]


def _by_whole_form(said: list[str], choices: Sequence[Choice]) -> list[str]:
    """The options with the longest spoken form said in full (a Chinese form inside the characters said)."""
    best, keys = 0, []
    for choice in choices:
        length = max((_said_in(form, said) for form in choice.forms), default=0)
        if length > best:
            best, keys = length, [choice.key]
        elif length == best and length > 0 and choice.key not in keys:
            keys.append(choice.key)
    return keys


def _said_in(form: str, said: list[str]) -> int:
    """The length of a spoken form when the words said contain it, else 0."""
    toks = tuple(tokenize(form))
    if not toks or all(t in _JOINERS for t in toks):
        return 0
    for variant in (toks, *plural_variants(toks), *plural_variants(toks, "es")):
        n = len(variant)
        if any(tuple(said[i : i + n]) == variant for i in range(len(said) - n + 1)):
            return n
    return 0


def _words(choice: Choice) -> set[str]:
    """The words of an option's forms (each also in the singular or plural), and the
    character pairs of its Chinese ones."""
    out: set[str] = set()
    for form in choice.forms:
        toks = tokenize(form)
        for i, tok in enumerate(toks):
            if is_cjk(tok):
                if i + 1 < len(toks) and is_cjk(toks[i + 1]):
                    out.add(tok + toks[i + 1])
            elif tok not in _JOINERS and not tok.isdigit():
                out.add(tok)
                out.update(v[0] for v in plural_variants((tok,)))
    return out


def _heard(said: list[str]) -> set[str]:
    """The words said, the character pairs of the Chinese said, and the words of `USUAL` they stand for."""
    out = {t for t in said if not is_cjk(t) and t not in _JOINERS}
    out.update(a + b for a, b in zip(said, said[1:]) if is_cjk(a) and is_cjk(b))
    chinese = "".join(t for t in said if is_cjk(t))
    for short, means in USUAL.items():
        if short in out or (is_cjk(short[0]) and short in chinese):
            out.update(means)
    return out
