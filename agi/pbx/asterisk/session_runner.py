"""One Playbook's calls: the call core bound to each call's AudioSocket stream.

The `CallSession` (agi.session) runs the CallController over the stream:
speech-to-text and speech synthesis in the process's shared pools, paced
playout, timers. Commits go through the Playbook's POS binding (outbox, then
the POS) in one thread per Playbook, so a slow POS never stalls the audio
of other calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from agi import events as ev
from agi.call import CallController
from agi.dialogue.policy import normalise_number
from agi.dialstrings import Pbx
from agi.logs import log_event
from agi.pbx.asterisk.audiosocket import AudioSocketStream
from agi.pbx.asterisk.worker import CallInfo, CallOutcome
from agi.playbook import LoadedPlaybook
from agi.session import CallSession, SpeechServices, call_record, shared_speech
from agi.tickets import Ticket

log = logging.getLogger("callticket.call")

Committer = Callable[[Ticket, str], ev.CommitDone | ev.CommitFailed]


def speech_services(config: Any = None) -> SpeechServices:
    """The process's speech pools, from the worker config's `stt:`/`tts:` when one was given."""
    from agi.speech.stt import settings_from_env

    if config is not None and getattr(config, "source", None) is not None:
        stt = config.stt.settings()
        return shared_speech(stt, 8000, str(config.tts_cache_dir))
    return shared_speech(settings_from_env())


class HangupHistory:
    """Hang-ups per caller in the last hour: repeated prank calls are refused (Playbook `abuse`)."""

    def __init__(self, window_s: float = 3600.0):
        self.window_s = window_s
        self._times: dict[str, deque[float]] = defaultdict(deque)

    def count(self, number: str | None, now: float) -> int:
        if not number:
            return 0
        times = self._times.get(normalise_number(number))
        if not times:
            return 0
        while times and now - times[0] > self.window_s:
            times.popleft()
        return len(times)

    def add(self, number: str | None, now: float) -> None:
        if number:
            self._times[normalise_number(number)].append(now)


class SessionRunner:
    """Runs every call of one Playbook (a `CallRunner` for the worker)."""

    def __init__(self, loaded: LoadedPlaybook, data_dir: Path, config: Any = None,
                 *, speech: SpeechServices | None = None, committer: Committer | None = None):
        self.loaded = loaded
        self.data_dir = Path(data_dir)
        self.speech = speech or speech_services(config)
        self.config = config
        self._committer = committer
        # sqlite connections and POS clients stay in the thread that made them
        self._pos_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pos-{loaded.id}")
        self.hangups = HangupHistory()
        for where, problem in loaded.playbook.escalation.problems_on(Pbx.ASTERISK):  # check-config says so too
            log.error("transfer target Asterisk cannot dial", extra={"fields": {
                "playbook": loaded.id, "where": ".".join(map(str, where)), "problem": problem}})

    async def __call__(self, info: CallInfo, stream: AudioSocketStream) -> CallOutcome:
        tz = self.loaded.playbook.business.tz
        now = time.monotonic()
        # The call reads `loaded.current_catalog()` on every turn: a vendor POS's
        # catalog live from the catalog store (webhooks, refreshes), else the file's.
        controller = CallController(self.loaded, self.loaded.current_catalog, now=datetime.now(tz),
                                    call_id=info.key, recent_hangups=self.hangups.count(info.caller_number, now))
        session = CallSession(controller, stream, self.speech, on_commit=self._commit,
                              on_log=lambda c: log_event(log, c, info.call_id))
        result = await session.run(info.started())
        outcome = controller.outcome or ("hung_up" if result.ended_by == "caller" else None)
        if outcome == "hung_up":
            self.hangups.add(info.caller_number, time.monotonic())
        latencies = [e.latency_ms for e in result.exchanges if e.latency_ms is not None]
        # Logged by the worker once the call is over (a transfer: once the bridge says how it went).
        summary = {
            "call_id": info.call_id, "outcome": outcome, "ended_by": result.ended_by,
            "turns": len(result.exchanges), "reply_latency_ms": latencies,
            "heard": [e.heard for e in result.exchanges], "dropped": [e.dropped for e in result.exchanges],
            "pos": controller.pos, "second_opinions": result.second_opinions,
            "second_opinions_early": session.early_seconds_used}
        log.debug("call transcript", extra={"fields": {
            "call_id": info.call_id, "bot": [(round(t, 2), text) for t, _, text in result.spoken],
            "caller": [(round(e.speech_end, 2), e.heard or e.dropped) for e in result.exchanges]}})
        reason = result.hangup.reason if result.hangup else result.ended_by
        record = call_record(controller.result(), outcome, result, controller.language)
        return CallOutcome(transfer=result.transfer, reason=reason, outcome=outcome, record=record, summary=summary)

    async def _commit(self, ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pos_thread, self._commit_now, ticket, key)

    def _commit_now(self, ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed:
        if self._committer is None:
            self._committer = self._make_committer()
        return self._committer(ticket, key)

    def _make_committer(self) -> Committer:
        from agi import pos_binding

        data_dir = pos_binding.data_dir_from(self.data_dir)
        factory = getattr(pos_binding, "committer_for", None)  # every adapter, where the build has it
        if factory is not None:
            return factory(self.loaded, data_dir, self.config)
        adapter = self.loaded.playbook.pos.adapter
        if adapter == "local":
            return pos_binding.local_committer(self.loaded, data_dir)

        def unavailable(ticket: Ticket, key: str) -> ev.CommitFailed:
            return ev.CommitFailed(f"the {adapter} POS is not available to this worker")

        return unavailable
