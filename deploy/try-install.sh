#!/bin/bash
# try-install.sh - follow README.md's "Operations" walk-through on a brand-new
# Debian 12, as a new PBX administrator would, from the install to the first
# call and the day-to-day commands.
#
#   sudo deploy/try-install.sh [WORKDIR]      (default /var/tmp/callticket-try-install)
#
#  1. debootstraps a minimal Debian 12 (minbase plus systemd) and boots it with
#     systemd-nspawn: systemd is PID 1 in it, and it shares this machine's
#     network, so its 127.0.0.1 is this machine's;
#  2. copies this source tree to /usr/local/src/callticket in it, where README
#     step 1 says it is;
#  3. runs the `sh` blocks of README steps 1-4 (install, configure, check,
#     start the services) as root in /root, exactly as written: real
#     systemctl, real units, the hardening included;
#  4. step 5: starts a real Asterisk (tests/pbx/asterisk_chroot.sh: Debian
#     sid's package in its own cached chroot) whose [from-trunk] context is
#     README's dialplan block as written, behind dialplan/pjsip.conf's trunk;
#  5. step 6: places the first call: sipp dials the number in that block and
#     speaks a pickup order (espeak-ng over µ-law RTP, each turn after the
#     bot's reply), then runs step 6's block with <CALL ID> replaced by that
#     call's id, and checks the call record;
#  6. step 7: with a second call in progress and a Playbook edited, runs step
#     7's block (metrics, reload, restart) and checks that the reload kept the
#     worker, the restart waited for the call, and the worker came back;
#  7. also starts callticket-esl (the FreeSWITCH worker's unit) once, to see
#     that unit run under systemd (there is no FreeSWITCH to call it).
#
# Needs root, debootstrap, systemd-nspawn (systemd-container), sipp
# (sip-tester) and the network: a Debian mirror, PyPI, and Debian sid for the
# Asterisk chroot the first time (cached in /var/cache/callticket). The mirror
# is the one this host's apt uses ($CALLTICKET_DEBIAN_MIRROR overrides it).
# Behind a TLS-inspecting proxy, the CA bundle in $PIP_CERT or $SSL_CERT_FILE
# is given to pip in the container. Besides that, and <CALL ID> replaced by
# the first call's id, README's blocks run unchanged; sipp and the Asterisk
# chroot stand in for the administrator's phone and PBX. Uses 127.0.0.1 ports 4573, 9092, 9464-9466, 5060 (SIP)
# and 10000-10999 (RTP): they must be free. Takes 3 to 5 minutes, plus a few
# more the first time, to build the Asterisk chroot.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
WORK=${1:-/var/tmp/callticket-try-install}
ROOT=$WORK/root
README=$SRC/README.md
AST_SH=$SRC/tests/pbx/asterisk_chroot.sh
AST_NAME=try-install
T0=$SECONDS

log() { echo "[try-install $(date +%T) +$((SECONDS - T0))s] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
WARNINGS=0
warn() { WARNINGS=$((WARNINGS + 1)); log "WARNING: $*"; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and systemd-nspawn need it)"
for tool in debootstrap:debootstrap systemd-nspawn:systemd-container nsenter:util-linux sipp:sip-tester python3:python3; do
    command -v "${tool%%:*}" >/dev/null || die "apt-get install ${tool#*:}"
done

mirror() {
    if [ -n "${CALLTICKET_DEBIAN_MIRROR:-}" ]; then echo "${CALLTICKET_DEBIAN_MIRROR%/}"; return; fi
    local u="" f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        u=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) if ($i ~ /debian/ && $i !~ /security/) { print $i; exit } }' "$f")
        [ -n "$u" ] && break
    done
    if [ -z "$u" ]; then
        u=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1=="deb" && $0 ~ /debian/ && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^https?:/) { print $i; exit } }' | head -n1)
    fi
    echo "${u:-http://deb.debian.org/debian}"
}

# The code blocks of README's "## Operations" step N ("### N. ..."), whose
# info string is LANG ("" for a plain ``` block), in order.
blocks() {
    awk -v step="$1" -v lang="$2" '
        /^## / { ops = ($0 ~ /^## Operations[[:space:]]*$/); on = 0 }
        ops && /^### / { on = (index($0, "### " step ".") == 1); next }
        on && blk && /^```[[:space:]]*$/ { blk = 0; next }
        on && !blk && /^```/ { blk = 1; want = (substr($0, 4) == lang); next }
        on && blk && want' "$README"
}

NSPAWN=""
LEADER=""
cleanup() {
    set +e
    [ -n "$LEADER" ] && in_ct journalctl -o cat --no-pager -u callticket-agi -u callticket-outbox -u callticket-esl \
        >"$WORK/journal.log" 2>&1
    [ -n "${SIPP_PID:-}" ] && kill "$SIPP_PID" 2>/dev/null
    bash "$AST_SH" stop "$AST_NAME" >/dev/null 2>&1
    if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
        kill -TERM "$NSPAWN"    # nspawn asks the container's systemd to power off
        for _ in $(seq 1 30); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 1; done
        kill -0 "$NSPAWN" 2>/dev/null && kill -KILL "$NSPAWN"
    fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ a new Debian 12
for port in 4573 9092 9464 9465 9466 5060; do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
        die "127.0.0.1:$port is already in use (another worker or Asterisk?)"
    fi
done
rm -rf "$WORK"
mkdir -p "$WORK"
log "debootstrap bookworm (minbase + systemd) from $(mirror)"
debootstrap --variant=minbase --include=systemd-sysv,dbus bookworm "$ROOT" "$(mirror)" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap (see $WORK/debootstrap.log)"
echo try-install >"$ROOT/etc/hostname"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"

CT_SRC=/usr/local/src/callticket
log "copying the source tree to $CT_SRC"
mkdir -p "$ROOT$CT_SRC"
if git -C "$SRC" rev-parse >/dev/null 2>&1; then
    git -C "$SRC" ls-files -co --exclude-standard -z | tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT$CT_SRC" -xf -
else
    tar -C "$SRC" --exclude=.venv --exclude=var -cf - . | tar -C "$ROOT$CT_SRC" -xf -
fi

# root's login environment on Debian
CT_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
        LOGNAME=root USER=root SHELL=/bin/bash DEBIAN_FRONTEND=noninteractive)
CA=${PIP_CERT:-${SSL_CERT_FILE:-}}
if [ -n "$CA" ] && [ -f "$CA" ]; then
    cp "$CA" "$ROOT/root/host-ca.pem"
    CT_ENV+=(PIP_CERT=/root/host-ca.pem)
fi

log "booting it with systemd-nspawn"
systemd-nspawn -D "$ROOT" --machine=try-install --register=no --keep-unit --boot \
    </dev/null >"$WORK/console.log" 2>&1 &
NSPAWN=$!
for _ in $(seq 1 60); do
    sleep 1
    kill -0 "$NSPAWN" 2>/dev/null || { tail -n 20 "$WORK/console.log" >&2; die "systemd-nspawn exited (see $WORK/console.log)"; }
    LEADER=$(pgrep -P "$NSPAWN" | head -n1 || true)
    [ -n "$LEADER" ] || continue
    state=$(nsenter -t "$LEADER" -a -- /usr/bin/env -i "${CT_ENV[@]}" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
done
case "${state:-}" in running|degraded) ;; *) die "the container did not boot (state '${state:-}', see $WORK/console.log)" ;; esac
log "systemd is up in the container ($state)"

# Run a command in the container as root, in /root, with root's environment.
in_ct() { nsenter -t "$LEADER" -a -- /usr/bin/env -i "${CT_ENV[@]}" bash -c 'cd /root && exec "$@"' bash "$@"; }

# Run README step N's sh blocks in the container as one `bash -ex` script.
run_step() {
    local n=$1 name=$2 script=$ROOT/root/step$1.sh
    blocks "$n" sh >"$script"
    [ -s "$script" ] || die "README step $n ($name) has no sh block"
    [ -n "${3:-}" ] && sed -i "$3" "$script"
    log "README step $n, $name:"
    sed 's/^/    # /' "$script" >&2
    if ! in_ct bash -ex "/root/step$n.sh" >"$WORK/step$n.log" 2>&1; then
        tail -n 30 "$WORK/step$n.log" >&2
        die "README step $n ($name) failed (see $WORK/step$n.log)"
    fi
}

journal_of() { in_ct journalctl -o cat --no-pager "_PID=$1"; }   # what one process logged

# ------------------------------------------------------------------ steps 1-4
run_step 1 install
run_step 2 configure
run_step 3 "check the configuration"
grep -E '^(ok|warning|error) ' "$WORK/step3.log" | sed 's/^/    /' >&2 || true
run_step 4 "start the services"
grep -q '"status": "ready"' "$WORK/step4.log" || { tail -n 20 "$WORK/step4.log" >&2; die "readyz did not say ready"; }
log "callticket-agi and callticket-outbox run under systemd; /readyz: $(grep -o '{"status": "ready".*}' "$WORK/step4.log")"

# ------------------------------------------------------------------ step 5: the PBX
DIALPLAN=$(blocks 5 "")
grep -q 'AGI(agi://' <<<"$DIALPLAN" || die "README step 5 has no dialplan block with AGI(agi://...)"
NUMBER=$(awk -F'[ ,=>]+' '/^exten/ { print $2; exit }' <<<"$DIALPLAN")
CONF=$WORK/asterisk-conf
mkdir -p "$CONF"
for f in pjsip modules rtp logger voicemail; do cp "$SRC/dialplan/$f.conf" "$CONF/"; done
printf '[general]\nstatic=yes\nwriteprotect=yes\n\n[from-trunk]\n%s\n' "$DIALPLAN" >"$CONF/extensions.conf"
log "README step 5: Asterisk (Debian sid, tests/pbx/asterisk_chroot.sh) with [from-trunk]:"
sed 's/^/    /' <<<"$DIALPLAN" >&2
bash "$AST_SH" start "$AST_NAME" "$CONF" "$$" >"$WORK/asterisk-start.log" 2>&1 ||
    { tail -n 20 "$WORK/asterisk-start.log" >&2; die "Asterisk did not start"; }
log "Asterisk $(bash "$AST_SH" cli "$AST_NAME" 'core show version' | awk '{print $2; exit}') runs; SIP on 127.0.0.1:5060"

# ------------------------------------------------------------------ the caller
cat >"$ROOT/root/caller.py" <<'EOF'
"""try-install's caller: the µ-law pcap and sipp scenario of one call to the pizzeria."""
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, "/usr/local/src/callticket/tests/pbx")
import pbx_harness as h  # noqa: E402
from agi.playbook import load_playbook  # noqa: E402
from agi.speech.tts import Speaker  # noqa: E402

kind, outdir, hostdir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
playbook = Path("/etc/callticket/playbooks/pizzeria.yaml")
say = h.ORDER if kind == "order" else h.ORDER[:1]
persona = load_playbook(playbook).playbook.persona
now = datetime.now(load_playbook(playbook).playbook.business.tz).strftime("%Y-%m-%dT%H:%M:%S")
replies = h.bot_replies(playbook, say, h.CALLER, at=now)     # what the bot will say, to time each turn
speaker = Speaker(h.RATE)
turns = [(h.spoken_seconds(reply, persona, speaker) + 3.5, text) for reply, text in zip(replies, say)]
audio, _ = h.caller_audio(turns, tail_s=4.0)
outdir.mkdir(parents=True, exist_ok=True)
h.write_pcap(outdir / "caller.pcap", audio)
seconds = len(audio) / h.RATE
hangup_s = seconds + 25 if kind == "order" else seconds + 8  # the short call hangs up itself
h.caller_scenario(outdir / "caller.xml", hostdir / "caller.pcap", h.CALLER, int(hangup_s * 1000))
print(int(hangup_s + 30))
EOF

free_udp() {
    python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
    return True
for _ in range(200):
    base = random.randrange(20000, 30000 - n) & ~1
    if all(free(p) for p in range(base, base + n)):
        print(base)
        break
EOF
}

# place_call KIND DIR: start sipp calling NUMBER in the background (SIPP_PID)
place_call() {
    local kind=$1 dir=$2 timeout sip media
    timeout=$(in_ct /opt/callticket/bin/python /root/caller.py "$kind" "/root/$dir" "$ROOT/root/$dir") ||
        die "could not make the caller's audio"
    sip=$(free_udp 1); media=$(free_udp 4)
    (cd "$ROOT/root/$dir" && exec sipp 127.0.0.1:5060 -sf caller.xml -s "$NUMBER" -i 127.0.0.1 -p "$sip" \
        -mi 127.0.0.1 -mp "$media" -m 1 -l 1 -nostdin -timeout "${timeout}s" -timeout_error \
        -trace_err -error_file sipp_errors.log -trace_msg -message_file sipp_messages.log >sipp.out 2>&1) &
    SIPP_PID=$!
}

calls_json() { in_ct callticket calls --json --limit "${1:-1}"; }

# ------------------------------------------------------------------ step 6: the first call
log "README step 6: the first call (sipp dials $NUMBER and orders two large pepperoni pizzas for pickup)"
place_call order call1
call_t0=$SECONDS
wait "$SIPP_PID" || { tail -n 20 "$ROOT/root/call1/sipp.out" >&2; die "the caller's sipp failed (see $ROOT/root/call1)"; }
SIPP_PID=""
log "the call lasted $((SECONDS - call_t0)) s"
first=""
for _ in $(seq 1 20); do
    first=$(calls_json 1 || true)
    [ -n "$first" ] && ! grep -q '"outcome": null' <<<"$first" && break
    sleep 1
done
[ -n "$first" ] || die "no call record after the call (see: journalctl -u callticket-agi in the container, $WORK)"
CALL_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["call_id"])' "$first")
run_step 6 "the first call" "s/<CALL ID>/$CALL_ID/g"
sed 's/^/    /' "$WORK/step6.log" | grep -v '^    + ' >&2
outcome=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["outcome"])' "$first")
read -r heard answered < <(in_ct callticket calls show "$CALL_ID" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["pbx"] == "asterisk" and r["route"] == "pizzeria", (r["pbx"], r["route"])
turns = r["turns"]
print(sum(1 for t in turns if t.get("heard")),
      sum(1 for t in turns if t.get("heard") and isinstance(t.get("said"), str) and t["said"]))') ||
    die "the call record is not an Asterisk call to pizzeria"
[ "$answered" -gt 0 ] || warn "the record pairs no bot answer with a caller turn: 'calls show' lists" \
    "what the caller said, then every bot reply at once, not 'what the bot answered' to each"
[ "$heard" -gt 0 ] || die "the worker heard nothing the caller said"
if [ "$outcome" = committed ]; then
    grep -q "$CALL_ID" "$WORK/step6.log" || die "calls does not list $CALL_ID"
    log "first call $CALL_ID: committed, $heard caller turns heard, the order is in the embedded POS"
else
    warn "first call $CALL_ID reached the worker ($heard caller turns heard) but ended '$outcome'," \
        "not 'committed' (speech recognition, or the pizzeria is closed now); see the transcript above"
fi

# ------------------------------------------------------------------ step 7: day to day
old_pid=$(in_ct systemctl show -p MainPID --value callticket-agi)
log "README step 7: a second caller stays on the line while the block runs; the pizzeria Playbook is edited first"
echo "# edited by try-install $(date +%s)" >>"$ROOT/etc/callticket/playbooks/pizzeria.yaml"
place_call short call2
active=""
for _ in $(seq 1 40); do
    active=$(in_ct curl -s http://127.0.0.1:9464/metrics | awk '$1 == "callticket_active_calls{pbx=\"asterisk\"}" { print $2 }')
    [ "${active%.0}" = 1 ] && break
    sleep 0.5
done
[ "${active%.0}" = 1 ] || die "the second call did not become active (callticket_active_calls: '$active')"
step7_t0=$SECONDS
run_step 7 "day to day"
step7_s=$((SECONDS - step7_t0))
sed 's/^/    /' "$WORK/step7.log" | grep -v '^    + ' >&2
wait "$SIPP_PID" || warn "the second caller's sipp exited $? (see $ROOT/root/call2)"
SIPP_PID=""
grep -q '^callticket_calls_total{.*} 1' "$WORK/step7.log" || die "metrics do not count the first call"
old_log=$(journal_of "$old_pid")
grep -q '"msg": "playbook reloaded", "playbook": "pizzeria"' <<<"$old_log" ||
    die "the edited Playbook was not reloaded"
grep -q '"msg": "draining", "active_calls": 1' <<<"$old_log" ||
    die "the worker did not drain the call in progress on restart (did the reload kill it?)"
new_pid=$(in_ct systemctl show -p MainPID --value callticket-agi)
[ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] || die "the worker did not come back after the restart"
second=$(calls_json 1)
grep -q '"outcome": "hung_up"' <<<"$second" || die "the call in progress did not end by itself: $second"
ready=$(in_ct curl -s --retry 10 --retry-connrefused http://127.0.0.1:9464/readyz)
grep -q '"status": "ready"' <<<"$ready" || die "the restarted worker is not ready: $ready"
log "reload kept PID $old_pid; restart waited ${step7_s}s for the call in progress (it ended hung_up), then PID $new_pid is ready"

# ------------------------------------------------------------------ the FreeSWITCH unit
in_ct systemctl start callticket-esl
ready=$(in_ct curl -s --retry 10 --retry-connrefused http://127.0.0.1:9465/readyz)
grep -q '"status": "ready"' <<<"$ready" ||
    { in_ct systemctl --no-pager status callticket-esl >&2 || true; die "callticket-esl is not ready: $ready"; }
in_ct systemctl stop callticket-esl
log "callticket-esl started under systemd, was ready on 9465 and stopped (no FreeSWITCH to call it)"

if [ "$WARNINGS" = 0 ]; then
    log "everything README's Operations section says worked, in $((SECONDS - T0)) s (logs in $WORK)"
else
    log "README's Operations section ran end to end in $((SECONDS - T0)) s, with $WARNINGS warning(s) above (logs in $WORK)"
fi
