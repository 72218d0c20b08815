"""A misheard turn is said back at once and the caller can put it right:
"no, I said Jen" undoes what the bot took down and takes the new words."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from agi import events as ev
from agi.playbook import load_playbook
from agi.simulate import Script, ScriptCaller, TextCall

ROOT = Path(__file__).resolve().parents[2]
FRIDAY_6PM = datetime(2026, 11, 20, 18, 0)


def call(playbook: str, at: datetime = FRIDAY_6PM) -> TextCall:
    loaded = load_playbook(ROOT / "playbooks" / f"{playbook}.yaml")
    commits: list = []

    def commit(ticket, key):
        commits.append(ticket)
        return ev.CommitDone("ORD-7", key, "local")

    c = TextCall(loaded, Script(caller=ScriptCaller(number="+15551234567", language="en"), at=at), commit)
    c.commits = commits  # type: ignore[attr-defined]
    return c


def state(c: TextCall):
    return c.controller.engine.state


def at_the_name_question() -> TextCall:
    c = call("pizzeria")
    for said in ("a large pepperoni pizza for pickup", "that's all", "no thanks"):
        c.say(said)
    return c


def committed_after_two_yeses(c: TextCall):
    """The caller keeps the number offered and confirms the read-back."""
    c.say("yes")
    c.say("yes")
    (ticket,) = c.commits
    return ticket


def test_a_misheard_name_is_said_back_and_put_right():
    c = at_the_name_question()
    assert c.say("Jed").startswith("Thanks, Jed.")
    reply = c.say("No, I said Jen.")
    assert reply.startswith("Thanks, Jen.") and "best number" in reply
    assert committed_after_two_yeses(c).customer.name == "Jen"


def test_a_correction_whose_own_no_was_taken_as_an_answer_puts_right_the_turn_before():
    # The caller's first "no, I said Chen Family" was misheard; its "no" was
    # taken as the answer to "Is ... the best number?". The next correction
    # makes no sense against that question, so it puts the name right.
    c = at_the_name_question()
    assert "best number" in c.say("Chen Sam Ali")
    assert "phone number" in c.say("no, I such and family, no")
    reply = c.say("No, I said Chen Family")
    assert reply.startswith("Thanks, Chen Family.") and "best number" in reply
    ticket = committed_after_two_yeses(c)
    assert ticket.customer.name == "Chen Family"
    assert ticket.customer.phone == "+15551234567"  # the caller ID, as the caller meant


def test_a_correction_that_fits_the_last_question_puts_right_the_last_turn():
    c = at_the_name_question()
    c.say("Jed")
    assert "phone number" in c.say("no")  # misheard: the caller said yes
    assert "read that back" in c.say("no, I said yes")
    assert state(c).slots["name"] == "Jed"
    assert state(c).slots["phone"] == "+15551234567"


def test_a_correction_replaces_the_misheard_order_instead_of_adding_to_it():
    c = call("pizzeria")
    assert "1 large pepperoni pizza" in c.say("one large pepperoni pizza")
    reply = c.say("no, I said two large pepperoni pizzas")
    assert "2 large pepperoni pizzas" in reply
    assert [(line.catalog_id, line.quantity) for line in state(c).lines] == [("pizza-pepperoni", 2)]


def test_a_correction_misheard_as_no_i_fed_still_puts_the_turn_right():
    c = call("clinic", at=datetime(2026, 11, 23, 9, 0))
    c.say("I'd like to make an appointment for a sick visit")
    assert c.say("4 float and a car for 3 days").startswith("Got it, reason: 4 float and a car for 3 days.")
    reply = c.say("No, I fed sore throat and a cough for three days")
    assert reply.startswith("Got it, reason: sore throat and a cough for three days.")
    assert state(c).slots["reason"] == "sore throat and a cough for three days"


def test_counts_and_dates_are_said_back_and_can_be_corrected():
    c = call("hotel")
    c.say("I'd like to book a deluxe king room")
    assert "December 12" in c.say("december 12th")
    assert c.say("2 nights").startswith("Got it, nights: 2.")
    reply = c.say("no, I said 3 nights")
    assert reply.startswith("Got it, nights: 3.") and "guests" in reply
    assert state(c).slots["nights"] == 3


def test_free_text_is_said_back_and_replaced_not_appended():
    c = call("clinic", at=datetime(2026, 11, 23, 9, 0))
    c.say("I'd like to make an appointment for a sick visit")
    assert c.say("fever and jill since last night").startswith("Got it, reason: fever and jill since last night.")
    assert "What day and time" in c.say("that's not what I said, fever and chills since last night")
    assert state(c).slots["reason"] == "fever and chills since last night"


def test_thats_not_what_i_said_undoes_the_turn_and_asks_again():
    c = call("hotel")
    c.say("I'd like to book a deluxe king room")
    c.say("december 12th")
    c.say("4 nights")
    reply = c.say("that's not what I said")
    assert reply == "Sorry about that. How many nights will you stay?"
    assert "nights" not in state(c).slots


@pytest.mark.parametrize("said", ["that's wrong", "no, that's not right"])
def test_thats_wrong_to_a_yes_no_question_is_a_no(said):
    c = at_the_name_question()
    assert "best number" in c.say("Jen")
    assert "number" in c.say(said).lower()  # asks for the number: the caller ID was not right
    assert state(c).slots.get("name") == "Jen"  # the name is not undone


def test_i_said_in_the_first_turn_is_an_ordinary_turn():
    c = call("pizzeria")
    assert "1 large pepperoni pizza" in c.say("I said a large pepperoni pizza")


@pytest.mark.parametrize("heard, nights, guests", [("for guests", None, 4), ("two nights, for guests", 2, 4),
                                                   ("make it for nights", 4, None), ("to nights", 2, None)])
def test_a_count_written_as_the_word_it_sounds_like(heard, nights, guests):
    c = call("hotel")
    c.say("I'd like to book a deluxe king room")
    c.say("december 12th")
    c.say(heard)
    slots = state(c).slots
    assert (slots.get("nights"), slots.get("guests")) == (nights, guests)


@pytest.mark.parametrize("playbook, heard, said_back", [
    ("pizzeria", "hi, too large pepperoni pizza for pickup please", "2 large pepperoni pizzas"),
    ("taqueria", "a burrito bowl into al pastor tacos", "2 tacos with al pastor"),
    ("pizzeria", "a large pepperoni pizza and too cokes", "2 cokes"),
])
def test_two_written_as_a_word_it_sounds_like_before_the_menu(playbook, heard, said_back):
    assert said_back in call(playbook).say(heard)


def test_too_and_into_away_from_the_menu_are_no_count():
    c = call("pizzeria")
    c.say("a large pepperoni pizza")
    assert "2" not in c.say("can you cut it into squares")
    assert [line.quantity for line in state(c).lines] == [1]


def test_a_polite_hold_request_with_items_is_an_order_not_the_hold_policy():
    c = call("retail")
    reply = c.say("Can you hold a hammer and a 25 foot extension cord for me?")
    assert reply.startswith("Got it, 1 claw hammer and 1 twenty five foot extension cord.")
    assert "We hold phone orders" in c.say("Can you hold things for me?")


@pytest.mark.parametrize("heard", ["Oh, Olivia", "or Olivia", "Hi, Olivia"])
def test_a_sound_before_a_bare_name_is_not_part_of_it(heard):
    c = at_the_name_question()
    assert c.say(heard).startswith("Thanks, Olivia.")


@pytest.mark.parametrize("heard, hour, minute", [("out four", 16, 0), ("11", 11, 0), ("uh, 3 30", 15, 30)])
def test_a_bare_number_answers_what_time(heard, hour, minute):
    c = call("retail", at=datetime(2026, 11, 21, 10, 0))
    c.say("two packs of AA batteries please")
    assert "What time" in c.say("that's it")
    assert "Got it, pickup at" in c.say(heard)
    when = state(c).slots["time"]
    assert (when.hour, when.minute) == (hour, minute)


def test_a_bare_number_is_not_a_time_unless_a_time_was_asked():
    c = call("retail", at=datetime(2026, 11, 21, 10, 0))
    assert "Got it, 2" in c.say("two packs of AA batteries please")
    assert "time" not in state(c).slots


def test_a_question_heard_with_words_run_together_is_still_answered():
    c = call("hotel")
    assert c.say("What time is checking?").startswith("Check in is from")


def test_can_i_book_heard_as_a_question_is_a_request():
    c = call("salon")
    assert "keratin treatment is not available" in c.say("Can I book the keratin treatment?")


@pytest.mark.parametrize(
    "said, language, instead",
    [
        ("No, I said Jen.", "en", "Jen."),
        ("You know, I said, Jen", "en", "Jen"),  # how a recogniser may write "no, I said"
        ("that's wrong, I said four nights", "en", "four nights"),
        # "said" misheard over the line, after a "no" only
        ("No, I fed sore throat and a cough", "en", "sore throat and a cough"),
        ("no, I set 3 nights", "en", "3 nights"),
        ("nah, i said, yes", "en", "yes"),
        ("I set up the account last week", "en", None),
        ("that's not what I said", "en", ""),
        ("no, dije dos tacos", "es", "dos tacos"),
        ("不对，我说的是两个", "zh", "两个"),
        ("no thanks", "en", None),
        ("I saw it on your website", "en", None),
        ("我说一下我的地址", "zh", None),
    ],
)
def test_what_counts_as_putting_a_misheard_turn_right(said, language, instead):
    from agi.dialogue import lexicon

    assert lexicon.correction(said, language) == instead
