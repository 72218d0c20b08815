"""Endpointing on real rendered speech: starts, ends, pauses, pre-roll, noise."""

from __future__ import annotations

import numpy as np
import pytest

from agi.media.frames import line_noise, silence
from agi.speech.vad import (
    Endpointer,
    SpeechDropped,
    SpeechPause,
    SpeechStart,
    UtteranceEnd,
)

FIRST = "Two large pepperoni pizzas"
SECOND = "and a caesar salad please"


def run(endpointer: Endpointer, stream: bytes, chunk: int = 320):
    """Feed a stream; events with the stream position (ms) at which each came out."""
    out = []
    for i in range(0, len(stream), chunk):
        for event in endpointer.feed(stream[i : i + chunk]):
            out.append((endpointer.position_ms, event))
    return out


def onset_ms(pcm: bytes, threshold: int = 300) -> int:
    samples = np.abs(np.frombuffer(pcm, "<i2").astype(int))
    return int(np.argmax(samples > threshold) / 8)


def offset_ms(pcm: bytes, threshold: int = 300) -> int:
    """Where the last audible sample is (renders end with some silence)."""
    samples = np.abs(np.frombuffer(pcm, "<i2").astype(int))
    return int((len(samples) - np.argmax(samples[::-1] > threshold)) / 8)


def kinds(events):
    return [type(e).__name__ for _, e in events]


@pytest.fixture(scope="module")
def two_phrases(say):
    a, b = say(FIRST), say(SECOND)
    stream = silence(1000, 8000) + a + silence(1000, 8000) + b + silence(1200, 8000)
    return stream, a, b


def test_a_long_pause_splits_two_utterances(two_phrases):
    stream, a, _ = two_phrases
    events = run(Endpointer(8000, end_silence_ms=600), stream)
    assert kinds(events) == ["SpeechStart", "UtteranceEnd", "SpeechStart", "UtteranceEnd"]
    first_end = events[1][1]
    # end_ms is where the caller stopped: within a few frames of the rendered end.
    assert first_end.end_ms == pytest.approx(1000 + offset_ms(a), abs=80)
    # ... and the endpointer decided end_silence_ms later.
    assert events[1][0] - first_end.end_ms == pytest.approx(600, abs=20)


def test_a_short_end_silence_setting_is_bridged_by_a_longer_one(two_phrases):
    stream, a, b = two_phrases
    events = run(Endpointer(8000, end_silence_ms=1500), stream + silence(600, 8000))
    assert kinds(events) == ["SpeechStart", "UtteranceEnd"]
    utterance = events[1][1].pcm
    assert len(utterance) > len(a) + len(b)


def test_preroll_keeps_the_first_word_whole(two_phrases):
    stream, a, _ = two_phrases
    events = run(Endpointer(8000, end_silence_ms=600, preroll_ms=300), stream)
    utterance = events[1][1].pcm
    start = stream.find(utterance)
    assert start >= 0, "the utterance is one contiguous slice of what was heard"
    speech_starts = 16000 + onset_ms(a) * 16  # byte offset of the first audible sample
    lead_ms = (speech_starts - start) / 16
    assert 250 <= lead_ms <= 400  # about 300 ms of pre-roll ahead of the voice


def test_speech_start_comes_fast_enough_for_barge_in(say):
    speech = say("Actually I want to change my order")
    stream = silence(600, 8000) + speech + silence(800, 8000)
    events = run(Endpointer(8000), stream)
    decided_at, start = events[0]
    assert isinstance(start, SpeechStart)
    onset = 600 + onset_ms(speech)
    assert decided_at - onset <= 200  # the bot can be cut within 200 ms of the caller's voice
    assert abs(start.at_ms - onset) <= 60


def test_pause_reports_the_utterance_so_far(two_phrases):
    stream, _, _ = two_phrases
    events = run(Endpointer(8000, end_silence_ms=600, pause_ms=250), stream)
    assert kinds(events)[:3] == ["SpeechStart", "SpeechPause", "UtteranceEnd"]
    pause, end = events[1][1], events[2][1]
    assert end.pcm.startswith(pause.pcm)
    assert len(end.pcm) - len(pause.pcm) <= 3 * 320  # only the silence that followed


def test_silence_and_line_noise_are_never_an_utterance():
    for stream in (silence(5000, 8000), line_noise(5000, -45.0, rng=np.random.default_rng(3))):
        assert run(Endpointer(8000), stream) == []


def test_a_click_or_cough_is_too_short(say):
    burst = line_noise(100, -12.0, rng=np.random.default_rng(5))
    events = run(Endpointer(8000, min_speech_ms=200), silence(500, 8000) + burst + silence(1500, 8000))
    assert not any(isinstance(e, UtteranceEnd) for _, e in events)
    word = say("yes")
    events = run(Endpointer(8000, min_speech_ms=200), silence(500, 8000) + word + silence(1000, 8000))
    assert kinds(events) == ["SpeechStart", "UtteranceEnd"]  # a one-word answer is not a click


def test_max_utterance_cuts_a_caller_who_never_stops(say):
    talk = say("one large pepperoni pizza with extra cheese and a side of garlic knots and two cokes " * 2)
    events = run(Endpointer(8000, max_utterance_ms=2000), silence(300, 8000) + talk + silence(1000, 8000))
    ends = [e for _, e in events if isinstance(e, UtteranceEnd)]
    assert len(ends) >= 2
    assert ends[0].forced and len(ends[0].pcm) == 2000 * 16
    assert sum(len(e.pcm) for e in ends) >= len(talk) * 0.8


def test_odd_sized_chunks_endpoint_exactly_like_whole_frames(two_phrases):
    stream, _, _ = two_phrases
    whole = run(Endpointer(8000), stream, 320)
    for chunk in (2, 7, 333, 1000):
        torn = run(Endpointer(8000), stream, chunk)
        assert [type(e) for _, e in torn] == [type(e) for _, e in whole]
        assert [getattr(e, "pcm", None) for _, e in torn] == [getattr(e, "pcm", None) for _, e in whole]


def test_empty_and_wrong_input():
    ep = Endpointer(8000)
    assert ep.feed(b"") == [] and ep.position_ms == 0
    with pytest.raises(TypeError, match="bytes"):
        ep.feed("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="11025"):
        Endpointer(11025)
    with pytest.raises(ValueError):
        Endpointer(8000, end_silence_ms=0)


def test_flush_closes_an_utterance_at_hang_up(say):
    ep = Endpointer(8000)
    run(ep, silence(300, 8000) + say("my name is Maria"))
    assert ep.in_speech
    (end,) = ep.flush()
    assert isinstance(end, UtteranceEnd) and not ep.in_speech
    assert ep.flush() == []


def test_16k_audio_is_endpointed_too(speaker):
    speech = speaker.render("hello there", None, "en")
    from agi.media.resample import resample

    wide = resample(speech, 8000, 16000)
    events = run(Endpointer(16000), b"\x00" * 16000 + wide + b"\x00" * 32000, 640)
    assert kinds(events) == ["SpeechStart", "UtteranceEnd"]
    assert not any(isinstance(e, (SpeechPause, SpeechDropped)) for _, e in events)
