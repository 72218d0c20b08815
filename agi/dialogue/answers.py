"""Answers to callers' questions from the catalog and the Playbook: prices,
what comes on an item, sizes and options, hours, delivery area, FAQ.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from agi.catalog import Item
from agi.dialogue import dates as D
from agi.dialogue import lexicon
from agi.dialogue import prompts as P
from agi.dialogue.parser import parse_order
from agi.dialogue.replies import Reply
from agi.tickets import (
    FulfillmentType,
    Ticket,
    price_ticket,
)


class AnswersMixin:
    """Part of DialogueEngine: a question is answered, then the question in flight is asked again."""

    # ------------------------------------------------------------ questions

    def _question(self, norm: str, then: str | None = None) -> Reply | None:
        """The answer to a question the caller asked, then `then` (default: the
        question in flight, asked again); None when the words ask nothing."""
        lang = self.state.language
        nxt = self._question_text() if then is None else then
        if lexicon.contains(norm, lexicon.QUESTION_SO_FAR[lang]) or lexicon.contains(
            norm, lexicon.QUESTION_SO_FAR["en"]
        ):
            if not self.state.lines:
                return Reply(P.say("so_far_empty", lang, next=nxt), hints=self._hints())
            ticket = self._priced()
            items = P.join_list([self._describe(line) for line in ticket.items], lang)
            total = P.money(ticket.total_minor, ticket.currency, lang)
            return Reply(P.say("so_far", lang, items=items, total=total, next=nxt), hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_HOURS[lang]) or lexicon.contains(norm, lexicon.QUESTION_HOURS["en"]):
            day = D.parse_date(norm, self.now.date())
            on = datetime.combine(day, time(12), self.now.tzinfo) if day else None
            return Reply(P.say("hours", lang, hours=self._hours_text(on), next=nxt), hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_DELIVERY_AREA[lang]) and self._is_question(norm):
            area = self.pb.business.delivery_area_text or P.join_list(self.pb.business.delivery_area, lang)
            if not self.pb.ticket.items:
                return Reply(P.say("service_area", lang, area=area, next=nxt), hints=self._hints())
            if FulfillmentType.DELIVERY not in self.pb.ticket.fulfillment:
                types = P.join_list([P.FULFILLMENT_WORDS[t.value][lang] for t in self.pb.ticket.fulfillment], lang)
                return Reply(P.say("no_delivery", lang, types=types, next=nxt), hints=self._hints())
            return Reply(P.say("delivery_area", lang, area=area, next=nxt), hints=self._hints())
        joined = norm.replace(" ", "")
        said_stems = f" {' '.join(lexicon.stems(norm))} "
        for topic, answer in self.pb.faq.items():
            said = f" {' '.join(lexicon.stems(topic))} " in said_stems or (  # "return policy" for "returns"
                " " in topic and topic.lower().replace(" ", "") in joined  # "checking" for "check in"
            )
            if said and self._is_question(norm) and not self._is_request(norm):
                return Reply(f"{answer.get(lang)} {nxt}", hints=self._hints())
        if lexicon.contains(norm, lexicon.QUESTION_PRICE[lang]) and self._is_question(norm):
            return self._price_answer(norm, nxt)
        if lexicon.contains(norm, lexicon.QUESTION_CONTENTS[lang]) and self._is_question(norm):
            item = self._mentioned_item(norm)
            if item is not None:
                contents = item.description or self._default_modifiers(item)
                if contents:
                    return Reply(P.say("contents", lang, item=item.display_name(lang), contents=contents, next=nxt))
        if lexicon.contains(norm, lexicon.QUESTION_OPTIONS[lang]) and self._is_question(norm):
            if self._mentioned_item(norm) is not None and self._says_a_value(norm):
                return None  # "do you have anything for a deep tissue massage tomorrow at six?" books one
            return self._options_answer(norm, nxt)
        return None

    _QUESTION_STARTS = (
        "how",
        "what",
        "which",
        "do you",
        "does",
        "is",
        "are",
        "can you tell",
        "cuánto",
        "cuanto",
        "qué",
        "que",
        "cuál",
        "cual",
        "tienen",
        "hay",
        "where",
        "when",
        "dónde",
        "donde",
        "what's",
    )

    def _is_question(self, norm: str) -> bool:
        return (
            norm.startswith(self._QUESTION_STARTS)
            or lexicon.has_cjk(norm)
            or " how much" in f" {norm}"
            or self._raw_text.rstrip().endswith(("?", "？"))
        )

    def _price_answer(self, norm: str, nxt: str) -> Reply:
        lang = self.state.language
        result = parse_order(norm, self.catalog, lang)
        if not result.lines:
            if self._priced().items:  # "how much is that?": the order or the booking as it stands
                ticket = self._priced()
                total = P.money(ticket.total_minor, ticket.currency, lang)
                items = P.join_list([self._describe(line) for line in ticket.items], lang)
                return Reply(P.say("so_far", lang, items=items, total=total, next=nxt))
            return self._not_understood()
        line = result.lines[0].line.model_copy(update={"quantity": 1})
        self.state.topic = line.catalog_id
        priced = price_ticket(Ticket(items=[line]), self.catalog)
        item = self.catalog.item(line.catalog_id)
        if item is not None and item.variations and line.variation_id is None:
            options = P.join_list(
                [f"{v.display_name(lang)} {P.money(v.price, self.catalog.currency, lang)}" for v in item.variations],
                lang,
            )
            return Reply(P.say("options", lang, item=item.display_name(lang), options=options, next=nxt))
        price = P.money(priced.total_minor, priced.currency, lang)
        return Reply(P.say("price", lang, item=self._describe(priced.items[0], with_qty=False), price=price, next=nxt))

    def _options_answer(self, norm: str, nxt: str) -> Reply:
        lang = self.state.language
        item = self._mentioned_item(norm)
        cat = self.catalog
        if item is not None:
            if item.variations:
                opts = [v.display_name(lang) for v in item.variations if v.available]
                return Reply(
                    P.say("options", lang, item=item.display_name(lang), options=P.join_list(opts, lang), next=nxt)
                )
            groups = cat.groups_of(item)
            if groups:
                opts = [m.display_name(lang) for m in groups[0].options if m.available]
                return Reply(
                    P.say("options", lang, item=item.display_name(lang), options=P.join_list(opts, lang), next=nxt)
                )
        # A category named in the question ("what drinks do you have").
        for category in dict.fromkeys(i.category for i in cat.items):
            if category and re.search(rf"\b{re.escape(category.rstrip('s'))}", norm):
                names = [i.display_name(lang) for i in cat.items if i.category == category and i.available]
                return Reply(P.say("menu", lang, options=P.join_list(names[:8], lang), next=nxt))
        if "topping" in norm or "ingrediente" in norm or "配料" in norm:
            for g in cat.modifier_groups:
                if len(g.options) > 3:
                    names = [m.display_name(lang) for m in g.options if m.available]
                    return Reply(P.say("menu", lang, options=P.join_list(names, lang), next=nxt))
        categories = [c for c in dict.fromkeys(i.category for i in cat.items) if c]
        sample = []
        for c in categories:
            first = next((i for i in cat.items if i.category == c and i.available), None)
            if first is not None:
                sample.append(first.display_name(lang))
        return Reply(P.say("menu", lang, options=P.join_list(sample[:8], lang), next=nxt))

    def _mentioned_item(self, norm: str) -> Item | None:
        for m in self.mentions(norm, ("item",)):
            item = self.catalog.item(m.item_id) if m.item_id else None
            if item is not None:
                self.state.topic = item.id
            return item
        return None

    def _default_modifiers(self, item: Item) -> str:
        lang = self.state.language
        names = [m.display_name(lang) for g in self.catalog.groups_of(item) for m in g.options if m.default]
        return P.join_list(names, lang)
