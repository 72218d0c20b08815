"""A real Asterisk, real SIP phones (sipp) and an RTP tap, for the PBX tests and the bench.

- `Asterisk`: an instance of Debian sid's Asterisk in the cached chroot
  (asterisk_chroot.sh), configured from the project's `dialplan/` files with
  free ports, listening on 127.0.0.1 only.
- `caller_scenario()` / `SippCall` / `SippPhone`: sipp as the caller (plays a
  pcap of µ-law RTP) and as the shop's phone (answers, echoes RTP).
- `RtpTap`: sniffs the loopback (AF_PACKET, root) for the RTP a caller sent
  and received, so tests can tell whether the bot's voice reached the caller.
- `place_call()`: a caller who speaks a script (espeak-ng, µ-law), each turn
  after the bot's reply, timed from the text simulation of the same call.
- `ServeAgi`, `malformed_agi()` / `malformed_audiosocket()`: the worker as its
  own process, and the bad clients thrown at it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import re
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DIALPLAN = ROOT / "dialplan"
CHROOT_SH = HERE / "asterisk_chroot.sh"
RATE = 8000


# ---------------------------------------------------------------- ports


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_udp_range(n: int, low: int = 20000, high: int = 60000) -> int:
    """The first port of `n` consecutive free UDP ports (checked, then used soon after)."""
    rnd = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rnd.randrange(low, high - n) & ~1
        if all(_udp_free(p) for p in range(base, base + n, 7)) and _udp_free(base + n - 1):
            return base
    raise RuntimeError(f"no range of {n} free UDP ports")


@dataclass
class Ports:
    sip: int
    ami: int
    agi: int
    audiosocket: int
    rtp_start: int
    rtp_end: int
    phones: dict[str, int]  # extension -> SIP port of the sipp phone

    @classmethod
    def pick(cls) -> "Ports":
        rtp = free_udp_range(400)
        return cls(
            sip=free_port(socket.SOCK_DGRAM),
            ami=free_port(),
            agi=free_port(),
            audiosocket=free_port(),
            rtp_start=rtp,
            rtp_end=rtp + 399,
            phones={ext: free_port(socket.SOCK_DGRAM) for ext in ("100", "101", "102")},
        )


# ---------------------------------------------------------------- Asterisk


def render_configs(out: Path, ports: Ports, ami_secret: str) -> None:
    """dialplan/*.conf with the test's ports; every substitution must apply."""
    out.mkdir(parents=True, exist_ok=True)
    subs: dict[str, list[tuple[str, str]]] = {
        "pjsip.conf": [("bind=127.0.0.1:5060", f"bind=127.0.0.1:{ports.sip}")]
        + [(f"contact=sip:{ext}@127.0.0.1:{5090 + i}", f"contact=sip:{ext}@127.0.0.1:{ports.phones[ext]}")
           for i, ext in enumerate(("100", "101", "102"))],
        "extensions.conf": [("agi://127.0.0.1:4573", f"agi://127.0.0.1:{ports.agi}")],
        "manager.conf": [("port=5038", f"port={ports.ami}"), ("secret=CHANGE-ME", f"secret={ami_secret}")],
        "rtp.conf": [("rtpstart=10000", f"rtpstart={ports.rtp_start}"), ("rtpend=10999", f"rtpend={ports.rtp_end}")],
    }
    for src in sorted(DIALPLAN.glob("*.conf")):
        text = src.read_text()
        for old, new in subs.get(src.name, []):
            if old not in text:
                raise AssertionError(f"dialplan/{src.name} no longer contains {old!r}; update the test harness")
            text = text.replace(old, new)
        (out / src.name).write_text(text)


def chroot_sh(*args: str, timeout: float = 600) -> str:
    """Run asterisk_chroot.sh; any failure raises with its output (never a silent skip)."""
    if os.geteuid() != 0:
        raise RuntimeError("the Asterisk tests need root (debootstrap, chroot, mount)")
    r = subprocess.run(["bash", str(CHROOT_SH), *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"asterisk_chroot.sh {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout.strip()


class Asterisk:
    """One running Asterisk instance configured from dialplan/."""

    def __init__(self, name: str, workdir: Path, ports: Ports | None = None):
        self.name = name
        self.ports = ports or Ports.pick()
        self.ami_user = "callticket"
        self.ami_secret = secrets.token_hex(12)
        self.confdir = workdir / f"asterisk-{name}-conf"
        self.pid: int | None = None

    def start(self) -> "Asterisk":
        chroot_sh("build", timeout=900)
        render_configs(self.confdir, self.ports, self.ami_secret)
        self.path = Path(chroot_sh("path", self.name))
        self.pid = int(chroot_sh("start", self.name, str(self.confdir), str(os.getpid()), timeout=120).splitlines()[-1])
        return self

    def stop(self) -> None:
        """Stop it; its logs are kept beside the configs (the instance directory goes)."""
        if self.pid is not None:
            for name in ("full", "console.log"):
                with contextlib.suppress(OSError):
                    shutil.copy(self.path / "log" / name, self.confdir / f"asterisk-{name}")
            chroot_sh("stop", self.name, timeout=60)
            self.pid = None

    def cli(self, command: str) -> str:
        return chroot_sh("cli", self.name, command, timeout=30)

    def channels(self) -> list[str]:
        out = self.cli("core show channels concise")
        return [line.split("!")[0] for line in out.splitlines() if "!" in line]

    def channel_vars(self, channel: str) -> dict[str, str]:
        out = self.cli(f"core show channel {channel}")
        found = {}
        for line in out.splitlines():
            m = re.match(r"^\s*(\w+)=(.*)$", line)
            if m:
                found[m.group(1)] = m.group(2)
        return found


# ---------------------------------------------------------------- audio


def ulaw_decode(data: bytes) -> np.ndarray:
    from agi.media import g711

    return np.frombuffer(g711.ulaw_decode(data), dtype=np.int16)


def ulaw_encode(pcm: np.ndarray) -> bytes:
    from agi.media import g711

    return g711.ulaw_encode(pcm.astype(np.int16).tobytes())


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def tone_share(samples: np.ndarray, freq: float, rate: int = RATE) -> float:
    """Fraction of the energy at `freq` (Goertzel over the whole buffer)."""
    if len(samples) == 0:
        return 0.0
    x = samples.astype(np.float64)
    n = len(x)
    k = np.exp(-2j * np.pi * freq * np.arange(n) / rate)
    power = abs(np.dot(x, k)) ** 2 * 2 / n
    energy = float(np.dot(x, x))
    return float(power / energy) if energy else 0.0


def tone(freq: float, seconds: float, amp: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


# ---------------------------------------------------------------- pcap for sipp


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def write_pcap(path: Path, pcm: np.ndarray) -> float:
    """µ-law RTP (PT 0, 20 ms packets) of `pcm` for sipp's play_pcap_audio; returns seconds."""
    ulaw = ulaw_encode(pcm)
    frame = 160
    if len(ulaw) % frame:
        ulaw += bytes([0xFF]) * (frame - len(ulaw) % frame)
    ip = bytes([127, 0, 0, 1])
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for k in range(len(ulaw) // frame):
        rtp = struct.pack("!BBHII", 0x80, 0x80 if k == 0 else 0, k & 0xFFFF, (k * frame) & 0xFFFFFFFF, 0x1234ABCD)
        rtp += ulaw[k * frame : (k + 1) * frame]
        ulen = 8 + len(rtp)
        pseudo = ip + ip + struct.pack("!BBH", 0, 17, ulen)
        udp0 = struct.pack("!HHHH", 6000, 10000, ulen, 0) + rtp
        udp = struct.pack("!HHHH", 6000, 10000, ulen, _csum(pseudo + udp0) or 0xFFFF) + rtp
        hdr0 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, k & 0xFFFF, 0, 64, 17, 0, ip, ip)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, k & 0xFFFF, 0, 64, 17, _csum(hdr0), ip, ip)
        pkt = b"\0" * 12 + b"\x08\x00" + hdr + udp
        ts = k * 0.020
        out += struct.pack("<IIII", int(ts), int(round((ts - int(ts)) * 1e6)), len(pkt), len(pkt))
        out += pkt
    path.write_bytes(bytes(out))
    return len(ulaw) / RATE


@dataclass
class Utterance:
    text: str
    start_s: float  # offset in the caller's audio
    end_s: float


# ---------------------------------------------------------------- a scripted caller

def open_around_the_clock(directory: Path) -> Path:
    """A copy of the bundled Playbooks (and their catalogs) open at every hour:
    the worker answers with the real clock, and a scripted call must go the
    same way whenever the tests run (closed, the bot asks for a later time)."""
    from ruamel.yaml import YAML

    shutil.copytree(ROOT / "playbooks", directory, dirs_exist_ok=True)
    yaml = YAML()
    for path in directory.glob("*.yaml"):
        data = yaml.load(path.read_text())
        data["business"]["hours"] = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        with path.open("w") as fh:
            yaml.dump(data, fh)
    return directory


PLAYBOOKS = open_around_the_clock(Path(tempfile.mkdtemp(prefix="callticket-pbx-playbooks-")))
atexit.register(shutil.rmtree, PLAYBOOKS, True)
PIZZERIA = PLAYBOOKS / "pizzeria.yaml"
CALLER = "+15551234567"
# Phrased so that espeak-ng through µ-law is recognised reliably.
ORDER = ["Two large pepperoni pizzas please.", "That's all.", "No thank you.", "Pick up, please.", "My name is Maria.",
         "Yes, that's the best number.", "Yes, please place it."]
PERSON = ["Two large pepperoni pizzas please.", "Can I talk to a real person?"]


def order_problems(order: dict, caller: str) -> list[str]:
    """What differs between a POS order and what the ORDER caller asked for."""
    problems = []
    lines = [(line["catalog_id"], (line.get("variation") or {}).get("name"), line["quantity"])
             for line in order["items"]]
    if lines != [("pizza-pepperoni", "large", 2)]:
        problems.append(f"lines {lines}")
    if order["fulfillment"]["type"] != "pickup":
        problems.append(f"fulfillment {order['fulfillment']}")
    if order["customer"] != {"name": "Maria", "phone": caller}:  # the caller id Asterisk passed on
        problems.append(f"customer {order['customer']}")
    if (order["total_minor"], order["currency"]) != (3398, "USD"):
        problems.append(f"total {order['total_minor']} {order['currency']}")
    return problems



CALLER_VOICE = ("espeak-ng", "en-us", "f2", 140, 60)  # recognised well after µ-law


def bot_replies(playbook_path: Path, say: list[str], caller_number: str, at: str = "2026-11-20T18:00:00") -> list[str]:
    """What the bot answers to each turn (greeting first), from the text simulation of the same call."""
    from agi import events as ev
    from agi.playbook import load_playbook
    from agi.simulate import Script, run_script

    loaded = load_playbook(playbook_path)
    script = Script(caller={"number": caller_number}, say=say, at=at)
    result = run_script(loaded, script, lambda t, k: ev.CommitDone("A1", k, "local"))
    return [t["bot"] for t in result["turns"]]


def spoken_seconds(text: str, persona: object, speaker: object) -> float:
    return len(speaker.render(text, persona, "en")) / 2 / RATE  # type: ignore[attr-defined]


def caller_turns(playbook_path: Path, say: list[str], caller_number: str, margin_s: float) -> list[tuple[float, str]]:
    """(pause before, text) per caller turn: each waits for the bot's reply to end, plus `margin_s`
    for the recogniser and the dialogue to answer."""
    from agi.playbook import load_playbook
    from agi.speech.tts import Speaker

    persona = load_playbook(playbook_path).playbook.persona
    speaker = Speaker(RATE)
    replies = bot_replies(playbook_path, say, caller_number)
    return [(spoken_seconds(reply, persona, speaker) + margin_s, text) for reply, text in zip(replies, say)]


def caller_audio(turns: list[tuple[float, str]], tail_s: float) -> tuple[np.ndarray, list[Utterance]]:
    """The caller's side of the call: silence, speech, silence, ... (8 kHz slin)."""
    from agi.speech.tts import Speaker, Voice

    speaker = Speaker(RATE)
    voice = Voice(*CALLER_VOICE)
    parts: list[np.ndarray] = []
    said: list[Utterance] = []
    t = 0.0
    for pause, text in turns:
        parts.append(np.zeros(int(pause * RATE), dtype=np.int16))
        t += pause
        pcm = _trim(np.frombuffer(speaker.render(text, voice, "en"), dtype=np.int16))
        parts.append(pcm)
        said.append(Utterance(text, t, t + len(pcm) / RATE))
        t += len(pcm) / RATE
    parts.append(np.zeros(int(tail_s * RATE), dtype=np.int16))
    return np.concatenate(parts), said


def _trim(pcm: np.ndarray, level: int = 200) -> np.ndarray:
    """Without the synthesiser's leading and trailing silence: Utterance times are speech times."""
    loud = np.flatnonzero(np.abs(pcm) > level)
    return pcm[loud[0] : loud[-1] + 1] if len(loud) else pcm


def reply_latencies(tap_to: "RtpFlow", tap_from: "RtpFlow", said: list[Utterance]) -> list[float]:
    """Seconds from the end of each caller utterance to the bot's next audible audio, measured on the wire."""
    if not tap_from.packets:
        return []
    start = tap_from.packets[0][0]  # the caller's first RTP packet is t=0 of its audio
    out = []
    for u in said:
        end = start + u.end_s
        loud = tap_to.first_loud(after=end)
        if loud is not None:
            out.append(loud - end)
    return out


def place_call(asterisk: "Asterisk", workdir: Path, playbook: Path, say: list[str], *, number: str,
               margin_s: float = 3.5, service: str = "5551234") -> tuple["SippCall", list[Utterance]]:
    """A sipp caller that speaks `say` (espeak-ng, µ-law RTP), each turn after the bot's reply."""
    workdir.mkdir(parents=True, exist_ok=True)
    turns = caller_turns(playbook, say, number, margin_s)
    audio, said = caller_audio(turns, tail_s=4.0)
    pcap = workdir / "caller.pcap"
    write_pcap(pcap, audio)
    seconds = len(audio) / RATE
    scenario = caller_scenario(workdir / "caller.xml", pcap, number, hangup_after_ms=int((seconds + 25) * 1000))
    return SippCall(asterisk, scenario, service, workdir / "sipp", timeout_s=int(seconds + 60)), said


def received_bye(call: "SippCall") -> bool:
    """Asterisk (not the caller) ended the call."""
    return any(b.split("\n", 1)[1].lstrip().startswith("BYE ")
               for b in call.messages().split("UDP message received")[1:])


# ---------------------------------------------------------------- sipp


def caller_scenario(path: Path, pcap: Path, caller_number: str, hangup_after_ms: int) -> Path:
    """A sipp UAC: INVITE (PCMU), play the pcap, accept Asterisk's BYE or send one after `hangup_after_ms`."""
    path.write_text(f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="callticket caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller_number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:{caller_number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller_number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:{caller_number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <recv request="BYE" timeout="{hangup_after_ms}" ontimeout="9"/>
  <send next="10"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
]]></send>
  <label id="9"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller_number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:{caller_number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
  <label id="10"/>
</scenario>
""")
    return path


class SippCall:
    """One sipp caller process: dials `service` on Asterisk and plays its scenario's pcap."""

    def __init__(self, asterisk: Asterisk, scenario: Path, service: str, workdir: Path, *, timeout_s: int = 90):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.media_port = free_udp_range(4, 16000, 19990)
        self.cmd = ["sipp", f"127.0.0.1:{asterisk.ports.sip}", "-sf", str(scenario), "-s", service,
                    "-i", "127.0.0.1", "-p", str(self.sip_port), "-mi", "127.0.0.1", "-mp", str(self.media_port),
                    "-m", "1", "-l", "1", "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error",
                    "-trace_err", "-error_file", str(workdir / "sipp_errors.log"),
                    "-trace_msg", "-message_file", str(workdir / "sipp_messages.log")]
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> "SippCall":
        self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, stdout=open(self.workdir / "sipp.out", "wb"),
                                     stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float = 120) -> int:
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout)
        return self.returncode

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def messages(self) -> str:
        p = self.workdir / "sipp_messages.log"
        return p.read_text(errors="replace") if p.exists() else ""


class SippPhone:
    """A shop phone: sipp's built-in UAS on the port pjsip.conf names, echoing RTP."""

    def __init__(self, port: int, workdir: Path, *, calls: int = 1, timeout_s: int = 90):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.media_port = free_udp_range(4, 16000, 19990)
        self.cmd = ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
                    "-mp", str(self.media_port), "-rtp_echo", "-m", str(calls), "-nostdin",
                    "-timeout", f"{timeout_s}s", "-trace_msg", "-message_file", str(workdir / "phone_messages.log"),
                    "-trace_err", "-error_file", str(workdir / "phone_errors.log")]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "SippPhone":
        self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, stdout=open(self.workdir / "phone.out", "wb"),
                                     stderr=subprocess.STDOUT)
        # Asterisk dials the phone as soon as the bot transfers; on a loaded
        # machine sipp can take longer than a fixed pause to bind its port.
        deadline = time.monotonic() + 10
        while _udp_free(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = (self.workdir / "phone.out").read_text(errors="replace")
                raise RuntimeError(f"sipp phone did not listen on UDP {self.port}: {out[-500:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def invites(self) -> list[str]:
        p = self.workdir / "phone_messages.log"
        text = p.read_text(errors="replace") if p.exists() else ""
        blocks = re.split(r"-{10,}[^\n]*\n", text)
        return [b.split("\n", 1)[1].strip() for b in blocks
                if b.startswith("UDP message received") and b.split("\n", 1)[1].lstrip().startswith("INVITE ")]


# ---------------------------------------------------------------- RTP tap


@dataclass
class RtpFlow:
    packets: list[tuple[float, bytes]] = field(default_factory=list)  # (time, PCMU payload)

    def audio(self) -> np.ndarray:
        return ulaw_decode(b"".join(p for _, p in self.packets)) if self.packets else np.zeros(0, np.int16)

    def first_loud(self, after: float = 0.0, level: float = 300.0) -> float | None:
        """Time of the first 20 ms packet after `after` whose RMS exceeds `level`."""
        for t, payload in self.packets:
            if t >= after and rms(ulaw_decode(payload)) > level:
                return t
        return None


class RtpTap:
    """Captures, on lo, the PCMU RTP sent to and from the given caller media ports."""

    def __init__(self, ports: set[int]):
        self.ports = set(ports)
        self.to_caller: dict[int, RtpFlow] = {p: RtpFlow() for p in ports}
        self.from_caller: dict[int, RtpFlow] = {p: RtpFlow() for p in ports}
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "RtpTap":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pkt, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 42 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
            if ip[9] != 17:
                continue
            ihl = (ip[0] & 0x0F) * 4
            sport, dport, ulen = struct.unpack("!HHH", ip[ihl : ihl + 6])
            body = ip[ihl + 8 : ihl + ulen]
            if len(body) < 12 or body[0] >> 6 != 2 or (body[1] & 0x7F) != 0:
                continue
            payload = body[12 + 4 * (body[0] & 0x0F) :]
            now = time.time()
            if dport in self.ports:
                self.to_caller[dport].packets.append((now, payload))
            elif sport in self.ports:
                self.from_caller[sport].packets.append((now, payload))


# ---------------------------------------------------------------- the worker process


class ServeAgi:
    """`callticket serve-agi` as its own process, on the test Asterisk's ports."""

    def __init__(self, asterisk: Asterisk, workdir: Path, *extra: str, env: dict[str, str] | None = None):
        import sys

        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "serve-agi.log"
        self.cmd = [sys.executable, "-m", "agi.cli", "serve-agi",
                    "--listen", f"127.0.0.1:{asterisk.ports.agi}",
                    "--audiosocket", f"127.0.0.1:{asterisk.ports.audiosocket}",
                    "--data-dir", str(self.data_dir), *extra]
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "ServeAgi":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if b"serve-agi: FastAGI on" in self.log_path.read_bytes():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve-agi did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_lines(self) -> list[dict]:
        import json

        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def wait_speech_ready(self, timeout: float = 120) -> None:
        """Block until the worker's background warm-up (models, pre-rendered prompts) is done:
        until then the worker is busy by design, so idle CPU means nothing."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(r.get("msg") == "speech ready" for r in self.log_lines()):
                return
            time.sleep(0.2)
        raise AssertionError(f"no 'speech ready' in {timeout:.0f} s:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


# ---------------------------------------------------------------- malformed clients


def _send_and_close(port: int, payload: bytes, *, half_close: bool = True, read_s: float = 0.0) -> None:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        if payload:
            s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        if read_s:
            s.settimeout(read_s)
            try:
                while s.recv(65536):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
    except OSError:  # the worker already closed it: exactly what it should do
        pass
    finally:
        s.close()


AGI_HEADER = (b"agi_network: yes\nagi_network_script: pizzeria\nagi_request: agi://127.0.0.1/pizzeria\n"
              b"agi_channel: PJSIP/trunk-0000ffff\nagi_uniqueid: 1.1\nagi_callerid: +15550000000\n")


def malformed_agi(port: int) -> dict[str, int]:
    """Everything a FastAGI port should shrug off, once each (plus variants)."""
    rnd = random.Random(7)
    cases = {
        "early_eof": b"",
        "eof_mid_header": AGI_HEADER[:40],
        "garbage": bytes(rnd.randrange(256) for _ in range(4096)),
        "http": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "oversized_line": b"agi_network_script: " + b"x" * 200_000 + b"\n\n",
        "endless_header": b"".join(b"agi_v%d: y\n" % i for i in range(5000)),
        "nul_bytes": b"\0" * 10000,
        "no_request": b"agi_network: yes\n\n",
        "hangup_first": b"HANGUP\n" * 100,
        "header_then_eof": AGI_HEADER + b"\n",  # a call that vanishes after its header
        "header_then_garbage": AGI_HEADER + b"\n" + b"\xff\xfe garbage reply\n" * 50,
        "header_then_hangup": AGI_HEADER + b"\nHANGUP\n511 Command Not Permitted on a dead channel\n",
    }
    for name, payload in cases.items():
        _send_and_close(port, payload, read_s=0.3 if name.startswith("header") else 0.0)
    return {"cases": len(cases)}


def malformed_audiosocket(port: int) -> dict[str, int]:
    rnd = random.Random(11)
    cases = {
        "early_eof": b"",
        "garbage": bytes(rnd.randrange(256) for _ in range(4096)),
        "oversized_frame": b"\x10\xff\xff" + b"\0" * 65535,
        "oversized_uuid": b"\x01\x04\x00" + b"\0" * 1024,
        "unknown_uuid": b"\x01\x00\x10" + os.urandom(16) + b"\x10\x01\x40" + b"\0" * 320,
        "audio_before_uuid": b"\x10\x01\x40" + b"\0" * 320,
        "truncated_header": b"\x10\x01",
        "truncated_frame": b"\x01\x00\x10" + b"\0" * 7,
        "unknown_kind": b"\x42\x00\x00" * 10,
    }
    for payload in cases.values():
        _send_and_close(port, payload)
    return {"cases": len(cases)}


def rapid_connect_close(port: int, n: int) -> int:
    """`n` connections opened and closed at once (half of them reset)."""
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        s.close()
    return n


# ---------------------------------------------------------------- process figures


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tcp_states(pid: int) -> list[str]:
    """States of the TCP sockets `pid` holds (ss -tanp)."""
    out = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if f"pid={pid}," in line]


def have_sipp() -> bool:
    return shutil.which("sipp") is not None


def local_pos_orders(data_dir: Path, playbook: Path) -> list[dict]:
    """Orders in the embedded POS, newest first: {"order_id", "status", **ticket.to_public()}."""
    from adapters.local import LocalPos
    from agi.playbook import load_playbook
    from agi.pos_binding import local_catalog_path

    pos = LocalPos(data_dir, local_catalog_path(load_playbook(playbook)))
    try:
        return [{"order_id": o.order_id, "status": o.status, **o.ticket.to_public()}
                for o in pos.orders(all_locations=True)]
    finally:
        pos.close()
