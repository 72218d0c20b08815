"""Business rules checked before the read-back, with the reason said to the caller.

A value the caller gave can be fine alone and wrong together with another:
three guests in a room for two. Such a ticket is never read back as if it
could be booked; the caller hears why and what would fit.
"""

from __future__ import annotations

from agi.catalog import Item
from agi.dialogue import prompts as P
from agi.dialogue.counts import UNIT_OF_SLOT, Unit
from agi.dialogue.replies import Reply


class RulesMixin:
    """Part of DialogueEngine: the Playbook's and catalog's rules over the whole ticket."""

    def _broken_rule(self) -> Reply | None:
        return self._over_capacity()

    def _over_capacity(self) -> Reply | None:
        """A room (or table) for more guests than it holds: say so, offer what fits, ask again."""
        st = self.state
        people = next((s for s in self.pb.ticket.slots if UNIT_OF_SLOT.get(s.id) is Unit.PEOPLE), None)
        guests = st.slots.get(people.id) if people is not None else None
        service = self._service_spec()
        if not isinstance(guests, int) or service is None:
            return None
        lang = st.language
        for item in (self.catalog.item(i) for i in self._service_ids()):
            if item is None or item.capacity is None or guests <= item.capacity:
                continue
            fits = self._rooms_for(item, guests)
            text = P.say("over_capacity", lang, item=item.display_name(lang), capacity=item.capacity, guests=guests)
            if fits:
                names = P.join_list([i.display_name(lang) for i in fits], lang, "or")
                text += " " + P.say("fits_instead", lang, options=names, guests=guests)
            st.asking = service.id
            return Reply(text, hints=self._hints())
        return None

    def _rooms_for(self, item: Item, guests: int) -> list[Item]:
        """The available items of the same kind that hold `guests`, cheapest first (three at most)."""
        fits = [
            i for i in self.catalog.items
            if i.category == item.category and i.available and i.capacity is not None and i.capacity >= guests
        ]
        return sorted(fits, key=lambda i: i.base_price())[:3]
