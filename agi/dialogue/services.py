"""Services, devices and staff: what a booking or work order is for, and with whom.

Several services may be booked at once ("a blowout and a classic manicure"); a
repair is the one for the device said (a MacBook's battery is the laptop
battery replacement); a staff member is named by the word that tells them
apart ("Dr. Garcia"), and one named after "instead of" is the one dropped.
"""

from __future__ import annotations

import re
from typing import Any

import jellyfish

from agi.catalog import Item
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue.nlu_text import tokenize
from agi.dialogue.replies import Reply
from agi.dialogue.state import Pending, PendingKind
from agi.playbook import SlotSpec


class ServicesMixin:
    """Part of DialogueEngine: the service, device and staff slots."""

    def _service_from(self, spec: SlotSpec, norm: str, asked: bool, notes: list[str]) -> str | list[str] | None:
        """The services the caller settles on: every one named that is not being
        dropped ("a blowout and a classic manicure", "forget the pedicure, just the
        manicure", "a pedicure instead of the manicure"). Services already chosen
        only change when asked, on a correction, or when one is added ("also a
        pedicure"). One service is its id; several, their ids in the order said."""
        st = self.state
        lang = st.language
        current = service_ids(st.slots.get(spec.id))
        correcting = lexicon.contains(norm, lexicon.CHANGE[lang] + lexicon.REMOVE[lang] + lexicon.CHANGE["en"])
        only = re.search(r"\b(just|only|instead|rather|solo|nada más|nada mas)\b", norm) or "只要" in norm
        adding = re.search(r"\b(add|also|too|as well|plus|another|también|tambien|además|ademas)\b", norm) or "还要" in norm
        if current and not asked and not correcting and not only and not adding:
            return None
        category = self.pb.ticket.service_category
        tokens = tokenize(norm)
        chosen: list[Item] = []
        said_as: dict[str, set[str]] = {}  # item id -> the words it was named by
        device_words = self._device_words()
        for m in self.mentions(norm, ("item",)):
            item = self.catalog.item(m.item_id) if m.item_id else None
            if item is None or (category is not None and item.category != category):
                continue
            if set(tokenize(m.text)) <= device_words:
                continue  # "my iPad won't charge": the device, not an iPad screen
            item = self._for_device(item)
            before = " ".join(tokens[max(0, m.start - 3) : m.start])
            if lexicon.contains(before, lexicon.REMOVE[lang] + lexicon.REMOVE["en"]) or re.search(
                r"\b(not|instead of|rather than|en vez de|en lugar de)\b", before
            ):
                continue
            said_as.setdefault(item.id, set()).update(tokenize(m.text))
            if item not in chosen:
                chosen.append(item)
        # "a haircut ... a kids haircut": the plain word is the kids haircut said first
        chosen = [i for i in chosen if not any(o is not i and said_as[i.id] < said_as[o.id] for o in chosen)]
        if not chosen and self.state.topic is not None and _ONE_OF_THOSE.search(norm):
            topic = self.catalog.item(self.state.topic)  # "how much is a men's haircut?" ... "book me one"
            chosen = [topic] if topic is not None and (category is None or topic.category == category) else []
        if not chosen:
            return None
        missing = next((item for item in chosen if not item.available), None)
        if missing is not None:
            alt = self._alternative(missing)
            if alt is not None and self._names_other_device(alt):
                alt = None  # no laptop screen for a cracked iPad
            if alt is None or len(chosen) > 1:
                # nothing like it to offer: the caller hears so and is asked what else
                return Reply(f"{self._unavailable_text(missing)} {self._ask(spec)}")
            notes.append(self._unavailable_text(missing, alt))
            st.pending = Pending(PendingKind.SERVICE, rule_id=f"{spec.id}={alt.id}")
            return None
        ids = [item.id for item in chosen]
        if adding and not only and not correcting:
            ids = current + [i for i in ids if i not in current]
        if ids == current:
            return st.slots.get(spec.id)  # said again ("just the gel manicure"): understood, nothing changes
        return ids[0] if len(ids) == 1 else ids

    def _device_spec(self) -> SlotSpec | None:
        """The choice slot whose choices name the catalog's services ("phone" in "phone
        battery replacement"): the device a repair is priced for."""
        names = {w for i in self.catalog.items for w in tokenize(i.name)}
        return next(
            (s for s in self.pb.ticket.slots if s.type == "choice" and sum(c in names for c in s.choices) >= 2), None
        )

    def _device_words(self) -> set[str]:
        spec = self._device_spec()
        if spec is None:
            return set()
        words: set[str] = set()
        for choice in spec.choices:
            for form in (choice, *spec.synonyms.get(choice, []), *lexicon.CHOICE_WORDS.get(choice.lower(), ())):
                words.update(tokenize(form))
        return words

    def _for_device(self, item: Item) -> Item:
        """The same service for the device said: a MacBook's battery is the laptop battery
        replacement, not the phone one (the item named alike with the device word swapped)."""
        spec = self._device_spec()
        device = self.state.slots.get(spec.id) if spec is not None else None
        if spec is None or not isinstance(device, str):
            return item
        words = tokenize(item.name)
        named = [w for w in words if w in spec.choices]
        if not named or device in named:
            return item
        wanted = [device if w in named else w for w in words]
        # the device's own, even when it is 86'd: the caller then hears so, and what else can be done
        return next((i for i in self.catalog.items if tokenize(i.name) == wanted), item)

    def _names_other_device(self, item: Item) -> bool:
        spec = self._device_spec()
        device = self.state.slots.get(spec.id) if spec is not None else None
        named = [w for w in tokenize(item.name) if spec is not None and w in spec.choices]
        return bool(named) and isinstance(device, str) and device not in named

    def _services_follow_device(self, notes: list[str]) -> None:
        """A device corrected after the service was chosen ("wait, it's my laptop") moves
        the service to that device's, said back with its price."""
        spec = self._service_spec()
        if spec is None:
            return
        ids = service_ids(self.state.slots.get(spec.id))
        moved = [self._for_device(self.catalog.item(i)).id if self.catalog.item(i) else i for i in ids]
        if moved != ids:
            self.state.slots[spec.id] = moved[0] if len(moved) == 1 else moved

    def _check_staff(self, member: Any) -> str | Reply:
        """Staff who do not offer every chosen service are not booked for them."""
        services = self._service_ids()
        service = next((x for x in services if member.services and x not in member.services), None)
        if service is None:
            return member.id
        lang = self.state.language
        able = [m.name for m in self.pb.schedule.staff if not m.services or all(x in m.services for x in services)]
        item = self.catalog.item(service)
        return Reply(
            P.say(
                "staff_cannot",
                lang,
                staff=member.name,
                service=item.display_name(lang) if item else service,
                options=P.join_list(able, lang, "or"),
            )
        )

    def _service_spec(self) -> SlotSpec | None:
        return next((s for s in self.pb.ticket.slots if s.type == "service"), None)

    def _service_id(self) -> str | None:
        """The first service chosen (staff and schedules are checked against each)."""
        ids = self._service_ids()
        return ids[0] if ids else None

    def _service_ids(self) -> list[str]:
        spec = self._service_spec()
        return service_ids(self.state.slots.get(spec.id)) if spec else []

    def _staff_said(self, norm: str, asked: bool) -> str | Reply | None:
        """The staff member asked for, "any" for anyone, or None. Unasked, a staff member
        is named after "with" or a title: "Laura Chen" answering "may I have your name?"
        is the caller, not Nurse Practitioner Chen."""
        named = _staff_named(self.pb.schedule.staff, norm, anchored=not asked)
        if named is not None:
            return self._check_staff(named)
        if _ANY_STAFF.search(norm) or (asked and _ANY_STAFF_ASKED.search(norm)) or "都可以" in norm or "谁都行" in norm:
            return "any"
        member = _staff_by_sound(self.pb.schedule.staff, norm, asked)
        return self._check_staff(member) if member is not None else None


_ONE_OF_THOSE = re.compile(r"\b(?:book me one|book one|one of those|that one|i'll take it|i'll take one|let's do it|"
                           r"let's do that|book it|i'll do it|i'll have that|sign me up|reserve one)\b|\bone\b")


def service_ids(value: Any) -> list[str]:
    """The service slot's value as a list: one id, or several in the order said."""
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


_ANY_STAFF = re.compile(
    r"\b(?:anyone|anybody|no preference|whoever|whoever's|doesn't matter|don't mind|either one|any of them|"
    r"first available|whoever is free|cualquiera|quien sea|me da igual|no importa)\b"
)
# Words that mean anyone only as the answer to "with whom?" ("any sick visits on Saturday?" asks no stylist).
_ANY_STAFF_ASKED = re.compile(r"\b(?:any|either|both)\b")
# Words of a staff member's name that do not tell one from another ("Dr. Garcia", "Nurse Practitioner Chen").
_TITLES = {"dr", "doctor", "doctora", "nurse", "practitioner", "np", "pa", "mr", "mrs", "ms", "miss", "md", "rn"}
NOT_THIS_ONE = re.compile(
    r"\b(?:not|instead of|rather than|other than|en vez de|en lugar de|no)\s+(?:with\s+|con\s+|my\s+|the\s+|a\s+|an\s+|mi\s+|el\s+|la\s+)?$|不是$"
)


_STAFF_ANCHOR = re.compile(
    r"\b(?:with|con|see|by|from|para ver a|dr|doctor|doctora|nurse|practitioner|np)\s+(?:(?:the|el|la|dr|doctor|doctora)\s+)?$"
    r"|(?:找|跟|和|约|要|预约)\s*(?:医生|师傅)?\s*$"
)


def _staff_named(staff: list[Any], norm: str, anchored: bool = False) -> Any | None:
    """The staff member the caller asks for by a word of their name ("with Dr. Garcia",
    "con el doctor García", "Nurse Practitioner Chen"); one named after "instead of" or
    "not" is the one being dropped ("with Ana instead of Marco")."""
    folded = lexicon.fold(norm)
    found: list[tuple[bool, int, Any]] = []
    for member in staff:
        words = [w for w in re.findall(r"[a-z]+", lexicon.fold(member.name.lower())) if w not in _TITLES]
        for word in words:
            for m in re.finditer(rf"(?<![a-z]){re.escape(word)}(?![a-z])", folded):
                before = folded[: m.start()]
                if not NOT_THIS_ONE.search(before):
                    # "this is Ana, a haircut with Marco": the one after "with" is the stylist
                    after_with = bool(_STAFF_ANCHOR.search(before))
                    if after_with or not anchored:
                        found.append((not after_with, m.start(), member))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def _staff_by_sound(staff: list[Any], norm: str, asked: bool) -> Any | None:
    """A staff name as a recogniser may spell it: 'Anna' for Ana, 'May' for
    Mei, 'Marko' for Marco (same Metaphone code). Only where a name is
    expected, the answer to "with whom?" or the word after "with", since
    short codes are shared by common words ('my' sounds like Mei)."""
    words = re.findall(r"[a-z]+", lexicon.fold(norm))
    if not asked:
        words = [w for prev, w in zip(words, words[1:]) if prev in ("with", "con")]
    sounds = {jellyfish.metaphone(w) for w in words}
    found = [m for m in staff if jellyfish.metaphone(lexicon.fold(m.name.lower().split()[0])) in sounds]
    return found[0] if len(found) == 1 else None
