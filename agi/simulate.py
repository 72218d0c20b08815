"""Run one scripted call through the call core, in text: the engine of
`callticket simulate` and `callticket chat`.

A text caller is a PBX driver whose "audio" is already a transcript: each
caller turn becomes a `Transcript` event, each `Play` is acknowledged at once,
and `Commit` goes to the same outbox and POS adapter a live call uses.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agi import events as ev
from agi.call import CallController
from agi.playbook import LoadedPlaybook
from agi.tickets import Ticket
from agi.yamlconf import load_model


class ScriptCaller(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str | None = None
    language: str | None = None


class Script(BaseModel):
    """A caller script (DESIGN.md): who calls, what they say, and when."""

    model_config = ConfigDict(extra="forbid")
    caller: ScriptCaller = Field(default_factory=ScriptCaller)
    say: list[str] = Field(default_factory=list)
    at: datetime | None = Field(None, description="local business time of the call; default now")
    recent_hangups: int = Field(0, ge=0, description="hang-ups from this number in the last hour")


def load_script(path: str | Path) -> Script:
    return load_model(path, Script)


class Committer(Protocol):
    def __call__(self, ticket: Ticket, key: str) -> ev.CommitDone | ev.CommitFailed: ...


def call_time(loaded: LoadedPlaybook, script: Script) -> datetime:
    tz = loaded.playbook.business.tz
    if script.at is None:
        return datetime.now(tz)
    return script.at if script.at.tzinfo else script.at.replace(tzinfo=tz)


class TextCall:
    """A call driven by text turns; `say()` returns what the bot answered."""

    def __init__(
        self,
        loaded: LoadedPlaybook,
        script: Script,
        committer: Committer,
        catalog: Callable[[], Any] | None = None,
        call_id: str | None = None,
    ):
        self.controller = CallController(
            loaded,
            catalog,
            now=call_time(loaded, script),
            call_id=call_id or uuid.uuid4().hex,
            recent_hangups=script.recent_hangups,
        )
        self.committer = committer
        self.turns: list[dict[str, Any]] = []
        self.log: list[ev.Log] = []
        greeting = self._run(
            [ev.CallStarted(script.caller.number, None, script.caller.language, self.controller.call_id)]
        )
        self.turns.append({"caller": "", "heard": "", "bot": greeting, "latency_ms": 0})

    @property
    def finished(self) -> bool:
        return self.controller.finished

    def say(self, text: str) -> str:
        started = time.perf_counter()
        bot = self._run([ev.Transcript(text)])
        latency = round((time.perf_counter() - started) * 1000)
        self.turns.append({"caller": text, "heard": text, "bot": bot, "latency_ms": latency})
        return bot

    def dtmf(self, digit: str) -> str:
        bot = self._run([ev.Dtmf(digit)])
        self.turns.append({"caller": f"DTMF {digit}", "heard": f"DTMF {digit}", "bot": bot, "latency_ms": 0})
        return bot

    def hang_up(self) -> None:
        if not self.controller.finished:
            self._run([ev.Hangup()])

    def result(self) -> dict[str, Any]:
        out = self.controller.result()
        out["turns"] = self.turns
        return out

    def _run(self, queue: list[ev.Event]) -> str:
        spoken: list[str] = []
        while queue:
            for cmd in self.controller.handle(queue.pop(0)):
                if isinstance(cmd, ev.Play):
                    spoken.append(cmd.text)
                    queue.append(ev.PlaybackDone(cmd.play_id))
                elif isinstance(cmd, ev.Commit):
                    queue.append(self.committer(cmd.ticket, cmd.idempotency_key))
                elif isinstance(cmd, ev.Log):
                    self.log.append(cmd)
                # Timers, transfers and hang-ups need no action in text: the
                # controller already records the outcome.
        return " ".join(spoken)


def run_script(
    loaded: LoadedPlaybook, script: Script, committer: Committer, call_id: str | None = None
) -> dict[str, Any]:
    """Play every caller turn; when they run out, the caller hangs up."""
    call = TextCall(loaded, script, committer, call_id=call_id)
    for text in script.say:
        if call.finished:
            break
        call.say(text)
    call.hang_up()
    return call.result()
