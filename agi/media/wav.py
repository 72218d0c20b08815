"""Read and write mono 16-bit WAV as (slin, sample_rate)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np


class WavError(ValueError):
    """Audio that is not 16-bit PCM WAV."""


def read_wav(source: bytes | str | Path) -> tuple[bytes, int]:
    """WAV bytes or a file -> (mono slin, sample rate); stereo is mixed down."""
    try:
        handle = wave.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source), "rb")
    except (wave.Error, EOFError) as exc:
        raise WavError(f"not a PCM WAV: {exc}") from None
    with handle:
        if handle.getsampwidth() != 2:
            raise WavError(f"{8 * handle.getsampwidth()}-bit WAV; 16-bit expected")
        channels, rate = handle.getnchannels(), handle.getframerate()
        data = handle.readframes(handle.getnframes())
    if channels > 1:
        samples = np.frombuffer(data[: len(data) - len(data) % (2 * channels)], dtype="<i2").reshape(-1, channels)
        data = samples.mean(axis=1).astype("<i2").tobytes()
    return data, rate


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm)
    return out.getvalue()


def write_wav(path: str | Path, pcm: bytes, sample_rate: int) -> None:
    Path(path).write_bytes(wav_bytes(pcm, sample_rate))
