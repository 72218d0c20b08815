"""The session with FreeSWITCH: connect, events, applications, unicast audio (in process, on gevent)."""

from __future__ import annotations

import contextlib
import math
import socket
import struct
import threading
import time

import gevent
from esl_session import esl_session, wait_until
from fake_fs import rms

from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.channel import ChannelInfo, ReadCodec
from agi.pbx.freeswitch.unicast import PortRange, UnicastMedia

RATE = 8000


def tone(seconds: float, hz: float = 440.0, amplitude: int = 6000, rate: int = RATE) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * hz * i / rate)) for i in range(n)))


def ports() -> PortRange:
    base = 30000 + (threading.get_ident() % 5000)
    return PortRange("127.0.0.1", base, base + 40)


@contextlib.contextmanager
def answered_media(**options):
    """An answered call's unicast media, started; closed after."""
    with esl_session() as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        media = UnicastMedia(channel, ports(), sample_rate=RATE, **options)
        media.attach(lambda pcm: None)
        media.start()
        try:
            yield fs, media
        finally:
            media.close()


def test_channel_data_gives_the_call(monkeypatch):
    with esl_session(caller="+15551234567", destination="2000",
                     variables={"callticket_playbook": "pizzeria", "callticket_language": "es"}) as (fs, channel):
        info = channel.info
        assert info.uuid == fs.uuid
        assert info.caller_number == "+15551234567"
        assert info.called_number == "2000"
        assert info.route == "pizzeria"
        assert info.language == "es"
        assert info.codec == ReadCodec("PCMA", 8000)
        assert info.channel == "sofia/lo/sipp@127.0.0.1:15060"


def test_a_route_that_is_not_a_playbook_name_is_refused():
    info = ChannelInfo.from_channel_data({"Unique-ID": "0891ec75-c325-4bf2-9a37-b9ffa2c776bf",
                                          "variable_callticket_playbook": "../../etc/passwd",
                                          "Caller-Caller-ID-Number": "anonymous"})
    assert info.route == "\0invalid"
    assert info.caller_number is None
    forged = ChannelInfo.from_channel_data({"Unique-ID": "0891ec75-c325-4bf2-9a37-b9ffa2c776bf",
                                            "Caller-Caller-ID-Number": "+1555\nX: 1234567"})
    assert forged.caller_number is None  # a decoded %0A never rides along


def test_answer_completes_on_the_execute_complete_with_our_application_uuid():
    with esl_session() as (fs, channel):
        channel.subscribe()
        complete = channel.execute("answer")
        assert complete is not None
        app_uuid = complete.get("Application-UUID")
        assert app_uuid and app_uuid.startswith("callticket-answer-")
        assert fs.answered
        lines = [c.line for c in fs.received]
        assert lines == ["connect", "myevents", "linger", "sendmsg"]
        assert fs.received[-1].raw == wire.execute("answer", event_uuid=app_uuid)


def test_a_queued_app_ends_with_the_hangup_not_never():
    """+OK to sendmsg only means queued: an app cut by the hang-up has no completion to wait for."""
    with esl_session(stuck_apps=("park",)) as (fs, channel):
        channel.subscribe()
        gevent.spawn_later(0.3, fs.caller_hangs_up)
        started = time.monotonic()
        assert channel.execute("park", timeout=10) is None
        assert time.monotonic() - started < 5
        assert channel.hungup.is_set() and channel.gone.is_set()
        assert channel.hangup_cause == "NORMAL_CLEARING"
        # after the hang-up nothing is sent at all
        assert channel.execute("answer") is None


def test_dtmf_and_hangup_reach_their_listeners():
    with esl_session() as (fs, channel):
        digits: list[str] = []
        hangups: list[bool] = []
        channel.on_dtmf.append(digits.append)
        channel.on_hangup.append(lambda: hangups.append(True))
        channel.subscribe()
        for digit in "1#*":
            fs.dtmf(digit)  # '#' travels as %23
        assert wait_until(lambda: len(digits) == 3)
        assert digits == ["1", "#", "*"]
        fs.caller_hangs_up()
        assert wait_until(channel.gone.is_set)
        assert hangups == [True]


def test_unicast_brings_the_callers_audio_and_carries_the_bots_paced():
    with esl_session() as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        media = UnicastMedia(channel, ports(), sample_rate=RATE)
        heard: list[bytes] = []
        media.attach(heard.append)
        media.start()
        try:
            arm = fs.unicast_arms[-1] if wait_until(lambda: fs.unicast_arms) else {}
            assert arm["remote-port"] == str(media.port) and arm["transport"] == "udp"
            fs.say(tone(0.5))
            assert wait_until(lambda: sum(rms(p) > 1000 for p in heard) >= 20)
            assert {len(p) for p in heard} == {320}  # 20 ms of L16 at 8 kHz, no header
            start = time.monotonic()
            done = media.play(tone(1.0, 1000))
            assert done.get(timeout=5) is True
            elapsed = time.monotonic() - start
            wait_until(lambda: sum(rms(p) > 1000 for _, p in fs.bot_packets) >= 50, timeout=1)
            loud = [(t, p) for t, p in fs.bot_packets if rms(p) > 1000]
            assert len(loud) == 50 and {len(p) for _, p in loud} == {320}
            # paced in real time (one datagram per 20 ms), not sent in a burst
            assert loud[-1][0] - loud[0][0] > 0.8 and elapsed > 0.9
        finally:
            media.close()


def test_silence_fills_the_line_between_the_bots_sentences():
    """FreeSWITCH sends the caller RTP only for the datagrams it gets: between
    two sentences (the caller speaking, a reply being worked out) the media
    keeps sending, silence, once per packet time."""
    with answered_media() as (fs, media):
        assert wait_until(lambda: fs.bot_packets)  # FreeSWITCH's port is up: silence already
        assert media.play(tone(0.3, 1000)).get(timeout=5) is True
        quiet_from = time.monotonic()
        gevent.sleep(1.0)
        quiet_to = time.monotonic()
        assert media.play(tone(0.3, 1000)).get(timeout=5) is True
        between = [p for t, p in fs.bot_packets if quiet_from + 0.1 < t < quiet_to]
        assert len(between) >= 15 and all(p == bytes(320) for p in between), len(between)
        # both sentences whole: the silence never displaced the voice
        wait_until(lambda: sum(rms(p) > 1000 for _, p in fs.bot_packets) >= 30, timeout=1)
        assert sum(rms(p) > 1000 for _, p in fs.bot_packets) == 30


def test_stop_playback_cuts_at_once():
    with answered_media() as (fs, media):
        done = media.play(tone(3.0, 1000))
        gevent.sleep(0.5)
        media.stop_playback()
        cut_at = time.monotonic()
        assert done.get(timeout=1) is False
        gevent.sleep(0.3)
        late = [t for t, p in fs.bot_packets if rms(p) > 1000 and t > cut_at + 0.05]
        assert late == []
        sent = sum(rms(p) > 1000 for _, p in fs.bot_packets)
        assert 15 <= sent <= 40  # about half a second of the three


def test_unicast_is_re_armed_after_an_app_and_after_a_codec_change():
    with esl_session() as (fs, channel):
        channel.subscribe()
        channel.execute("answer")
        media = UnicastMedia(channel, ports(), sample_rate=RATE, rearm_after_s=0.2)
        heard: list[tuple[float, bytes]] = []
        media.attach(lambda pcm: heard.append((time.monotonic(), pcm)))
        media.start()
        try:
            assert wait_until(lambda: len(heard) > 10)
            # someone plays a file on the channel: no audio meanwhile, unicast torn down after
            arms = len(fs.unicast_arms)
            threading.Thread(target=fs._external_app, daemon=True).start()
            assert wait_until(lambda: ("playback", "tone_stream://%(300,200,800);loops=3") in fs.apps)
            assert wait_until(lambda: len(fs.unicast_arms) > arms and not fs._app_running, timeout=3)
            assert fs.unicast_arms[-1]["local-port"] != fs.unicast_arms[arms - 1]["local-port"]
            mark = time.monotonic()
            assert wait_until(lambda: sum(t > mark for t, _ in heard) > 10)
            # 'Changing Codec from PCMA@20ms to PCMA@30ms': packets stop, then come 480 bytes long
            arms = len(fs.unicast_arms)
            fs._codec_change()
            assert wait_until(lambda: len(fs.unicast_arms) > arms, timeout=3)
            mark = time.monotonic()
            assert wait_until(lambda: sum(t > mark for t, _ in heard) > 5)
            assert {len(p) for t, p in heard if t > mark} == {480}
            assert media.frame_bytes == 480
            media.play(tone(0.3, 1000)).get(timeout=3)
            assert {len(p) for _, p in fs.bot_packets[-5:]} == {480}  # answered in kind
        finally:
            media.close()


def test_datagrams_that_are_not_freeswitchs_audio_are_dropped():
    with esl_session() as (_fs, channel):
        channel.subscribe()
        channel.execute("answer")
        media = UnicastMedia(channel, ports(), sample_rate=RATE)
        heard: list[bytes] = []
        media.attach(heard.append)
        media.start()
        try:
            assert wait_until(lambda: len(heard) > 5)
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stranger.bind(("127.0.0.1", 0))
            for junk in (b"\x01" * 320, b"\x00" * 321):
                stranger.sendto(junk, ("127.0.0.1", media.port))  # from a port FreeSWITCH never used
            stranger.close()
            assert wait_until(lambda: media.rx_dropped >= 2)
            assert all(len(p) == 320 for p in heard)
            assert b"\x01" * 320 not in heard
        finally:
            media.close()
