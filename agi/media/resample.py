"""Sample-rate conversion of slin with soxr (libsoxr, a well-kept resampler)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(pcm: bytes, from_rate: int, to_rate: int, quality: str = "HQ") -> bytes:
    """Convert a whole clip of slin; returns it unchanged when the rates match."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive ({from_rate} -> {to_rate})")
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM must have an even number of bytes, got {len(pcm)}")
    if from_rate == to_rate or not pcm:
        return bytes(pcm)
    samples = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(samples, from_rate, to_rate, quality=quality).astype("<i2").tobytes()


class StreamResampler:
    """Frame-by-frame conversion of a live stream, with no clicks at frame edges."""

    def __init__(self, from_rate: int, to_rate: int, quality: str = "HQ"):
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality=quality)

    def feed(self, pcm: bytes, last: bool = False) -> bytes:
        if len(pcm) % 2:
            raise ValueError(f"16-bit PCM must have an even number of bytes, got {len(pcm)}")
        if self._stream is None:
            return bytes(pcm)
        out = self._stream.resample_chunk(np.frombuffer(pcm, dtype="<i2"), last=last)
        return out.astype("<i2").tobytes()
