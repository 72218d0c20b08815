"""Hearing and speaking: VAD endpointing, Whisper speech-to-text, TTS voices, DTMF."""
