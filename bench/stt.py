"""`callticket bench stt`: speech-to-text alone on the sample calls' caller turns.

Each turn of the English scripted calls is spoken in the caller voice its
call gets in `bench speech`, passed through a µ-law line and recognised with
the hints the bot would have given at that point of the call. One decode at
a time, so the figures compare models and encoder windows on this CPU:

* wer: word error rate against the script, numbers and punctuation as written;
* turns_wrong: share of turns with any word wrong;
* decode_ms_mean / p95: compute per utterance; tokens_mean: tokens decoded;
* compute_type / beam_size: the weights and search measured (--compute-type,
  --beam): what each costs and gains on this host's CPU;
* english_detected / sure (with --languages): share of turns detected as
  English, and detected with a share of at least 0.9 (what locks a call's
  language);
* with --spot MS: language spotting as a call does it (two sure looks that
  agree, from MS ms of voice) instead of decoding, on the turns and on
  recorded prompts (tests/speech/data, --prompts DIR): per set spotted (the
  right language fixed), spotted_wrong (another fixed), the same for a single
  look (one_look_*), and detect_ms_mean; run it under CT2_FORCE_CPU_ISA=AVX2
  and =AVX512 to see how much the instruction set moves it;
* with --second-opinion: what a second model is worth on a turn said again.
  Each turn --model got a word wrong is said again 15% slower, as the
  simulated caller does, and heard by --model and by the multilingual base:
  first_wrong, then again_wrong_same_model / again_wrong_base (turns still
  with a word wrong) and again_wrong_both. Where the two models' readings
  of one utterance (either time) differ in words wrong: readings_differ, and
  how often the one with fewer is what the call core answers from
  (fewer_errors_picked_by_confidence) or would be if it always took the
  second opinion (fewer_errors_picked_always_second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz.distance import Levenshtein

from agi.call import CONFIDENCE_MARGIN
from agi.media import g711
from agi.session import shared_speech
from agi.simulate import TextCall
from agi.simulate_audio import _DTMF, as_written, caller_voice
from agi.speech.models import MULTILINGUAL
from agi.speech.spotting import spot
from agi.speech.stt import Recognizer, SttPool, SttRequest, SttSettings, _words
from agi.speech.tts import Voice
from agi.speech.vad import Endpointer
from bench.speech import CALLS, ROOT, Playbooks, _no_pos, _pct, english_calls

PROMPTS = ROOT / "tests" / "speech" / "data"  # recorded prompts (their README says whose)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("stt", help="speech-to-text alone: word error rate and decode time per model/window")
    p.add_argument("--model", default="tiny.en", help="tiny.en, base or a model directory")
    p.add_argument("--window", type=float, default=None,
                   help="minimum encoder window in seconds (default: the model's own, 7 s tiny.en, 5 s base)")
    p.add_argument("--margin", type=float, default=None,
                   help="seconds of encoder window beyond the utterance (default: the worker's, 1.0)")
    p.add_argument("--compute-type", default=None, help="int8, float32, ... (default: the worker's, int8 on CPU)")
    p.add_argument("--beam", type=int, default=1, help="beam size (default: the worker's, 1: greedy)")
    p.add_argument("--every", type=int, default=1, help="every n-th caller turn (3: a third of them)")
    p.add_argument("--languages", default="", help="detect the language among these (e.g. en,es,zh) instead of fixing en")
    p.add_argument("--spot", type=int, default=0,
                   help="language spotting as a call does it, looking after SPOT ms of voice (with --languages), "
                        "on the sample calls and recorded prompts")
    p.add_argument("--prompts", action="append", default=[], metavar="DIR",
                   help="with --spot: also these recorded prompts (e.g. /usr/share/asterisk/sounds/es_MX_f_Allison "
                        "from the Debian package asterisk-core-sounds-es-wav; the language from the name)")
    p.add_argument("--second-opinion", action="store_true",
                   help="turns --model got wrong, said again slower: still wrong by --model and by base")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


class Turn(NamedTuple):
    call: str
    text: str  # what the caller says
    hints: tuple[str, ...]  # the bot's hints at that point
    pcm: bytes  # through a µ-law line
    voice: Voice


def caller_turns() -> list[Turn]:
    """Every spoken turn of the English sample calls, in its call's caller voice."""
    speech = shared_speech()
    playbooks = Playbooks()
    turns = []
    for i, (name, script) in enumerate(english_calls(CALLS)):
        voice = caller_voice("en", i)
        call = TextCall(playbooks[name.split("/")[0]], script, _no_pos)
        for text in script.say:
            if call.finished:
                break
            keys = _DTMF.match(text)
            if keys:
                for digit in keys.group(1):
                    call.dtmf(digit)
                continue
            turns.append(Turn(name, text, tuple(call.controller._last_hints), spoken(text, voice), voice))
            call.say(text)
    return turns


def spoken(text: str, voice: Voice) -> bytes:
    """`text` in `voice` as it arrives over a µ-law line."""
    return g711.through_line(shared_speech().speaker.render(text, voice, "en"), "ulaw")


def word_errors(said: str, heard: str) -> tuple[int, int]:
    """(words wrong, words said), both as written: "thirty percent" and "30%" are the same words."""
    expected = _words(as_written(said))
    return Levenshtein.distance(expected, _words(as_written(heard))), len(expected)


def first_voice(pcm: bytes, voiced_ms: int) -> bytes | None:
    """The utterance as a call has heard it once it holds `voiced_ms` of voice."""
    endpointer = Endpointer(sample_rate=8000)
    for i in range(0, len(pcm), endpointer.frame_bytes):
        endpointer.feed(pcm[i : i + endpointer.frame_bytes])
        if endpointer.voiced_ms >= voiced_ms:
            return endpointer.so_far()
    return None


def spotting(args: argparse.Namespace, settings: SttSettings, languages: tuple[str, ...]) -> dict[str, Any]:
    """Language spotting as a call does it (agi.speech.spotting.spot: two sure
    looks in a row, at SPOT and SPOT + 500 ms of voice or at the pause), on
    the sample calls' caller turns (English) and on recorded prompts: those of
    tests/speech/data and any --prompts directory (Asterisk's core sounds:
    /usr/share/asterisk/sounds/es_MX_f_Allison, the language from the name),
    those with at least SPOT ms of voice. Per set: spotted (the right language
    fixed), spotted_wrong (another one fixed), and the same for one_look (a
    single sure look at SPOT ms fixing the language, the rule before)."""
    pool = SttPool(Recognizer(settings), pool_size=1)  # --margin sets the question's window too
    sets: dict[str, list[bytes]] = {"sample_calls_en": [t.pcm for t in caller_turns()[:: max(1, args.every)]]}
    for name, pcm in recorded_prompts(args.prompts):
        sets.setdefault(f"prompts_{name[:2]}", []).append(pcm)
    asyncio.run(spot(pool, sets["sample_calls_en"][0], languages, after_ms=args.spot))  # load, warm
    out: dict[str, Any] = {"model": args.model, "spot_after_ms": args.spot,
                           "isa": os.environ.get("CT2_FORCE_CPU_ISA") or "default"}
    started = time.perf_counter()
    looks = 0
    for name, recordings in sets.items():
        language = name.rsplit("_", 1)[1]
        spotters = [asyncio.run(spot(pool, pcm, languages, after_ms=args.spot))
                    for pcm in recordings if first_voice(pcm, args.spot)]
        looks += sum(s.tries for s in spotters)
        n = len(spotters) or 1
        first = [s.seen[0] for s in spotters if s.seen and (s.seen[0][1] or 0.0) >= 0.9]
        out[name] = {
            "n": len(spotters),
            "spotted": round(sum(s.language == language for s in spotters) / n, 3),
            "spotted_wrong": round(sum(s.language not in (None, language) for s in spotters) / n, 3),
            "one_look_spotted": round(sum(lang == language for lang, _ in first) / n, 3),
            "one_look_wrong": round(sum(lang != language for lang, _ in first) / n, 3),
        }
    out["detect_ms_mean"] = round((time.perf_counter() - started) * 1000 / max(1, looks))
    pool.shutdown()
    return out


def recorded_prompts(directories: list[str]) -> list[tuple[str, bytes]]:
    """(language-prefixed name, 8 kHz slin) of the recorded prompts: tests/speech/data and `directories`."""
    from agi.media.wav import read_wav

    paths = [(path, path.name[:2]) for path in sorted(PROMPTS.glob("*.wav"))]  # es-vm-sorry.wav: es
    for directory in directories:  # es_MX_f_Allison: es
        paths += [(path, Path(directory).name[:2].lower()) for path in sorted(Path(directory).glob("*.wav"))]
    out = []
    for path, language in paths:
        pcm, rate = read_wav(path)
        if rate == 8000:
            out.append((f"{language}-{path.stem}", pcm))
    return out


def settings_for(args: argparse.Namespace) -> SttSettings:
    """The recogniser settings the command line asks for; the worker's defaults for the rest."""
    settings = SttSettings(model=args.model, min_window_s=args.window, compute_type=args.compute_type,
                           beam_size=args.beam)
    if args.margin is not None:
        settings = replace(settings, window_margin_s=args.margin)
    return settings


def second_opinion(args: argparse.Namespace, settings: SttSettings) -> dict[str, Any]:
    recognizer = Recognizer(settings)

    def heard(pcm: bytes, turn: Turn, model: str) -> tuple[int, float, str]:
        (result,) = recognizer.transcribe_many([SttRequest(pcm, 8000, "en", turn.hints, model=model)])
        return word_errors(turn.text, result.text)[0], result.confidence, result.text

    first = again_same = again_base = again_both = 0
    # Of the utterances where the two models' readings differ and one has
    # fewer words wrong: how often that one is picked by the call core's rule
    # (the second opinion unless the first is surer by CONFIDENCE_MARGIN), and
    # how often always taking the second opinion would pick it.
    decided = by_rule = by_second = 0
    turns = caller_turns()[:: max(1, args.every)]
    for turn in turns:
        errors = heard(turn.pcm, turn, args.model)
        if not errors[0]:
            continue
        first += 1
        slower = spoken(turn.text, replace(turn.voice, rate=int(turn.voice.rate * 0.85)))
        same, base = heard(slower, turn, args.model), heard(slower, turn, MULTILINGUAL)
        again_same += bool(same[0])
        again_base += bool(base[0])
        again_both += bool(same[0]) and bool(base[0])
        for one, other in ((errors, heard(turn.pcm, turn, MULTILINGUAL)), (same, base)):
            if not other[2] or one[0] == other[0]:
                continue
            decided += 1
            rule_first = one[1] > other[1] + CONFIDENCE_MARGIN
            by_rule += (one[0] < other[0]) == rule_first
            by_second += other[0] < one[0]
    return {
        "model": args.model,
        "second_model": MULTILINGUAL,
        "turns": len(turns),
        "first_wrong": first,
        "again_wrong_same_model": again_same,
        "again_wrong_base": again_base,
        "again_wrong_both": again_both,
        "readings_differ": decided,
        "fewer_errors_picked_by_confidence": by_rule,
        "fewer_errors_picked_always_second": by_second,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_for(args)
    languages = tuple(lang for lang in args.languages.split(",") if lang)
    if args.spot:
        return spotting(args, settings, languages or ("en", "es", "zh"))
    if args.second_opinion:
        return second_opinion(args, settings)
    recognizer = Recognizer(settings)
    turns = caller_turns()[:: max(1, args.every)]
    recognizer.transcribe(turns[0].pcm, 8000, None if languages else "en", turns[0].hints, languages)  # load, warm
    errors = words = wrong = english = sure = tokens = 0
    decode_ms: list[int] = []
    for turn in turns:
        result = recognizer.transcribe(turn.pcm, 8000, None if languages else "en", turn.hints, languages)
        distance, said = word_errors(turn.text, result.text)
        errors += distance
        words += said
        wrong += distance > 0
        english += result.language == "en"
        sure += result.language == "en" and (result.language_probability or 1.0) >= 0.9
        tokens += result.tokens
        decode_ms.append(result.compute_ms)
    n = len(turns)
    loaded = recognizer.model(args.model)
    out: dict[str, Any] = {
        "model": args.model,
        "min_window_s": loaded.min_window_s,
        "window_margin_s": settings.window_margin_s,
        "compute_type": loaded.compute_type,
        "beam_size": settings.beam_size,
        "turns": n,
        "wer": round(errors / max(1, words), 3),
        "turns_wrong": round(wrong / n, 3),
        "decode_ms_mean": round(sum(decode_ms) / n),
        "decode_ms_p95": _pct(decode_ms, 0.95),
        "tokens_mean": round(tokens / n, 1),
    }
    if languages:
        out.update(english_detected=round(english / n, 3), english_sure=round(sure / n, 3))
    return out


def run(args: argparse.Namespace) -> int:
    result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    sys.stdout.flush()
    return 0
