"""Tokens for order understanding: one word per token, one character per Chinese token.

Matching is accent-insensitive ("jalapeño" = "jalapeno") and hyphens split
words ("7-up" = "7 up"), so catalog names and speech-recognition output meet
on the same form.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Chinese character is a token of its own, also next to digits or Latin letters ("我要2个", "两个taco").
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*", re.UNICODE)
_HAS_CJK = re.compile(rf"[{_CJK}]")


def fold(text: str) -> str:
    """Lower case without accents: what two spellings of one word share."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Folded tokens of an utterance or a catalog name.

    >>> tokenize("Two 7-Up's & a JALAPEÑO popper, 两个taco, 2个")
    ['two', '7', 'up', 'and', 'a', 'jalapeno', 'popper', '两', '个', 'taco', '2', '个']
    """
    text = fold(text).replace("’", "'").replace("`", "'").replace("&", " and ")
    # "the screen's cracked", "our water heater's banging": the thing, not a new word
    return [t[:-2] if t.endswith("'s") else t for t in _TOKEN.findall(text)]


def is_cjk(token: str) -> bool:
    return bool(_HAS_CJK.match(token))


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def plural_variants(tokens: tuple[str, ...], language: str = "en") -> list[tuple[str, ...]]:
    """Singular and plural forms of a spoken name, by its last word.

    ("banana", "pepper") -> ("banana", "peppers"); ("tacos",) -> ("taco",);
    ("berry",) -> ("berries",); Spanish adds "-es" after a consonant
    ("pastor" -> "pastores") and puts a name's first word in the plural too
    ("burrito california" -> "burritos california"). Chinese names have no plural.
    """
    if not tokens or is_cjk(tokens[-1]) or tokens[-1].isdigit() or len(tokens[-1]) <= 2:
        return []
    head, last = tokens[:-1], tokens[-1]
    out: list[str] = []
    if last.endswith("s") and not last.endswith("ss"):
        if last.endswith("ies") and len(last) > 4:
            out.append(last[:-3] + "y")
        elif last.endswith(("ches", "shes", "xes", "sses", "zes", "oes")):
            out.append(last[:-2])
        else:
            out.append(last[:-1])
        if language == "es" and last.endswith("es") and last[-3] not in "aeiou":
            out.append(last[:-2])
    else:
        if last.endswith("y") and last[-2] not in "aeiou":
            out.append(last[:-1] + "ies")
        elif last.endswith(("ch", "sh", "x", "ss", "z")):
            out.append(last + "es")
        elif last.endswith("o"):
            out += [last + "s", last + "es"]
        else:
            out.append(last + "s")
        if language == "es" and last[-1] not in "aeiouy":
            out.append(last + "es")
    variants = [head + (w,) for w in dict.fromkeys(out) if w and w != last]
    if language == "es" and head and not is_cjk(head[0]):
        # A Spanish name's noun comes first, and its adjective agrees: "burritos california",
        # "pizzas de queso", "extensiones eléctricas".
        firsts = plural_variants(tokens[:1], "es")
        variants += [first + tokens[1:] for first in firsts]
        variants += [first + v[1:] for first in firsts for v in variants[: len(out)] if len(v) == len(tokens)]
    return variants
