"""Bad peers on the Event Socket: each one costs its own connection, never the worker.

Every case below connects like FreeSWITCH's socket app, then misbehaves
(garbage, truncated bodies, wrong Content-Length, a disconnect in the
middle of a command or of the call). The worker must drop that connection
and still take the next call, all the way through.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import fake_fs
from fake_fs import CallerScript, FakeFreeSwitch, read_command
from fs_harness import caller_audio

ROUTE = {"callticket_playbook": "pizzeria"}
OK = b"Content-Type: command/reply\nReply-Text: +OK\n\n"


class RawPeer:
    def __init__(self, address: tuple[str, int]):
        self.sock = socket.create_connection(address, timeout=10)
        self.buf = bytearray()
        self.uuid = str(uuidlib.uuid4())
        self.cap = fake_fs.captures()

    def command(self, timeout: float = 10.0) -> fake_fs.Command:
        cmd = read_command(self.sock, self.buf, timeout)
        assert cmd is not None, "the worker closed early"
        return cmd

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connect_reply(self, **variables: str) -> bytes:
        return self.cap.connect(self.uuid, "+15550001111", "1000", {**ROUTE, **variables})

    def event(self, template: fake_fs.EventTemplate, **fields: str) -> bytes:
        return template.render(self.uuid, set_=fields)

    def up_to_answer(self) -> fake_fs.Command:
        """connect, myevents, linger answered properly; returns the answer sendmsg (unanswered)."""
        assert self.command().line == "connect"
        self.send(self.connect_reply())
        assert self.command().line == "myevents"
        self.send(self.cap.myevents_reply)
        assert self.command().line.startswith("linger")
        self.send(self.cap.linger_reply)
        answer = self.command()
        assert answer.h("execute-app-name") == "answer"
        return answer

    def up_to_media(self) -> fake_fs.Command:
        answer = self.up_to_answer()
        app = {"Application": "answer", "Application-UUID": answer.h("event-uuid")}
        self.send(OK + self.event(self.cap.execute, **app) + self.event(self.cap.answer)
                  + self.event(self.cap.complete, **app, **{"Application-Response": "_none_"}))
        unicast = self.command()
        assert unicast.h("call-command") == "unicast"
        self.send(OK)
        return unicast

    def closed_by_worker(self, timeout: float) -> bool:
        """Reads (and ignores) until the worker closes; False if it is still open after `timeout`."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.05, end - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except TimeoutError:
                return False
            except OSError:
                return True
        return False

    def close(self) -> None:
        self.sock.close()


# Each case misbehaves and returns how long the worker may take to drop it.
def garbage_instead_of_the_connect_reply(p: RawPeer) -> float:
    p.command()
    p.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xe2\x80\xa6 binary junk\n\n")
    return 5


def an_http_request_instead_of_freeswitch(p: RawPeer) -> float:
    p.command()
    p.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return 5


def a_connect_reply_without_a_channel(p: RawPeer) -> float:
    p.command()
    p.send(b"Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n")
    return 5


def a_reply_that_answers_no_command(p: RawPeer) -> float:
    p.command()
    p.send(p.connect_reply() + OK + OK)
    return 5


def an_auth_request_on_an_outbound_socket(p: RawPeer) -> float:
    p.command()
    p.send(b"Content-Type: auth/request\n\n")
    return 5


def headers_that_are_not_utf8(p: RawPeer) -> float:
    p.command()
    p.send(b"Content-Type: command/reply\nReply-Text: \xff\xfe\xfd\n\n")
    return 5


def a_negative_content_length(p: RawPeer) -> float:
    p.up_to_answer()
    p.send(OK + b"Content-Length: -40\nContent-Type: text/event-plain\n\n")
    return 5


def a_content_length_too_short(p: RawPeer) -> float:
    answer = p.up_to_answer()
    frame = p.event(p.cap.execute, **{"Application": "answer", "Application-UUID": answer.h("event-uuid")})
    _head, _, body = frame.partition(b"\n\n")
    p.send(OK + f"Content-Length: {len(body) // 2}\nContent-Type: text/event-plain\n\n".encode() + body)
    return 5


def a_content_length_too_long_that_swallows_a_reply(p: RawPeer) -> float:
    p.command()
    event = p.event(p.cap.park)
    _head, _, body = event.partition(b"\n\n")
    # the reply to myevents disappears inside the event's body: the worker waits for it in vain
    p.send(p.connect_reply())
    assert p.command().line == "myevents"
    p.send(f"Content-Length: {len(body) + len(p.cap.myevents_reply)}\nContent-Type: text/event-plain\n\n".encode()
           + body + p.cap.myevents_reply)
    return 15  # the worker's reply timeout (10 s)


def a_body_cut_short_then_the_socket_closes(p: RawPeer) -> float:
    p.up_to_answer()
    p.send(OK + b"Content-Length: 5000\nContent-Type: text/event-plain\n\nEvent-Name: CHANNEL_EXECUTE\nCore-UUID: 7e5d")
    p.sock.shutdown(socket.SHUT_WR)
    return 5


def a_body_cut_short_then_silence(p: RawPeer) -> float:
    p.up_to_answer()
    p.send(OK + b"Content-Length: 5000\nContent-Type: text/event-plain\n\nEvent-Name: CHANNEL_EXECUTE\n")
    return 35  # answer timeout (15 s), then the hang-up's reply timeout (10 s)


def a_disconnect_in_the_middle_of_a_command(p: RawPeer) -> float:
    p.up_to_answer()
    p.sock.shutdown(socket.SHUT_WR)  # the sendmsg is never answered
    return 5


def garbage_in_the_middle_of_the_call(p: RawPeer) -> float:
    p.up_to_media()
    time.sleep(0.5)
    p.send(b"\x00\x01\x02 not an event at all\n\n")
    return 5


def the_socket_lost_in_the_middle_of_the_call(p: RawPeer) -> float:
    p.up_to_media()
    time.sleep(1.0)
    p.sock.shutdown(socket.SHUT_WR)  # no hang-up events, no notice: the TCP connection just ends
    return 5


def silence_after_connecting(p: RawPeer) -> float:
    p.command()
    return 15  # the worker's connect timeout (10 s)


CASES: list[Callable[[RawPeer], float]] = [
    garbage_instead_of_the_connect_reply,
    an_http_request_instead_of_freeswitch,
    a_connect_reply_without_a_channel,
    a_reply_that_answers_no_command,
    an_auth_request_on_an_outbound_socket,
    headers_that_are_not_utf8,
    a_negative_content_length,
    a_content_length_too_short,
    a_content_length_too_long_that_swallows_a_reply,
    a_body_cut_short_then_the_socket_closes,
    a_body_cut_short_then_silence,
    a_disconnect_in_the_middle_of_a_command,
    garbage_in_the_middle_of_the_call,
    the_socket_lost_in_the_middle_of_the_call,
    silence_after_connecting,
]


def run_case(address: tuple[str, int], case: Callable[[RawPeer], float]) -> str:
    peer = RawPeer(address)
    try:
        allowed = case(peer)
        return "dropped" if peer.closed_by_worker(allowed) else "still open"
    except Exception as exc:  # noqa: BLE001 (reported per case)
        return f"{type(exc).__name__}: {exc}"
    finally:
        peer.close()


def test_bad_peers_are_dropped_one_by_one_and_the_next_call_is_served(serve_esl):
    # all at once: one bad connection never holds up another
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        outcomes = dict(zip([c.__name__ for c in CASES], pool.map(lambda c: run_case(serve_esl.address, c), CASES)))
    assert outcomes == {c.__name__: "dropped" for c in CASES}
    assert serve_esl.alive
    log = serve_esl.log_text()
    assert "protocol error" in log and "truncated message" in log

    # and then a whole call goes through, with junk datagrams thrown at its unicast port
    fs = FakeFreeSwitch(serve_esl.address, caller="+15557770000", variables=ROUTE,
                        script=CallerScript(turns=caller_audio(["let me talk to a person"], offset=1)),
                        bridge=fake_fs.BridgeBehaviour(answer={"user/100"}))

    def junk() -> None:
        while not fs.unicast_arms and fs.elapsed() < 20:
            time.sleep(0.02)
        if fs.unicast_arms:
            port = int(fs.unicast_arms[-1]["remote-port"])
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for size in (1, 321, 9000, 320):
                stranger.sendto(b"\x7f" * size, ("127.0.0.1", port))
            stranger.close()

    threading.Thread(target=junk, daemon=True).start()
    fs.run(timeout=90)
    assert fs.errors == []
    (result,) = [r for r in serve_esl.wait_for("call result", 1) if r.get("call_id") == fs.uuid]
    assert result["outcome"] == "transferred"
    assert fs.bridged_to == ["user/100"]
    assert serve_esl.alive
