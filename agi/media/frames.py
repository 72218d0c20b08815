"""20 ms frames of signed 16-bit little-endian mono PCM ("slin")."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

FRAME_MS = 20
SAMPLE_WIDTH = 2  # bytes: 16-bit signed little-endian


def frame_bytes(sample_rate: int, ms: int = FRAME_MS) -> int:
    """Bytes in `ms` of slin at `sample_rate` (320 for 20 ms at 8 kHz)."""
    return sample_rate * SAMPLE_WIDTH * ms // 1000


def duration_ms(pcm: bytes, sample_rate: int) -> float:
    return len(pcm) / (sample_rate * SAMPLE_WIDTH) * 1000


def silence(ms: int, sample_rate: int) -> bytes:
    return b"\x00" * frame_bytes(sample_rate, ms)


def split_frames(pcm: bytes, sample_rate: int, ms: int = FRAME_MS, pad: bool = True) -> Iterator[bytes]:
    """Cut audio into frames; the last one is padded with silence (or dropped)."""
    size = frame_bytes(sample_rate, ms)
    for i in range(0, len(pcm), size):
        chunk = pcm[i : i + size]
        if len(chunk) < size:
            if not pad:
                return
            chunk += b"\x00" * (size - len(chunk))
        yield chunk


def to_float32(pcm: bytes) -> np.ndarray:
    """slin -> float32 in [-1, 1) (what Whisper and soxr want)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def from_float32(samples: np.ndarray) -> bytes:
    """float32 in [-1, 1] -> slin, clipped rather than wrapped."""
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


def rms_dbfs(pcm: bytes) -> float:
    """Level of a stretch of audio in dB below full scale (-inf for digital silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20 * np.log10(rms / 32768.0) if rms > 0 else float("-inf")


def line_noise(ms: int, dbfs: float, sample_rate: int = 8000, rng: np.random.Generator | None = None) -> bytes:
    """White hiss at `dbfs` RMS: the background of a noisy line."""
    rng = rng or np.random.default_rng()
    samples = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), sample_rate * ms // 1000)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()
