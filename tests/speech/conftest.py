"""Real audio for the speech tests: espeak-ng / flite renders and recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.media import g711
from agi.speech.stt import Recognizer, SttSettings
from agi.speech.tts import Speaker, Voice

DATA = Path(__file__).parent / "data"
CLEAR = Voice("flite", "rms", None, 150, 50)  # the clearest voice over 8 kHz for Whisper
ESPEAK = Voice("espeak-ng", "en-us", "f3", 160, 55)


@pytest.fixture(scope="session")
def speaker() -> Speaker:
    return Speaker(8000)


@pytest.fixture(scope="session")
def say(speaker: Speaker):
    """Text -> 8 kHz slin as it arrives over a µ-law phone line."""

    def render(text: str, voice: Voice = ESPEAK) -> bytes:
        return g711.through_line(speaker.render(text, voice, voice.language))

    return render


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    """One English model for the whole run, as in a worker process."""
    return Recognizer(SttSettings(model="tiny.en", threads=2))
