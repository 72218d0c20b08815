"""G.711 against the ITU reference values, and what a round trip keeps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from agi.media import g711


def pcm(*samples: int) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def test_reference_code_points():
    # µ-law: 0 -> 0xFF, full-scale positive -> 0x80, full-scale negative -> 0x00.
    assert g711.ulaw_encode(pcm(0, 32767, -32768)) == bytes([0xFF, 0x80, 0x00])
    # A-law: the smallest positive/negative steps are 0xD5 / 0x55 (the even bits inverted).
    assert g711.alaw_encode(pcm(0, -1)) == bytes([0xD5, 0x55])
    assert np.frombuffer(g711.ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00])), "<i2").tolist() == [0, 0, 32124, -32124]
    assert np.frombuffer(g711.alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])), "<i2").tolist() == [8, -8, 32256, -32256]


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_every_code_survives_decode_then_encode(codec):
    encode, decode = g711.CODECS[codec]
    codes = bytes(range(256))
    again = encode(decode(codes))
    if codec == "ulaw":  # 0x7F and 0xFF are both zero; zero encodes as 0xFF
        assert again == codes.replace(b"\x7f", b"\xff")
    else:
        assert again == codes


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_round_trip_error_is_logarithmic(codec):
    """Quiet samples come back almost exact, loud ones within G.711's few percent."""
    samples = np.arange(-32768, 32768, 7, dtype=np.int32)
    back = np.frombuffer(g711.through_line(samples.astype("<i2").tobytes(), codec), "<i2").astype(np.int32)
    error = np.abs(back - samples)
    quiet = np.abs(samples) < 64
    assert error[quiet].max() <= 8
    assert (error[~quiet] <= np.abs(samples[~quiet]) * 0.07 + 8).all()


def test_matches_audioop_where_python_still_has_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    everything = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert g711.ulaw_encode(everything) == audioop.lin2ulaw(everything, 2)
    assert g711.alaw_encode(everything) == audioop.lin2alaw(everything, 2)
    assert g711.ulaw_decode(bytes(range(256))) == audioop.ulaw2lin(bytes(range(256)), 2)
    assert g711.alaw_decode(bytes(range(256))) == audioop.alaw2lin(bytes(range(256)), 2)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="even number of bytes"):
        g711.ulaw_encode(b"\x01\x02\x03")
    with pytest.raises(ValueError, match="unknown G.711 codec"):
        g711.through_line(b"", "gsm")
    assert g711.ulaw_encode(b"") == b"" and g711.ulaw_decode(b"") == b""
