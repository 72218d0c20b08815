"""Events and commands of the sans-IO call core.

A PBX driver turns its wire protocol into the events below, feeds them to
`CallController.handle()` and executes the commands it gets back. Nothing in
here touches a socket, a thread or a clock, so a whole call can be replayed in
a unit test, in `simulate` and in `chat` exactly as it runs on a phone line.

Audio is always signed 16-bit little-endian mono PCM ("slin"); the sample rate
travels with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from agi.tickets import Ticket


# --------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The PBX answered and handed the call to us."""

    caller_number: str | None = None
    called_number: str | None = None
    language: str | None = None
    call_id: str = ""
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class AudioIn:
    """One frame (normally 20 ms) of caller audio."""

    pcm: bytes
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The endpointer heard the caller start talking (used for barge-in)."""


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """One complete caller utterance, pre-roll included."""

    pcm: bytes
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class Transcript:
    """What speech-to-text (or a text caller) said the caller said."""

    text: str
    language: str | None = None
    confidence: float = 1.0
    second_opinion: bool = False  # the answer to a `Transcribe(second_opinion=True)`


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    """The audio of `Play(play_id)` finished (or was cut)."""

    play_id: int
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """The caller (or the PBX) ended the call."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str


@dataclass(frozen=True, slots=True)
class CommitDone:
    """The ticket is durably queued (and, when known, accepted by the POS)."""

    order_id: str | None
    idempotency_key: str
    adapter: str


@dataclass(frozen=True, slots=True)
class CommitFailed:
    """The ticket could not even be queued, or the POS refused it for good."""

    reason: str


Event = Union[
    CallStarted,
    AudioIn,
    SpeechStarted,
    SpeechEnded,
    Transcript,
    PlaybackDone,
    Dtmf,
    Hangup,
    TimerFired,
    CommitDone,
    CommitFailed,
]


# ------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Transcribe:
    """Run speech-to-text on an utterance and feed back a `Transcript`.

    `hints` biases recognition toward what the caller is likely to say now
    (catalog names, the answers to the question just asked).
    `second_opinion`: the same utterance again, by the recogniser's more
    accurate model where it has one, because the first reading was not
    understood or corrects the bot; a driver without one answers with an
    empty `Transcript(second_opinion=True)` and the first reading stands.
    """

    pcm: bytes
    sample_rate: int = 8000
    language: str | None = None
    hints: tuple[str, ...] = ()
    second_opinion: bool = False


@dataclass(frozen=True, slots=True)
class Play:
    """Speak `text` to the caller; the driver renders it with the call's voice
    and feeds back `PlaybackDone(play_id)` when the last sample has gone out."""

    text: str
    language: str = "en"
    play_id: int = 0


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Cut the bot's audio now: nothing already queued may keep playing."""


@dataclass(frozen=True, slots=True)
class Commit:
    """Write the confirmed ticket to the outbox; feed back CommitDone/Failed."""

    ticket: "Ticket"
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """A person or queue to bridge the caller to (only ever from the Playbook)."""

    id: str
    dial: str  # "" when only some PBXs have strings of their own (per_pbx)
    fallback: str | None = None
    voicemail: str | None = None
    timeout_s: int = 25
    # (pbx, dial, fallback, voicemail): the strings a PBX dials instead (the Playbook's `freeswitch:` entry)
    per_pbx: tuple[tuple[str, str, str | None, str | None], ...] = ()

    def on(self, pbx: str) -> TransferTarget:
        """The target as `pbx` dials it: its own strings, else the common ones."""
        for name, dial, fallback, voicemail in self.per_pbx:
            if name == pbx:
                return replace(self, dial=dial, fallback=fallback, voicemail=voicemail, per_pbx=())
        return self


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the caller to a person with a native PBX bridge."""

    target: TransferTarget
    reason: str
    summary: str = ""


@dataclass(frozen=True, slots=True)
class HangupCall:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class Log:
    """A structured record the driver writes to the call's log."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


Command = Union[
    Transcribe,
    Play,
    StopPlayback,
    Commit,
    Transfer,
    HangupCall,
    StartTimer,
    CancelTimer,
    Log,
]
