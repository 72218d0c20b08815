"""Call audio over FreeSWITCH's `unicast`: raw L16 datagrams, both ways.

`sendmsg` + `call-command: unicast` makes FreeSWITCH bind `local-port` and
send the caller's audio there -> our `remote-port` as signed 16-bit
little-endian PCM at the channel's rate, one datagram per packet time (320
bytes every 20 ms at 8 kHz), with no header at all. What we send to its
`local-port` is written into the call: the bot's voice, paced here in real
time, one datagram per packet time, so barge-in can cut it at any frame.

FreeSWITCH only streams while the channel sits in the socket app's park
loop, and tears unicast down after every application and on a codec or
packet-time change. So the media re-arms it (with a fresh FreeSWITCH port)
after each application completes and whenever datagrams stop arriving.

FreeSWITCH puts into the call only what we send, so a datagram goes every
packet time for the whole call: the bot's voice, or silence between.
"""

from __future__ import annotations

import itertools
import logging
import socket as pysocket
import threading
import time
from collections import deque
from collections.abc import Callable

import gevent
import gevent.event
import gevent.lock
import gevent.socket as gsocket

from agi.pbx.freeswitch import wire
from agi.pbx.freeswitch.channel import FsChannel
from agi.pbx.freeswitch.esl import EslCommandFailed, EslGone
from agi.pbx.freeswitch.threads import spawn

log = logging.getLogger("callticket.freeswitch")

PTIME_MS = 20
MAX_DATAGRAM_MS = 120  # anything longer than this is not a packet of call audio


class PortRange:
    """UDP ports for unicast, handed out round-robin across the process's calls."""

    def __init__(self, host: str, low: int, high: int):
        if not (1024 <= low <= high <= 65535):
            raise ValueError(f"bad port range {low}-{high}")
        self.host = host
        self.low, self.high = low, high
        self._next = itertools.cycle(range(low, high + 1))
        self._lock = threading.Lock()

    def bind(self) -> tuple[gsocket.socket, int]:
        """Our own datagram socket, bound to a free port of the range."""
        for port in self._candidates():
            sock = gsocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
            try:
                sock.bind((self.host, port))
                return sock, port
            except OSError:
                sock.close()
        raise OSError(f"no free UDP port in {self.low}-{self.high} on {self.host}")

    def free_port(self, host: str) -> int:
        """A port nobody holds now, for FreeSWITCH to bind as its `local-port`."""
        for port in self._candidates():
            probe = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
            try:
                probe.bind((host, port))
                return port
            except OSError:
                continue
            finally:
                probe.close()
        raise OSError(f"no free UDP port in {self.low}-{self.high} on {host}")

    def _candidates(self):
        with self._lock:
            ports = [next(self._next) for _ in range(self.high - self.low + 1)]
        return ports


class _Playout:
    __slots__ = ("done", "pcm", "pos")

    def __init__(self, pcm: bytes):
        self.pcm = pcm
        self.pos = 0
        self.done = gevent.event.AsyncResult()


class UnicastMedia:
    """One call's audio path over unicast; `attach()` it, then `start()`."""

    def __init__(
        self,
        channel: FsChannel,
        ports: PortRange,
        *,
        sample_rate: int,
        fs_ip: str = "127.0.0.1",
        rearm_after_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.channel = channel
        self.ports = ports
        self.sample_rate = sample_rate
        self.fs_ip = fs_ip
        self.rearm_after_s = rearm_after_s
        self.clock = clock
        self.frame_bytes = sample_rate * 2 * PTIME_MS // 1000
        self._max_datagram = sample_rate * 2 * MAX_DATAGRAM_MS // 1000
        self.sock: gsocket.socket | None = None
        self.port = 0
        self.fs_port = 0
        self._fs_ports: deque[int] = deque(maxlen=4)  # recent FS ports: late packets still count
        self._queue: deque[_Playout] = deque()
        self._on_audio: Callable[[bytes], None] | None = None
        self._greenlets: list[gevent.Greenlet] = []
        self._closed = False
        self._last_rx: float | None = None
        self._armed_at = 0.0
        self._arm_lock = gevent.lock.Semaphore()
        # figures for logs and tests
        self.arms = 0
        self.rx_packets = 0
        self.rx_dropped = 0
        self.tx_packets = 0  # the bot's voice and the silence between
        self.tx_voice_packets = 0

    # ------------------------------------------------------------ public

    def attach(self, on_audio: Callable[[bytes], None]) -> None:
        """Where each datagram of caller audio goes (called on the hub)."""
        self._on_audio = on_audio

    def start(self) -> None:
        self.sock, self.port = self.ports.bind()
        self.channel.on_app_complete.append(self._app_complete)
        self.arm()
        self._greenlets = [
            spawn(self._receive),
            spawn(self._playout),
            spawn(self._watch),
        ]

    def arm(self) -> bool:
        """(Re)start unicast with a fresh FreeSWITCH port; False if it could not be sent."""
        with self._arm_lock:
            return self._arm()

    def _arm(self) -> bool:
        if self._closed or self.channel.hungup.is_set():
            return False
        fs_port = self.ports.free_port(self.fs_ip)
        self._fs_ports.append(fs_port)  # its first datagrams may come before the +OK is read
        try:
            self.channel.conn.command(wire.unicast(self.fs_ip, fs_port, self.ports.host, self.port))
        except (EslGone, EslCommandFailed) as exc:
            log.info("unicast not armed", extra={"fields": {"error": str(exc)}})
            return False
        self.fs_port = fs_port
        self._armed_at = self.clock()
        self._last_rx = None
        self.arms += 1
        if self.arms > 1:
            log.info("unicast re-armed", extra={"fields": {"arms": self.arms, "fs_port": fs_port}})
        return True

    def play(self, pcm: bytes) -> gevent.event.AsyncResult:
        """Queue bot audio (slin at the call's rate); resolves True when sent, False when cut."""
        item = _Playout(pcm[: len(pcm) - len(pcm) % 2])
        if self._closed:
            item.done.set(False)
            return item.done
        self._queue.append(item)
        return item.done

    def stop_playback(self) -> None:
        """Barge-in: nothing queued goes out after this call."""
        while self._queue:
            self._queue.popleft().done.set(False)

    @property
    def bot_speaking(self) -> bool:
        return bool(self._queue)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stop_playback()
        if self._app_complete in self.channel.on_app_complete:
            self.channel.on_app_complete.remove(self._app_complete)
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if self.sock is not None:
            self.sock.close()

    # ------------------------------------------------------------ inside

    def _app_complete(self, message: wire.EslMessage) -> None:
        # switch_core_session_reset() ran at the end of that application: unicast is down.
        if not self._closed and not self.channel.app_running:
            spawn(self.arm)

    def _receive(self) -> None:
        assert self.sock is not None
        while not self._closed:
            try:
                data, addr = self.sock.recvfrom(8192)
            except OSError:
                if self._closed:
                    return
                gevent.sleep(0.01)
                continue
            if addr[0] != self.fs_ip or addr[1] not in self._fs_ports or not data or len(data) % 2 \
                    or len(data) > self._max_datagram:
                self.rx_dropped += 1  # not FreeSWITCH's unicast, or not L16
                continue
            self.rx_packets += 1
            self._last_rx = self.clock()
            if len(data) != self.frame_bytes and addr[1] == self.fs_port:
                # FreeSWITCH changed packet time (20 -> 30 ms): answer in kind.
                self.frame_bytes = len(data)
            if self._on_audio is not None:
                self._on_audio(data)

    def _playout(self) -> None:
        """One datagram per packet time for the whole call: the bot's voice, else silence.

        FreeSWITCH writes into the call only what arrives on its unicast port:
        without a datagram the caller's leg gets no RTP at all, seconds of it
        between the bot's sentences, and carriers hang up on calls that go
        quiet on the wire. Each frame is picked at its send time, so a cut
        (barge-in) takes effect at the next packet.
        """
        assert self.sock is not None
        next_at: float | None = None
        while not self._closed:
            size = self.frame_bytes
            now = self.clock()
            if next_at is None or now - next_at > 0.1:
                next_at = now  # starting, or the hub was held up: no burst to catch up
            elif next_at > now:
                gevent.sleep(next_at - now)
                if self._closed:
                    return
            item = self._queue[0] if self._queue else None
            if item is None:
                frame = bytes(size)
            else:
                frame = item.pcm[item.pos : item.pos + size]
                if len(frame) < size:
                    frame += bytes(size - len(frame))
            try:
                self.sock.sendto(frame, (self.fs_ip, self.fs_port))
                self.tx_packets += 1
            except OSError:
                pass  # FreeSWITCH's port is between two arms: this frame is lost
            if item is not None:
                self.tx_voice_packets += 1
                item.pos += size
                if item.pos >= len(item.pcm):
                    self._queue.popleft()
                    item.done.set(True)
            next_at += size / (2 * self.sample_rate)

    def _watch(self) -> None:
        """Re-arm when datagrams stop while the channel is parked (codec change, ...)."""
        wait = self.rearm_after_s
        while not self._closed and not self.channel.hungup.is_set():
            gevent.sleep(0.05)
            if self.channel.app_running:
                continue
            now = self.clock()
            if self._last_rx is not None:
                wait = self.rearm_after_s
                silent = now - self._last_rx
                if silent < self.rearm_after_s:
                    continue
                log.info("unicast audio stopped", extra={"fields": {"silent_ms": int(silent * 1000)}})
                self.arm()
            elif now - self._armed_at >= wait:
                # Nothing since the last arm: try again, less and less often.
                self.arm()
                wait = min(4.0, wait * 2)
