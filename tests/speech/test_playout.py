"""The bot's audio leaves at the pace of a phone line and stops the moment it is cut."""

from __future__ import annotations

import asyncio

import pytest

from agi.media.playout import PlayoutBuffer


async def _with_buffer(body):
    written: list[tuple[float, bytes]] = []
    loop = asyncio.get_running_loop()
    buf = PlayoutBuffer(lambda f: written.append((loop.time(), f)), 8000)
    runner = asyncio.create_task(buf.run())
    try:
        return await body(buf, written)
    finally:
        buf.close()
        await runner


def test_frames_leave_one_per_20_ms():
    async def body(buf, written):
        done = buf.play(b"\x01\x00" * 8000)  # 1 s of audio
        assert await done is True
        return written

    written = asyncio.run(_with_buffer(body))
    assert len(written) == 50 and all(len(f) == 320 for _, f in written)
    span = written[-1][0] - written[0][0]
    # 49 periods of 20 ms: never a burst, never far behind a real line.
    assert 0.9 <= span <= 1.3
    gaps = [b[0] - a[0] for a, b in zip(written, written[1:])]
    assert min(gaps) > 0.005


def test_cut_stops_output_at_once_and_reports_it():
    async def body(buf, written):
        first = buf.play(b"\x01\x00" * 8000)
        second = buf.play(b"\x02\x00" * 8000)
        await asyncio.sleep(0.2)
        dropped = buf.cut()
        count = len(written)
        await asyncio.sleep(0.1)
        return first.result(), second.result(), dropped, count, len(written)

    first, second, dropped, at_cut, later = asyncio.run(_with_buffer(body))
    assert (first, second) == (False, False)
    assert dropped >= 80 and at_cut + dropped == 100
    assert later == at_cut  # nothing more was written after the cut


def test_short_and_empty_audio():
    async def body(buf, written):
        assert await buf.play(b"") is True
        assert await buf.play(b"\x05\x00" * 10) is True  # padded to a whole frame
        return written

    written = asyncio.run(_with_buffer(body))
    assert len(written) == 1 and written[0][1][:20] == b"\x05\x00" * 10 and written[0][1][20:] == b"\x00" * 300


def test_torn_audio_is_refused():
    async def body(buf, written):
        with pytest.raises(ValueError):
            buf.play(b"\x00\x01\x02")

    asyncio.run(_with_buffer(body))
