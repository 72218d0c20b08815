"""What the caller is likely to say next: phrases that bias speech recognition.

Whisper takes them as the text "before" the utterance, so a word the
question makes likely ("pickup" after "pickup or delivery?") wins over a
sound-alike ("the cut"), and its spelling follows ("Marco", "margherita").
Phrases come from the Playbook and the live catalog only; the most useful
come first, since the recogniser keeps a bounded number of words.
Closed sets are hinted (items, fulfilment, staff, services, choices,
yes/no): measured on the scripted calls, hints of open answers (times,
addresses, symptoms) made recognition worse. A name question is the
exception: a few common names tell Whisper a name comes next (tiny.en got
19 of 47 spoken customer names right with them, 10 without), and so are
the days of the week after "which day?" (the day and time read right in 55
of 80 spoken answers with them, 49 without).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agi.catalog import Catalog
from agi.dialogue import lexicon
from agi.playbook import Playbook, SlotSpec
from agi.tickets import FulfillmentType

_FULFILLMENT_WORDS = {
    FulfillmentType.PICKUP: {"en": "pickup", "es": "para recoger", "zh": "自取"},
    FulfillmentType.DELIVERY: {"en": "delivery", "es": "a domicilio", "zh": "外卖"},
    FulfillmentType.DINE_IN: {"en": "dine in", "es": "para comer aquí", "zh": "堂食"},
}
# Names that say "a name comes next", not names anyone is expected to have:
# first names alone and with a family name, from several backgrounds.
_EXAMPLE_NAMES = {
    "en": ("John Miller", "Mary", "Kevin Nguyen", "Susan", "Rosa Diaz", "Ahmed", "Linda Brown", "Carlos", "Emma",
           "Wei Zhang"),
    "es": ("Juan García", "María", "José Hernández", "Carmen", "Luis", "Ana López", "Miguel", "Rosa"),
    "zh": ("王伟", "李娜", "张敏", "刘洋", "陈静"),
}
# The answers to "how many?".
_COUNTS = {
    "en": ("just one", "two", "three", "four", "five", "six"),
    "es": ("una", "dos", "tres", "cuatro", "cinco"),
    "zh": ("一份", "两份", "三份", "四份"),
}


def counts(language: str) -> tuple[str, ...]:
    return _COUNTS.get(language, _COUNTS["en"])


# The days a caller names when asked which day: a closed set, unlike times.
_DAYS = {
    "en": ("today", "tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("hoy", "mañana", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "zh": ("今天", "明天", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期天"),
}
_ANYONE = {"en": "anyone is fine", "es": "cualquiera", "zh": "谁都可以"}


def yes_no(language: str) -> tuple[str, ...]:
    return tuple(lexicon.YES[language][:4] + lexicon.NO[language][:3])


def done_words(language: str) -> tuple[str, ...]:
    return (lexicon.NO[language][0],) + tuple(lexicon.DONE[language][:2])


def item_names(catalog: Catalog, language: str, category: str | None = None) -> list[str]:
    return [
        i.display_name(language)
        for i in catalog.items
        if i.available and (category is None or i.category == category)
    ]


def fulfillment_words(playbook: Playbook, language: str) -> list[str]:
    return [_FULFILLMENT_WORDS[f][language] for f in playbook.ticket.fulfillment if f in _FULFILLMENT_WORDS]


def staff_names(playbook: Playbook, language: str) -> list[str]:
    names = [m.name for m in playbook.schedule.staff]
    return names + [_ANYONE[language]] if names else []


def for_order(playbook: Playbook, catalog: Catalog, language: str, filled: Iterable[str]) -> tuple[str, ...]:
    """An open question ("what can I get you?"): what can be ordered, and the
    details callers give in the same breath (how, with whom, when)."""
    have = set(filled)
    out: list[str] = item_names(catalog, language)[:30]
    types = {s.type for s in playbook.ticket.slots if s.id not in have}
    if "fulfillment" in types:
        out = fulfillment_words(playbook, language) + out
    if "staff" in types:
        out += staff_names(playbook, language)
    return tuple(out)


def for_slot(spec: SlotSpec, playbook: Playbook, catalog: Catalog, language: str) -> tuple[str, ...]:
    """The answers a slot question invites; for a name, example names; for a
    day, the days. None where any words may come (an address, a symptom) and
    none for times and counts: there a list of examples only leads Whisper to
    write the list back ("at noon, at 9 am, at 10 am, ...") or to repeat one
    of them."""
    t = spec.type
    if t == "fulfillment":
        return tuple(fulfillment_words(playbook, language))
    if t == "staff":
        return tuple(staff_names(playbook, language))
    if t == "name":
        return _EXAMPLE_NAMES.get(language, _EXAMPLE_NAMES["en"])
    if t in ("date", "datetime"):
        return _DAYS.get(language, _DAYS["en"])
    if t == "service":
        return tuple(item_names(catalog, language, playbook.ticket.service_category)[:30])
    if t == "choice":
        words = list(spec.choices)
        for synonyms in spec.synonyms.values():
            words += synonyms
        return tuple(words)
    return ()


def limit(hints: Sequence[str], count: int = 40) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h for h in hints if h))[:count]
