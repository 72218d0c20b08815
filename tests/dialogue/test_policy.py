"""Overriding rules: a person on request, abuse, urgency, callers."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.dialogue import policy
from agi.playbook import load_playbook

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pb():
    return load_playbook(ROOT / "playbooks" / "pizzeria.yaml").playbook


@pytest.mark.parametrize(
    "text, lang",
    [
        ("can I talk to a person", "en"),
        ("let me speak to someone", "en"),
        ("operator", "en"),
        ("representative please", "en"),
        ("I want a real human", "en"),
        ("get me the manager", "en"),
        ("quiero hablar con una persona", "es"),
        ("páseme con el gerente", "es"),
        ("operador", "es"),
        ("is there a person I can talk to", "en"),
        ("I need a person who can help me", "en"),
        ("the delivery person was rude, let me talk to a manager", "en"),
        ("I want to speak to the delivery person", "en"),
        ("转人工", "zh"),
        ("我要找真人", "zh"),
        ("请帮我接客服", "zh"),
    ],
)
def test_person_requests(text, lang):
    assert policy.wants_person(text, lang)


@pytest.mark.parametrize(
    "text",
    ["two large pepperoni pizzas", "personal pan pizza please", "yes", "pickup at six", "una pizza grande"],
)
def test_orders_are_not_person_requests(text):
    assert not policy.wants_person(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "I need an electric person, half the outlets stopped working",  # "electrician", misheard
        "can you send the repair person tomorrow",
        "I need somebody to fix my furnace",
        "I need somebody who can look at the water heater",
    ],
)
def test_a_worker_to_send_out_is_not_a_request_for_a_person_on_the_line(text):
    assert not policy.wants_person(text, "en")


def test_profanity_and_inflections(pb):
    assert policy.profane("this is fucking ridiculous", pb)
    assert policy.profane("eres un pendejo", pb)
    assert not policy.profane("extra cheese please", pb)


def test_out_of_scope(pb):
    d = policy.out_of_scope("I'd like to ask about catering for 200 people", pb)
    assert d and d.action == "transfer" and d.reason == "out of scope: catering"
    assert policy.out_of_scope("a large cheese pizza", pb) is None


@pytest.fixture(scope="module")
def clinic():
    return load_playbook(ROOT / "playbooks" / "clinic.yaml").playbook


@pytest.mark.parametrize("heard, phrase", [
    ("I've had just a pain since this morning", "chest pain"),  # how a phone line turned "chest pain"
    ("I have trouble breeding", "trouble breathing"),
    ("I've been short of bread all day", "short of breath"),
    ("tengo dolor de pecho", "dolor de pecho"),
])
def test_an_urgent_phrase_misheard_by_sound_still_goes_to_a_person(clinic, heard, phrase):
    d = policy.urgent(heard, clinic)
    assert d is not None and d.action == "transfer" and d.reason == f"urgent: {phrase}"


@pytest.mark.parametrize("heard", ["I'd like a sick visit", "my back pain is back", "the chest x-ray results",
                                   "I need a physical for school", "a follow up visit"])
def test_words_that_only_share_a_word_with_an_urgent_phrase_are_not_urgent(clinic, heard):
    assert policy.urgent(heard, clinic) is None


def test_caller_rules(pb):
    assert policy.caller_rule(pb, "+1 (555) 000-9999", 0).reason == "blocked number"
    assert policy.caller_rule(pb, "+15551112222", 3).reason.startswith("repeat hang-ups")
    vip = policy.caller_rule(pb, "+15550100200", 0)
    assert vip.action == "transfer" and vip.target == "manager"
    assert policy.caller_rule(pb, "+15551112222", 0) is None


def test_mask_number():
    assert policy.mask_number("+15551234567") == "+1555***4567"
    assert "1234567" not in policy.mask_number("+15551234567")
