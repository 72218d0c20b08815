"""Structured logs: one JSON object per line, call id on each, numbers masked, secrets scrubbed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from agi import events as ev
from agi import logs


@pytest.fixture
def capture():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.setup(None, secrets=["sq0atp-SECRET-token-123", "whsec_topsecret"], stream=stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_call_id(capture):
    log = logging.getLogger("callticket.test")
    with logs.call_context("call-42"):
        log.info("call started", extra={"fields": {"route": "pizzeria", "caller": "+15551234567"}})
        logs.log_event(log, ev.Log("transfer", {"reason": "asked for a person", "target": "front-counter"}))
    log.info("outside any call")
    first, second, third = _lines(capture)
    assert first["msg"] == "call started" and first["call_id"] == "call-42" and first["route"] == "pizzeria"
    assert first["caller"] == "+1555***4567"
    assert second["call_id"] == "call-42" and second["event"] == "transfer" and second["target"] == "front-counter"
    assert "call_id" not in third
    assert "+15551234567" not in capture.getvalue()


def test_secrets_are_scrubbed_from_message_args_fields_and_tracebacks(capture):
    log = logging.getLogger("callticket.test")
    log.warning("POS said 401 for token %s", "sq0atp-SECRET-token-123")
    log.info("webhook", extra={"fields": {"headers": {"Authorization": "Bearer sq0atp-SECRET-token-123"},
                                          "key": "whsec_topsecret"}})
    log.info("request Authorization: Bearer abcdefghijkl0123 to https://user:pa55word@pos.example/x?api_key=zz9988")
    try:
        raise RuntimeError("signature check failed with whsec_topsecret")
    except RuntimeError:
        log.exception("webhook rejected")
    out = capture.getvalue()
    for secret in ("sq0atp-SECRET-token-123", "whsec_topsecret", "abcdefghijkl0123", "pa55word", "zz9988"):
        assert secret not in out
    lines = _lines(capture)
    assert lines[0]["msg"] == "POS said 401 for token ***"
    assert lines[1]["headers"]["Authorization"] == "Bearer ***"
    assert lines[3]["error"] == "RuntimeError: signature check failed with ***"


def test_numbers_in_free_text_are_masked(capture):
    logging.getLogger("x").info("blocked caller +15550009999 hung up 3 times")
    (line,) = _lines(capture)
    assert line["msg"] == "blocked caller +1555***9999 hung up 3 times"


def test_text_format(capture):
    stream = io.StringIO()
    from agi.config import LoggingConfig

    logs.setup(LoggingConfig(format="text"), stream=stream)
    with logs.call_context("abc"):
        logging.getLogger("callticket.x").info("hello", extra={"fields": {"phone": "+15551234567"}})
    assert stream.getvalue().strip() == "info    callticket.x [abc] hello phone=+1555***4567"
