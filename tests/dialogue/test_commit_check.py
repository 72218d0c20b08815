"""The check before every commit: a ticket that is not what the caller said goes to a person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from agi.dialogue.invariant import Said
from agi.playbook import load_playbook
from agi.simulate import Script, TextCall

ROOT = Path(__file__).resolve().parents[2]


def _no_pos(ticket, key):
    raise AssertionError("a ticket the check refuses must never reach the POS")


def _pizzeria_call(say: list[str], committer=_no_pos) -> TextCall:
    loaded = load_playbook(ROOT / "playbooks" / "pizzeria.yaml")
    call = TextCall(loaded, Script(caller={"number": "+15551234567"}, at="2026-12-09T17:00:00"), committer)
    for text in say:
        call.say(text)
    return call


TO_READBACK = ["one large cheese pizza and a caesar salad", "that's all", "pickup", "no thanks", "Maria", "yes"]


def test_numbers_said_for_a_time_or_an_address_count_nothing():
    said = Said(("change the pickup time to seven", "25 Valencia Street apartment 2, 94110"), None, date(2026, 12, 9))
    assert 7 in said.numbers() and 25 in said.numbers()
    assert 7 not in said.quantities() and 25 not in said.quantities() and 94110 not in said.quantities()
    assert {2, 3} <= Said(("two pizzas", "for 3 nights"), None, date(2026, 12, 9)).quantities()


def test_a_quantity_nobody_said_is_not_committed():
    call = _pizzeria_call(TO_READBACK)
    assert "Shall I place the order?" in call.turns[-1]["bot"]
    engine = call.controller.engine
    # An engine fault after the read-back: the salad line now says seven.
    engine.state.lines[1] = engine.state.lines[1].model_copy(update={"quantity": 7})
    engine.state.read_back = engine._priced().to_public()  # even read back, seven was never said
    call.say("yes")
    result = call.result()
    assert result["outcome"] == "transferred" and result["ticket"] is None
    assert "commit check failed" in result["transfer"]["reason"]
    assert "caesar-salad.quantity='7'" in result["transfer"]["reason"]


def test_a_ticket_that_is_not_the_read_back_is_not_committed():
    call = _pizzeria_call(TO_READBACK)
    engine = call.controller.engine
    engine.state.lines.pop()  # changed after the caller heard the read-back
    call.say("yes")
    result = call.result()
    assert result["outcome"] == "transferred"
    assert "differs from the read-back" in result["transfer"]["reason"]


def test_a_name_the_caller_never_said_is_not_committed():
    call = _pizzeria_call(TO_READBACK)
    engine = call.controller.engine
    engine.state.slots["name"] = "Marian"
    engine.state.read_back = engine._priced().to_public()
    call.say("yes")
    assert "customer.name='Marian'" in call.result()["transfer"]["reason"]


def test_the_check_catches_a_time_change_taken_as_a_quantity(monkeypatch):
    # With the words of the time left in the order (the bug of issue 35, class 1), the
    # engine would ring up 7 caesar salads; the check refuses that ticket all the same.
    from agi.dialogue.engine import DialogueEngine

    monkeypatch.setattr(DialogueEngine, "_order_words", lambda self, norm: (norm, norm))
    call = _pizzeria_call([*TO_READBACK, "change the pickup time to seven"])
    assert "7 caesar salads" in call.turns[-1]["bot"]
    call.say("yes")
    result = call.result()
    assert result["outcome"] == "transferred" and result["ticket"] is None


def test_what_the_caller_said_is_committed():
    committed = []

    def pos(ticket, key):
        from agi import events as ev

        committed.append(ticket)
        return ev.CommitDone("local", "1001", key)

    call = _pizzeria_call([*TO_READBACK, "change the pickup time to seven", "yes"], pos)
    assert call.result()["outcome"] == "committed"
    assert committed[0].fulfillment.time == "19:00" and [li.quantity for li in committed[0].items] == [1, 1]


def test_two_written_as_too_is_a_number_said():
    # tiny.en writes "two large pepperoni pizzas" as "Too large pepperoni pizzas" over a phone
    # line; the order parser reads two, and so does the check.
    assert 2 in Said(("Too large pepperoni pizzas please.",), None, date(2026, 12, 9)).quantities()
