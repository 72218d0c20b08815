"""In-band DTMF: key tones found in the caller's audio, and tones made for tests.

Most PBXs deliver key presses out of band (AudioSocket DTMF frames, ESL
events); a trunk that only carries them as sound needs this detector. It
measures the eight DTMF frequencies (Goertzel's DFT bins) on each 20 ms frame
and accepts a key only when one row and one column tone carry nearly all of
the frame's energy, at similar levels (twist), for 40 ms or more, so speech
and music do not press keys. A held key is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")


def tone(digit: str, ms: int = 100, sample_rate: int = 8000, dbfs: float = -10.0) -> bytes:
    """The two-tone sound of one key (each tone at `dbfs` - 3 dB)."""
    for r, row in enumerate(KEYS):
        c = row.find(digit.upper())
        if c >= 0:
            break
    else:
        raise ValueError(f"{digit!r} is not a DTMF key (0-9, *, #, A-D)")
    t = np.arange(sample_rate * ms // 1000) / sample_rate
    amplitude = 10 ** (dbfs / 20) / 2
    wave = amplitude * (np.sin(2 * np.pi * ROWS[r] * t) + np.sin(2 * np.pi * COLS[c] * t))
    return (wave * 32767).astype("<i2").tobytes()


_BASIS: dict[tuple[int, int], np.ndarray] = {}


def _tone_powers(x: np.ndarray, rate: int) -> np.ndarray:
    """Squared amplitude of each DTMF frequency in x (rows then columns).

    One matrix product per frame (the Goertzel filter's DFT bins, computed
    at once): cheap enough to run on every frame of every call.
    """
    n = len(x)
    basis = _BASIS.get((n, rate))
    if basis is None:
        freqs = np.array(ROWS + COLS)
        basis = np.exp(-2j * np.pi * np.outer(freqs, np.arange(n)) / rate) * np.hanning(n) / (np.hanning(n).sum() / 2)
        basis = _BASIS.setdefault((n, rate), basis)
    return np.abs(basis @ x) ** 2


@dataclass
class DtmfDetector:
    sample_rate: int = 8000
    min_frames: int = 2  # 40 ms of tone
    min_dbfs: float = -35.0
    purity: float = 0.7  # share of the frame's power in the two tones
    max_twist_db: float = 8.0

    def __post_init__(self) -> None:
        self._candidate: str | None = None
        self._count = 0
        self._pressed: str | None = None
        self._gap = 0
        self.sounding = False  # a key tone was in the last frame fed

    def tone_in(self, frame: bytes) -> str | None:
        """The key sounding in this frame, if one clearly is."""
        x = np.frombuffer(frame[: len(frame) - len(frame) % 2], dtype="<i2").astype(np.float64) / 32768.0
        if x.size < self.sample_rate // 100:  # under 10 ms: too short to tell
            return None
        power = float(np.mean(x * x))
        if power <= 10 ** (self.min_dbfs / 10):
            return None
        powers = _tone_powers(x, self.sample_rate)
        rows, cols = powers[:4], powers[4:]
        r, c = int(rows.argmax()), int(cols.argmax())
        row_p, col_p = rows[r] / 2, cols[c] / 2  # a sine of amplitude A has power A²/2
        if (row_p + col_p) < self.purity * power:
            return None
        twist = 10 * np.log10(max(row_p, 1e-12) / max(col_p, 1e-12))
        if abs(twist) > self.max_twist_db:
            return None
        return KEYS[r][c]

    def feed(self, frame: bytes) -> str | None:
        """A key press, reported once when its tone has lasted min_frames."""
        key = self.tone_in(frame)
        self.sounding = key is not None
        if key is None:
            self._gap += 1
            if self._gap >= 2:  # released
                self._pressed = None
            self._candidate, self._count = None, 0
            return None
        self._gap = 0
        if key == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = key, 1
        if self._count >= self.min_frames and key != self._pressed:
            self._pressed = key
            return key
        return None
