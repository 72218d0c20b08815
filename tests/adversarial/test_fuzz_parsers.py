"""Fuzzing the parsers that read what strangers send: the FastAGI header, AudioSocket
frames, the Event Socket wire format and the six vendors' webhooks.

Whatever the bytes, each parser either gives its result or raises its own
protocol error, which ends one connection (or answers one request): any
other exception would be a crash path. Examples are bounded so the pass
takes seconds, and derandomised so a failure reproduces.
"""

from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_events import VENDORS

from adapters.base import CatalogChange, SignatureError
from adapters.signing import event_time, hmac_b64, hmac_hex
from agi.pbx.asterisk.audiosocket import HEADER, MAX_PAYLOAD, Frame, FrameError, Kind, encode_frame, read_frame
from agi.pbx.asterisk.fastagi import AgiCommandError, AgiHeaderError, parse_result, read_header
from agi.pbx.freeswitch import wire

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like the protocols half the time: their own separators and keywords mixed with noise.
_PIECES = st.sampled_from([b"\n", b"\r\n", b"\n\n", b": ", b"agi_", b"agi_request: x", b"Content-Type: ",
                           b"Content-Length: ", b"command/reply", b"text/event-plain", b"Event-Name: X", b"%0A",
                           b"%", b"\x00", b"\xff", b"200 result=", b"("])
_NOISE = st.binary(max_size=64)
FRAGMENTS = st.lists(st.one_of(_PIECES, _NOISE), max_size=40).map(b"".join)


def _feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=2048)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@FUZZ
@given(FRAGMENTS)
def test_fastagi_header_reader(data: bytes) -> None:
    async def go() -> None:
        try:
            env = await read_header(_feed(data), timeout=1.0)
        except AgiHeaderError:
            return
        assert all(k.startswith("agi_") for k in env) and ("agi_request" in env or "agi_network_script" in env)

    asyncio.run(go())


@FUZZ
@given(st.text(max_size=200))
def test_fastagi_reply_parser(line: str) -> None:
    try:
        result = parse_result(line)
    except AgiCommandError:
        return
    assert 100 <= result.code <= 999


@FUZZ
@given(st.lists(st.one_of(
    st.builds(lambda k, p: encode_frame(k, p), st.sampled_from(list(Kind)), st.binary(max_size=2000)),
    st.binary(max_size=8)), max_size=6).map(b"".join))
def test_audiosocket_frame_reader(data: bytes) -> None:
    async def go() -> None:
        reader = _feed(data)
        for _ in range(10):
            try:
                frame = await read_frame(reader)
            except (FrameError, asyncio.IncompleteReadError):
                return
            assert isinstance(frame, Frame) and len(frame.payload) <= MAX_PAYLOAD[frame.kind]

    asyncio.run(go())


@FUZZ
@given(st.integers(0, 255), st.integers(0, 0xFFFF))
def test_audiosocket_frame_header(kind: int, length: int) -> None:
    data = HEADER.pack(kind, length)
    async def go() -> None:
        try:
            await read_frame(_feed(data + b"\x00" * min(length, 2000)))
        except (FrameError, asyncio.IncompleteReadError):
            pass

    asyncio.run(go())


@FUZZ
@given(FRAGMENTS, st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_esl_wire_parser(data: bytes, cuts: list[int]) -> None:
    parser = wire.EslParser(max_header_bytes=4096, max_body_bytes=4096)
    pos = 0
    try:
        for cut in cuts * 50:  # the same bytes, split wherever TCP may split them
            if pos >= len(data):
                break
            for message in parser.feed(data[pos:pos + cut]):
                assert message.content_type
                assert len(message.body) <= 4096
            pos += cut
    except wire.EslProtocolError:
        return
    assert parser.buffered <= 4096 + 4096 + 64  # a header block and a body at most, and one chunk


_VALUE = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@FUZZ
@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True), _VALUE, max_size=6))
def test_esl_events_survive_the_wire(fields: dict[str, str]) -> None:
    """An event FreeSWITCH serialises (values URL-encoded) comes back with the same values."""
    fields = {**fields, "Event-Name": "CUSTOM"}
    body = "".join(f"{k}: {wire.url_encode(v)}\n" for k, v in fields.items()).encode() + b"\n"
    data = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body
    (message,) = wire.EslParser().feed(data)
    assert message.event is not None
    assert {k: message.event.headers[k] for k in fields} == fields


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20)
# Values where vendors put them: the fields their parsers read, filled with anything.
SHAPED = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["inventory.count.updated", "catalog.version.updated", "inventory_levels.update",
                             "items.update"]) | JSON,
    "eventCategory": st.sampled_from(["stock", "menus"]) | JSON,
    "eventType": JSON, "event_id": JSON, "guid": JSON, "created_at": JSON, "timestamp": JSON,
    "data": st.fixed_dictionaries({}, optional={"object": st.fixed_dictionaries({}, optional={
        "inventory_counts": st.lists(st.fixed_dictionaries({}, optional={
            "location_id": st.just("L1") | JSON, "state": st.just("IN_STOCK") | JSON, "quantity": JSON,
            "catalog_object_id": JSON}), max_size=3) | JSON})}) | JSON,
    "details": st.fixed_dictionaries({}, optional={"itemGuid": JSON, "restaurantGuid": st.just("R1") | JSON,
                                                  "status": JSON, "quantity": JSON}) | JSON,
    "merchants": st.fixed_dictionaries({}, optional={"MID": st.lists(JSON, max_size=3) | JSON}) | JSON,
    "inventory_levels": st.lists(st.fixed_dictionaries({}, optional={
        "variant_id": JSON, "store_id": st.just("S1") | JSON, "in_stock": JSON}), max_size=3) | JSON,
})

_SIGN = {
    "square": lambda body: {"x-square-hmacsha256-signature": hmac_b64("sq-key", b"https://hooks.example.test/webhooks/shop" + body)},
    "toast": lambda body: {"Toast-Signature": hmac_b64("ts-key", body)},
    "clover": lambda body: {"X-Clover-Auth": "cl-auth"},
    "loyverse": lambda body: {"X-Loyverse-Signature": hmac_b64("ly-key", body, "sha1")},
    "eposnow": lambda body: {"X-EposNow-Signature": hmac_b64("ep-hook", body)},
    "revel": lambda body: {"X-Revel-Signature": hmac_hex("rv-hook", body, "sha256"), "X-Revel-Event-Type": "inout.stock"},
}
_ADAPTERS = {name: v.adapter() for name, v in VENDORS.items()}


@FUZZ
@given(st.sampled_from(sorted(VENDORS)), SHAPED | JSON, st.booleans())
def test_webhook_parsers_with_a_valid_signature(vendor: str, event, as_json: bool) -> None:
    """A correctly signed body of any shape: a change, nothing, or the vendor's own error."""
    body = json.dumps(event).encode() if as_json else repr(event).encode()
    try:
        change = _ADAPTERS[vendor].parse_webhook(_SIGN[vendor](body), body)
    except SignatureError:
        return
    assert change is None or isinstance(change, CatalogChange)
    if change is not None:
        assert all(isinstance(k, str) and isinstance(v, bool) for k, v in change.availability.items())
        assert getattr(change, "occurred_at", None) is None or isinstance(change.occurred_at, float)


@FUZZ
@given(st.sampled_from(sorted(VENDORS)), st.binary(max_size=300),
       st.dictionaries(st.text(max_size=30), st.text(max_size=60), max_size=4))
def test_webhook_parsers_with_forged_headers(vendor: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        change = _ADAPTERS[vendor].parse_webhook(headers, body)
    except SignatureError:
        return
    assert change is None and vendor == "clover", "an unsigned body was accepted"  # Clover's URL check only


@FUZZ
@given(JSON)
def test_event_time_reads_anything(value) -> None:
    at = event_time(value)
    assert at is None or isinstance(at, float)
