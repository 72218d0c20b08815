"""Speech-to-text on real audio: recognition, gating of non-speech, languages.

Kept few and small: each decode costs a fraction of a second on two cores.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from agi.media.frames import line_noise, silence
from agi.media.wav import read_wav
from agi.speech import models
from agi.speech.stt import (
    Recognizer,
    SttPool,
    SttRequest,
    SttSettings,
    _pick_language,
    build_prompt,
    collapse_repeats,
    compute_types,
    settings_from_env,
    shared_pool,
    tidy,
)
from agi.speech.spotting import spot
from agi.speech.tts import Voice
from bench.stt import first_voice

DATA = Path(__file__).parent / "data"
CLEAR = Voice("flite", "rms", None, 150, 50)


def words(text: str) -> set[str]:
    return set("".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split())


def test_an_order_over_a_phone_line(recognizer, say):
    # As in a call: hints name what the menu offers.
    hints = ("pepperoni pizza", "cheese pizza", "caesar salad", "garlic knots")
    result = recognizer.transcribe(say("I would like two large pepperoni pizzas", CLEAR), 8000, "en", hints)
    assert {"large", "pepperoni"} <= words(result.text), result.text
    assert result.dropped is None and result.confidence > 0.3
    assert result.audio_ms > 1500 and result.compute_ms > 0


def test_silence_noise_and_coughs_say_nothing(recognizer):
    rng = np.random.default_rng(11)
    cough = silence(200, 8000) + line_noise(250, -10.0, rng=rng) + silence(300, 8000)
    for pcm in (silence(1500, 8000), line_noise(1500, -25.0, rng=rng), cough):
        result = recognizer.transcribe(pcm, 8000, "en")
        assert result.text == "", result
        assert result.dropped


def test_broken_audio_never_raises(recognizer):
    assert recognizer.transcribe(b"", 8000, "en").dropped == "too short"
    assert recognizer.transcribe(b"\x01" * 801, 8000, "en").text == ""  # torn last sample, 50 ms
    assert recognizer.transcribe(b"\x00\x00" * 400, 0, "en").text == ""


def test_prompt_from_hints():
    hints = ["Caesar Salad", "pepperoni pizza", "caesar salad", "", "garlic knots"]
    assert build_prompt(hints) == "Caesar Salad, pepperoni pizza, garlic knots."
    assert build_prompt(["a b c"] * 3 + ["d e f g"], max_words=5) == "a b c."
    assert build_prompt([]) == ""


def test_whisper_loops_are_collapsed():
    assert collapse_repeats("That's all. That's all. That's all. That's") == "That's all."
    assert collapse_repeats("No. No, thanks.") == "No. No, thanks."
    looped = "a large Hawaiian pizza for pick up, a large Hawaiian pizza for pick up, a large Hawaiian"
    assert collapse_repeats(looped) == "a large Hawaiian pizza for pick up"
    assert collapse_repeats("a pizza and a pizza") == "a pizza and a pizza"
    # a decode stopped at its token budget ends mid-word: still the loop
    assert collapse_repeats("that's all, that's all, that's all, that") == "that's all"
    assert collapse_repeats("That's all. That") == "That's all."
    assert collapse_repeats("two two large pizzas") == "two two large pizzas"


def test_a_menu_prompt_does_not_cost_the_order(recognizer, say):
    """With the menu as a comma-separated prompt Whisper tends to go on with
    the list by saying the order again; the caller said it once and the
    order is kept, not dropped as a repetitive hallucination."""
    hints = ("pickup", "delivery", "cheese pizza", "pepperoni pizza", "margherita pizza", "veggie pizza",
             "chicken wings", "garlic knots", "caesar salad", "coke", "diet coke", "sprite", "bottled water", "tiramisu")
    for voice in (CLEAR, Voice("flite", "rms", None, 128, 50)):
        result = recognizer.transcribe(say("a large hawaiian pizza for pickup", voice), 8000, "en", hints)
        assert result.dropped is None, result
        assert result.text.lower().count("pizza") == 1, result.text
        # and the loop was cut short: no decoding past twice a caller's pace
        assert result.tokens <= 6 * (result.audio_ms / 1000 + 0.1) + 8, result


def test_a_decode_cut_at_its_first_pass_goes_on_to_the_end(say):
    """Only a loop stops at the first pass; a long, real sentence is heard to its last word."""
    recognizer = Recognizer(SttSettings(model="tiny.en", first_pass_tokens_per_s=0.0))  # first pass: 8 tokens
    sentence = "I need a plumber at 4821 North Damen Avenue because my kitchen sink is leaking"
    result = recognizer.transcribe(say(sentence, CLEAR), 8000, "en")
    assert result.tokens > 8, result
    assert {"plumber", "kitchen", "sink", "leaking"} <= words(result.text), result.text


def test_language_detection_on_recorded_speech():
    """Recorded (human) Spanish and English prompts; detection among the Playbook's languages."""
    recognizer = Recognizer(SttSettings(model="auto"))
    for name, language in (("es-vm-sorry", "es"), ("es-queue-thankyou", "es"), ("en-vm-nobodyavail", "en")):
        pcm, rate = read_wav(DATA / f"{name}.wav")
        result = recognizer.transcribe(pcm, rate, None, (), ("en", "es", "zh"))
        assert result.language == language, (name, result)
        assert result.language_probability > 0.7  # the shortest Spanish prompt: 0.77 on base's 5 s window
    assert "gracias" in words(result_text := recognizer.transcribe(
        read_wav(DATA / "es-queue-thankyou.wav")[0], 8000, "es").text), result_text
    assert recognizer.loaded == ["base"]  # detection needs the multilingual model, and only it was loaded


# Recorded prompts (data/README.md) and what spotting may make of them: the language
# two sure looks agree on, or nothing (the utterance is then decoded with detection).
SPOT = {
    "en-vm-nobodyavail": {"en"},
    "es-dir-first": {"es"},
    "es-vm-sorry": {None, "es"},
    "es-queue-thankyou": {None, "es"},
    # Its first second sounds English to Whisper base: one look at it is sure of
    # English (share 0.97 under AVX2 and AVX-512 weights alike), the next is not.
    "es-vm-delete": {None, "es"},
}


def test_spotting_names_a_language_only_when_two_looks_agree_never_a_wrong_one():
    """A call's language is fixed from the first seconds of its caller's voice
    only when two looks (at one and at one and a half seconds of voice) are
    sure of it; whatever the CPU's instruction set (CT2_FORCE_CPU_ISA), a
    Spanish caller is never fixed as English."""
    pool = SttPool(Recognizer(SttSettings(model="auto")), pool_size=1)
    try:
        spotters = {}
        for name in SPOT:
            pcm, rate = read_wav(DATA / f"{name}.wav")
            assert rate == 8000
            spotters[name] = asyncio.run(spot(pool, pcm, ("en", "es", "zh")))
        wrong = {name: (s.language, s.share) for name, s in spotters.items() if s.language not in SPOT[name]}
        assert wrong == {}
        # two looks, each on the caller's voice so far, before they finish
        assert {name: s.tries for name, s in spotters.items()} == dict.fromkeys(SPOT, 2)
        assert pool.recognizer.stats.utterances == 0  # no words decoded, nothing counted as heard
        assert asyncio.run(pool.detect_language(first_voice(pcm, 1000), 8000, ("en", "es"))).text == ""
        english_only = SttPool(Recognizer(SttSettings(model="tiny.en")), pool_size=1)
        with pytest.raises(ValueError, match="English-only"):
            asyncio.run(english_only.detect_language(first_voice(pcm, 1000), 8000, ("en", "es")))
        english_only.shutdown()
    finally:
        pool.shutdown()


def test_a_one_word_answer_stays_in_the_playbooks_first_language(say):
    """A formant voice's "yes" sounds Spanish to Whisper on base's default
    5 s encoder window; one word is too little to leave the Playbook's first
    language on a hunch."""
    recognizer = Recognizer(SttSettings(model="base"))
    assert recognizer.model("base").min_window_s == 5.0
    result = recognizer.transcribe(say("yes", Voice("flite", "awb", None, 145, 50)), 8000, None, ("yes", "no"),
                                   ("en", "es", "zh"))
    assert (result.language, words(result.text)) == ("en", {"yes"}), result
    assert _pick_language([("<|es|>", 0.6), ("<|en|>", 0.3)], ("en", "es"), seconds=0.8) == ("en", 0.333)
    assert _pick_language([("<|es|>", 0.6), ("<|en|>", 0.3)], ("en", "es"), seconds=2.5) == ("es", 0.667)
    assert _pick_language([("<|es|>", 0.95), ("<|en|>", 0.01)], ("en", "es"), seconds=0.8)[0] == "es"  # sure


def test_one_model_serves_concurrent_utterances(say):
    pool = shared_pool(SttSettings(model="tiny.en", pool_size=2, threads=1))
    assert shared_pool(SttSettings(model="tiny.en", pool_size=2, threads=1)) is pool

    async def both():
        return await asyncio.gather(
            pool.transcribe(say("yes please", CLEAR), 8000, "en"),
            pool.transcribe(say("no thanks", CLEAR), 8000, "en"),
        )

    yes, no = asyncio.run(both())
    assert "yes" in words(yes.text) and "no" in words(no.text)
    assert pool.recognizer.loaded == ["tiny.en"] and pool.waiting == 0
    # On a CPU a batch is no cheaper, and each utterance in it would wait for all.
    assert pool.max_batch == (8 if pool.recognizer.model("tiny.en").device == "cuda" else 1)


def test_a_busy_pool_batches_only_callers_asked_the_same_question(say):
    """A batch needs its prompts of one length, and padding a prompt changes
    what Whisper hears: so only utterances with the same hints share a batch,
    and each caller is heard exactly as when decoded alone."""
    recognizer = Recognizer(SttSettings(model="tiny.en", threads=1))
    menu = ("large pepperoni pizza", "garlic knots", "caesar salad", "pickup", "delivery")
    yes_no = ("yes", "no", "that's all")
    asked = [("a large pepperoni pizza for pickup", menu), ("yes please", yes_no),
             ("garlic knots and a caesar salad", menu), ("no thanks, that's all", yes_no)]
    audio = [(say(text, CLEAR), hints) for text, hints in asked]
    alone = [recognizer.transcribe(pcm, 8000, "en", hints).text for pcm, hints in audio]
    pool = SttPool(recognizer, pool_size=1, max_batch=4)
    try:
        busy = pool.submit(SttRequest(say("my name is Jen", CLEAR), 8000, "en", ("Jen", "Kevin")))
        queued = [pool.submit(SttRequest(pcm, 8000, "en", hints)) for pcm, hints in audio]
        heard = [future.result(timeout=60) for future in queued]
        busy.result(timeout=60)
    finally:
        pool.shutdown()
    assert [r.text for r in heard] == alone
    assert pool.batches == 3  # the name; the two menu answers; the two yes/no answers
    assert heard[0].compute_ms == heard[2].compute_ms and heard[1].compute_ms == heard[3].compute_ms


def test_models_come_from_packages_only(tmp_path):
    assert (models.resolve("tiny.en") / "model.bin").is_file()
    joined = models.multilingual_model_dir(tmp_path)
    stamp = (joined / "model.bin").stat().st_mtime_ns
    assert {p.name for p in joined.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    assert models.multilingual_model_dir(tmp_path) == joined  # joined once, then reused
    assert (joined / "model.bin").stat().st_mtime_ns == stamp
    with pytest.raises(models.ModelUnavailable, match="neither a bundled model"):
        models.resolve(tmp_path / "no-model-here")
    assert models.resolve(joined) == joined  # a directory from the config is used as given


def test_a_looped_short_answer_is_kept_once():
    from agi.speech.stt import _collapse_word_loops

    assert _collapse_word_loops("No, no, no, no, no, no, no, no, no, no") == "no"
    assert _collapse_word_loops("two large pizzas") == "two large pizzas"


@pytest.mark.parametrize(
    "written, hour, minute",
    [("Tuesday at 4 p. m", 16, 0), ("OK at 11. 30 then", 11, 30), ("pick up at 745 pm", 19, 45), ("at 10 a. m.", 10, 0),
     ("Pick up at 9 30", 9, 30), ("F4 p. m", 16, 0), ("at 4 PN", 16, 0)],
)
def test_whisper_written_times_reach_the_time_parser(written, hour, minute):
    from agi.dialogue.times import parse_time_of_day, resolve_time

    said = parse_time_of_day(tidy(written))
    at = resolve_time(said, datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))
    assert (at.hour, at.minute) == (hour, minute)


def test_written_numbers_and_echoes_are_tidied():
    assert tidy("3,000 24th Street") == "3000 24th Street"
    assert tidy("Saturday, Saturday, Saturday,") == "Saturday"
    assert tidy("room 1010 for 100 people") == "room 1010 for 100 people"  # not times


def test_a_caller_who_waits_is_heard_before_work_for_callers_still_talking(say):
    """A decode that could only start once its caller's language was known
    goes ahead of questions asked for callers who are still talking."""
    import time

    pool = SttPool(Recognizer(SttSettings(model="tiny.en", threads=1)), pool_size=1)
    finished: list[str] = []
    try:
        busy = pool.submit(SttRequest(say("my name is Jen", CLEAR), 8000, "en"))
        still_talking = pool.submit(SttRequest(say("no thanks", CLEAR), 8000, "en"))
        waiting = pool.submit(SttRequest(say("yes please", CLEAR), 8000, "en",
                                         waiting_since=time.monotonic() - 2.0))
        for name, future in (("still talking", still_talking), ("waiting", waiting)):
            future.add_done_callback(lambda _, name=name: finished.append(name))
        busy.result(timeout=60)
        assert "yes" in words(waiting.result(timeout=60).text)
        still_talking.result(timeout=60)
    finally:
        pool.shutdown()
    assert finished == ["waiting", "still talking"]


def test_a_decode_alone_gets_the_precise_weights_and_a_queue_the_fast_ones(say):
    """With `compute_type: float32` and `busy_compute_type: int8`, a decode
    alone is heard with float32 weights (fewer wrong words), one started
    while others wait with int8 ones (two float32 decodes at once starve
    each other of memory bandwidth on a CPU)."""
    settings = SttSettings(model="tiny.en", threads=1, device="cpu", compute_type="float32", busy_compute_type="int8")
    pool = SttPool(Recognizer(settings), pool_size=1)
    try:
        alone = pool.submit(SttRequest(say("yes please", CLEAR), 8000, "en")).result(timeout=60)
        # The first may start before the others are queued; the second is
        # taken while the third waits, the third with nobody behind it.
        texts = ("a large pepperoni pizza", "my name is Jen", "no thanks")
        queued = [pool.submit(SttRequest(say(text, CLEAR), 8000, "en")) for text in texts]
        _, second, third = (future.result(timeout=60) for future in queued)
    finally:
        pool.shutdown()
    assert "yes" in words(alone.text) and alone.weights == "float32"
    assert "jen" in words(second.text) and second.weights == "int8"
    assert "thanks" in words(third.text) and third.weights == "float32"


def test_bench_stt_measures_the_weights_and_search_it_is_asked_for():
    from agi.cli import build_parser
    from bench.stt import settings_for

    args = build_parser().parse_args(["bench", "stt", "--compute-type", "float32", "--beam", "5", "--margin", "0.5"])
    settings = settings_for(args)
    assert (settings.compute_type, settings.beam_size, settings.window_margin_s) == ("float32", 5, 0.5)
    loaded = Recognizer(settings).model("tiny.en")
    assert loaded.compute_type == "float32"
    # Without the options, the worker's own: greedy search, its weights (int8 on a CPU).
    default = settings_for(build_parser().parse_args(["bench", "stt"]))
    assert default.beam_size == SttSettings().beam_size == 1
    assert Recognizer(default).model("tiny.en").compute_type == compute_types(SttSettings())[0]
    assert build_parser().parse_args(["bench", "stt", "--second-opinion"]).second_opinion


def test_english_heard_by_tiny_en_gets_its_second_opinion_from_base(monkeypatch):
    assert Recognizer(SttSettings()).second_model("en") == "base"
    assert Recognizer(SttSettings()).second_model("es") is None  # base heard it already
    assert Recognizer(SttSettings(model="tiny.en")).second_model("en") is None  # one model configured
    assert Recognizer(SttSettings(second_opinion=False)).second_model("en") is None
    monkeypatch.setenv("CALLTICKET_STT_SECOND_OPINION", "off")
    assert settings_from_env().second_opinion is False


def test_a_request_can_name_the_model_that_hears_it(say):
    """A second opinion is decoded by the model it names, whatever the language would call for."""
    pool = shared_pool(SttSettings(pool_size=1))
    pcm = say("a large pepperoni pizza", CLEAR)

    async def both():
        return await asyncio.gather(pool.transcribe(pcm, 8000, "en"), pool.transcribe(pcm, 8000, "en", model="base"))

    first, second = asyncio.run(both())
    assert (first.model, second.model) == ("tiny.en", "base")
    assert "pepperoni" in words(second.text)
