"""`callticket bench speech`: the audio path, measured the way a caller feels it.

Every English scripted call under tests/dialogue/calls is run twice: in text
(the reference) and spoken over a simulated phone line (`simulate --audio`:
one caller voice per call, rotating over piper/flite/espeak-ng -> 8 kHz µ-law -> 20 ms frames in real
time -> VAD -> STT -> dialogue -> TTS -> paced playout). Figures:

* latency_ms_p50 / p95: caller's end of speech -> first frame of the reply,
  over every answered turn of every call, one call at a time (N = 1);
* ticket_match: share of audio calls that end like their text run (same
  outcome and the same committed ticket, its words compared case- and
  punctuation-blind), overall and per caller voice engine; the simulated
  caller says a turn again or corrects a misheard one ("no, I said ...")
  at most `--repeats` times, and how often it had to is reported beside it
  (repeats, corrections, calls_corrected, ticket_match_first_time);
* second_opinions: utterances the bot had the second model hear again (a
  reading it could not make sense of, or a correction), and
  latency_ms_second_opinion, their reply latency p50 / p95;
* concurrency: N = 1, 5, 10, 20, 40 calls at once in this one process, each
  streamed in real time: p95 latency and the share of calls completed;
* rss_mb: the process after the models loaded, and per added call;
* rtf: speech-to-text compute time per second of audio; stt_weights: the
  weights of a decode alone and of one taken while others wait, and
  stt_busy_batches: how many decodes started while another ran or waited;
* latency_ms_turn1 / turn10: a 12-turn call, reply latency must not grow.

Spanish and Chinese calls are left out: espeak-ng's synthetic es/zh speech is
too poor for Whisper to recognise (the language tests use real recordings).
One call at a time, the simulated caller hears the bot faster than real time
(`--listen-speed`) so a run takes less wall time; with several calls at
once it hears in real time, so each call loads the worker as a real one
does. The caller's own audio is always real time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from agi import events as ev
from agi.playbook import LANGUAGES, LoadedPlaybook, load_playbook
from agi.session import shared_speech
from agi.simulate import Script, run_script
from agi.simulate_audio import AudioOptions, as_written, audio_call, caller_voice
from agi.speech.stt import compute_types

ROOT = Path(__file__).resolve().parents[1]
CALLS = ROOT / "tests" / "dialogue" / "calls"

# A long order: questions and additions that keep the call open for 12 turns.
LONG_CALL = Script.model_validate(
    {
        "caller": {"number": "+15551230000", "language": "en"},
        "at": "2026-11-20T18:00:00",
        "say": [
            "a large pepperoni pizza please",
            "how much is a caesar salad?",
            "add a caesar salad",
            "what comes on the veggie pizza?",
            "add a medium veggie pizza",
            "how much is that so far?",
            "add garlic knots",
            "what time do you close today?",
            "add a small cheese pizza",
            "how much is that so far?",
            "that's all",
            "no thanks",
        ],
    }
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("speech", help="speech path: reply latency, ticket match, concurrency, RSS, RTF")
    p.add_argument("--calls", type=Path, default=CALLS, help="scripted calls (<playbook>/<name>.yaml)")
    p.add_argument("--limit", type=int, default=0, help="at most this many calls for latency/ticket_match (0: all)")
    p.add_argument("--concurrency", default="1,5,10,20,40", help="simultaneous calls to try ('' to skip)")
    p.add_argument("--listen-speed", type=float, default=4.0,
                   help="how fast the simulated caller hears the bot, one call at a time")
    p.add_argument("--concurrent-listen-speed", type=float, default=1.0,
                   help="the same with several calls at once (1: real time, a real call's load on the worker)")
    p.add_argument("--skip-calls", action="store_true", help="skip the per-call pass (latency, ticket_match)")
    p.add_argument("--skip-long", action="store_true", help="skip the 12-turn call")
    p.add_argument("--repeats", type=int, default=2,
                   help="times a simulated caller may say a turn again or correct a misheard one (0: never)")
    p.add_argument("--languages", type=_languages, default=[],
                   help="comma-separated: every Playbook speaks only these (e.g. 'en': a one-language line, "
                        "whose callers are asked no language question); default: each Playbook's own")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


# ------------------------------------------------------------ helpers


def _languages(text: str) -> list[str]:
    languages = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in languages if x not in LANGUAGES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown language(s) {', '.join(unknown)}: a Playbook speaks "
                                         f"{', '.join(LANGUAGES)}")
    return languages


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _no_pos(ticket: Any, key: str) -> ev.CommitDone:
    # The POS is the outbox benchmark's business; the ticket is what counts here.
    return ev.CommitDone("bench", key, "bench")


def english_calls(calls_dir: Path) -> list[tuple[str, Script]]:
    yaml = YAML(typ="safe")
    out = []
    for path in sorted(calls_dir.glob("*/*.yaml")):
        script = Script.model_validate(yaml.load(path.read_text())["script"])
        if (script.caller.language or "en") == "en":
            out.append((path.parent.name + "/" + path.stem, script))
    return out


class Playbooks(dict):
    def __init__(self, languages: Sequence[str] = ()):
        super().__init__()
        self.languages = list(languages)  # instead of each Playbook's, when given

    def __missing__(self, name: str) -> LoadedPlaybook:
        loaded = load_playbook(ROOT / "playbooks" / f"{name}.yaml")
        if self.languages:
            pb = loaded.playbook
            business = pb.business.model_copy(update={"languages": self.languages})
            loaded = LoadedPlaybook(loaded.path, pb.model_copy(update={"business": business}), loaded.catalog)
        self[name] = loaded
        return loaded


def _same(a: dict, b: dict) -> bool:
    return (
        a["outcome"] == b["outcome"]
        and as_written(a["ticket"]) == as_written(b["ticket"])
        and a["transfer"] == b["transfer"]
    )


def _same_order(a: dict, b: dict) -> bool:
    """Same outcome and the same lines, options, fulfilment and total: the
    free-text fields (the caller's name, a symptom in their words) aside."""
    if a["outcome"] != b["outcome"]:
        return False
    if a["ticket"] is None or b["ticket"] is None:
        return a["ticket"] == b["ticket"]
    keys = ("kind", "items", "fulfillment", "total_minor")
    return all(a["ticket"].get(k) == b["ticket"].get(k) for k in keys)


def _log_misheard(audio: dict, log) -> None:
    for turn in audio["turns"][1:]:
        if turn["caller"] != turn["heard"]:
            log(f"    said {turn['caller']!r} heard {turn['heard']!r}")


def _turn_latencies(result: dict) -> list[int]:
    return [t["latency_ms"] for t in result["turns"][1:] if t["caller"] and t["latency_ms"]]


def _latency_figures(per_call: list[list[int]]) -> dict[str, Any]:
    """Turns and reply latency p50 / p95 over all turns, then of first turns
    and of later ones: a call's first turn is where its language is found."""
    every = [x for lat in per_call for x in lat]
    first = [lat[0] for lat in per_call if lat]
    later = [x for lat in per_call for x in lat[1:]]
    return {
        "turns": len(every),
        "latency_ms_p50": _pct(every, 0.50),
        "latency_ms_p95": _pct(every, 0.95),
        "latency_ms_first_turns": [_pct(first, 0.50), _pct(first, 0.95)],
        "latency_ms_later_turns": [_pct(later, 0.50), _pct(later, 0.95)],
    }


# ------------------------------------------------------------ passes


async def per_call(calls, playbooks, options, log) -> dict[str, Any]:
    """One call at a time: the N = 1 latency and ticket_match."""
    per_call_latencies: list[list[int]] = []
    matched = orders = repeats = corrections = corrected_calls = first_time = 0
    misses = []
    second_latencies: list[int] = []
    by_voice: dict[str, list[int]] = {}
    for i, (name, script) in enumerate(calls):
        loaded = playbooks[name.split("/")[0]]
        text = run_script(loaded, script, _no_pos)
        opts = AudioOptions(**{**options.__dict__, "voice_offset": i})
        voice = caller_voice("en", i)
        stats: dict[str, Any] = {}
        audio = await audio_call(loaded, script, _no_pos, speech=shared_speech(), options=opts, stats=stats)
        latencies = _turn_latencies(audio)
        per_call_latencies.append(latencies)
        same = _same(text, audio)
        repeats += stats["repeats"]
        corrections += stats["corrections"]
        second_latencies += stats["second_opinion_latency_ms"]
        corrected_calls += stats["corrections"] > 0
        first_time += same and stats["corrections"] == 0 and stats["repeats"] == 0
        matched += same
        orders += _same_order(text, audio)
        by_voice.setdefault(voice.engine, []).append(same)
        if not same:
            misses.append(name)
        log(f"{name} [{voice.engine} {voice.voice}]: {'match' if same else 'MISMATCH'} ({audio['outcome']}) "
            f"latencies {latencies}")
        if not same:
            _log_misheard(audio, log)
    return {
        "calls": len(calls),
        **_latency_figures(per_call_latencies),
        "ticket_match": round(matched / len(calls), 3) if calls else None,
        "order_match": round(orders / len(calls), 3) if calls else None,
        # The same figure for the calls each voice engine spoke.
        "ticket_match_by_voice": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_voice.items())},
        # How much the callers had to help: turns said again after "Sorry, I
        # didn't catch that", "no, I said ..." corrections, calls with any
        # correction, and calls that matched with every turn understood at once.
        "repeats": repeats,
        "corrections": corrections,
        "calls_corrected": round(corrected_calls / len(calls), 3) if calls else None,
        "ticket_match_first_time": round(first_time / len(calls), 3) if calls else None,
        # Utterances the bot had heard again by the second model (a reading it
        # could not make sense of, or a correction), and the reply latency
        # p50 / p95 of those utterances, repeats and corrections included.
        "second_opinions": len(second_latencies),
        "latency_ms_second_opinion": [_pct(second_latencies, 0.50), _pct(second_latencies, 0.95)],
        "mismatched": misses,
    }


async def concurrent(n: int, calls, playbooks, options, log, spread_s: float = 10.0) -> dict[str, Any]:
    """N calls at once in this process, arriving over `spread_s` like a burst of real calls."""

    async def one(i: int) -> tuple[str, dict, dict, dict]:
        name, script = calls[i % len(calls)]
        loaded = playbooks[name.split("/")[0]]
        await asyncio.sleep(i * spread_s / max(1, n))  # calls arrive over spread_s
        opts = AudioOptions(**{**options.__dict__, "voice_offset": i})
        text = run_script(loaded, script, _no_pos)
        stats: dict[str, Any] = {}
        audio = await audio_call(loaded, script, _no_pos, speech=shared_speech(), options=opts, stats=stats)
        return name, text, audio, stats

    # The simulated callers' voices are rendered now: piper's neural voice
    # costs CPU that a real caller's phone does not take from the worker.
    speech = shared_speech()
    for i in range(n):
        voice = caller_voice("en", i)
        for text in calls[i % len(calls)][1].say:
            if not text.strip().lower().startswith("dtmf"):
                speech.speaker.render(text, voice, voice.language)
    peak = rss_mb()
    sampling = True

    async def sample_rss() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.5)

    before = rss_mb()
    sampler = asyncio.create_task(sample_rss())
    started = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    sampling = False
    await sampler
    per_call_latencies: list[list[int]] = []
    completed = matched = second_opinions = 0
    for item in results:
        if isinstance(item, BaseException):
            log(f"N={n}: a call failed: {type(item).__name__}: {item}")
            continue
        name, text, audio, stats = item
        per_call_latencies.append(_turn_latencies(audio))
        # Completed: the call reached its end and the bot answered every turn in time.
        completed += audio["outcome"] is not None and stats["timeouts"] == 0
        same = _same(text, audio)
        matched += same
        if not same:
            log(f"N={n}: {name}: MISMATCH ({audio['outcome']})")
            _log_misheard(audio, log)
        second_opinions += stats["second_opinions"]
    figures = {
        "n": n,
        **_latency_figures(per_call_latencies),
        "completed": round(completed / n, 3),
        "ticket_match": round(matched / n, 3),
        "second_opinions": second_opinions,
        "rss_mb_peak": round(peak, 1),
        "rss_mb_per_call": round(max(0.0, peak - before) / n, 2),
        "wall_s": round(time.monotonic() - started, 1),
    }
    log(f"N={n}: {figures}")
    return figures


async def long_call(playbooks, options) -> dict[str, Any]:
    loaded = playbooks["pizzeria"]
    audio = await audio_call(loaded, LONG_CALL, _no_pos, speech=shared_speech(), options=options)
    turns = [t for t in audio["turns"][1:] if t["caller"]]
    lat = [t["latency_ms"] for t in turns]
    return {
        "latency_ms_turn1": lat[0] if lat else None,
        "latency_ms_turn10": lat[9] if len(lat) >= 10 else None,
        "long_call_latencies": lat,
    }


async def measure(args: argparse.Namespace, log) -> dict[str, Any]:
    rss_start = rss_mb()
    speech = shared_speech()
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    loaded_models = await loop.run_in_executor(None, speech.warm, ("en", "es", "zh"))
    load_s = time.perf_counter() - t0
    languages = args.languages
    playbooks = Playbooks(languages)
    calls = english_calls(args.calls)
    if args.limit:
        step = max(1, len(calls) // args.limit)
        calls = calls[::step][: args.limit]
    for name, _ in calls:  # fixed prompts rendered before the first call
        speech.prerender(playbooks[name.split("/")[0]].playbook)
    rss_loaded = rss_mb()
    options = AudioOptions(playout_speed=args.listen_speed, repeats=args.repeats)
    figures: dict[str, Any] = {
        "languages": languages or "each Playbook's",
        "device": speech.stt.recognizer.model(loaded_models[0]).device,
        "models": loaded_models,
        "model_load_s": round(load_s, 2),
        "cpu_count": os.cpu_count(),
    }
    if not args.skip_calls:
        figures.update(await per_call(calls, playbooks, options, log))
    if not args.skip_long:
        figures.update(await long_call(playbooks, options))
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    # Calls at once hear the bot in real time: a caller who hears faster
    # talks more of the time, which is load no real call puts on the worker.
    live = AudioOptions(playout_speed=args.concurrent_listen_speed, repeats=args.repeats)
    figures["concurrency"] = [await concurrent(n, calls, playbooks, live, log) for n in levels]
    stats = speech.stt.recognizer.stats
    per_call_rss = [c["rss_mb_per_call"] for c in figures["concurrency"] if c["n"] > 1]
    figures.update(
        {
            "rss_mb": {
                "process_start": round(rss_start, 1),
                "with_models": round(rss_loaded, 1),
                "per_added_call": max(per_call_rss) if per_call_rss else None,
            },
            "rtf": round(stats.rtf, 3),
            "stt_utterances": stats.utterances,
            "stt_ms_mean": round(stats.compute_s / stats.utterances * 1000) if stats.utterances else None,
            "models_loaded": speech.stt.recognizer.loaded,
            "stt_weights": dict(zip(("alone", "busy"), compute_types(speech.stt.recognizer.settings))),
            "stt_busy_batches": stats.busy_batches,
        }
    )
    return figures


def run(args: argparse.Namespace) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    figures = asyncio.run(measure(args, log))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>22}: {value}")
    return 0
