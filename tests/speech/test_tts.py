"""Voices: personas, languages, engines, the prompt cache."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from agi.media.frames import rms_dbfs
from agi.playbook import load_playbook
from agi.speech import tts
from agi.speech.tts import PERSONAS, Speaker, TtsUnavailable, Voice, voice_for

SAMPLES = {"en": "Your order is in. Thank you!", "es": "Su pedido está listo. ¡Gracias!", "zh": "您的订单已下好，谢谢！"}


def seconds(pcm: bytes, rate: int = 8000) -> float:
    return len(pcm) / (2 * rate)


def test_every_persona_speaks_at_the_call_rate(speaker):
    assert len(PERSONAS) >= 20
    digests = set()
    for name, voice in PERSONAS.items():
        pcm = speaker.render(SAMPLES[voice.language], name, voice.language)
        assert 0.8 < seconds(pcm) < 6, name
        assert rms_dbfs(pcm) > -35, f"{name} is (nearly) silent"
        digests.add(hashlib.sha1(pcm).hexdigest())
    assert len(digests) == len(PERSONAS)  # each persona sounds different


def test_voice_follows_the_language():
    persona = {"engine": "espeak-ng", "voice": "en-us", "variant": "f3", "rate": 170, "voices": {"es": "es-419"}}
    assert voice_for(persona, "en") == Voice("espeak-ng", "en-us", "f3", 170, 50, "en")
    assert voice_for(persona, "es") == Voice("espeak-ng", "es-419", "f3", 170, 50, "es")
    assert voice_for(persona, "zh").voice == "cmn"  # no voice given: the language's own
    # flite is English only: other languages fall back to espeak-ng, keeping the rate.
    flite = voice_for(PERSONAS["slt"], "es")
    assert (flite.engine, flite.voice, flite.rate) == ("espeak-ng", "es-419", 165)


def test_playbook_persona_is_used_as_is(playbooks_dir, speaker):
    persona = load_playbook(playbooks_dir / "pizzeria.yaml").playbook.persona
    voice = voice_for(persona, "en")
    assert (voice.engine, voice.voice, voice.variant, voice.rate) == (
        persona.engine, persona.voice, persona.variant, persona.rate)
    assert seconds(speaker.render("Thanks for calling!", persona, "en")) > 0.5


def test_rate_changes_duration(speaker):
    slow = speaker.render("two large pepperoni pizzas", Voice(rate=120), "en")
    fast = speaker.render("two large pepperoni pizzas", Voice(rate=240), "en")
    assert seconds(slow) > 1.5 * seconds(fast)


def test_prompts_are_cached_in_memory_and_on_disk(tmp_path):
    first = Speaker(8000, cache_dir=tmp_path)
    pcm = first.render("Anything else?", "ava")
    assert first.render("Anything  else? ", "ava") == pcm  # same words, same audio
    assert (first.renders, first.hits) == (1, 1)
    second = Speaker(8000, cache_dir=tmp_path)  # a restarted worker
    assert second.render("Anything else?", "ava") == pcm and second.renders == 0
    assert second.prerender(["Anything else?", "", "Got it."], "ava") == 2


def test_text_that_looks_like_an_option_is_spoken(speaker):
    assert seconds(speaker.render("-v zz --help", None, "en")) > 0.5


def test_other_sample_rates(speaker):
    wide = Speaker(16000).render("hello", None, "en")
    narrow = speaker.render("hello", None, "en")
    assert seconds(wide, 16000) == pytest.approx(seconds(narrow), abs=0.01)


def test_missing_engines_and_voices_say_so():
    with pytest.raises(TtsUnavailable, match="unknown TTS engine"):
        Speaker().render("hi", Voice(engine="nope"), "en")
    with pytest.raises(TtsUnavailable, match="unknown persona"):
        voice_for("nobody", "en")
    with pytest.raises(TtsUnavailable, match="piper"):
        Speaker().render("hi", Voice(engine="piper", voice="/nonexistent/voice.onnx"), "en")
    assert Speaker().render("   ", None, "en") == b""


def test_piper_speaks_in_process_at_the_call_rate():
    voice = Voice(engine="piper", voice="joe", rate=165)
    speaker = Speaker(8000)
    pcm = speaker.render("two large pepperoni pizzas for pickup", voice, "en")
    assert 1.0 < seconds(pcm) < 4.0
    slower = speaker.render("two large pepperoni pizzas for pickup", Voice(engine="piper", voice="joe", rate=110), "en")
    # Rate is words per minute, as for the other engines: 110 takes half as long
    # again as 165 (piper's own durations vary a few per cent per render).
    assert seconds(slower) / seconds(pcm) == pytest.approx(1.5, abs=0.2)


def test_a_new_engine_plugs_in():
    class Beeper:
        """A stand-in for a neural engine: one tone per word at 24 kHz."""

        name = "beeper"

        def synthesize(self, text, voice):
            t = np.arange(24000 // 4) / 24000
            beep = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2").tobytes()
            return beep * len(text.split()), 24000

    tts.register_engine("beeper", Beeper)
    pcm = Speaker(8000).render("one two three", Voice(engine="beeper"), "en")
    assert seconds(pcm) == pytest.approx(0.75, abs=0.01)
