"""One outbound Event Socket session in this process: our gevent side against fake_fs in a thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import gevent
import gevent.socket
from fake_fs import FakeFreeSwitch

from agi.pbx.freeswitch.channel import ChannelInfo, FsChannel
from agi.pbx.freeswitch.esl import EslConnection


@contextlib.contextmanager
def esl_session(**fake: object) -> Iterator[tuple[FakeFreeSwitch, FsChannel]]:
    listener = gevent.socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    fs = FakeFreeSwitch(listener.getsockname(), **fake)  # type: ignore[arg-type]
    thread = threading.Thread(target=fs.run, kwargs={"timeout": 60}, daemon=True)
    thread.start()
    sock, _ = listener.accept()
    conn = EslConnection(sock, reply_timeout_s=5)
    reply = conn.request(b"connect\n\n")
    channel = FsChannel(conn, ChannelInfo.from_channel_data(reply.headers))
    try:
        yield fs, channel
    finally:
        channel.close()
        listener.close()
        thread.join(5)


def wait_until(predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Cooperatively (the hub keeps running) until `predicate()` holds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        gevent.sleep(step)
    return bool(predicate())
