"""freeswitch-conf/: well-formed, on loopback, and saying what the worker expects."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from agi.config import FreeswitchConfig
from agi.pbx.freeswitch.worker import ECHO_ROUTE, EslWorkerConfig

CONF = Path(__file__).resolve().parents[2] / "freeswitch-conf"


def actions(path: Path) -> list[tuple[str, str]]:
    root = ET.parse(path).getroot()
    return [(a.get("application", ""), a.get("data", "")) for a in root.iter("action")]


def test_every_file_is_well_formed_xml():
    files = sorted(CONF.rglob("*.xml"))
    assert len(files) == 3
    for path in files:
        ET.parse(path)


def test_the_dialplan_hands_calls_to_the_worker_address_async_full():
    acts = actions(CONF / "dialplan" / "public" / "50_callticket.xml")
    sockets = [data for app, data in acts if app == "socket"]
    port = FreeswitchConfig().esl.port
    assert sockets and set(sockets) == {f"127.0.0.1:{port} async full"}
    playbooks = [data.split("=", 1)[1] for app, data in acts if app == "set" and data.startswith("callticket_playbook=")]
    assert playbooks == ["pizzeria", ECHO_ROUTE]
    # each socket comes after the variable that picks its Playbook
    names = [app for app, _ in acts]
    assert names.index("set") < names.index("socket")


def test_the_transfer_context_uses_the_variables_the_worker_sets():
    root = ET.parse(CONF / "dialplan" / "callticket-transfer.xml").getroot()
    (context,) = root.iter("context")
    assert context.get("name") == EslWorkerConfig().transfer_context
    fields = {c.get("field") for c in root.iter("condition")}
    assert {"${callticket_queue}", "${callticket_dial}", "${callticket_voicemail}"} <= fields
    apps = [a.get("application") for a in root.iter("action")]
    assert apps.index("callcenter") < apps.index("bridge") < apps.index("voicemail")


def test_inbound_event_socket_is_loopback_only_with_a_non_default_password():
    text = (CONF / "autoload_configs" / "event_socket.conf.xml").read_text()
    root = ET.fromstring(text)
    params = {p.get("name"): p.get("value") for p in root.iter("param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["apply-inbound-acl"] == "loopback.auto"
    assert params["password"] != "ClueCon" and "ClueCon" not in text.split("-->")[-1]
    assert params["password"] == "$${callticket_esl_password}"
