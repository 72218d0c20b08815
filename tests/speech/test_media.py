"""Frames, resampling and WAV handling of slin audio."""

from __future__ import annotations

import numpy as np
import pytest

from agi.media import frames, resample, wav


def tone(hz: float, ms: int, rate: int, level: float = 0.5) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return frames.from_float32(level * np.sin(2 * np.pi * hz * t).astype(np.float32))


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = frames.to_float32(pcm)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


def test_split_frames_pads_the_last_frame():
    chunks = list(frames.split_frames(b"\x01\x00" * 250, 8000))  # 500 bytes = 1.56 frames
    assert [len(c) for c in chunks] == [320, 320]
    assert chunks[1][180:] == b"\x00" * 140
    assert list(frames.split_frames(b"\x01\x00" * 250, 8000, pad=False)) == chunks[:1]


def test_levels():
    assert frames.rms_dbfs(frames.silence(20, 8000)) == float("-inf")
    assert frames.rms_dbfs(tone(1000, 200, 8000, level=0.5)) == pytest.approx(-9.0, abs=0.2)
    assert frames.rms_dbfs(frames.line_noise(500, -40.0)) == pytest.approx(-40.0, abs=0.5)


@pytest.mark.parametrize("src,dst", [(8000, 16000), (16000, 8000), (22050, 8000), (8000, 48000)])
def test_resample_keeps_pitch_and_duration(src, dst):
    out = resample.resample(tone(440, 500, src), src, dst)
    assert len(out) // 2 == pytest.approx(dst // 2, abs=2)
    assert dominant_hz(out, dst) == pytest.approx(440, abs=5)


def test_downsampling_removes_what_a_phone_line_cannot_carry():
    # 6 kHz is above the 4 kHz Nyquist limit of 8 kHz audio: filtered, not aliased to 2 kHz.
    out = resample.resample(tone(6000, 500, 16000), 16000, 8000)
    assert frames.rms_dbfs(out) < -50


def test_stream_resampler_matches_whole_clip():
    clip = tone(300, 1000, 8000) + tone(700, 1000, 8000)
    stream = resample.StreamResampler(8000, 16000)
    pieces = [stream.feed(c) for c in frames.split_frames(clip, 8000)] + [stream.feed(b"", last=True)]
    streamed = np.frombuffer(b"".join(pieces), "<i2").astype(float)
    whole = np.frombuffer(resample.resample(clip, 8000, 16000), "<i2").astype(float)
    n = min(len(streamed), len(whole))
    assert abs(len(streamed) - len(whole)) < 40
    assert np.corrcoef(streamed[1000 : n - 1000], whole[1000 : n - 1000])[0, 1] > 0.999


def test_resample_refuses_torn_samples():
    with pytest.raises(ValueError, match="even number of bytes"):
        resample.resample(b"\x00\x01\x02", 8000, 16000)
    assert resample.resample(b"", 8000, 16000) == b""


def test_wav_round_trip_and_errors(tmp_path):
    pcm = tone(440, 100, 8000)
    path = tmp_path / "t.wav"
    wav.write_wav(path, pcm, 8000)
    assert wav.read_wav(path) == (pcm, 8000)
    with pytest.raises(wav.WavError):
        wav.read_wav(b"RIFF nonsense")
