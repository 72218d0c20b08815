"""`simulate --audio`: a scripted call spoken over the simulated line, end to end."""

from __future__ import annotations

from pathlib import Path

from agi import events as ev
from agi.playbook import load_playbook
from agi.simulate import Script, run_script
from agi.simulate_audio import CALLER_VOICES, AudioOptions, caller_voice, run_audio

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
    assert order["bot"] == text["turns"][1]["bot"]
    for turn in (order, person):
        assert turn["heard"] and turn["latency_ms"] > 0  # measured, not made up


def test_caller_voices_rotate_over_all_engines():
    engines = {caller_voice("en", i).engine for i in range(len(CALLER_VOICES))}
    rates = {caller_voice("en", i).rate for i in range(len(CALLER_VOICES))}
    assert engines == {"espeak-ng", "flite", "piper"} and len(rates) >= 3
    assert caller_voice("en", 0) != caller_voice("en", 1) and caller_voice("en", len(CALLER_VOICES)) == caller_voice("en", 0)
    assert caller_voice("es", 0).language == "es" and caller_voice("zh", 1).voice == "cmn"


def test_a_caller_the_bot_did_not_understand_says_it_again():
    loaded = load_playbook(ROOT / "playbooks" / "pizzeria.yaml")
    script = Script.model_validate(
        {
            "caller": {"number": "+15551234567", "language": "en"},
            "at": "2026-11-20T18:00:00",
            "say": ["purple monkey dishwasher", "can I talk to a person please"],
        }
    )
    # flite's voice renders the same audio every time (piper's varies from run to run)
    flite = next(i for i, v in enumerate(CALLER_VOICES) if v.engine == "flite")
    audio = run_audio(loaded, script, _committed, options=AudioOptions(playout_speed=4.0, voice_offset=flite))
    nonsense, person = audio["turns"][1:]
    assert nonsense["bot"].count("Sorry, I didn't catch that") == 2  # heard, not understood, said once more
    assert nonsense["heard"].lower().count("purple monkey dishwasher") == 2
    assert audio["outcome"] == "transferred" and person["heard"]
