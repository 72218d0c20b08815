"""G.711 µ-law and A-law, table-based with numpy.

`audioop` left the standard library in Python 3.13, so the codec is built
here from the ITU-T G.711 reference algorithm (the classic Sun g711.c): every
possible 16-bit sample is encoded once at import into a 65,536-entry table,
every code byte decoded into a 256-entry table, and a frame is converted with
one numpy indexing operation.
"""

from __future__ import annotations

import numpy as np

_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _build_ulaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + (0x84 >> 2)
    seg = np.searchsorted(_ULAW_SEG_END, mag, side="left")
    code = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return _index_by_uint16((code ^ mask).astype(np.uint8))


def _build_alaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_ALAW_SEG_END, mag, side="left")
    quant = np.where(seg < 2, mag >> 1, mag >> np.clip(seg, 2, 7)) & 0xF
    code = (np.minimum(seg, 7) << 4) | quant
    code = np.where(seg >= 8, 0x7F, code)
    return _index_by_uint16((code ^ mask).astype(np.uint8))


def _index_by_uint16(table_from_min: np.ndarray) -> np.ndarray:
    """Re-order a table built for -32768..32767 so int16 samples viewed as
    uint16 index it directly (0..32767 first, then the negatives)."""
    return np.concatenate([table_from_min[32768:], table_from_min[:32768]])


def _build_ulaw_decode() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype("<i2")


def _build_alaw_decode() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, np.where(seg == 1, t + 0x108, (t + 0x108) << np.maximum(seg - 1, 0)))
    return np.where(a & 0x80, t, -t).astype("<i2")


_ULAW_ENC = _build_ulaw_encode()
_ALAW_ENC = _build_alaw_encode()
_ULAW_DEC = _build_ulaw_decode()
_ALAW_DEC = _build_alaw_decode()


def _samples(pcm: bytes) -> np.ndarray:
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM must have an even number of bytes, got {len(pcm)}")
    return np.frombuffer(pcm, dtype="<u2")


def ulaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> µ-law (one byte per sample)."""
    return _ULAW_ENC[_samples(pcm)].tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """µ-law -> signed 16-bit little-endian PCM."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> A-law (one byte per sample)."""
    return _ALAW_ENC[_samples(pcm)].tobytes()


def alaw_decode(data: bytes) -> bytes:
    """A-law -> signed 16-bit little-endian PCM."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


CODECS = {
    "ulaw": (ulaw_encode, ulaw_decode),
    "alaw": (alaw_encode, alaw_decode),
}


def through_line(pcm: bytes, codec: str = "ulaw") -> bytes:
    """PCM as it sounds after one trip over a G.711 phone line."""
    try:
        encode, decode = CODECS[codec]
    except KeyError:
        raise ValueError(f"unknown G.711 codec {codec!r} (ulaw or alaw)") from None
    return decode(encode(pcm))
