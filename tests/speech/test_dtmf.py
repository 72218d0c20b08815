"""Key presses heard in the audio itself (in-band DTMF), over a G.711 line."""

from __future__ import annotations

import numpy as np
import pytest

from agi.media import g711
from agi.media.frames import line_noise, silence, split_frames
from agi.speech.dtmf import DtmfDetector, tone


def keys(detector: DtmfDetector, pcm: bytes) -> str:
    return "".join(k for k in (detector.feed(f) for f in split_frames(pcm, detector.sample_rate)) if k)


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_every_key_survives_the_line(codec):
    sequence = b"".join(tone(k, 80) + silence(60, 8000) for k in "0123456789*#ABCD")
    assert keys(DtmfDetector(), g711.through_line(sequence, codec)) == "0123456789*#ABCD"


def test_a_held_key_is_one_press_and_a_blip_is_none():
    held = tone("5", 600) + silence(100, 8000) + tone("5", 100)
    assert keys(DtmfDetector(), held) == "55"  # released in between: pressed twice
    assert keys(DtmfDetector(), silence(100, 8000) + tone("7", 20) + silence(100, 8000)) == ""
    assert keys(DtmfDetector(), tone("1", 100, dbfs=-45)) == ""  # below the line's floor


def test_speech_and_noise_press_no_keys(say):
    talk = say("one two three, four five six, seven eight nine, zero, pound, star")
    assert keys(DtmfDetector(), talk) == ""
    assert keys(DtmfDetector(), line_noise(2000, -20.0, rng=np.random.default_rng(2))) == ""


def test_odd_input():
    detector = DtmfDetector()
    assert detector.feed(b"") is None and detector.feed(b"\x01") is None
    with pytest.raises(ValueError, match="not a DTMF key"):
        tone("x")
    wide = DtmfDetector(sample_rate=16000)
    assert keys(wide, tone("9", 100, 16000)) == "9"
