"""What came of handing a caller to a person: the PBX's bridge, as the record tells it.

The call core decides to transfer and says why and to whom; the PBX then
rings the Playbook's target (its fallback, its voicemail). Only the bridge
knows whether a person took the call, so each driver reports a `Handoff`
once it does (a person answered, or every dial ended), and `settle()` writes
it into the call record:

    transfer: {"reason": .., "target": .., "result": "answered | no_answer |
               busy | declined | failed", "answered_by": dial string or null,
               "cause": each dial's status or hang-up cause, "voicemail": bool}
    outcome:  "transferred" only when a person answered, else "transfer_failed"

so a transfer nobody took is never counted, listed or logged as a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

TRANSFERRED = "transferred"
TRANSFER_FAILED = "transfer_failed"


class TransferResult(str, Enum):
    """How the target responded (the `transfer.result` of the simulate contract)."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    FAILED = "failed"


# FreeSWITCH hang-up causes (switch_channel_cause2str), as its `originate_disposition`.
_FREESWITCH = {
    "SUCCESS": TransferResult.ANSWERED,
    "NO_ANSWER": TransferResult.NO_ANSWER,
    "NO_USER_RESPONSE": TransferResult.NO_ANSWER,
    "ALLOTTED_TIMEOUT": TransferResult.NO_ANSWER,
    "RECOVERY_ON_TIMER_EXPIRE": TransferResult.NO_ANSWER,
    "ORIGINATOR_CANCEL": TransferResult.NO_ANSWER,  # the caller gave up while it rang
    "USER_BUSY": TransferResult.BUSY,
    "NORMAL_CIRCUIT_CONGESTION": TransferResult.BUSY,
    "CALL_REJECTED": TransferResult.DECLINED,
    "USER_CHALLENGE": TransferResult.DECLINED,
}

# Asterisk's DIALSTATUS (Dial) and QUEUESTATUS (Queue).
_ASTERISK = {
    "ANSWER": TransferResult.ANSWERED,
    "NOANSWER": TransferResult.NO_ANSWER,
    "CANCEL": TransferResult.NO_ANSWER,
    "TIMEOUT": TransferResult.NO_ANSWER,
    "BUSY": TransferResult.BUSY,
    "DONTCALL": TransferResult.DECLINED,
    "TORTURE": TransferResult.DECLINED,
}


# How close a dial came to a person: a phone that rang beats one that was busy, ...
_CLOSEST = (TransferResult.NO_ANSWER, TransferResult.BUSY, TransferResult.DECLINED, TransferResult.FAILED)


def freeswitch_result(cause: str | None) -> TransferResult:
    """A FreeSWITCH dial's end; anything not listed (USER_NOT_REGISTERED,
    UNALLOCATED_NUMBER, NO_ROUTE_DESTINATION, ...) means it could not ring."""
    return _FREESWITCH.get((cause or "").upper(), TransferResult.FAILED)


def asterisk_result(status: str | None) -> TransferResult:
    """An Asterisk Dial()/Queue() status; CHANUNAVAIL, CONGESTION, a full or empty queue: failed."""
    return _ASTERISK.get((status or "").upper(), TransferResult.FAILED)


@dataclass(frozen=True, slots=True)
class Handoff:
    """The bridge's end as the driver saw it."""

    result: TransferResult
    answered_by: str | None = None  # the dial string that a person answered
    cause: str | None = None  # the PBX's status or hang-up cause of each dial, in order
    voicemail: bool = False  # nobody answered, the caller was sent to voicemail

    @property
    def taken(self) -> bool:
        return self.result is TransferResult.ANSWERED

    def fields(self) -> dict[str, Any]:
        """For the call record's `transfer` and for log lines."""
        return {"result": self.result.value, "answered_by": self.answered_by, "cause": self.cause,
                "voicemail": self.voicemail}


def nobody_took(dials: list[tuple[TransferResult, str | None]], voicemail: bool = False) -> Handoff:
    """The transfer's end when no dial was answered: the closest any dial came
    (the target rang out, then its fallback was not registered: no_answer),
    and every dial's cause in order."""
    if not dials:
        return Handoff(TransferResult.FAILED, cause="nothing was dialled", voicemail=voicemail)
    result = min((r for r, _ in dials), key=_CLOSEST.index)
    causes = [c for _, c in dials if c]
    return Handoff(result, cause=", then ".join(causes) or None, voicemail=voicemail)


def settle(record: dict[str, Any] | None, handoff: Handoff, reason: str = "", target: str = "") -> dict[str, Any]:
    """The call record with the bridge's result: its transfer completed, its outcome told apart."""
    out = dict(record or {})
    transfer = dict(out.get("transfer") or {"reason": reason, "target": target})
    transfer.update(handoff.fields())
    out["transfer"] = transfer
    out["outcome"] = TRANSFERRED if handoff.taken else TRANSFER_FAILED
    return out
