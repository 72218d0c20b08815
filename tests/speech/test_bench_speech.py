"""How `callticket bench speech` decides that an audio call ended like its text run, and sums up latency."""

from __future__ import annotations

import argparse

import pytest

from bench.speech import Playbooks, _languages, _latency_figures, _same
from bench.stt import word_errors


def _result(symptom: str, name: str = "Beth", outcome: str = "committed") -> dict:
    return {
        "outcome": outcome,
        "transfer": None,
        "ticket": {"kind": "work_order", "customer": {"name": name}, "slots": {"symptom": symptom}, "total_minor": 0},
    }


def test_written_forms_staff_would_not_notice_still_match():
    text = _result("it shuts off at thirty percent, after twenty five minutes")
    assert _same(text, _result("It shuts off at 30%. After 25 minutes"))


def test_different_words_numbers_names_or_outcomes_do_not_match():
    text = _result("it shuts off at thirty percent")
    assert not _same(text, _result("it shuts off at 40%"))
    assert not _same(text, _result("it shuts off at thirty"))
    assert not _same(text, _result("it shuts off at thirty percent", name="Death"))
    assert not _same(text, _result("it shuts off at thirty percent", outcome="transferred"))


def test_speech_to_text_errors_are_counted_in_words_as_written():
    assert word_errors("it shuts off at thirty percent", "It shuts off at 30%.") == (0, 6)
    assert word_errors("Beth", "Death") == (1, 1)
    assert word_errors("a large pizza for pickup", "a large pizza for pickup, a large") == (2, 5)


def test_first_turns_are_reported_apart_from_later_ones():
    # Two calls whose first turns waited for a busy pool; a call with no spoken turn counts for nothing.
    figures = _latency_figures([[2400, 600, 620, 640], [2600, 610], []])
    assert figures["turns"] == 6
    assert figures["latency_ms_first_turns"] == [2400, 2600]
    assert figures["latency_ms_later_turns"] == [620, 640]
    assert figures["latency_ms_p50"] == 620 and figures["latency_ms_p95"] == 2600


def test_a_one_language_line_can_be_measured_with_every_sample_playbook():
    """`--languages en`: the Playbooks speak English only, so the bench
    measures a line whose callers are asked no language question."""
    own, english = Playbooks(), Playbooks(["en"])
    assert own["taqueria"].playbook.business.languages == ["en", "es", "zh"]
    assert english["taqueria"].playbook.business.languages == ["en"]
    assert english["taqueria"].catalog.items == own["taqueria"].catalog.items


def test_a_language_no_playbook_speaks_is_refused_by_name():
    assert _languages("en, es") == ["en", "es"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown language.*fr"):
        _languages("en,fr")
