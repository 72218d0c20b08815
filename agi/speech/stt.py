"""Speech-to-text with faster-whisper (CTranslate2), offline, shared by all calls.

One `Recognizer` per process holds the Whisper weights (loaded once, lazily)
and one `SttPool` bounds how many utterances are decoded at once; every call
of the worker shares both, so an added call costs no model memory.

Phone utterances are short, and Whisper normally pads every input to 30 s:
we run the encoder on the utterance plus a margin only (CTranslate2 accepts
a shorter mel window), which cuts the encoder's cost several-fold at the same
transcript on call-length audio. Decoding is greedy, never conditioned on
earlier text, and biased by a prompt built from what the caller is likely to
say now (catalog names, the answers to the question just asked).

Whisper writes words onto silence and noise. Three gates keep a cough from
becoming an order line: only VAD-endpointed speech reaches us, a segment
whose no-speech probability is high (or whose tokens are improbable and
repetitive) is dropped, and text made of filler alone is returned empty.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from agi.media.frames import to_float32
from agi.media.resample import resample
from agi.speech import models

WHISPER_RATE = 16000
FRAMES_PER_SECOND = 100  # mel frames
FULL_WINDOW = 3000  # 30 s: what Whisper was trained on
MAX_TOKENS = 448
SHORT_UTTERANCE_S = 1.5
LANGUAGE_ONLY = "language only"  # SttResult.dropped of a detection that decoded no words


@dataclass(frozen=True)
class SttSettings:
    """How the process recognises speech (from the worker config's `stt:`)."""

    # "auto": tiny.en for English calls, multilingual base for the others and
    # for language detection; "tiny.en" / "base" / a directory: that model only.
    model: str = "auto"
    device: str = "auto"  # cpu | cuda | auto
    # Weights for a decode that runs alone (None: int8 on CPU, float16 on
    # CUDA), and for one started while another runs or waits (None: the
    # same). float32 hears more words right: the sample calls' caller turns
    # over µ-law, the same audio each time, one decode at a time on two
    # EPYC cores (AVX2): tiny.en word error rate 0.209 in 369 ms float32
    # against 0.237 in 354 ms int8 (turns with a word wrong 0.40 / 0.48, 191
    # turns), base 0.227 in 474 ms against 0.248 in 609 ms (127 turns). But
    # two float32 decodes at once starve each other of memory bandwidth (20
    # calls at once, float32 only: p95 4829 ms, RTF 0.333, against 2941-4390
    # ms and 0.259 with int8), and even float32 alone with int8 under load
    # measured one call at a time at p95 866 ms (against 667-752 ms all
    # int8) with no more tickets right. So int8 is the default here; a host
    # with more memory bandwidth may set compute_type float32 and keep
    # busy_compute_type int8. Each set of weights is loaded once (float32
    # takes about 4 bytes a weight, int8 1).
    compute_type: str | None = None
    busy_compute_type: str | None = None
    # Decodes running at once (one model, shared) x CPU threads each. Two
    # threads nearly halve one decode on two EPYC cores (tiny.en 466 -> 251
    # ms, base 1153 -> 725 ms on a 10 s window), which is what one call
    # waits for; under load the two decodes share the cores, and OpenMP's
    # idle threads sleep instead of spinning (see _quiet_idle_threads), so
    # 20 calls at once lose nothing (p50 / p95 1372 / 10221 ms against 1577
    # / 12035 for 2 x 1 thread, `bench speech --concurrency 20`).
    pool_size: int = 2
    threads: int = 2
    beam_size: int = 1
    # The encoder sees the utterance plus this margin (s), at least the
    # model's minimum window; 30 s gives Whisper's own full window. The
    # encoder's time grows with the window, and what each model needs was
    # measured on the sample calls' caller turns over µ-law (`callticket
    # bench stt --model M --window S`): tiny.en loops more on a shorter
    # window (all 381 turns: word error rate 0.230 at 7 s in 355 ms, 0.246
    # at 5 s, 0.256 at 3 s in 234 ms, with 9.6 / 13.1 tokens decoded per
    # turn at 7 / 3 s; 0.248 at 10 s in 466 ms on 191 turns), the
    # multilingual base does not (0.237 at 10 s, 0.206 at 5 s on 127 turns,
    # in 1026 / 574 ms). None: 7 s for English-only models, 5 s for the
    # multilingual one.
    window_margin_s: float = 1.0
    min_window_s: float | None = None
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    hard_no_speech: float = 0.85  # dropped whatever the token scores say
    compression_ratio_threshold: float = 2.4
    max_prompt_words: int = 40
    # First decoding pass: this many tokens per second of audio (+ 8); only
    # a decode cut there that is not a loop goes on (callers say about 3).
    first_pass_tokens_per_s: float = 6.0
    # An utterance the dialogue could not make sense of, or one that
    # corrects the bot ("no, I said ..."), is decoded again by the
    # multilingual base model when tiny.en heard it (model "auto"): the two
    # mishear different turns. Of the sample calls' 381 caller turns over
    # µ-law, tiny.en got a word wrong in 167; said again 15% slower, 123
    # still had one wrong by tiny.en, 123 by base, 95 by both (`callticket
    # bench stt --second-opinion`). It costs a base decode (about 200 ms)
    # on those turns only.
    second_opinion: bool = True
    cache_dir: Path | None = None


@dataclass(frozen=True)
class SttResult:
    text: str
    language: str | None
    confidence: float  # exp(mean token log-probability), 0 when nothing was heard
    no_speech_prob: float
    audio_ms: int
    compute_ms: int
    dropped: str | None = None  # why text was withheld (no speech, repetitive, ...)
    language_probability: float | None = None
    tokens: int = 0  # decoded, looped ones included: what the decode cost
    model: str | None = None  # which model heard it (tiny.en, base, a directory)
    weights: str | None = None  # its compute type: float32, int8, float16


@dataclass
class SttStats:
    utterances: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0
    dropped: int = 0
    busy_batches: int = 0  # started while another decode ran or waited
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def rtf(self) -> float:
        """Compute time per second of audio (below 1 is faster than real time)."""
        return self.compute_s / self.audio_s if self.audio_s else 0.0


# Words Whisper says to noise or breathing; alone they are not an answer.
_FILLER = {"", "you", "thank you", "thanks", "thanks for watching", "bye", "uh", "um", "hmm", "mm", "oh", "ah", "so"}


def _filler(text: str) -> bool:
    words = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower()).split()
    return " ".join(words) in _FILLER


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() or ch.isspace() or ch == "'" else " " for ch in text.lower()).split()


def collapse_repeats(text: str) -> str:
    """'That's all. That's all. That's all' -> 'That's all.'

    With a short encoder window Whisper sometimes loops over the utterance; a
    caller does not say the same sentence twice in one breath.
    """
    sentences = [p.strip() for p in re.split(r"(?<=[.?!。？！])\s*", text) if p.strip()]
    kept: list[str] = []
    for sentence in sentences:
        words, last = _words(sentence), _words(kept[-1]) if kept else []
        if words and len(words) <= len(last) and _repeats(last, words):
            continue
        kept.append(sentence)
    return _collapse_phrase_loop(" ".join(kept))


def _repeats(pattern: list[str], words: list[str]) -> bool:
    """`words` go on saying `pattern` over and over; the last may be cut mid-word.

    A decode stopped at its token budget ends wherever it was: 'that's all,
    that's all, that' is still the loop."""
    last = len(words) - 1
    return bool(pattern) and all(
        w == pattern[i % len(pattern)] or (i == last and w and pattern[i % len(pattern)].startswith(w))
        for i, w in enumerate(words))


def _collapse_phrase_loop(text: str) -> str:
    """'a large pizza for pick up, a large pizza for pick up, a large' -> 'a large pizza for pick up'.

    A prompt of comma-separated hints invites Whisper to go on with the list by
    saying the utterance again; a caller does not.
    """
    tokens = text.split()
    words = ["".join(_words(t)) for t in tokens]
    n = len(words)
    for period in range(1, n // 2 + 1):
        if any(words[:period]) and _repeats(words[:period], words[period:]):
            return " ".join(tokens[:period]).rstrip(",;:")
    return text


def _collapse_word_loops(text: str) -> str:
    """'No, no, no, no, no' -> 'No': a word said over and over once."""
    words = _words(text)
    kept = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    if len(kept) < len(words):
        return " ".join(kept)
    return text


_AM_PM = re.compile(r"\b([ap])\.\s?m\b\.?", re.IGNORECASE)
_CLOCK_DOT = re.compile(r"\b(\d{1,2})\.\s(\d{2})\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_AT_CLOCK = re.compile(r"\b(at|by|around) ([1-9]|1[0-2]) ?([0-5]\d)\b", re.IGNORECASE)
_PN = re.compile(r"(?<=\d)\s?([ap])\.?\s?n\b\.?", re.IGNORECASE)  # "4 PN": pm heard with an n
_F_CLOCK = re.compile(r"\bF([1-9]|1[0-2])\b")  # "at 4" heard run together as "F4"
_REPEATED_WORD = re.compile(r"\b(\w+)(?:[,.]?\s+\1\b)+", re.IGNORECASE)


def tidy(text: str) -> str:
    """Whisper's written forms, back to what the slot parsers read.

    '10 a. m' -> '10 am', '11. 30' -> '11:30', 'at 745' / 'at 7 45' -> 'at 7:45', 'F4' -> 'at 4',
    '3,000' -> '3000', and a word
    said once but written over and over ('Saturday, Saturday') once.
    """
    text = _AM_PM.sub(lambda m: m.group(1).lower() + "m", text)
    text = _PN.sub(lambda m: " " + m.group(1).lower() + "m", text)
    text = _CLOCK_DOT.sub(r"\1:\2", text)
    text = _AT_CLOCK.sub(r"\1 \2:\3", text)
    text = _F_CLOCK.sub(r"at \1", text)
    text = _THOUSANDS.sub("", text)
    return _REPEATED_WORD.sub(r"\1", text).strip(" ,")


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def build_prompt(hints: Iterable[str], max_words: int = 40) -> str:
    """A short, natural prompt from hint phrases, most important first."""
    seen: set[str] = set()
    parts: list[str] = []
    words = 0
    for hint in hints:
        phrase = " ".join(str(hint).split())
        key = phrase.lower()
        if not phrase or key in seen:
            continue
        n = len(phrase.split())
        if words + n > max_words:
            break
        seen.add(key)
        parts.append(phrase)
        words += n
    return (", ".join(parts) + ".") if parts else ""


def _quiet_idle_threads() -> None:
    """Let CTranslate2's OpenMP threads sleep when idle: spinning ones take the
    core another call's decode is waiting for. libgomp reads this once, when
    ctranslate2 is first imported; an operator's own setting wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # no CUDA runtime at all
        return "cpu"


def compute_types(settings: SttSettings) -> tuple[str, str]:
    """(weights for a decode that runs alone, for one started while another runs or waits)."""
    device = _device(settings.device)
    alone = settings.compute_type or ("float16" if device == "cuda" else "int8")
    return alone, settings.busy_compute_type or alone


class _LoadedModel:
    def __init__(self, path: Path, settings: SttSettings, compute: str):
        _quiet_idle_threads()
        from faster_whisper import WhisperModel

        device = _device(settings.device)
        self.path = path
        self.device = device
        self.compute_type = compute
        self.whisper = WhisperModel(
            str(path),
            device=device,
            compute_type=compute,
            cpu_threads=settings.threads,
            num_workers=settings.pool_size,
            local_files_only=True,
        )
        self.multilingual = bool(self.whisper.model.is_multilingual)
        default_window = 5.0 if self.multilingual else 7.0
        self.min_window_s = settings.min_window_s if settings.min_window_s is not None else default_window
        self._tokenizers: dict[str | None, object] = {}
        self._lock = threading.Lock()

    def tokenizer(self, language: str | None):
        from faster_whisper.tokenizer import Tokenizer

        key = language if self.multilingual else None
        with self._lock:
            tok = self._tokenizers.get(key)
            if tok is None:
                tok = Tokenizer(self.whisper.hf_tokenizer, self.multilingual, task="transcribe", language=key or "en")
                self._tokenizers[key] = tok
            return tok


class Recognizer:
    """Whisper weights for the whole process; `transcribe()` is thread-safe."""

    def __init__(self, settings: SttSettings | None = None):
        self.settings = settings or SttSettings()
        self._models: dict[tuple[str, str], _LoadedModel] = {}
        self._load_lock = threading.Lock()
        self.stats = SttStats()

    # ------------------------------------------------------------ models

    def batch_key(self, request: "SttRequest") -> tuple[str, bool, tuple[str, ...]]:
        """Requests with the same key can share a batch: same model, same work, same prompt.

        The prompt is part of it because a batch needs its prompts of one
        length, and padding a shorter one changes what Whisper hears (tiny.en
        on 191 caller turns in mixed batches of 4, the shorter prompts padded
        with spaces: word error rate 0.356 against 0.252 one by one; in
        batches of the same hints: the same text as one by one)."""
        kind = request.model or self._kind_for(None if request.language_only else request.language, request.languages)
        return kind, request.language_only, () if request.language_only else request.hints

    def _kind_for(self, language: str | None, languages: Sequence[str]) -> str:
        model = self.settings.model
        if model != "auto":
            return model
        wanted = [language] if language else list(languages)
        return models.ENGLISH if wanted and all(l == "en" for l in wanted) else models.MULTILINGUAL

    @cached_property
    def _compute_types(self) -> tuple[str, str]:
        return compute_types(self.settings)  # asks CTranslate2 for a GPU: once, not per utterance

    def model(self, kind: str, busy: bool = False) -> _LoadedModel:
        """The weights of `kind`: for a decode that runs alone, or for one started while another runs or waits."""
        compute = self._compute_types[1 if busy else 0]
        loaded = self._models.get((kind, compute))
        if loaded is not None:
            return loaded
        with self._load_lock:
            loaded = self._models.get((kind, compute))
            if loaded is None:
                loaded = _LoadedModel(models.resolve(kind, self.settings.cache_dir), self.settings, compute)
                self._models[(kind, compute)] = loaded
            return loaded

    def warm(self, languages: Sequence[str] = ("en",)) -> list[str]:
        """Load the model(s) these languages need now rather than on the first utterance."""
        kinds = {self._kind_for(None, [lang]) for lang in languages} | {self._kind_for(None, languages)}
        alone, busy = self._compute_types
        for kind in sorted(kinds):
            self.model(kind)
            if busy != alone:
                self.model(kind, busy=True)
        return sorted(kinds)

    def second_model(self, language: str | None) -> str | None:
        """The model that gives a second opinion on an utterance in `language`
        (see `SttSettings.second_opinion`), or None where there is no other."""
        if not self.settings.second_opinion or self.settings.model != "auto" or language is None:
            return None
        return models.MULTILINGUAL if self._kind_for(language, ()) == models.ENGLISH else None

    def detects(self, languages: Sequence[str]) -> bool:
        """Whether the model for these languages can tell them apart (loads it)."""
        return len(set(languages)) > 1 and self.model(self._kind_for(None, languages)).multilingual

    @property
    def loaded(self) -> list[str]:
        return sorted({kind for kind, _ in self._models})

    # ------------------------------------------------------------ recognition

    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int = 8000,
        language: str | None = None,
        hints: Sequence[str] = (),
        languages: Sequence[str] = (),
    ) -> SttResult:
        """Recognise one utterance of slin.

        `language` fixes the language; without it the language is detected,
        among `languages` when given (a Playbook's languages).
        """
        return self.transcribe_many([SttRequest(pcm, sample_rate, language, tuple(hints), tuple(languages))])[0]

    def transcribe_many(self, requests: Sequence[SttRequest], busy: bool = False) -> list[SttResult]:
        """Recognise several utterances (of different calls) in one batch.

        The encoder and the decoder run once for the whole batch, which a GPU
        does in about the time of one; a CPU takes as long as one by one.
        `busy`: another decode runs or waits, so the weights that share the
        machine best are used (`SttSettings.busy_compute_type`).
        """
        started = time.perf_counter()
        results: list[SttResult | None] = [None] * len(requests)
        groups: dict[tuple[str, bool, tuple[str, ...]], list[tuple[int, np.ndarray, int, SttRequest]]] = {}
        for i, req in enumerate(requests):
            pcm = req.pcm[:-1] if len(req.pcm) % 2 else req.pcm  # a torn last sample; the rest is good audio
            audio_ms = int(len(pcm) / (2 * req.sample_rate) * 1000) if req.sample_rate > 0 else 0
            if audio_ms < 100:
                results[i] = SttResult("", req.language, 0.0, 1.0, audio_ms, 0, dropped="too short")
                continue
            audio = to_float32(resample(pcm, req.sample_rate, WHISPER_RATE))
            groups.setdefault(self.batch_key(req), []).append((i, audio, audio_ms, req))
        for (kind, language_only, _), items in groups.items():
            work = self._detect if language_only else self._decode
            loaded = self.model(kind, busy)
            decoded = work(loaded, [(audio, req) for _, audio, _, req in items])
            for (i, _, audio_ms, _), result in zip(items, decoded):
                results[i] = replace(result, audio_ms=audio_ms, model=kind, weights=loaded.compute_type)
        compute_ms = int((time.perf_counter() - started) * 1000)
        done = [replace(r, compute_ms=compute_ms) for r in results if r is not None]
        assert len(done) == len(requests)
        with self.stats.lock:
            for r in done:
                if r.dropped not in ("too short", LANGUAGE_ONLY):
                    self.stats.utterances += 1
                    self.stats.audio_s += r.audio_ms / 1000
                    self.stats.dropped += r.dropped is not None
            # Batch time counts once: the RTF is compute per second of audio.
            self.stats.compute_s += compute_ms / 1000 if groups else 0.0
            self.stats.busy_batches += busy and bool(groups)
        return done

    def _window(self, frames: int, min_window_s: float) -> int:
        want = frames + int(self.settings.window_margin_s * FRAMES_PER_SECOND)
        want = max(want, int(min_window_s * FRAMES_PER_SECOND))
        want = -(-want // 100) * 100
        return min(FULL_WINDOW, want)

    def _features(self, whisper, audios: list[np.ndarray], min_window_s: float) -> tuple[np.ndarray, list[np.ndarray]]:
        """The batch of log-mel windows for the encoder, and each item's own frames."""
        feats = [whisper.feature_extractor(audio)[:, :FULL_WINDOW] for audio in audios]  # (n_mels, frames)
        window = max(self._window(f.shape[1], min_window_s) for f in feats)
        # Whisper pads with the log-mel of silence, not zeros.
        pad = whisper.feature_extractor(np.zeros(WHISPER_RATE // 10, dtype=np.float32))[:, :1]
        batch = np.repeat(np.repeat(pad[None], len(audios), axis=0), window, axis=2).astype(np.float32)
        for b, f in enumerate(feats):
            batch[b, :, : f.shape[1]] = f
        return batch, feats

    def _detect(self, loaded: _LoadedModel, items: list[tuple[np.ndarray, SttRequest]]) -> list[SttResult]:
        """The language alone: the encoder over the audio so far and one
        decoder step. About a second of speech is enough (first turns of the
        sample calls: 94% detected as English with a share >= 0.9 after 1 s
        of voice, none wrongly), so it needs no more window than the audio."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        if not loaded.multilingual:
            raise ValueError(f"{loaded.path.name} is an English-only model: it cannot tell languages apart")
        whisper = loaded.whisper
        batch, _ = self._features(whisper, [audio for audio, _ in items], 0.0)
        encoded = whisper.model.encode(get_ctranslate2_storage(batch), to_cpu=False)
        detected = whisper.model.detect_language(encoded)
        results = []
        for scores, (audio, req) in zip(detected, items):
            language, share = _pick_language(scores, req.languages, len(audio) / WHISPER_RATE)
            results.append(SttResult("", language, 0.0, 0.0, 0, 0, LANGUAGE_ONLY, share))
        return results

    def _decode(self, loaded: _LoadedModel, items: list[tuple[np.ndarray, SttRequest]]) -> list[SttResult]:
        """Words for items that share their hints (one batch_key)."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        whisper = loaded.whisper
        batch, feats = self._features(whisper, [audio for audio, _ in items], loaded.min_window_s)
        encoded = whisper.model.encode(get_ctranslate2_storage(batch), to_cpu=False)

        languages: list[str] = []
        probabilities: list[float | None] = []
        detected = None
        for b, (_, req) in enumerate(items):
            if not loaded.multilingual:
                languages.append("en")
                probabilities.append(None)
            elif req.language is not None:
                languages.append(req.language)
                probabilities.append(None)
            else:
                if detected is None:
                    detected = whisper.model.detect_language(encoded)  # per item: [("<|en|>", p), ...]
                lang, prob = _pick_language(detected[b], req.languages, len(items[b][0]) / WHISPER_RATE)
                languages.append(lang)
                probabilities.append(prob)
        tokenizers = [loaded.tokenizer(lang) for lang in languages]

        # The hints are the "previous text"; the items of a batch share them
        # (batch_key), so every prompt has <|startoftranscript|> at one place.
        text = build_prompt(items[0][1].hints, self.settings.max_prompt_words)
        previous = tokenizers[0].encode(" " + text)[: MAX_TOKENS // 4] if text else []
        prompts = [whisper.get_prompt(tok, previous, without_timestamps=True) for tok in tokenizers]
        seconds = max(f.shape[1] for f in feats) / FRAMES_PER_SECOND
        # A decode that runs past twice a caller's pace is mostly Whisper
        # looping over the utterance (a list-like prompt and a short window
        # invite it); each looped token costs as much as a heard one, so the
        # first pass stops there and only a decode that is not a loop goes
        # on, up to the hard limit.
        first = int(self.settings.first_pass_tokens_per_s * seconds) + 8
        limit = min(MAX_TOKENS - len(prompts[0]), int(12 * seconds) + 16)
        outputs = self._generate(whisper, encoded, prompts, tokenizers[0], min(first, limit))
        for b, out in enumerate(outputs):
            ids = out.ids
            if len(ids) < first or first >= limit:
                continue  # ended on its own
            text = tokenizers[b].decode([t for t in ids if t < tokenizers[b].eot])
            if len(_words(collapse_repeats(text))) < len(_words(text)):
                continue  # a loop: more of it would be collapsed anyway
            rest = self._generate(whisper, _item(encoded, batch, b, whisper), [prompts[b] + ids],
                                  tokenizers[b], limit - len(ids), continuing=True)[0]
            outputs[b] = _Decoded.joined(out, rest)
        return [
            self._judge(out, tok, lang, prob)
            for out, tok, lang, prob in zip(outputs, tokenizers, languages, probabilities)
        ]

    def _generate(self, whisper, encoded, prompts: list[list[int]], tokenizer, max_new: int,
                  continuing: bool = False) -> list[_Decoded]:
        outputs = whisper.model.generate(
            encoded,
            prompts,
            beam_size=self.settings.beam_size,
            # CTranslate2 stops a Whisper decode at half of max_length when
            # that comes first (ctranslate2 4.x: a 2-token prompt with
            # max_length 16 gives 8 tokens), so it is set for both bounds.
            max_length=max(len(prompts[0]) + max_new, 2 * max_new),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=not continuing,  # it would forbid ending right where the first pass stopped
            suppress_tokens=_suppressed(tokenizer),
        )
        return [_Decoded(list(o.sequences_ids[0]), float(o.scores[0]), float(o.no_speech_prob)) for o in outputs]

    def _judge(self, out: _Decoded, tokenizer, language: str, language_probability: float | None) -> SttResult:
        """Text, or nothing with the reason, from one decoded utterance."""
        tokens = [t for t in out.ids if t < tokenizer.eot]
        n = len(tokens)
        avg_logprob = (out.score * n) / (n + 1) if n else -math.inf
        no_speech = float(out.no_speech_prob)
        # A closing full stop is Whisper's habit, not the caller's words.
        text = tidy(collapse_repeats(tokenizer.decode(tokens).strip()).rstrip(".。 ").strip())
        confidence = math.exp(avg_logprob) if n else 0.0
        s = self.settings
        dropped = None
        if not text:
            dropped = "nothing recognised"
        elif no_speech > s.hard_no_speech or (no_speech > s.no_speech_threshold and avg_logprob < s.log_prob_threshold):
            dropped = "no speech"
        elif _compression_ratio(text) > s.compression_ratio_threshold:
            # "No, no, no, no, ..." is a short answer Whisper looped on; a long
            # repetitive text is a hallucination.
            text = _collapse_word_loops(text)
            if len(_words(text)) > 3 or _compression_ratio(text) > s.compression_ratio_threshold:
                dropped = "repetitive"
        elif _filler(text) and (no_speech > 0.2 or avg_logprob < -0.7):
            dropped = "filler"
        if dropped:
            return SttResult("", language, 0.0, no_speech, 0, 0, dropped, language_probability, len(out.ids))
        return SttResult(text, language, round(confidence, 3), round(no_speech, 3), 0, 0, None, language_probability,
                         len(out.ids))


@dataclass(frozen=True)
class _Decoded:
    ids: list[int]
    score: float  # mean log-probability per token
    no_speech_prob: float

    @staticmethod
    def joined(head: "_Decoded", tail: "_Decoded") -> "_Decoded":
        """A decode continued from where its first pass stopped."""
        n, total = len(head.ids), len(tail.ids)
        # CTranslate2 returns the forced prefix with what follows, scored as
        # certain (log-probability 0) but counted in the mean.
        m = total - n if tail.ids[:n] == head.ids else total
        score = (head.score * n + tail.score * total) / (n + m) if n + m else head.score
        tail = _Decoded(tail.ids[total - m :], tail.score, tail.no_speech_prob)
        return _Decoded(head.ids + tail.ids, score, head.no_speech_prob)


def _item(encoded, features: np.ndarray, b: int, whisper):
    """Item b of an encoded batch, as a batch of one."""
    from faster_whisper.transcribe import get_ctranslate2_storage

    if encoded.device == "cpu":
        return get_ctranslate2_storage(np.ascontiguousarray(np.asarray(encoded)[b : b + 1]))
    return whisper.model.encode(get_ctranslate2_storage(features[b : b + 1]), to_cpu=False)


@dataclass(frozen=True)
class SttRequest:
    pcm: bytes
    sample_rate: int = 8000
    language: str | None = None
    hints: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    language_only: bool = False  # detect the language among `languages`, decode no words
    model: str | None = None  # this model rather than the one the language calls for (a second opinion)
    waiting_since: float | None = None  # time.monotonic() when the caller began to wait for it


@dataclass(order=True)
class _Queued:
    since: float
    order: int  # first come, first served among equals
    request: SttRequest = field(compare=False)
    future: Future[SttResult] = field(compare=False)
    queued_at: float = field(default=0.0, compare=False)  # time.monotonic() when it was submitted


SttTimes = Callable[[float, float], None]  # (seconds queued, seconds decoding) of one request


def _pick_language(scores: Sequence[tuple[str, float]], languages: Sequence[str],
                   seconds: float = 10.0) -> tuple[str, float]:
    """The likeliest of the allowed languages, with its share among them.

    A word or two ("yes" in a formant voice came out as Spanish, 0.84, on a
    5 s window) says too little to leave the Playbook's first language on a
    hunch: under SHORT_UTTERANCE_S that takes a sure detection."""
    probs = {token[2:-2]: float(p) for token, p in scores}
    allowed = [l for l in languages if l in probs] or list(probs)
    best = max(allowed, key=lambda l: probs[l])
    total = sum(probs[l] for l in allowed) or 1.0
    share = round(probs[best] / total, 3)
    first = allowed[0]
    if best != first and seconds < SHORT_UTTERANCE_S and share < 0.9 and languages:
        return first, round(probs[first] / total, 3)
    return best, share


_SUPPRESS_CACHE: dict[int, list[int]] = {}


def _suppressed(tokenizer) -> list[int]:
    """Whisper's default non-speech symbols (music notes, brackets, ...)."""
    cached = _SUPPRESS_CACHE.get(id(tokenizer))
    if cached is None:
        from faster_whisper.transcribe import get_suppressed_tokens

        cached = _SUPPRESS_CACHE[id(tokenizer)] = list(get_suppressed_tokens(tokenizer, [-1]))
    return cached


class SttPool:
    """The bounded inference pool shared by every call of the process.

    `pool_size` threads decode; each takes the utterance whose caller has
    waited longest (on a GPU, with up to `max_batch` - 1 more that can share
    its batch, see `Recognizer.batch_key`). A caller waits from the end of
    their speech (`waiting_since`); work asked for while a caller still
    talks (a language question, an early guess) counts from when it was
    asked. So an utterance whose decode could only start once its language
    was known is not put behind the questions of callers who started
    talking later. Calls await their result without blocking the event
    loop; a request cancelled before its batch starts costs nothing.
    """

    def __init__(self, recognizer: Recognizer, pool_size: int | None = None, max_batch: int | None = None,
                 on_times: SttTimes | None = None, on_depth: Callable[[int], None] | None = None):
        self.recognizer = recognizer
        # Where each request's wait and decode time go (the worker's metrics), and the queue's length.
        self.on_times = on_times
        self.on_depth = on_depth
        self.size = pool_size or recognizer.settings.pool_size
        # On a CPU every utterance of a batch waits for the whole batch, for
        # little gain: tiny.en on two cores is 20-30% cheaper per utterance
        # in fours, but only callers asked the same question can share one,
        # which is rare (20 calls at once, batches of up to 4: p95 3616 ms
        # against 3356 / 3634 one at a time). One at a time there.
        if max_batch is None:
            max_batch = 8 if _device(recognizer.settings.device) == "cuda" else 1
        self.max_batch = max_batch
        self._pending: list[_Queued] = []  # a heap: the longest waiting first
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._busy = 0
        self._closed = False
        self.batches = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"stt-{i}", daemon=True) for i in range(self.size)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def waiting(self) -> int:
        """Utterances queued or being decoded now (a load figure)."""
        with self._cv:
            return len(self._pending) + self._busy

    def submit(self, request: SttRequest) -> Future[SttResult]:
        future: Future[SttResult] = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the speech recognition pool is shut down")
            now = time.monotonic()
            since = request.waiting_since if request.waiting_since is not None else now
            heapq.heappush(self._pending, _Queued(since, next(self._order), request, future, now))
            self._cv.notify()
            depth = len(self._pending)
        if self.on_depth is not None:
            self.on_depth(depth)
        return future

    async def transcribe(
        self,
        pcm: bytes,
        sample_rate: int = 8000,
        language: str | None = None,
        hints: Sequence[str] = (),
        languages: Sequence[str] = (),
        waiting_since: float | None = None,
        model: str | None = None,
    ) -> SttResult:
        """`waiting_since`: when (time.monotonic()) the caller stopped talking, if they wait for this;
        `model`: this one rather than the language's (a second opinion)."""
        future = self.submit(SttRequest(pcm, sample_rate, language, tuple(hints), tuple(languages),
                                        waiting_since=waiting_since, model=model))
        return await asyncio.wrap_future(future)

    async def detect_language(self, pcm: bytes, sample_rate: int, languages: Sequence[str]) -> SttResult:
        """Which of `languages` this (partial) utterance is in; no words decoded."""
        future = self.submit(SttRequest(pcm, sample_rate, None, (), tuple(languages), language_only=True))
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        with self._cv:
            self._closed = True
            for queued in self._pending:
                queued.future.cancel()
            self._pending.clear()
            self._cv.notify_all()
        for thread in self._threads:  # decoders done before the weights go (at exit CTranslate2 aborts otherwise)
            if thread is not threading.current_thread():
                thread.join(30)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                taken = self._take()
                batch = [(q.request, q.future) for q in taken]
                self._busy += len(batch)
                # Another decode runs, or someone waits behind this one.
                busy = bool(self._pending) or self._busy > len(batch)
                depth = len(self._pending)
            if not batch:
                continue
            if self.on_depth is not None:
                self.on_depth(depth)
            started = time.monotonic()
            outcome: list[SttResult] | Exception
            try:
                outcome = self.recognizer.transcribe_many([req for req, _ in batch], busy)
                self.batches += 1
            except Exception as exc:  # one bad batch fails its requests, never the pool
                outcome = exc
            # The load figure drops before anyone hears back, so a caller that
            # has its result never sees its own utterance still counted.
            with self._cv:
                self._busy -= len(batch)
            if self.on_times is not None:
                ran = time.monotonic() - started
                for queued in taken:
                    self.on_times(started - queued.queued_at, ran)
            for index, (_, fut) in enumerate(batch):
                if isinstance(outcome, Exception):
                    fut.set_exception(outcome)
                else:
                    fut.set_result(outcome[index])

    def _take(self) -> list[_Queued]:
        """The longest-waiting live request and the next queued ones with its batch key (lock held)."""
        batch: list[_Queued] = []
        key = None
        kept: list[_Queued] = []
        while self._pending and len(batch) < self.max_batch:
            queued = heapq.heappop(self._pending)
            req, fut = queued.request, queued.future
            if fut.cancelled():
                continue
            this = self.recognizer.batch_key(req)
            if key is not None and this != key:
                kept.append(queued)
            elif fut.set_running_or_notify_cancel():
                batch.append(queued)
                key = this
        for queued in kept:
            heapq.heappush(self._pending, queued)
        return batch


_shared: dict[SttSettings, SttPool] = {}
_shared_lock = threading.Lock()


def shared_pool(settings: SttSettings | None = None) -> SttPool:
    """The process's pool (and model) for these settings: created once. Its
    waits, decode times and queue length feed the process's metrics
    (callticket_stt_queue_seconds, callticket_stt_seconds, callticket_stt_queue_depth)."""
    from agi import metrics

    settings = settings or SttSettings()
    with _shared_lock:
        pool = _shared.get(settings)
        if pool is None:
            pool = _shared[settings] = SttPool(Recognizer(settings), on_times=metrics.stt_time,
                                               on_depth=metrics.stt_queue_depth)
        return pool


def settings_from_env(**overrides: object) -> SttSettings:
    """Defaults, then CALLTICKET_STT_* environment variables, then overrides."""
    env = os.environ
    values: dict[str, object] = {}
    if env.get("CALLTICKET_STT_MODEL"):
        values["model"] = env["CALLTICKET_STT_MODEL"]
    if env.get("CALLTICKET_STT_THREADS"):
        values["threads"] = int(env["CALLTICKET_STT_THREADS"])
    if env.get("CALLTICKET_STT_POOL"):
        values["pool_size"] = int(env["CALLTICKET_STT_POOL"])
    if env.get("CALLTICKET_STT_DEVICE"):
        values["device"] = env["CALLTICKET_STT_DEVICE"]
    if env.get("CALLTICKET_STT_COMPUTE_TYPE"):
        values["compute_type"] = env["CALLTICKET_STT_COMPUTE_TYPE"]
    if env.get("CALLTICKET_STT_SECOND_OPINION"):
        values["second_opinion"] = env["CALLTICKET_STT_SECOND_OPINION"].strip().lower() not in ("0", "false", "no", "off")
    if env.get("CALLTICKET_STT_BUSY_COMPUTE_TYPE"):
        values["busy_compute_type"] = env["CALLTICKET_STT_BUSY_COMPUTE_TYPE"]
    values.update(overrides)
    return SttSettings(**values)  # type: ignore[arg-type]
