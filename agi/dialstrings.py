"""Which PBX can dial a transfer target: Asterisk's and FreeSWITCH's dial strings.

A Playbook's targets are dialled by whichever PBX takes the call: Asterisk
dials `PJSIP/100` or `Queue(front-desk)`, FreeSWITCH `user/1000`,
`sofia/gateway/carrier/+15551230000` or `callcenter:support`. Each is
checked here, once, for the Playbook schema (a target's own entry for a
PBX), for `check-config` (every target against the PBXs the worker serves)
and for the drivers before they dial (agi/pbx/*/transfer.py).

Only plain destinations pass: no `{var=...}`, `${...}`, `[...]`, commas into
Dial() options or line breaks, since a dial string reaches the PBX's
dialplan applications as it is.
"""

from __future__ import annotations

import re
from enum import Enum


class Pbx(str, Enum):
    ASTERISK = "asterisk"
    FREESWITCH = "freeswitch"

    @property
    def label(self) -> str:
        return "Asterisk" if self is Pbx.ASTERISK else "FreeSWITCH"


# Endpoint technologies a FreeSWITCH bridge dials; Asterisk has none of the
# first five (its Skinny channel driver takes `Skinny/...` as FreeSWITCH's does).
FREESWITCH_ENDPOINTS = ("user", "sofia", "loopback", "group", "freetdm", "verto.rtc", "skinny")
_FS_ONLY = frozenset(("user", "sofia", "loopback", "group", "freetdm"))
_FS_RESOURCE = r"[A-Za-z0-9_.@:+#*=/-]+"
_FS_ENDPOINT = rf"(?:{'|'.join(re.escape(e) for e in FREESWITCH_ENDPOINTS)})/{_FS_RESOURCE}"
# ',' rings together, '|' one after the other: both are plain FreeSWITCH dial syntax.
FREESWITCH_DIAL = re.compile(rf"^{_FS_ENDPOINT}(?:[,|]{_FS_ENDPOINT})*$")
# A mod_callcenter queue; `Queue(name)` reads the same on both PBXs.
FREESWITCH_QUEUE = re.compile(r"^(?:Queue\(([A-Za-z0-9_.@-]+)\)|callcenter:([A-Za-z0-9_.@-]+))$")
# A Dial() destination: technology/resource, '&' for ring groups. No commas,
# parentheses, '$' or braces: those would smuggle Dial options or dialplan
# functions into the command.
_AST_ONE = r"[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9_.@:+#*/-]+"
ASTERISK_DIAL = re.compile(rf"^{_AST_ONE}(&{_AST_ONE})*$")
ASTERISK_QUEUE = re.compile(r"^Queue\(([A-Za-z0-9_.-]+)\)$")
_MAILBOX = re.compile(r"^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$")


def dial_problem(pbx: Pbx, dial: str) -> str | None:
    """Why `pbx` cannot dial `dial`, or None when it can."""
    if pbx is Pbx.FREESWITCH:
        if FREESWITCH_QUEUE.fullmatch(dial) or FREESWITCH_DIAL.fullmatch(dial):
            return None
        tech = dial.split("/", 1)[0]
        if "/" in dial and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", tech) and tech.lower() not in FREESWITCH_ENDPOINTS:
            return f"{dial!r} is not a FreeSWITCH endpoint (use one of: {', '.join(FREESWITCH_ENDPOINTS)})"
        return f"not a plain dial string: {dial!r}"
    if ASTERISK_QUEUE.fullmatch(dial):
        return None
    if ASTERISK_DIAL.fullmatch(dial):
        techs = {one.split("/", 1)[0].lower() for one in dial.split("&")}
        if techs & _FS_ONLY:
            return f"{dial!r} is a FreeSWITCH endpoint, not an Asterisk channel (PJSIP/100, Queue(name), ...)"
        return None
    return f"not a plain dial string: {dial!r}"


def mailbox_problem(box: str) -> str | None:
    """`100` or `100@context` (Asterisk) / `1000@domain` (FreeSWITCH); None when it is one."""
    return None if _MAILBOX.fullmatch(box) else f"not a mailbox: {box!r}"
