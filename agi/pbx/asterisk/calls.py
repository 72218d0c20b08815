"""Which Playbook answers a call, and the call core that runs it on the AudioSocket stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agi.pbx.asterisk.worker import (
    ECHO_ROUTE,
    CallInfo,
    CallRunner,
    RunnerFactory,
    echo_runner,
)
from agi.registry import PlaybookRegistry


def playbook_runners(registry: PlaybookRegistry, data_dir: Path, config: Any = None) -> RunnerFactory:
    """The runner for a call: the call core of the Playbook now serving its
    route (or dialled number), or the echo check. A reloaded Playbook takes
    the next call; calls in progress keep the one they started with."""
    from agi.pbx.asterisk.session_runner import SessionRunner

    runners: dict[int, tuple[Any, CallRunner]] = {}

    def factory(info: CallInfo) -> CallRunner | None:
        if info.route == ECHO_ROUTE:
            return echo_runner
        loaded = registry.get(info.route or None, info.called_number)
        if loaded is None:
            return None
        cached = runners.get(id(loaded))
        if cached is None or cached[0] is not loaded:
            cached = (loaded, SessionRunner(loaded, data_dir, config))
            runners[id(loaded)] = cached
        return cached[1]

    return factory


def warm_speech(registry: PlaybookRegistry, config: Any = None) -> dict[str, Any]:
    """Load the recognisers and render the fixed prompts of every Playbook now,
    so that the first callers do not wait for them."""
    import time

    from agi.pbx.asterisk.session_runner import speech_services

    started = time.monotonic()
    speech = speech_services(config)
    languages: set[str] = set()
    prompts = 0
    for loaded in registry.all().values():
        languages.update(loaded.playbook.business.languages)
        prompts += speech.prerender(loaded.playbook)
    models = speech.stt.recognizer.warm(sorted(languages) or ["en"])
    return {"models": models, "prompts": prompts, "seconds": round(time.monotonic() - started, 1)}
