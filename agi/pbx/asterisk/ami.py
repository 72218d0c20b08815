"""AMI (Asterisk Manager Interface) through panoramisk: transfers and call events.

Optional. Operators who prefer to keep call routing in the dialplan use the
AMI transfer mode: the worker sets the target's channel variables and
`Redirect`s the caller to the `[callticket-transfer]` context (or asks for a
`BlindTransfer` where the caller sits in a bridge). The same connection logs
the PBX's view of each call (new channel, dial, bridge, hangup) as JSON
lines, caller numbers masked. The AMI user needs only `read=call,write=call`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from panoramisk import Manager

from agi.dialogue.policy import mask_number

log = logging.getLogger("callticket.ami")

CALL_EVENTS = (
    "Newchannel",
    "Hangup",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "BlindTransfer",
    "AttendedTransfer",
    "AsyncAGIStart",
)
_KEEP = ("Channel", "Uniqueid", "Linkedid", "Context", "Exten", "ChannelStateDesc", "Cause", "Cause-txt",
         "DialStatus", "DestChannel", "BridgeUniqueid", "BridgeTechnology", "Result")
_NUMBERS = ("CallerIDNum", "ConnectedLineNum", "DestCallerIDNum")


class AmiError(Exception):
    """AMI refused an action or could not be reached."""


def summarize_event(event: Any) -> dict[str, str]:
    """The fields of an AMI call event worth a log line; numbers masked."""
    out = {"event": str(event.get("Event", ""))}
    for key in _KEEP:
        if event.get(key):
            out[key.lower()] = str(event.get(key))
    for key in _NUMBERS:
        if event.get(key):
            out[key.lower()] = mask_number(str(event.get(key)))
    return out


class _Manager(Manager):
    """panoramisk's Manager, without reconnecting after we closed it."""

    closing = False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closing:
            self._connected = False
            return
        super().connection_lost(exc)


class AmiClient:
    def __init__(self, host: str = "127.0.0.1", port: int = 5038, *, username: str, secret: str,
                 on_event: Callable[[dict[str, str]], None] | None = None):
        self._manager = _Manager(host=host, port=port, username=username, secret=secret,
                                 ping_delay=10, ping_interval=10, reconnect_timeout=2,
                                 log=logging.getLogger("callticket.ami.protocol"))
        self._on_event = on_event or (lambda e: log.info("ami event", extra={"fields": e}))
        for name in CALL_EVENTS:
            self._manager.register_event(name, self._event)

    async def connect(self, timeout: float = 5.0) -> None:
        self._manager.loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(self._manager.connect(), timeout)
            # the login reply settles authenticated_future
            for _ in range(int(timeout * 20)):
                if self._manager.authenticated:
                    return
                fut = self._manager.authenticated_future
                if fut is not None:
                    await asyncio.wait_for(asyncio.shield(fut), timeout)
                    continue
                await asyncio.sleep(0.05)
        except (OSError, asyncio.TimeoutError) as exc:
            raise AmiError(f"cannot reach AMI: {exc}") from None
        if not self._manager.authenticated:
            raise AmiError("AMI login failed (check the user and CALLTICKET_AMI_SECRET)")

    def close(self) -> None:
        self._manager.closing = True
        self._manager.close()

    def _event(self, _manager: Manager, event: Any) -> None:
        self._on_event(summarize_event(event))

    async def action(self, name: str, timeout: float = 5.0, **fields: str) -> dict[str, str]:
        resp = await asyncio.wait_for(self._manager.send_action({"Action": name, **fields}), timeout)
        msg = resp[0] if isinstance(resp, list) else resp
        out = {str(k): str(v) for k, v in dict(msg).items()}
        if out.get("Response") != "Success":
            raise AmiError(f"{name}: {out.get('Message', out.get('Response', 'no response'))}")
        return out

    async def setvar(self, channel: str, name: str, value: str) -> None:
        await self.action("Setvar", Channel=channel, Variable=name, Value=value)

    async def redirect(self, channel: str, context: str, exten: str = "s", priority: int = 1) -> None:
        await self.action("Redirect", Channel=channel, Context=context, Exten=exten, Priority=str(priority))

    async def blind_transfer(self, channel: str, context: str, exten: str = "s") -> None:
        await self.action("BlindTransfer", Channel=channel, Context=context, Exten=exten)
