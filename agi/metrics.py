"""Prometheus metrics of a worker process, and the small functions that feed them.

Other modules call these; none of them needs to know prometheus-client:

    from agi import metrics
    with metrics.track_call("asterisk") as call:   # active calls, calls by outcome
        ...
        call.outcome = controller.outcome
    metrics.observe_turns(result["turns"])          # reply latency histogram
    metrics.stt_queue_depth(n); metrics.stt_time(wait_s, run_s)
    metrics.outbox_counts(pending, dead)            # or watch_outbox(fn)
    metrics.pos_request("square", seconds, error="http_429")
    metrics.catalog_refreshed("pizzeria/main")      # catalog age per location
    metrics.connection_refused("fastagi", "no_header")  # a listener's limits at work
    metrics.webhook("duplicate")                    # what the webhook port did with a request

`render()` gives the text exposition format; `agi.ops_http` serves it on
/metrics. Everything lives in `REGISTRY`, not prometheus-client's global one,
so a test or a second worker in one process can start from a fresh
`Metrics()`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("callticket.metrics")

OUTCOMES = ("committed", "transferred", "transfer_failed", "hung_up", "refused", "error")
VENDORS = ("local", "square", "clover", "toast", "loyverse", "eposnow", "revel")
PBXES = ("asterisk", "freeswitch", "simulate")
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
STT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
POS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

OutboxSource = Callable[[], tuple[int, int]]  # -> (pending, dead_letter)


class _LiveGauges(Collector):
    """Values computed at scrape time: catalog age, and outbox counts from a callback."""

    def __init__(self, metrics: "Metrics"):
        self.metrics = metrics

    def collect(self) -> Iterable[GaugeMetricFamily]:
        age = GaugeMetricFamily("callticket_catalog_age_seconds",
                                "Seconds since the catalog of a location was last loaded", labels=["location"])
        now = time.time()
        for location, loaded_at in sorted(self.metrics.catalog_loaded_at.items()):
            age.add_metric([location], max(0.0, now - loaded_at))
        yield age
        pending, dead = self.metrics.outbox_now()
        g = GaugeMetricFamily("callticket_outbox_pending", "Tickets in the outbox not yet accepted by the POS")
        g.add_metric([], pending)
        yield g
        g = GaugeMetricFamily("callticket_outbox_dead_letter", "Tickets the POS refused for good")
        g.add_metric([], dead)
        yield g

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []


class Metrics:
    """One set of series in its own registry."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.active_calls = Gauge("callticket_active_calls", "Calls in progress", ["pbx"], registry=r)
        self.calls = Counter("callticket_calls", "Finished calls by outcome", ["pbx", "outcome"], registry=r)
        self.reply_latency = Histogram(
            "callticket_reply_latency_seconds", "From the caller's end of speech to the first audio of the reply",
            buckets=LATENCY_BUCKETS, registry=r)
        self.stt_queue = Gauge("callticket_stt_queue_depth", "Utterances waiting for speech-to-text", registry=r)
        self.stt_wait = Histogram("callticket_stt_queue_seconds", "Time an utterance waited for a speech-to-text worker",
                                  buckets=STT_BUCKETS, registry=r)
        self.stt_run = Histogram("callticket_stt_seconds", "Time speech-to-text took on one utterance",
                                 buckets=STT_BUCKETS, registry=r)
        self.pos_latency = Histogram("callticket_pos_request_seconds", "POS API request time", ["vendor"],
                                     buckets=POS_BUCKETS, registry=r)
        self.pos_errors = Counter("callticket_pos_errors", "Failed POS API requests", ["vendor", "kind"], registry=r)
        self.reloads = Counter("callticket_playbook_reloads", "Playbook loads by result", ["result"], registry=r)
        self.playbooks = Gauge("callticket_playbooks_loaded", "Playbooks being served", registry=r)
        self.refused = Counter("callticket_connections_refused", "Connections a listener closed to stay within "
                               "its limits", ["listener", "reason"], registry=r)
        self.webhooks = Counter("callticket_webhooks", "Webhook requests by what became of them", ["result"],
                                registry=r)
        self.catalog_loaded_at: dict[str, float] = {}
        self._outbox: tuple[int, int] = (0, 0)
        self._outbox_source: OutboxSource | None = None
        self._lock = threading.Lock()
        r.register(_LiveGauges(self))
        # Zero series for the known labels, so dashboards and alerts see them
        # before the first call rather than "no data".
        for pbx in PBXES:
            self.active_calls.labels(pbx)
        for outcome in OUTCOMES:
            self.calls.labels("asterisk", outcome)
            self.calls.labels("freeswitch", outcome)
        for vendor in VENDORS:
            self.pos_latency.labels(vendor)
        for result in ("ok", "refused"):
            self.reloads.labels(result)

    # -------------------------------------------------------------- calls

    @contextlib.contextmanager
    def track_call(self, pbx: str) -> Iterator["CallTrack"]:
        """Count a call as active while inside; count its outcome when it ends."""
        track = CallTrack(pbx)
        gauge = self.active_calls.labels(pbx)
        gauge.inc()
        try:
            yield track
        except BaseException:
            track.outcome = track.outcome or "error"
            raise
        finally:
            gauge.dec()
            self.calls.labels(pbx, track.outcome or "hung_up").inc()

    def reply_latency_s(self, seconds: float) -> None:
        self.reply_latency.observe(max(0.0, seconds))

    def observe_turns(self, turns: Iterable[dict[str, Any]]) -> None:
        """Reply latencies of a finished call (turns carry `latency_ms`; the greeting has none)."""
        for turn in turns:
            ms = turn.get("latency_ms")
            heard = turn.get("heard") or turn.get("caller")
            if heard and isinstance(ms, (int, float)):
                self.reply_latency_s(ms / 1000.0)

    # ---------------------------------------------------------------- STT

    def stt_queue_depth(self, depth: int) -> None:
        self.stt_queue.set(depth)

    def stt_time(self, wait_s: float, run_s: float) -> None:
        self.stt_wait.observe(max(0.0, wait_s))
        self.stt_run.observe(max(0.0, run_s))

    # ------------------------------------------------------------- outbox

    def outbox_counts(self, pending: int, dead_letter: int) -> None:
        """The outbox sender reports after each pass."""
        self._outbox = (pending, dead_letter)

    def watch_outbox(self, source: OutboxSource | None) -> None:
        """Or: ask `source()` for (pending, dead_letter) at every scrape."""
        self._outbox_source = source

    def outbox_now(self) -> tuple[int, int]:
        if self._outbox_source is not None:
            try:
                self._outbox = self._outbox_source()
            except Exception as exc:  # a scrape must answer even when the outbox does not
                log.warning("outbox counts unavailable", extra={"fields": {"error": str(exc)}})
        return self._outbox

    # ---------------------------------------------------------------- POS

    def pos_request(self, vendor: str, seconds: float, error: str | None = None) -> None:
        """One POS API request; `error` is a short kind ('timeout', 'http_429', 'http_5xx', 'invalid')."""
        self.pos_latency.labels(vendor).observe(max(0.0, seconds))
        if error:
            self.pos_errors.labels(vendor, error).inc()

    @contextlib.contextmanager
    def time_pos(self, vendor: str) -> Iterator[None]:
        """Time a POS request; an exception counts as an error of its type name."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.pos_request(vendor, time.perf_counter() - started, type(exc).__name__)
            raise
        self.pos_request(vendor, time.perf_counter() - started)

    def catalog_refreshed(self, location: str, at: float | None = None) -> None:
        """A location's catalog was (re)loaded at `at` (default now)."""
        with self._lock:
            self.catalog_loaded_at[location] = time.time() if at is None else at

    def catalog_dropped(self, location: str) -> None:
        """A location no longer served: its catalog age leaves /metrics."""
        with self._lock:
            self.catalog_loaded_at.pop(location, None)

    # ----------------------------------------------------------- playbooks

    def playbook_reload(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "refused").inc()

    def playbooks_loaded(self, count: int) -> None:
        self.playbooks.set(count)

    # ----------------------------------------------------------- listeners

    def connection_refused(self, listener: str, reason: str) -> None:
        self.refused.labels(listener, reason).inc()

    def webhook(self, result: str) -> None:
        self.webhooks.labels(result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class CallTrack:
    pbx: str
    outcome: str | None = None


METRICS = Metrics()

# Module-level shortcuts on the process-wide instance.
track_call = METRICS.track_call
observe_turns = METRICS.observe_turns
reply_latency_s = METRICS.reply_latency_s
stt_queue_depth = METRICS.stt_queue_depth
stt_time = METRICS.stt_time
outbox_counts = METRICS.outbox_counts
watch_outbox = METRICS.watch_outbox
pos_request = METRICS.pos_request
time_pos = METRICS.time_pos
catalog_refreshed = METRICS.catalog_refreshed
playbook_reload = METRICS.playbook_reload
playbooks_loaded = METRICS.playbooks_loaded
render = METRICS.render
