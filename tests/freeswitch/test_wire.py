"""The Event Socket wire layer against byte-exact captures of a real FreeSWITCH 1.10.12."""

from __future__ import annotations

import fake_fs
import pytest
import transcript as tr

from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.channel import ChannelInfo, ReadCodec

CAPTURES = ("loop1", "sip_transfer1", "sip_late1", "sip_late_opus1")


def all_messages(name: str) -> list[wire.EslMessage]:
    parser = wire.EslParser()
    messages = parser.feed(tr.raw_from_fs(name))
    assert parser.buffered == 0
    return messages


@pytest.mark.parametrize("name", CAPTURES)
def test_the_transcript_frames_are_the_raw_capture(name):
    sent = b"".join(f.data for f in tr.frames(name) if f.from_fs)
    assert sent == tr.raw_from_fs(name)


@pytest.mark.parametrize("name", CAPTURES)
def test_every_captured_message_parses_fed_in_one_piece_or_byte_by_byte(name):
    whole = all_messages(name)
    parser = wire.EslParser()
    trickled: list[wire.EslMessage] = []
    for byte in tr.raw_from_fs(name):
        trickled += parser.feed(bytes([byte]))
    assert [(m.content_type, m.event_name, m.body) for m in trickled] == \
        [(m.content_type, m.event_name, m.body) for m in whole]
    # one message per frame FreeSWITCH wrote
    assert len(whole) == sum(1 for f in tr.frames(name) if f.from_fs)


def test_the_connect_reply_is_channel_data_without_content_length():
    first = all_messages("sip_transfer1")[0]
    assert first.content_type == "command/reply"
    assert "Content-Length" not in first.headers
    assert first.raw[0] == ("Event-Name", "CHANNEL_DATA")  # Content-Type is not the first header
    assert [name for name, _ in first.raw[-4:]] == ["Content-Type", "Reply-Text", "Socket-Mode", "Control"]
    assert first.reply_text == "+OK\n"  # sent as %2BOK%0A
    assert first.ok
    assert first.headers["Unique-ID"] == "0891ec75-c325-4bf2-9a37-b9ffa2c776bf"
    assert first.headers["Channel-Name"] == "sofia/lo/sipp@127.0.0.1:15060"  # %40 and %3A decoded
    assert first.headers["Channel-Read-Codec-Name"] == "PCMA"
    assert first.headers["Channel-Read-Codec-Rate"] == "8000"


@pytest.mark.parametrize("name, codec", [("sip_late1", ReadCodec("PCMU", 8000)),
                                         ("sip_late_opus1", ReadCodec("opus", 48000))])
def test_with_stock_late_negotiation_the_codec_first_comes_with_the_answer(name, codec):
    """FreeSWITCH 1.10.12 as shipped (`inbound-late-negotiation=true`): the
    connect reply names no codec; the answer's events are the first that do."""
    messages = all_messages(name)
    assert ChannelInfo.from_channel_data(messages[0].headers).codec is None
    first = next(m for m in messages if m.event is not None and ReadCodec.from_headers(m.event.headers))
    assert first.event_name == "CHANNEL_PROGRESS_MEDIA"
    assert ReadCodec.from_headers(first.event.headers) == codec
    complete = next(m for m in messages if m.event_name == "CHANNEL_EXECUTE_COMPLETE")
    assert complete.get("Application") == "answer" and ReadCodec.from_headers(complete.event.headers) == codec


def test_events_put_content_length_first_and_carry_our_application_uuid():
    messages = all_messages("sip_transfer1")
    complete = next(m for m in messages if m.event_name == "CHANNEL_EXECUTE_COMPLETE")
    assert complete.raw[0][0] == "Content-Length"
    assert complete.content_type == "text/event-plain"
    assert complete.get("Application") == "answer"
    assert complete.get("Application-UUID") == "app-answer-1"
    playback = [m for m in messages if m.event_name == "CHANNEL_EXECUTE_COMPLETE"][1]
    assert playback.get("Application-Data") == "tone_stream://%(300,200,800);loops=3"
    assert playback.get("Application-Response") == "FILE PLAYED"


def test_api_responses_and_bgapi_replies():
    messages = all_messages("sip_transfer1")
    api = [m for m in messages if m.content_type == "api/response"]
    assert [m.reply_text for m in api] == ["PCMA", "8000", "+OK\n"]
    bgapi = next(m for m in messages if m.headers.get("Job-UUID"))
    assert bgapi.reply_text == "+OK Job-UUID: b601c6c2-ad70-4b36-ae41-0bb01610d55c"
    job = next(m for m in messages if m.event_name == "BACKGROUND_JOB")
    assert job.event is not None and job.event.body.startswith(b"UP ")  # the inner Content-Length body


def test_the_disconnect_notice_is_not_url_decoded():
    notice = all_messages("sip_transfer1")[-1]
    assert notice.content_type == "text/disconnect-notice"
    assert notice.headers["Content-Disposition"] == "linger"
    assert notice.headers["Linger-Time"] == "-1"
    assert notice.headers["Channel-Name"] == "sofia/lo/sipp@127.0.0.1:15060"


def test_the_encoder_writes_every_captured_event_value_as_freeswitch_did():
    checked = 0
    for name in CAPTURES:
        for message in all_messages(name):
            if message.event is not None:
                raw = message.event.raw
            elif message.headers.get("Event-Name") == "CHANNEL_DATA":
                raw = message.raw
            else:
                continue  # command replies are printf'd, not encoded
            for _, value in raw:
                assert wire.url_encode(wire.url_decode(value)) == value
                assert fake_fs.fs_encode(wire.url_decode(value)) == value
                checked += 1
    assert checked > 4000


def test_a_percent_0a_inside_a_value_cannot_forge_headers():
    """greenswitch 0.0.19 unquotes the whole block before splitting lines; we decode per header."""
    from greenswitch.esl import ESLEvent

    caller_name = "Mallory\nUnique-ID: 00000000-evil\nContent-Length: 9"
    body = ("Event-Name: CHANNEL_ANSWER\nUnique-ID: 0891ec75-c325-4bf2-9a37-b9ffa2c776bf\n"
            f"Caller-Caller-ID-Name: {wire.url_encode(caller_name)}\n\n").encode()
    ours = wire.parse_event(body)
    assert ours.headers["Caller-Caller-ID-Name"] == caller_name
    assert ours.headers["Unique-ID"] == "0891ec75-c325-4bf2-9a37-b9ffa2c776bf"
    assert "Content-Length" not in ours.headers
    theirs = ESLEvent(body.decode())
    # what we do not inherit: the caller's name rewrote the channel's uuid
    assert theirs.headers["Unique-ID"] == "00000000-evil"
    # and through the framing, as FreeSWITCH sends it
    framed = fake_fs.frame_event(body)
    (message,) = wire.EslParser().feed(framed)
    assert message.get("Caller-Caller-ID-Name") == caller_name


@pytest.mark.parametrize("bad", [
    b"HTTP/1.1 200 OK\nServer: nginx\n\n",  # no Content-Type
    b"Content-Type: command/reply\nthis is not a header\n\n",
    b"Content-Type: text/event-plain\nContent-Length: -5\n\n",
    b"Content-Type: text/event-plain\nContent-Length: 12abc\n\n",
    b"Content-Type: text/event-plain\nContent-Length: 99999999999\n\n",
    b"Content-Type: api/response\nContent-Length: 20000000\n\n",
    b"Content-Type: command/reply\nReply-Text: \xff\xfe\n\n",
    b"Content-Length: 10\nContent-Type: text/event-plain\n\nno colon\n\n",  # body is not an event
    b"Content-Length: 4\nContent-Type: text/event-plain\n\nX: y",  # event without Event-Name
])
def test_garbage_is_a_protocol_error(bad):
    with pytest.raises(wire.EslProtocolError):
        wire.EslParser().feed(bad)


def test_a_header_block_that_never_ends_is_refused_not_buffered_forever():
    parser = wire.EslParser(max_header_bytes=4096)
    parser.feed(b"Content-Type: command/reply\n")
    with pytest.raises(wire.EslProtocolError):
        for _ in range(200):
            parser.feed(b"X-Filler: " + b"a" * 60 + b"\n")


def test_a_truncated_body_waits_for_the_rest():
    frame = tr.first_event("sip_transfer1", "CHANNEL_ANSWER")
    parser = wire.EslParser()
    assert parser.feed(frame[:-100]) == []
    assert parser.buffered > 0
    (message,) = parser.feed(frame[-100:])
    assert message.event_name == "CHANNEL_ANSWER"


def test_crlf_line_ends_are_tolerated_like_freeswitch_does():
    (message,) = wire.EslParser().feed(b"Content-Type: command/reply\r\nReply-Text: +OK\r\n\r\n")
    assert message.reply_text == "+OK"


# ------------------------------------------------------------------ what we send


def sent(name: str) -> list[bytes]:
    return tr.sent_by_app(name)


def test_command_blocks_are_byte_for_byte_what_freeswitch_accepted():
    loop = sent("loop1")
    sip = sent("sip_transfer1")
    assert sip[0] == b"connect\n\n"
    assert sip[1] == b"myevents\n\n"
    assert sip[2] == b"linger\n\n"
    assert wire.execute("answer", event_uuid="app-answer-1") == sip[4]
    assert wire.api("uuid_getvar", "0891ec75-c325-4bf2-9a37-b9ffa2c776bf", "read_codec") == sip[5]
    assert wire.unicast("127.0.0.1", 38422, "127.0.0.1", 38421) == sip[8]
    assert wire.execute("playback", "tone_stream://%(300,200,800);loops=3", event_uuid="app-playback-1") == sip[9]
    assert wire.api("uuid_transfer", "0891ec75-c325-4bf2-9a37-b9ffa2c776bf", "2000", "XML", "public") == sip[10]
    assert wire.execute("record_session", "/var/lib/fs/records/loop1_bleg_record_session.wav") == loop[5]
    assert wire.execute("set", "hangup_after_bridge=false") == loop[11]
    assert wire.execute("bridge", "loopback/2000/public", event_uuid="app-bridge-1") == loop[12]
    assert wire.hangup("NORMAL_CLEARING") == loop[13]


def test_nothing_can_smuggle_a_line_break_into_a_command():
    with pytest.raises(wire.UnsafeCommand):
        wire.execute("playback", "a.wav\n\napi system rm -rf /")
    with pytest.raises(wire.UnsafeCommand):
        wire.execute("play back", "x")
    with pytest.raises(wire.UnsafeCommand):
        wire.api("uuid_transfer", "abc def")
    with pytest.raises(wire.UnsafeCommand):
        wire.hangup("NORMAL_CLEARING\nfoo")
    assert wire.command("sendmsg", [("call-command", "execute")], body=b"x\ny") == \
        b"sendmsg\ncall-command: execute\nContent-Length: 3\n\nx\ny"


def test_the_disconnect_form_of_the_notice_carries_a_body():
    """Without linger, FreeSWITCH closes with this notice (mod_event_socket.c send_disconnect)."""
    body = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    data = (b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: 0891ec75-c325-4bf2-9a37-b9ffa2c776bf\n"
            b"Content-Disposition: disconnect\nContent-Length: 67\n\n" + body)
    (notice,) = wire.EslParser().feed(data)
    assert notice.content_type == "text/disconnect-notice"
    assert notice.headers["Content-Disposition"] == "disconnect"
    assert notice.body == body
