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
* with --spot MS: language spotting instead of decoding, on each turn's
  first MS of voice (turns with that much): spotted (English, sure),
  spotted_wrong (another language, sure) and detect_ms_mean;
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
import json
import sys
from dataclasses import replace
from typing import Any, NamedTuple

from rapidfuzz.distance import Levenshtein

from agi.call import CONFIDENCE_MARGIN
from agi.media import g711
from agi.session import shared_speech
from agi.simulate import TextCall
from agi.simulate_audio import _DTMF, as_written, caller_voice
from agi.speech.models import MULTILINGUAL
from agi.speech.stt import Recognizer, SttRequest, SttSettings, _words
from agi.speech.tts import Voice
from agi.speech.vad import Endpointer
from bench.speech import CALLS, Playbooks, _no_pos, _pct, english_calls


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
                   help="detect the language only, from each turn's first SPOT ms of voice (with --languages)")
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
    recognizer = Recognizer(settings)  # --margin sets the question's window too
    prefixes = [p for p in (first_voice(turn.pcm, args.spot) for turn in caller_turns()[:: max(1, args.every)]) if p]
    warm = SttRequest(prefixes[0], 8000, None, (), languages, language_only=True)
    recognizer.transcribe_many([warm])
    spotted = wrong = 0
    detect_ms: list[int] = []
    for pcm in prefixes:
        (result,) = recognizer.transcribe_many([SttRequest(pcm, 8000, None, (), languages, language_only=True)])
        sure = (result.language_probability or 0.0) >= 0.9
        spotted += sure and result.language == "en"
        wrong += sure and result.language != "en"
        detect_ms.append(result.compute_ms)
    n = len(prefixes)
    return {
        "model": args.model,
        "spot_after_ms": args.spot,
        "turns": n,
        "spotted": round(spotted / n, 3),
        "spotted_wrong": round(wrong / n, 3),
        "detect_ms_mean": round(sum(detect_ms) / n),
        "detect_ms_p95": _pct(detect_ms, 0.95),
    }


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
