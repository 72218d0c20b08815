"""`simulate --audio`: a scripted call spoken over the simulated line, end to end."""

from __future__ import annotations

from pathlib import Path

from agi import events as ev
from agi.playbook import load_playbook
from agi.simulate import Script, TextCall, run_script
from agi.simulate_audio import CALLER_VOICES, AudioOptions, caller_voice, order_fix, run_audio

ROOT = Path(__file__).resolve().parents[2]


def _committed(ticket, key):
    return ev.CommitDone("T-1", key, "test")


def test_spoken_call_ends_like_the_text_call():
    loaded = load_playbook(ROOT / "playbooks" / "pizzeria.yaml")
    script = Script.model_validate(
        {
            "caller": {"number": "+15551234567", "language": "en"},
            "at": "2026-11-20T18:00:00",
            "say": ["a large pepperoni pizza", "can I talk to a person please"],
        }
    )
    text = run_script(loaded, script, _committed)
    audio = run_audio(loaded, script, _committed, options=AudioOptions(playout_speed=4.0))
    assert {k: audio[k] for k in ("outcome", "ticket", "transfer")} == {k: text[k] for k in ("outcome", "ticket", "transfer")}
    assert [t["caller"] for t in audio["turns"]] == ["", *script.say]
    greeting, order, person = audio["turns"]
    assert greeting["bot"] == text["turns"][0]["bot"] and greeting["latency_ms"] == 0
    assert "pepperoni" in order["heard"].lower()  # what the recogniser made of the audio
    assert order["bot"] == text["turns"][1]["bot"], order  # what was heard, when the answer differs
    for turn in (order, person):
        assert turn["heard"] and turn["latency_ms"] > 0  # measured, not made up


def test_caller_voices_rotate_over_all_engines():
    engines = {caller_voice("en", i).engine for i in range(len(CALLER_VOICES))}
    rates = {caller_voice("en", i).rate for i in range(len(CALLER_VOICES))}
    assert engines == {"espeak-ng", "flite", "piper"} and len(rates) >= 3
    assert caller_voice("en", 0) != caller_voice("en", 1) and caller_voice("en", len(CALLER_VOICES)) == caller_voice("en", 0)
    assert caller_voice("es", 0).language == "es" and caller_voice("zh", 1).voice == "cmn"


def _flite_slt() -> int:
    # flite renders the same audio every time (piper's varies from run to run)
    return next(i for i, v in enumerate(CALLER_VOICES) if (v.engine, v.voice) == ("flite", "slt"))


def test_a_caller_puts_right_what_the_bot_misheard():
    loaded = load_playbook(ROOT / "playbooks" / "pizzeria.yaml")
    script = Script.model_validate(
        {
            "caller": {"number": "+15551234567", "language": "en"},
            "at": "2026-11-20T18:00:00",
            # "pickup" on its own: this voice's "... pizza for pickup" is heard
            # differently on CPUs whose int8 kernels differ (AVX2, AVX-512).
            "say": ["a large pepperoni pizza", "that's all", "no thanks", "pickup", "Henry", "yes", "yes"],
        }
    )
    # This voice's "Henry" alone is heard as another word; "no, I said Henry" is heard right.
    audio = run_audio(loaded, script, _committed, options=AudioOptions(playout_speed=4.0, voice_offset=_flite_slt()))
    name = audio["turns"][5]
    assert "i said" in name["heard"].lower() and name["heard"].lower().endswith("henry")
    first, corrected = name["bot"].split("Thanks, ")[1:]
    assert not first.startswith("Henry") and corrected.startswith("Henry.")
    assert audio["outcome"] == "committed" and audio["ticket"]["customer"]["name"] == "Henry"
    assert audio["ticket"] == run_script(loaded, script, _committed)["ticket"]


def test_a_caller_does_not_repeat_what_the_bot_took_as_meant():
    loaded = load_playbook(ROOT / "playbooks" / "pizzeria.yaml")
    script = Script.model_validate(
        {
            "caller": {"number": "+15551234567", "language": "en"},
            "at": "2026-11-20T18:00:00",
            "say": ["purple monkey dishwasher", "can I talk to a person please"],
        }
    )
    audio = run_audio(loaded, script, _committed, options=AudioOptions(playout_speed=4.0, voice_offset=_flite_slt()))
    nonsense, person = audio["turns"][1:]
    # Not understood in text either: the caller meant nonsense and moves on.
    assert nonsense["bot"].count("Sorry, I didn't catch that") == 1
    assert audio["outcome"] == "transferred" and person["heard"]


def test_a_caller_says_yes_when_the_bot_checks_what_was_meant():
    loaded = load_playbook(ROOT / "playbooks" / "cafe.yaml")
    script = Script.model_validate(
        {"caller": {"number": "+15551234567", "language": "en"}, "at": "2026-11-20T09:00:00",
         "say": ["twenty large lattes please"]}
    )
    rms = next(i for i, v in enumerate(CALLER_VOICES) if (v.engine, v.voice) == ("flite", "rms"))
    audio = run_audio(loaded, script, _committed, options=AudioOptions(playout_speed=4.0, voice_offset=rms))
    turn = audio["turns"][1]
    # This voice's "lattes" is heard as "lats": the bot checks, the caller confirms,
    # and twenty lattes go to a person as the Playbook's large-order rule says.
    assert "did you say 20 large lattes" in turn["bot"].lower(), turn
    assert turn["heard"].lower().endswith("yes")
    assert audio["outcome"] == "transferred" and audio["transfer"]["reason"].startswith("large order")


def test_a_caller_names_only_the_line_the_bot_took_down_wrong():
    """What the simulated caller says when the bot's order has a wrong line:
    that line put right, not the whole sentence the recogniser misheard."""
    loaded = load_playbook(ROOT / "playbooks" / "cafe.yaml")
    script = Script.model_validate({"caller": {"number": "+15551234567", "language": "en"}, "at": "2026-11-20T09:00:00"})
    heard, meant = TextCall(loaded, script, _committed), TextCall(loaded, script, _committed)
    heard.say("hi, a large oat mocha with vanilla and a blueberry muffin please")  # "oat milk latte", misheard
    meant.say("hi, a large oat milk latte with vanilla and a blueberry muffin please")
    fix = order_fix(heard.controller.engine, meant.controller.engine)
    assert fix is not None and "latte" in fix and "muffin" not in fix
    heard.say(fix)
    assert heard.controller.engine.ticket().items == meant.controller.engine.ticket().items
    assert order_fix(heard.controller.engine, meant.controller.engine) is None  # nothing left to put right
