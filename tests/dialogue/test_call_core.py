"""The sans-IO call core: events in, commands out, no I/O."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi import events as ev
from agi.call import CallController
from agi.playbook import load_playbook

ROOT = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
FRIDAY_6PM = datetime(2026, 11, 20, 18, 0, tzinfo=NY)


@pytest.fixture(scope="module")
def pizzeria():
    return load_playbook(ROOT / "playbooks" / "pizzeria.yaml")


class Driver:
    """Feeds events, acknowledges playback, records every command."""

    def __init__(self, loaded, caller="+15551234567", now=FRIDAY_6PM):
        self.ctl = CallController(loaded, now=now, call_id="test-call")
        self.commands: list[ev.Command] = []
        self.spoken: list[str] = []
        self.feed(ev.CallStarted(caller, "5550100", "en", "test-call"))

    def feed(self, event, ack=True) -> list[ev.Command]:
        out = self.ctl.handle(event)
        self.commands += out
        for cmd in out:
            if isinstance(cmd, ev.Play):
                self.spoken.append(cmd.text)
                if ack:
                    self.commands += self._ack(cmd)
            elif isinstance(cmd, ev.Commit):
                self.commands += self.feed(ev.CommitDone("ORDER-1", cmd.idempotency_key, "local"), ack)
        return out

    def _ack(self, play: ev.Play) -> list[ev.Command]:
        more = self.ctl.handle(ev.PlaybackDone(play.play_id))
        return more

    def say(self, text: str) -> list[ev.Command]:
        before = len(self.commands)
        self.feed(ev.Transcript(text, "en"))
        return self.commands[before:]

    def last_bot(self) -> str:
        return self.spoken[-1]


def of(kind, commands):
    return [c for c in commands if isinstance(c, kind)]


# Each prefix leaves the call in one dialogue state; the request must win there.
STATES = {
    "greeting": [],
    "anything_else": ["two large pepperoni pizzas"],
    "upsell_offer": ["two large pepperoni pizzas", "that's all"],
    "unavailable_alternative": ["a large hawaiian pizza"],
    "fulfillment": ["two large pepperoni pizzas", "that's all", "no thanks"],
    "address": ["two large pepperoni pizzas", "that's all", "no thanks", "delivery"],
    "name": ["two large pepperoni pizzas", "that's all", "no thanks", "pickup"],
    "phone": ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "Maria"],
    "readback": ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "Maria", "yes"],
    "editing": ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "Maria", "yes", "no"],
}
REQUESTS = ["let me talk to a person", "operator", "quiero hablar con una persona", "转人工"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("request_text", REQUESTS)
def test_transfer_request_wins_in_every_state(pizzeria, state, request_text):
    d = Driver(pizzeria)
    for text in STATES[state]:
        d.say(text)
        assert not d.ctl.finished, f"call ended early at {text!r}: {d.last_bot()}"
    out = d.say(request_text)
    transfers = of(ev.Transfer, out)
    assert len(transfers) == 1, f"no transfer in state {state}: {d.last_bot()}"
    assert transfers[0].target.id == "front-counter"
    assert transfers[0].target.dial == "PJSIP/100"
    assert d.ctl.outcome == "transferred"
    assert d.ctl.transfer == {"reason": "caller asked for a person", "target": "front-counter"}
    assert not of(ev.Commit, d.commands)


def test_dtmf_zero_transfers(pizzeria):
    d = Driver(pizzeria)
    d.say("two large pepperoni pizzas")
    d.feed(ev.Dtmf("0"))
    assert of(ev.Transfer, d.commands) and d.ctl.outcome == "transferred"


def test_commit_only_after_yes_to_a_readback_with_the_total(pizzeria):
    d = Driver(pizzeria)
    for text in ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "Maria"]:
        d.say(text)
        assert not of(ev.Commit, d.commands)
    d.say("yes")  # caller ID is the best number
    assert not of(ev.Commit, d.commands)
    readback = d.last_bot()
    assert "$33.98" in readback and "place the order" in readback
    d.say("yes")
    commits = of(ev.Commit, d.commands)
    assert len(commits) == 1
    assert commits[0].ticket.total_minor == 3398
    assert d.ctl.outcome == "committed"
    assert of(ev.HangupCall, d.commands)


def test_no_at_readback_goes_back_to_editing_and_reads_back_again(pizzeria):
    d = Driver(pizzeria)
    for text in ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "Maria", "yes"]:
        d.say(text)
    d.say("no")
    assert not of(ev.Commit, d.commands)
    d.say("make that three")
    assert "$50.97" in d.last_bot()  # a new read-back with the new total
    d.say("yes")
    assert of(ev.Commit, d.commands)[0].ticket.items[0].quantity == 3


def test_dtmf_one_confirms_the_readback(pizzeria):
    d = Driver(pizzeria)
    for text in ["a small cheese pizza", "that's all", "no thanks", "pickup", "Maria", "yes"]:
        d.say(text)
    d.feed(ev.Dtmf("1"))
    assert len(of(ev.Commit, d.commands)) == 1


def test_barge_in_stops_playback(pizzeria):
    d = Driver(pizzeria)
    play = d.ctl.handle(ev.Transcript("two large pepperoni pizzas", "en"))
    assert of(ev.Play, play)
    out = d.ctl.handle(ev.SpeechStarted())
    assert of(ev.StopPlayback, out)


def test_silence_reprompts_then_escalates(pizzeria):
    d = Driver(pizzeria)
    timers = of(ev.StartTimer, d.commands)
    assert timers and timers[-1].seconds == 8
    d.feed(ev.TimerFired("silence"))
    assert "still there" in d.last_bot()
    d.feed(ev.TimerFired("silence"))
    assert d.ctl.outcome == "transferred"
    assert d.ctl.transfer["reason"] == "long silence"


def test_empty_transcript_is_not_a_turn(pizzeria):
    d = Driver(pizzeria)
    n = len(d.spoken)
    out = d.ctl.handle(ev.Transcript("", "en"))
    assert not of(ev.Play, out) and len(d.spoken) == n


def test_caller_hangup_mid_order_commits_nothing(pizzeria):
    d = Driver(pizzeria)
    d.say("two large pepperoni pizzas")
    d.feed(ev.Hangup())
    assert d.ctl.finished and d.ctl.outcome == "hung_up"
    assert not of(ev.Commit, d.commands)
    assert d.ctl.result()["ticket"] is None


def test_blocked_number_is_refused_before_a_word(pizzeria):
    d = Driver(pizzeria, caller="+15550009999")
    assert d.ctl.outcome == "refused"
    assert of(ev.HangupCall, d.commands)


def test_vip_goes_to_the_manager(pizzeria):
    d = Driver(pizzeria, caller="+15550100200")
    transfers = of(ev.Transfer, d.commands)
    assert transfers and transfers[0].target.id == "manager"


def test_commit_failure_transfers_to_staff(pizzeria):
    ctl = CallController(pizzeria, now=FRIDAY_6PM, call_id="x")
    ctl.handle(ev.CallStarted("+15551234567", None, "en", "x"))
    for text in ["a small cheese pizza", "that's all", "no thanks", "pickup", "Maria", "yes"]:
        ctl.handle(ev.Transcript(text))
    out = ctl.handle(ev.Transcript("yes"))
    assert of(ev.Commit, out)
    out = ctl.handle(ev.CommitFailed("POS down"))
    plays = of(ev.Play, out)
    assert plays and "couldn't place" in plays[0].text
    out = ctl.handle(ev.PlaybackDone(plays[0].play_id))
    assert of(ev.Transfer, out) and ctl.outcome == "transferred"


# -- a second opinion on an utterance the bot cannot make sense of

UTTERANCE = b"\x10\x00" * 16000  # two seconds of caller audio (its content is the transcripts below)


def hear_utterance(d: Driver, first: str) -> list[ev.Command]:
    """The caller speaks; speech-to-text reads it as `first`. The commands that reading causes."""
    (asked,) = of(ev.Transcribe, d.feed(ev.SpeechEnded(UTTERANCE)))
    assert not asked.second_opinion
    return d.feed(ev.Transcript(first, "en"))


def test_a_reading_the_bot_cannot_make_sense_of_is_heard_again_before_it_answers(pizzeria):
    d = Driver(pizzeria)
    d.ctl.second_opinion = True
    n = len(d.spoken)
    out = hear_utterance(d, "how much is a large pack that only pizza?")
    (again,) = of(ev.Transcribe, out)
    assert again.second_opinion and again.pcm == UTTERANCE and again.language == "en"
    assert not of(ev.Play, out) and len(d.spoken) == n  # no "Sorry, I didn't catch that" yet
    d.feed(ev.Transcript("How much is a large pepperoni pizza?", "en", second_opinion=True))
    assert "16.99" in d.last_bot() and len(d.spoken) == n + 1
    assert d.ctl.turns[-1]["heard"] == "How much is a large pepperoni pizza?"


def test_when_the_second_opinion_hears_nothing_better_the_first_reading_stands(pizzeria):
    for second in ("", "how much is a large pack of the only pizza?"):
        d = Driver(pizzeria)
        d.ctl.second_opinion = True
        hear_utterance(d, "how much is a large pack that only pizza?")
        d.feed(ev.Transcript(second, "en", second_opinion=True))
        assert "didn't catch" in d.last_bot()
        assert d.ctl.turns[-1]["heard"] == (second or "how much is a large pack that only pizza?")


def test_a_correction_is_heard_again_and_the_second_reading_puts_the_order_right(pizzeria):
    d = Driver(pizzeria)
    d.ctl.second_opinion = True
    assert not of(ev.Transcribe, hear_utterance(d, "a large veggie pizza"))  # understood: no second opinion
    out = hear_utterance(d, "no, I said a large pepper only pizza")
    assert of(ev.Transcribe, out)[0].second_opinion
    d.feed(ev.Transcript("no, I said a large pepperoni pizza", "en", second_opinion=True))
    lines = [(line.name, line.quantity) for line in d.ctl.engine.state.lines]
    assert lines == [("pepperoni pizza", 1)]


def test_a_later_utterance_settles_a_second_opinion_still_out(pizzeria):
    d = Driver(pizzeria)
    d.ctl.second_opinion = True
    hear_utterance(d, "how much is a large pack that only pizza?")
    hear_utterance(d, "two large pepperoni pizzas")  # the caller went on before the second opinion came
    assert "2 large pepperoni pizza" in d.last_bot()
    late = d.feed(ev.Transcript("How much is a large pepperoni pizza?", "en", second_opinion=True))
    assert not of(ev.Play, late)  # too late: the call has moved on


def test_a_driver_without_a_second_model_gets_the_first_reading_at_once(pizzeria):
    d = Driver(pizzeria)  # second_opinion off: text callers, a recogniser with one model
    out = hear_utterance(d, "how much is a large pack that only pizza?")
    assert not of(ev.Transcribe, out) and "didn't catch" in d.last_bot()


@pytest.mark.parametrize("second", [
    "No, I said Algreen.",  # the same words written apart: the English model's writing stands
    "No, I fear the S",  # no longer a correction: the caller's "no, I said ..." stands
])
def test_a_second_opinion_does_not_replace_a_correction_heard_right(pizzeria, second):
    d = Driver(pizzeria)
    d.ctl.second_opinion = True
    for text in ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "El Green"]:
        d.say(text)
    assert "El Green" in d.last_bot()
    hear_utterance(d, "no, I said Al Green")
    d.feed(ev.Transcript(second, "en", second_opinion=True))
    assert d.last_bot().startswith("Thanks, Al Green.")


@pytest.mark.parametrize("first_sure, second_sure, answered", [
    (0.9, 0.6, "Sam"),  # the first model was clearly surer of its words
    (0.62, 0.6, "Son"),  # about as sure: the second opinion, the stronger model's
    (0.5, 0.8, "Son"),
])
def test_two_readings_the_bot_understands_are_weighed_by_how_sure_each_model_was(
    pizzeria, first_sure, second_sure, answered
):
    d = Driver(pizzeria)
    d.ctl.second_opinion = True
    for text in ["two large pepperoni pizzas", "that's all", "no thanks", "pickup", "S-"]:
        d.say(text)
    assert of(ev.Transcribe, d.feed(ev.SpeechEnded(UTTERANCE)))
    out = d.feed(ev.Transcript("No, I said Sam", "en", first_sure))
    assert of(ev.Transcribe, out)[0].second_opinion  # a correction: heard again
    d.feed(ev.Transcript("no, I said son", "en", second_sure, second_opinion=True))
    assert d.last_bot().startswith(f"Thanks, {answered}.")
    assert d.ctl.turns[-1]["heard"].endswith(("Sam", "son")[answered == "Son"])
