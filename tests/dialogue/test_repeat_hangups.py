"""Repeat hang-ups from a number are a reason to check, not to refuse.

Caller ID can be spoofed: a prankster using a real customer's number must
not lock that customer out for an hour. A number with too many recent
hang-ups is asked to press 1; a person who presses it orders as usual, and
one who does not is handed to staff, who decide.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from agi import events as ev
from agi.dialogue import policy
from agi.playbook import load_playbook
from agi.simulate import Script, ScriptCaller, TextCall

ROOT = Path(__file__).resolve().parents[2]
FRIDAY_6PM = datetime(2026, 11, 20, 18, 0)


@pytest.fixture(scope="module")
def pizzeria():
    return load_playbook(ROOT / "playbooks" / "pizzeria.yaml")


def call(loaded, recent_hangups: int) -> TextCall:
    def commit(ticket, key):
        return ev.CommitDone("ORD-0042", key, "local")

    script = Script(caller=ScriptCaller(number="+15551112222", language="en"), at=FRIDAY_6PM,
                    recent_hangups=recent_hangups)
    return TextCall(loaded, script, commit)


def test_the_rule_asks_for_a_confirmation_instead_of_refusing(pizzeria):
    decision = policy.caller_rule(pizzeria.playbook, "+15551112222", pizzeria.playbook.abuse.max_hangups_per_hour)
    assert decision is not None and decision.action == "confirm"
    assert decision.reason.startswith("repeat hang-ups")


def test_a_caller_who_presses_1_orders_as_usual(pizzeria):
    c = call(pizzeria, recent_hangups=5)
    assert "press 1" in c.turns[0]["bot"] and not c.finished
    greeting = c.dtmf("1")
    assert "Tony's" in greeting and not c.finished
    for said in ("two large pepperoni pizzas for pickup please", "that's all", "no thanks", "Maria", "yes", "yes"):
        c.say(said)
    assert c.controller.outcome == "committed"


def test_a_caller_who_does_not_press_is_handed_to_a_person(pizzeria):
    c = call(pizzeria, recent_hangups=5)
    for _ in range(pizzeria.playbook.escalation.max_misunderstandings):
        if c.finished:
            break
        reply = c.say("two large pepperoni pizzas")
        assert "press 1" in reply or c.finished
    assert c.controller.outcome == "transferred"
    assert c.result()["transfer"]["reason"].startswith("repeat hang-ups")


def test_other_keys_ask_again(pizzeria):
    c = call(pizzeria, recent_hangups=5)
    assert "press 1" in c.dtmf("5") and not c.finished


def test_a_caller_under_the_limit_is_greeted_at_once(pizzeria):
    c = call(pizzeria, recent_hangups=1)
    assert "press 1" not in c.turns[0]["bot"] and "Tony's" in c.turns[0]["bot"]
