"""Finds the catalog's items, sizes and options in what a caller said.

Built once per catalog (`matcher_for` caches it), then cheap per utterance.
Strongest evidence first:

- exact spoken forms: names, names per language, synonyms, singular and
  plural, re-spaced ("pepper jack" / "pepperjack"), joining words moved or
  left out ("chicken bacon ranch"), a one-choice group's own name for its
  default option ("no beans");
- for words left over: a name without its generic last word ("caramel" for
  caramel syrup, when several syrups exist), a clipped name ("mayo"), a word
  only one thing's names use ("romaine");
- for words nobody on the menu uses: fuzzy spelling plus a phonetic key, so
  that speech-recognition slips ("pepperony", "peeza") still land, with a
  lower score the dialogue can confirm (below CONFIRM_BELOW).

Chinese has no spaces: names are matched as character runs.

Token positions (`Mention.start`, `Mention.end`) index `nlu_text.tokenize(text)`.
"""

from __future__ import annotations

import bisect
import functools
import threading
import weakref
from dataclasses import dataclass
from typing import Iterable, Literal

import jellyfish
from rapidfuzz import fuzz, process

from agi.catalog import Catalog
from agi.dialogue.nlu_grammar import COMMON_WORDS, PHRASES
from agi.dialogue.nlu_text import is_cjk, plural_variants, tokenize
from agi.dialogue.numbers import words_to_number

Kind = Literal["item", "variation", "modifier", "category"]

# Scores: an exact name is 1.0; below CONFIRM_BELOW the dialogue should read the guess back.
CONFIRM_BELOW = 0.85
_GENERATED = 0.99  # singular/plural made from a name
_JOINED = 0.97  # "pepper jack" for "pepperjack"
_GROUP = 0.9  # a one-choice group's name for its default option: "beans" for black beans
_SHORT = 0.95  # a name without its generic last word: "caramel" for "caramel syrup"
_LOOSE = 0.95  # "chicken bacon ranch" for "chicken and bacon ranch"
_HEAD = 0.8  # a word of exactly one thing's names: "vinegar" for "red wine vinegar", or "mayo" for "mayonnaise"
_PHONETIC = 0.75  # sounds the same, spelled far apart: "peeza"
_FUZZY_MIN = 0.84
_SPLIT_WORD = 0.88  # "pet peroni" run together is 0.89 of "pepperoni"
_FUZZY_MIN_LEN = 4


# Joining words a name may be said with or without ("chicken and bacon ranch").
_CONNECTORS = frozenset({"and", "n", "with", "of", "the", "y", "con", "de", "del", "la", "el"})
# Describing words that never name an option on their own ("hot" is not "hot chocolate").
_DESCRIPTIVE = frozenset(
    """hot cold iced ice warm regular plain simple fresh large small medium big little extra light original classic
    new special double triple single whole half diet grilled roasted fried baked toasted sliced shredded chopped
    side order meal combo style kind type flavor flavored sauce sauces""".split()
)


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a spoken form can mean."""

    kind: Kind
    item_id: str | None = None
    variation_id: str | None = None
    modifier_id: str | None = None
    group_id: str | None = None
    category: str | None = None
    available: bool = True


@dataclass(frozen=True, slots=True)
class Mention:
    """A run of tokens that names something on the menu.

    `kind`/`item_id`/... describe the first reading; `candidates` holds every
    reading (a word can be an item and an option, or a size of many items).
    """

    kind: Kind
    item_id: str | None
    variation_id: str | None
    modifier_id: str | None
    group_id: str | None
    start: int
    end: int
    text: str
    score: float
    exact: bool
    candidates: tuple[Target, ...]

    @property
    def low_confidence(self) -> bool:
        return self.score < CONFIRM_BELOW

    def of_kind(self, *kinds: str) -> list[Target]:
        return [t for t in self.candidates if t.kind in kinds]


def _mention(targets: tuple[Target, ...], start: int, end: int, tokens: list[str], score: float) -> Mention:
    first = targets[0]
    # A size shared by several items names no single item.
    item_id = first.item_id if len({t.item_id for t in targets if t.kind == first.kind}) == 1 else None
    return Mention(
        kind=first.kind,
        item_id=item_id,
        variation_id=first.variation_id,
        modifier_id=first.modifier_id,
        group_id=first.group_id,
        start=start,
        end=end,
        text=" ".join(tokens[start:end]),
        score=score,
        exact=score >= _JOINED,
        candidates=targets,
    )


class CatalogMatcher:
    """Spoken-form index of one catalog."""

    def __init__(self, catalog: Catalog, language: str = "en") -> None:
        self.catalog = catalog
        self.language = language
        self._forms: dict[tuple[str, ...], list[Target]] = {}
        self._score: dict[tuple[str, ...], float] = {}
        self._build()

    # ------------------------------------------------------------------ index

    def _add(self, tokens: Iterable[str], target: Target, score: float) -> None:
        key = tuple(tokens)
        if not key:
            return
        known = self._score.get(key)
        if known is not None and known > score:
            return  # a real name beats a generated plural
        if known is None or score > known:
            self._forms[key] = []
            self._score[key] = score
        if target not in self._forms[key]:
            self._forms[key].append(target)

    def _add_named(self, names: Iterable[tuple[str, str]], target: Target, generated: list) -> None:
        for lang, text in names:
            toks = tuple(tokenize(text))
            self._add(toks, target, 1.0)
            for variant in plural_variants(toks, lang):
                generated.append((variant, target))

    @staticmethod
    def _names(obj) -> list[tuple[str, str]]:
        out = [("en", obj.name)]
        out += [(lang, n) for lang, n in obj.names.items()]
        out += [("en", s) for s in getattr(obj, "synonyms", [])]
        return out

    def _build(self) -> None:
        cat = self.catalog
        generated: list[tuple[tuple[str, ...], Target]] = []
        self.item_modifiers: dict[str, dict[str, str]] = {}
        self.item_variations: dict[str, dict[str, str]] = {}
        self.items_by_category: dict[str, list[str]] = {}
        for item in cat.items:
            t = Target("item", item_id=item.id, category=item.category or None, available=item.available)
            self._add_named(self._names(item), t, generated)
            self.item_variations[item.id] = {v.id: v.name for v in item.variations}
            for v in item.variations:
                vt = Target("variation", item_id=item.id, variation_id=v.id, available=item.available and v.available)
                self._add_named(self._names(v), vt, generated)
            self.item_modifiers[item.id] = {m.id: g.id for g in cat.groups_of(item) for m in g.options}
            if item.category:
                self.items_by_category.setdefault(item.category, []).append(item.id)
        for group in cat.modifier_groups:
            for m in group.options:
                mt = Target("modifier", modifier_id=m.id, group_id=group.id, available=m.available)
                self._add_named(self._names(m), mt, generated)
        generated += self._head_variants()
        for key, target in generated:
            self._add(key, target, _GENERATED)
        # A one-choice group's own name stands for its default ("no beans", "不要豆子", "swap the rice").
        for group in cat.modifier_groups:
            defaults = [o for o in group.options if o.default]
            if group.max == 1 and len(defaults) == 1:
                d = defaults[0]
                gt = Target("modifier", modifier_id=d.id, group_id=group.id, available=d.available)
                for _lang, text in [("en", group.name), *group.names.items()]:
                    toks = tuple(tokenize(text))
                    for key in [toks, *plural_variants(toks)]:
                        if key not in self._forms:
                            self._add(key, gt, _GROUP)
        # Short forms are looked up apart: only where no full name was said (see short_at).
        self._short: dict[tuple[str, ...], tuple[Target, ...]] = {
            k: (t,) for k, t in self._short_forms()
        }
        # Category words ("drink", "sandwiches") are weaker than any name.
        for category in self.items_by_category:
            ct = Target("category", category=category)
            toks = tuple(tokenize(category))
            for key in [toks, *plural_variants(toks)]:
                if key not in self._forms:
                    self._add(key, ct, 0.9)
        self._frozen = {k: tuple(v) for k, v in self._forms.items()}
        self.max_len = max((len(k) for k in self._frozen), default=1)
        self._joined: dict[str, tuple[str, ...]] = {}
        self._loose: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        for key in self._frozen:
            if any(is_cjk(t) for t in key):
                continue
            self._joined.setdefault("".join(key), key)
            loose = tuple(t for t in key if t not in _CONNECTORS)
            if len(loose) >= 2 and loose != key and loose not in self._frozen:
                known = self._loose.get(loose, key)
                self._loose[loose] = key if known is None or self._frozen[known] == self._frozen[key] else None
        self.vocabulary = frozenset(t for k in self._frozen for t in k)
        grammar_words = {t for table in PHRASES.values() for k in table for t in k}
        self._not_fuzzy = self.vocabulary | COMMON_WORDS | grammar_words | {t for k in self._short for t in k}
        # Fuzzy and phonetic indexes over non-Chinese forms.
        self._choices: list[str] = []
        self._choice_keys: list[tuple[str, ...]] = []
        self._phonetic: dict[str, list[tuple[str, ...]]] = {}
        self._words: dict[str, set[Target]] = {}
        for key, targets in self._frozen.items():
            if any(is_cjk(t) for t in key):
                continue
            if targets[0].kind != "category":
                for w in key:
                    self._words.setdefault(w, set()).update(targets)
            text = " ".join(key)
            if len(text.replace(" ", "")) < _FUZZY_MIN_LEN:
                continue
            self._choices.append(text)
            self._choice_keys.append(key)
            self._phonetic.setdefault(_phonetic_key(text), []).append(key)
        # A word of exactly one thing's names ("vinegar" -> red wine vinegar, "romaine" -> romaine lettuce).
        self._partial = {
            w: tuple(ts)
            for w, ts in self._words.items()
            if len(ts) == 1 and (w,) not in self._frozen and len(w) >= _FUZZY_MIN_LEN and w not in COMMON_WORDS
            and w not in grammar_words and w not in _DESCRIPTIVE and w not in _CONNECTORS
        }
        self._single_words = sorted(k[0] for k in self._frozen if len(k) == 1 and not is_cjk(k[0]))
        forms = self._target_forms()
        self.generic_heads = frozenset(self._generic_heads(forms))
        self._target_words = {t: {w for k in keys for w in k} for t, keys in forms.items()}

    def _target_forms(self) -> dict[Target, list[tuple[str, ...]]]:
        out: dict[Target, list[tuple[str, ...]]] = {}
        for key, targets in self._forms.items():
            if self._score[key] < 1.0:
                continue
            for t in targets:
                out.setdefault(t, []).append(key)
        return out

    def _generic_heads(self, forms: dict[Target, list[tuple[str, ...]]]) -> set[str]:
        """Last words shared by the names of several things ("syrup", "cheese", "fries")."""
        owners: dict[str, set[Target]] = {}
        for t, keys in forms.items():
            for key in keys:
                if len(key) >= 2 and not is_cjk(key[-1]):
                    owners.setdefault(key[-1], set()).add(t)
        return {h for h, ts in owners.items() if len(ts) >= 2}

    def _head_variants(self) -> list[tuple[tuple[str, ...], Target]]:
        """'cheddar' + 'cheese' when the same option is also called 'monterey cheddar cheese'."""
        out = []
        for t, keys in self._target_forms().items():
            if t.kind != "modifier":
                continue
            heads = {k[-1] for k in keys if len(k) >= 2 and not is_cjk(k[-1])}
            for key in keys:
                if is_cjk(key[-1]):
                    continue
                for h in heads:
                    if key[-1] != h and h not in key:
                        out.append((key + (h,), t))
        return out

    def _short_forms(self) -> list[tuple[tuple[str, ...], Target]]:
        """'caramel' for 'caramel syrup' when several options end in 'syrup' and only one starts 'caramel'."""
        forms = self._target_forms()
        generic = self._generic_heads(forms)
        owners: dict[tuple[str, ...], set[Target]] = {}
        for t, keys in forms.items():
            if t.kind not in ("modifier", "item"):
                continue
            for key in keys:
                if len(key) < 2 or key[-1] not in generic:
                    continue
                short = key[:-1]
                if t.kind == "item" and len(short) != 1:
                    continue
                if short[-1] in _DESCRIPTIVE or short[-1] in _CONNECTORS or short[-1] in COMMON_WORDS:
                    continue
                if any(w.isdigit() or words_to_number(w) is not None for w in short):
                    continue  # "three" is not "three liters"
                owners.setdefault(short, set()).add(t)
        return [(k, next(iter(ts))) for k, ts in owners.items() if len(ts) == 1 and k not in self._forms]

    # ------------------------------------------------------------------ lookups

    def names_of(self, target: Target) -> set[str]:
        """Every word of every name of a target (for matching names said in pieces)."""
        words = self._target_words.get(target)
        return words if words is not None else set()

    def accepts_modifier(self, item_id: str, modifier_id: str) -> bool:
        return modifier_id in self.item_modifiers.get(item_id, {})

    def accepts_variation(self, item_id: str, variation_id: str) -> bool:
        return variation_id in self.item_variations.get(item_id, {})

    def size_named_like(self, item_id: str, target: Target) -> str | None:
        """The item's own size named like a size of another item: "grande" said of an item whose
        sizes have no Spanish names is its "large" when another item's "large" is "grande"."""
        if target.kind != "variation" or target.item_id is None:
            return None
        if target.item_id == item_id:
            return target.variation_id
        name = self.item_variations.get(target.item_id, {}).get(target.variation_id or "")
        return next((vid for vid, n in self.item_variations.get(item_id, {}).items() if n == name), None)

    def exact_at(self, tokens: list[str], i: int) -> Mention | None:
        """The longest name starting at tokens[i]: exact, generated, re-spaced or with 'and' moved."""
        n = len(tokens)
        cjk = is_cjk(tokens[i])
        for length in range(min(self.max_len + 1, n - i), 0, -1):
            key = tuple(tokens[i : i + length])
            targets = self._frozen.get(key)
            if targets is not None:
                return _mention(targets, i, i + length, tokens, self._score[key])
            if cjk:
                continue
            joined = self._joined.get("".join(key))
            if joined is not None and joined != key:
                return _mention(self._frozen[joined], i, i + length, tokens, min(_JOINED, self._score[joined]))
            if length >= 2 and key[0] not in _CONNECTORS and key[-1] not in _CONNECTORS:
                loose_key = tuple(t for t in key if t not in _CONNECTORS)
                full = self._loose.get(loose_key)
                if full is not None:
                    return _mention(self._frozen[full], i, i + length, tokens, min(_LOOSE, self._score[full]))
        return None

    def short_at(self, tokens: list[str], i: int) -> Mention | None:
        """A name said without its generic last word: 'caramel' for 'caramel syrup'."""
        for length in range(min(3, len(tokens) - i), 0, -1):
            targets = self._short.get(tuple(tokens[i : i + length]))
            if targets:
                return _mention(targets, i, i + length, tokens, _SHORT)
        return None

    def unique_word_at(self, tokens: list[str], i: int) -> Mention | None:
        """A word that only one thing's names use: 'romaine' for romaine lettuce, 'vinegar' for red wine vinegar."""
        targets = self._partial.get(tokens[i])
        return _mention(targets, i, i + 1, tokens, _HEAD) if targets else None

    def clipped_at(self, tokens: list[str], i: int) -> Mention | None:
        """A clipped one-word name: 'mayo' for mayonnaise."""
        w = tokens[i]
        if len(w) < _FUZZY_MIN_LEN or w in self._not_fuzzy:
            return None
        lo = bisect.bisect_left(self._single_words, w)
        found: set[Target] = set()
        for word in self._single_words[lo:]:
            if not word.startswith(w):
                break
            if len(word) > len(w):
                found.update(self._frozen[(word,)])
        return _mention(tuple(found), i, i + 1, tokens, _HEAD) if len(found) == 1 else None

    def name_goes_on(self, hit: Mention, tokens: list[str]) -> Mention | None:
        """A one-word guess at an item whose name the next words finish.

        Speech recognition splits a word: 'match of latte', 'match latte' is
        one matcha latte, not a matcha latte and a latte."""
        if hit.end - hit.start != 1 or hit.kind != "item" or hit.item_id is None:
            return None
        item = self.catalog.item(hit.item_id)
        if item is None:
            return None
        after = tokens[hit.end :]
        for _lang, name in self._names(item):
            first, *rest = tokenize(name) or [""]
            if not rest or fuzz.ratio(tokens[hit.start], first) < 80:
                continue
            if after[: len(rest)] == rest:
                return _mention(hit.candidates, hit.start, hit.end + len(rest), tokens, hit.score)
            if after[:1] and after[0] in _SPLIT_FILLERS and after[1 : 1 + len(rest)] == rest:
                return _mention(hit.candidates, hit.start, hit.end + 1 + len(rest), tokens, hit.score)
        return None

    def is_generic_head(self, mention: Mention) -> bool:
        """A one-word name that ends several other names ('coffee' in 'drip coffee', 'espresso coffee')."""
        return mention.end - mention.start == 1 and mention.text in self.generic_heads

    def fuzzy_eligible(self, token: str) -> bool:
        return len(token) >= _FUZZY_MIN_LEN and not token.isdigit() and not is_cjk(token) and token not in self._not_fuzzy

    def fuzzy_at(self, tokens: list[str], i: int, free: list[bool]) -> Mention | None:
        """Best misheard name around tokens[i] (an unknown word), using only free tokens."""
        if not self._choices:
            return None
        best: tuple[float, int, int, tuple[str, ...]] | None = None
        for start, end in ((i, i + 1), (i, i + 2), (i - 1, i + 1), (i, i + 3), (i - 1, i + 2)):
            if start < 0 or end > len(tokens) or not all(free[start:end]):
                continue
            window = tokens[start:end]
            query = " ".join(window)
            found = process.extractOne(query, self._choices, scorer=fuzz.ratio, score_cutoff=50)
            score = 0.0
            key: tuple[str, ...] | None = None
            if found is not None:
                choice, ratio, index = found
                key = self._choice_keys[index]
                squeezed = fuzz.ratio(query.replace(" ", ""), choice.replace(" ", "")) / 100
                score = max(ratio / 100, squeezed)
                # A different number of words is weaker evidence, unless the
                # letters run together are nearly the name: a recogniser
                # splits a word it does not know ("pet peroni").
                if len(key) != len(window) and score < 0.9 and squeezed < _SPLIT_WORD:
                    score -= 0.05
            sounds = self._phonetic.get(_phonetic_key(query))
            if sounds:
                pkey = min(sounds, key=lambda k: -fuzz.ratio(query, " ".join(k)))
                pratio = fuzz.ratio(query, " ".join(pkey)) / 100
                if pratio >= 0.55 and max(pratio, _PHONETIC) > score:
                    score, key = max(pratio, _PHONETIC), pkey
            if key is None or score < _PHONETIC:
                continue
            if score < _FUZZY_MIN and not (sounds and key in sounds):
                continue
            cand = (score, end - start, start, key)
            if best is None or (cand[0], cand[1]) > (best[0], best[1]):
                best = cand
        if best is None:
            return None
        score, length, start, key = best
        return _mention(self._frozen[key], start, start + length, tokens, min(score, 0.96))

    # ------------------------------------------------------------------ public

    def find(self, text: str) -> list[Mention]:
        """Items, sizes and options named in `text`, read as the order parser reads them
        ("can i" is no can of soda); category words left out."""
        from agi.dialogue.nlu_labels import (
            label_tokens,  # the labeller builds on this module
        )

        labels = label_tokens(tokenize(text), self, self.language)
        return [lb.mention for lb in labels if lb.mention is not None and lb.mention.kind != "category"]


# What a recogniser puts inside a split word ("matcha" -> "match a", "match of").
_SPLIT_FILLERS = {"a", "of", "the"}


def _phonetic_key(text: str) -> str:
    return jellyfish.metaphone(text.replace(" ", "")) or text


_CACHE: dict[int, tuple[weakref.ref, dict[str, CatalogMatcher]]] = {}
_LOCK = threading.Lock()


def matcher_for(catalog: Catalog, language: str = "en") -> CatalogMatcher:
    """The cached matcher of a catalog (a refreshed catalog object gets a new one)."""
    key = id(catalog)
    entry = _CACHE.get(key)
    if entry is None or entry[0]() is not catalog:
        with _LOCK:
            entry = _CACHE.get(key)
            if entry is None or entry[0]() is not catalog:
                ref = weakref.ref(catalog, functools.partial(_forget, _CACHE, key))
                entry = (ref, {})
                _CACHE[key] = entry
    by_lang = entry[1]
    m = by_lang.get(language)
    if m is None:
        m = CatalogMatcher(catalog, language)
        by_lang[language] = m
    return m


def _forget(cache: dict, key: int, ref: weakref.ref) -> None:
    """Drop a collected catalog's matchers (the dict is bound early: safe at interpreter exit)."""
    entry = cache.get(key)
    if entry is not None and entry[0] is ref:
        cache.pop(key, None)
