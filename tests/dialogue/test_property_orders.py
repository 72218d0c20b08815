"""Property: an order made up from a bundled catalog, said the ways callers say it, is committed exactly.

Hypothesis draws one or two lines from each order Playbook's catalog (an item
in stock, a size, options that are no default, a quantity; for an item sold by
the pack, the count said in packs or in pieces), renders them in English or
Spanish with varied phrasing (numbers in words or digits, the size before or
after the name, options with "with", "add", "con", a greeting or filler first,
the pickup said with the order or when asked, and sometimes a correction of
the last line's quantity), then plays the call in text mode (agi.simulate),
answering each question the bot asks as a caller would. The committed ticket
must hold exactly the lines generated, at the catalog's prices.

Bounded: a fixed number of examples per Playbook, drawn deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi import events as ev
from agi.catalog import Catalog, Item, Modifier, ModifierGroup, Variation
from agi.dialogue.matcher import matcher_for
from agi.dialogue.nlu_text import plural_variants, tokenize
from agi.dialogue.packs import UNIT_WORDS, sold_as_packs
from agi.playbook import load_playbook
from agi.simulate import Script, ScriptCaller, TextCall

from .test_misheard import ROOT

ORDER_PLAYBOOKS = ("pizzeria", "taqueria", "cafe", "retail")
AT = datetime(2026, 12, 9, 12, 30)  # a Wednesday lunchtime: every one of them is open
PHONE = "+15550104477"

_EN = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
      "seventeen eighteen nineteen".split()
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty"}
_ES = "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis " \
      "diecisiete dieciocho diecinueve veinte".split()
_ES_TENS = {20: "veinte", 30: "treinta", 40: "cuarenta"}


_ZH = "零一两三四五六七八九"


def in_words(n: int, language: str) -> str:
    if language == "zh":
        ten, unit = divmod(n, 10)
        return (("" if ten == 1 else "一二三四五六七八九"[ten - 1]) + "十" if ten else "") + (
            ("一二三四五六七八九"[unit - 1] if ten else _ZH[unit]) if unit else "")
    units, tens = (_EN, _EN_TENS) if language == "en" else (_ES, _ES_TENS)
    if n < len(units):
        return units[n]
    ten, unit = divmod(n, 10)
    if language == "es" and n < 30:
        return {21: "veintiuno", 22: "veintidós", 23: "veintitrés", 24: "veinticuatro"}.get(n, str(n))
    return tens[ten * 10] + (f" {units[unit]}" if language == "en" and unit else f" y {units[unit]}" if unit else "")


@dataclass(frozen=True)
class Line:
    item: Item
    quantity: int
    variation: Variation | None  # None: the item's default, not said
    options: tuple[tuple[ModifierGroup, Modifier], ...]
    in_pieces: bool  # a pack item counted in pieces ("twenty wings")
    refused: tuple[tuple[ModifierGroup, Modifier], ...] = ()  # "no cheese"


def _name(thing, language: str) -> str | None:
    return thing.name if language == "en" else thing.names.get(language)


def _clashes(catalog: Catalog, text: str, kind: str) -> bool:
    """A name that, said alone, also names something of another kind ("queso" the dip and the
    cheese): which one a caller means is a question, not a property of the order."""
    words = tokenize(text)
    hit = matcher_for(catalog).exact_at(words, 0)
    return hit is None or hit.end != len(words) or any(t.kind != kind for t in hit.candidates)


def _choices(catalog: Catalog, item: Item) -> list[tuple[ModifierGroup, Modifier]]:
    out = []
    for group in catalog.groups_of(item):
        if group.id not in item.modifier_groups:
            continue  # nested groups open only under their parent option
        out += [(group, o) for o in group.options
                if o.available and not o.default and not _clashes(catalog, o.name, "modifier")]
    return out


@st.composite
def lines(draw, catalog: Catalog) -> list[Line]:
    orderable = [i for i in catalog.items if i.available and not _clashes(catalog, i.name, "item")]
    items = draw(st.lists(st.sampled_from(orderable), min_size=1, max_size=2, unique_by=lambda i: i.id))
    out = []
    for item in items:
        sizes = [v for v in item.variations if v.available and not _clashes(catalog, v.name, "variation")]
        variation = None
        if item.variations and (len(sizes) > 1 or not item.default_variation):
            variation = draw(st.sampled_from(sizes))
        elif sizes and item.default_variation:
            variation = draw(st.sampled_from([None, *sizes]))
        picked: list[tuple[ModifierGroup, Modifier]] = []
        offered = _choices(catalog, item)
        drawn = draw(st.lists(st.sampled_from(offered), max_size=2, unique_by=lambda c: c[1].id)) if offered else []
        for group, option in drawn:
            if sum(1 for g, _ in picked if g.id == group.id) < (group.max or 99):
                picked.append((group, option))
        refusable = _refusable(catalog, item, picked)
        refused = tuple(draw(st.lists(st.sampled_from(refusable), max_size=1))) if refusable else ()
        pieces = bool(item.pack_size) and draw(st.booleans())
        out.append(Line(item, draw(st.integers(1, 3)), variation, tuple(picked), pieces, refused))
    return out


def _refusable(catalog: Catalog, item: Item, picked) -> list[tuple[ModifierGroup, Modifier]]:
    """Options that come unless refused ("no cheese"), in groups that may be left empty."""
    taken = {g.id for g, _ in picked}
    return [(g, o) for g in catalog.groups_of(item) if g.id in item.modifier_groups and g.min == 0 and g.id not in taken
            for o in g.options if o.default and not _clashes(catalog, o.name, "modifier")]


@dataclass
class Rendered:
    language: str
    order: str
    correction: str | None
    pickup_said: bool
    lines: list[Line]


def _count(n: int, language: str, digits: bool, article: bool) -> str:
    if n == 1 and (article or language == "es") and not digits:
        return "a" if language == "en" else "un"
    return str(n) if digits else in_words(n, language)


def _plural(name: str, n: int, language: str) -> str:
    """'two large pepperoni pizzas'; Spanish puts the noun first in the plural: 'dos burritos california'."""
    words = tuple(name.split())
    if n == 1 or language == "zh" or words[0 if language == "es" else -1].endswith("s"):
        return name
    if language == "es":
        first = [v for v in plural_variants(words, "es") if v[0] != words[0] and v[1:] == words[1:]]
        return " ".join(first[0]) if first else name
    variants = plural_variants(words)
    return " ".join(variants[0]) if variants else name


def _piece_name(item: Item) -> str:
    """How a pack item is named counted in pieces: a spoken form without a word of packaging."""
    forms = [f for f in item.spoken_forms() if f.isascii() and not set(tokenize(f)) & UNIT_WORDS]
    return min(forms, key=len)


@st.composite
def rendered(draw, catalog: Catalog, languages: tuple[str, ...]) -> Rendered:
    said = draw(lines(catalog))
    def named_in(lang: str) -> bool:
        return all(_name(x.item, lang) and (x.variation is None or _name(x.variation, lang))
                   and all(_name(o, lang) for _, o in x.options + x.refused) for x in said)

    language = draw(st.sampled_from([lang for lang in languages if lang == "en" or named_in(lang)]))
    if language == "zh":
        return _in_chinese(draw, said)
    digits = draw(st.booleans())
    parts = []
    for x in said:
        opts = [_name(o, language) for _, o in x.options]
        joiner = " and " if language == "en" else " y "
        with_word = draw(st.sampled_from(("with", "add") if language == "en" else ("con",)))
        with_opts = ""
        if opts:
            with_opts = (f" {with_word} " if with_word == "with" or language == "es" else ", add ") + joiner.join(opts)
        for _, o in x.refused:
            no = draw(st.sampled_from(("no", "without", "hold the") if language == "en" else ("sin",)))
            with_opts += f"{',' if with_opts else ''} {no} {_name(o, language)}"
        name = _name(x.item, language)
        if x.in_pieces:
            count = _count(x.quantity * x.item.pack_size, language, digits, False)
            parts.append(f"{count} {_piece_name(x.item)}{with_opts}")
            continue
        if x.item.pack_size:
            unit = ("packs" if sold_as_packs(x.item) else "orders") if language == "en" else (
                "paquetes" if sold_as_packs(x.item) else "órdenes")
            if x.quantity > 1:
                of = "of" if language == "en" else "de"
                parts.append(f"{_count(x.quantity, language, digits, False)} {unit} {of} {name}{with_opts}")
                continue
        qty = _count(x.quantity, language, digits, draw(st.booleans()))
        size = _name(x.variation, language) if x.variation is not None else None
        shape = draw(st.sampled_from(("before", "after", "comma"))) if size else "none"
        plural = _plural(name, x.quantity, language)
        if shape == "before" and language == "en":
            parts.append(f"{qty} {size} {plural}{with_opts}")
        elif shape in ("after", "before"):
            parts.append(f"{qty} {plural} {size}{with_opts}")
        elif shape == "comma":
            parts.append(f"{qty} {plural}, {size}{with_opts}")
        else:
            parts.append(f"{qty} {plural}{with_opts}")
    lead = draw(st.sampled_from(("", "can I get ", "hi, I'd like ", "yeah so um, ", "could I have ")
                                if language == "en" else ("", "quiero ", "me da ")))
    join = draw(st.sampled_from((" and ", ", and also ")) if language == "en" else st.just(" y "))
    pickup = draw(st.booleans())
    order = lead + join.join(parts) + ((" for pickup" if language == "en" else " para recoger") if pickup else "")
    correction = None
    last = said[-1]
    if not last.item.pack_size and draw(st.booleans()):
        n = draw(st.sampled_from([q for q in (1, 2, 3) if q != last.quantity]))
        said[-1] = Line(last.item, n, last.variation, last.options, False, last.refused)
        word = str(n) if digits else in_words(n, language)
        if language == "en":
            correction = f"actually make that {word}"
        elif n == 1:
            correction = f"mejor que sea {word if digits else 'uno'}"
        else:
            correction = f"mejor que sean {word}"
    return Rendered(language, order, correction, pickup, said)


def _in_chinese(draw, said: list[Line]) -> Rendered:
    """我要两份大杯拿铁，加燕麦奶: numbers in characters or digits, a measure word, no spaces."""
    digits = draw(st.booleans())
    parts = []
    for x in said:
        name = _name(x.item, "zh")
        if x.in_pieces and not set(tokenize(name)) & UNIT_WORDS:  # "LED灯泡四只装" is a pack by its name
            count = x.quantity * x.item.pack_size
            parts.append(f"{count if digits else in_words(count, 'zh')}个{name}")
        else:
            measure = "份" if x.item.pack_size else draw(st.sampled_from(("个", "份")))
            size = _name(x.variation, "zh") if x.variation is not None else ""
            parts.append(f"{x.quantity if digits else in_words(x.quantity, 'zh')}{measure}{size}{name}")
        if x.options:
            parts[-1] += "，加" + "和".join(_name(o, "zh") for _, o in x.options)
        parts[-1] += "".join(f"，不要{_name(o, 'zh')}" for _, o in x.refused)
    lead = draw(st.sampled_from(("我要", "你好，我要", "给我来")))
    pickup = draw(st.booleans())
    order = lead + "，还有".join(parts) + ("，自取" if pickup else "")
    correction = None
    last = said[-1]
    if not last.item.pack_size and draw(st.booleans()):
        n = draw(st.sampled_from([q for q in (1, 2, 3) if q != last.quantity]))
        said[-1] = Line(last.item, n, last.variation, last.options, False, last.refused)
        correction = f"改成{n if digits else in_words(n, 'zh')}份"
    return Rendered("zh", order, correction, pickup, said)


def _answer(c: TextCall, language: str) -> str:
    """What a caller says to the question in the air."""
    engine = c.controller.engine
    state = engine.state
    asking = state.asking or ""
    spec = engine._slot_spec(asking)
    key = state.pending.kind if state.pending is not None else spec.type if spec is not None else asking
    if key not in _ANSWERS:
        raise AssertionError(f"the bot asked {key!r}: {c.turns[-1]['bot']}")
    return _ANSWERS[key][language]


_ANSWERS = {
    "upsell": {"en": "no thanks", "es": "no gracias", "zh": "不用了"},
    "callerid": {"en": "yes", "es": "sí", "zh": "是的"},
    "more": {"en": "that's all", "es": "es todo", "zh": "就这些"},
    "readback": {"en": "yes", "es": "sí", "zh": "对"},
    "fulfillment": {"en": "pickup", "es": "para recoger", "zh": "自取"},
    "time": {"en": "at 4 pm", "es": "a las cuatro de la tarde", "zh": "下午四点"},
    "name": {"en": "Robin", "es": "Rosa", "zh": "我姓王"},
}


def _expected(catalog: Catalog, said: list[Line]) -> tuple[list[tuple], int]:
    out, total = [], 0
    for x in said:
        variation = x.variation.id if x.variation is not None else x.item.default_variation
        mods = sorted([(o.id, "normal") for _, o in x.options] + [(o.id, "no") for _, o in x.refused])
        out.append((x.item.id, x.quantity, variation, mods))
        total += x.quantity * (x.item.base_price(variation) + sum(o.price_delta for _, o in x.options))
    return out, total


@pytest.mark.parametrize("stem", ORDER_PLAYBOOKS)
def test_an_order_said_any_of_these_ways_is_committed_exactly(stem):
    loaded = load_playbook(ROOT / "playbooks" / f"{stem}.yaml")
    catalog = loaded.catalog
    languages = tuple(loaded.playbook.business.languages)

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(rendered(catalog, languages))
    def check(call: Rendered) -> None:
        committed = []

        def commit(ticket, key):
            committed.append(ticket)
            return ev.CommitDone("ORD-1", key, "local")

        c = TextCall(loaded, Script(caller=ScriptCaller(number=PHONE, language=call.language), at=AT), commit)
        c.say(call.order)
        if call.correction:
            c.say(call.correction)
        for _ in range(10):
            if c.finished:
                break
            c.say(_answer(c, call.language))
        transcript = "\n".join(f"C: {t['caller']}\nB: {t['bot']}" for t in c.turns)
        assert len(committed) == 1, transcript
        [ticket] = committed
        got = [(line.catalog_id, line.quantity, line.variation_id,
                sorted((m.catalog_id, m.qualifier.value) for m in line.modifiers)) for line in ticket.items]
        wanted, total = _expected(catalog, call.lines)
        assert (got, ticket.total_minor) == (wanted, total), transcript

    check()
