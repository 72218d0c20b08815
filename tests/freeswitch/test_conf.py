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


# FreeSWITCH's RTP ports unless switch.conf.xml sets rtp-start-port / rtp-end-port
# (switch_rtp.c RTP_START_PORT / RTP_END_PORT; the stock switch.conf.xml leaves them
# commented out), Asterisk's (the rtp.conf it ships) and Linux's ephemeral ports.
FREESWITCH_RTP = range(16384, 32768 + 1)
ASTERISK_RTP = range(10000, 20000 + 1)
EPHEMERAL = range(32768, 60999 + 1)


def test_the_default_unicast_ports_are_none_a_pbx_or_the_kernel_hands_out():
    """FreeSWITCH binds the worker's range too (unicast's local-port): a port it
    also gives a call's RTP would fail one of the two calls."""
    from ruamel.yaml import YAML

    example = YAML(typ="safe").load((CONF.parent / "deploy" / "callticket.example.yaml").read_text())
    for low, high in (FreeswitchConfig().media_ports, EslWorkerConfig().media_ports,
                      tuple(example["freeswitch"]["media_ports"])):
        ports = range(low, high + 1)
        assert len(ports) >= 200  # two per call at a time, fifty calls, room for re-arms
        for taken in (FREESWITCH_RTP, ASTERISK_RTP, EPHEMERAL):
            assert not set(ports) & set(taken), (low, high, taken)


def test_the_examples_ring_phones_a_stock_freeswitch_has():
    """A stock FreeSWITCH's directory has users 1000-1019 in `${domain_name}`
    (its IP address), no 100-102 and no domain `default`."""
    import re

    acts = dict(actions(CONF / "dialplan" / "public" / "50_callticket.xml"))
    bridge = re.fullmatch(r"user/(\d+)@\$\{domain_name\}", acts["bridge"])
    voicemail = re.fullmatch(r"default \$\{domain_name\} (\d+)", acts["voicemail"])
    assert bridge and voicemail, acts
    assert {int(bridge.group(1)), int(voicemail.group(1))} <= set(range(1000, 1020))
    readme = (CONF / "README.md").read_text()
    assert not re.search(r"user/10[0-2]\b", readme)  # (Asterisk's PJSIP/100 and 100@default may stay)
