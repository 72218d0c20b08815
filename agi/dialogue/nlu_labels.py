"""Labels for the tokens of an utterance: menu name, quantity, grammar word, or plain word.

Longest phrase first. A menu name (from the catalog's matcher) and a grammar
phrase (`nlu_grammar`) compete at each position; a grammar phrase never
swallows the start of a longer name ("an extra | extra large"), and an amount
word before an option is an amount ("light | mayo"), not the light roast.
Words left over get a second chance: a short name ("caramel" for caramel
syrup), a clipped one ("mayo"), a word only one option uses ("romaine"),
then spelling and sound for speech-recognition slips.
"""

from __future__ import annotations

from dataclasses import dataclass

from agi.dialogue.matcher import CatalogMatcher, Mention
from agi.dialogue.nlu_grammar import MAX_PHRASE, NOT_A_QUANTITY_BEFORE, PHRASES, Tag
from agi.dialogue.numbers import parse_quantity

ARTICLES = frozenset({"a", "an", "un", "una"})
_FUZZY_BUDGET = 12


@dataclass(slots=True)
class Label:
    kind: str  # "span" | "num" | "tag" | "word"
    start: int
    end: int
    mention: Mention | None = None
    tag: Tag | None = None
    value: int = 0
    text: str = ""


def label_tokens(tokens: list[str], m: CatalogMatcher, language: str) -> list[Label]:
    """Label the tokens, longest phrase first; ties between a menu word and a grammar word go to the grammar
    when an option follows ('light' before 'mayo' is an amount, not the light roast)."""
    phrases = PHRASES.get(language, PHRASES["en"])
    n = len(tokens)
    out: list[Label] = []
    i = 0
    while i < n:
        span = m.exact_at(tokens, i)
        lc = span.end - i if span else 0
        tag, lg = None, 0
        limit = min(MAX_PHRASE, n - i)
        while limit > 0:
            for length in range(limit, 0, -1):
                t = phrases.get(tuple(tokens[i : i + length]))
                if t is not None:
                    tag, lg = t, length
                    break
            else:
                tag, lg = None, 0
            # A grammar phrase may not swallow the start of a longer menu name ("an extra | extra large").
            cut = next((j for j in range(i + 1, i + lg) if _longer_name(m, tokens, j, i + lg)), None)
            if cut is None:
                break
            limit, tag, lg = cut - i, None, 0
        q = None if (language == "es" and tokens[i] == "a") else parse_quantity(tokens, i)
        if q is not None and i + q[1] < n and tokens[i + q[1]] in NOT_A_QUANTITY_BEFORE:
            q = None  # "a two topping pizza", "a 12 inch pizza"
        lq = q[1] if q else 0
        if span is not None and lc >= lg and lc >= lq:
            if lc == lg and tag in (Tag.EXTRA, Tag.LIGHT, Tag.NEG) and i + lc < n:
                nxt = m.exact_at(tokens, i + lc)
                if nxt is not None and nxt.of_kind("modifier"):
                    span = None
            if lc == lq and span is not None and not span.of_kind("item", "modifier", "variation"):
                span = None  # a category word that is also a number
            if span is not None:
                out.append(Label("span", i, span.end, mention=span))
                i = span.end
                continue
        if tag is not None and lg >= lq:
            if tag is Tag.SIDE_OF and tokens[i] in ARTICLES:
                out.append(Label("num", i, i + 1, value=1, text=tokens[i]))
            out.append(Label("tag", i, i + lg, tag=tag, text=" ".join(tokens[i : i + lg])))
            i += lg
            continue
        if q is not None:
            out.append(Label("num", i, i + lq, value=q[0], text=" ".join(tokens[i : i + lq])))
            i += lq
            continue
        out.append(Label("word", i, i + 1, text=tokens[i]))
        i += 1
    return _second_chance(out, tokens, m)


def _second_chance(out: list[Label], tokens: list[str], m: CatalogMatcher) -> list[Label]:
    """Unknown words: a short or clipped name, a word only one option uses, then spelling and sound."""
    n = len(tokens)
    free = [False] * n
    span_at = [False] * n
    for ev in out:
        if ev.kind == "word":
            free[ev.start] = True
        elif ev.kind == "span":
            for k in range(ev.start, ev.end):
                span_at[k] = True
    if any(free):
        found: dict[int, Mention] = {}
        fuzzy_budget = _FUZZY_BUDGET  # a long run of unknown words is noise, not a menu: bound the work
        for i in range(n):
            if not free[i]:
                continue
            # A short name ("caramel" for caramel syrup), unless it describes the option that follows
            # ("black beans" are beans, not black olives).
            hit = m.short_at(tokens, i)
            if hit is not None and not all(free[hit.start : hit.end]):
                hit = None
            if hit is not None and hit.end < n and (option_at(out, hit.end) or tokens[hit.end] == "of"):
                hit = None
            # A lone word, not the head noun of a name just said ("ranch dressing") nor a describing
            # word of the next one ("grilled chicken", "bottle of coke").
            alone = not (i > 0 and span_at[i - 1]) and not (
                i + 1 < n and (span_at[i + 1] and not category_at(out, i + 1) or tokens[i + 1] == "of")
            )
            if hit is None:
                hit = m.clipped_at(tokens, i)
            if hit is None and alone:
                hit = m.unique_word_at(tokens, i)
            if hit is None and m.fuzzy_eligible(tokens[i]) and fuzzy_budget > 0:
                fuzzy_budget -= 1
                hit = m.fuzzy_at(tokens, i, free)
            if hit is not None:
                longer = m.name_goes_on(hit, tokens)
                if longer is not None and all(ev.end <= longer.end for ev in out if hit.end <= ev.start < longer.end):
                    hit = longer  # and not when the words are the start of a longer name
                found[hit.start] = hit
                for k in range(hit.start, hit.end):
                    free[k] = False
        if found:
            inside = {k for hit in found.values() for k in range(hit.start + 1, hit.end)}
            merged: list[Label] = []
            for ev in out:
                if ev.kind == "word" and ev.start in found:
                    hit = found[ev.start]
                    merged.append(Label("span", hit.start, hit.end, mention=hit))
                elif ev.start in inside:
                    continue  # swallowed by a multi-word hit
                else:
                    merged.append(ev)
            out = merged
    return out


def _longer_name(m: CatalogMatcher, tokens: list[str], j: int, end: int) -> bool:
    inner = m.exact_at(tokens, j)
    return inner is not None and inner.end > end and bool(inner.of_kind("item", "modifier", "variation"))


def option_at(events: list[Label], i: int) -> bool:
    ev = next((e for e in events if e.start == i), None)
    return bool(ev and ev.mention and ev.mention.of_kind("modifier"))


def category_at(events: list[Label], i: int) -> bool:
    ev = next((e for e in events if e.start == i), None)
    return bool(ev and ev.mention and ev.mention.kind == "category")
