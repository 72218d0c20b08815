#!/bin/bash
# try-install.sh - follow docs/operations.md on a brand-new Debian 12, in a chroot.
#
#   sudo deploy/try-install.sh [WORKDIR]      (default /var/tmp/callticket-try-install)
#
# Builds a minimal Debian 12 with debootstrap, copies this source tree to
# /root/callticket inside it, runs every `sh` block of the "Install" and
# "Configure" sections of docs/operations.md exactly as written, then starts
# the Asterisk worker the way deploy/systemd/callticket-agi.service does (its
# User=, Environment= and ExecStart=; a chroot has no systemd), checks that
# its ports answer, and stops it with the unit's KillSignal.
#
# Needs root, debootstrap and the network (Debian mirror, PyPI). The mirror is
# the one this host's apt uses ($CALLTICKET_DEBIAN_MIRROR overrides it). Behind
# a TLS-inspecting proxy, the CA bundle in $PIP_CERT or $SSL_CERT_FILE is
# copied in for pip.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
WORK=${1:-/var/tmp/callticket-try-install}
ROOT=$WORK/root
DOC=$SRC/docs/operations.md
UNIT=$SRC/deploy/systemd/callticket-agi.service

log() { echo "[try-install $(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "apt-get install debootstrap"

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

cleanup() {
    for m in dev/pts dev sys proc; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true; done
}
trap cleanup EXIT

cleanup
rm -rf "$WORK"
mkdir -p "$WORK"
log "debootstrap bookworm from $(mirror)"
debootstrap --variant=minbase bookworm "$ROOT" "$(mirror)" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap (see $WORK/debootstrap.log)"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

log "copying the source tree to /root/callticket"
mkdir -p "$ROOT/root/callticket"
if git -C "$SRC" rev-parse >/dev/null 2>&1; then
    git -C "$SRC" ls-files -co --exclude-standard -z | tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT/root/callticket" -xf -
else
    tar -C "$SRC" --exclude=.venv --exclude=var -cf - . | tar -C "$ROOT/root/callticket" -xf -
fi

ENV=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
CA=${PIP_CERT:-${SSL_CERT_FILE:-}}
if [ -n "$CA" ] && [ -f "$CA" ]; then
    cp "$CA" "$ROOT/root/host-ca.pem"
    ENV+=(PIP_CERT=/root/host-ca.pem)
fi

# The sh blocks of "### 1." and "### 2.", in order, as one script.
awk '/^### /{ on = ($0 ~ /^### (1|2)\./) } on && /^```sh$/{ blk=1; next } blk && /^```$/{ blk=0; next } blk' "$DOC" \
    >"$ROOT/root/steps.sh"
[ -s "$ROOT/root/steps.sh" ] || die "no sh blocks found in $DOC"
log "running the documented steps:"
sed 's/^/    /' "$ROOT/root/steps.sh" >&2
chroot "$ROOT" "${ENV[@]}" bash -ex /root/steps.sh >"$WORK/steps.log" 2>&1 || {
    tail -n 30 "$WORK/steps.log" >&2; die "a documented step (see $WORK/steps.log)"; }
grep -E '^(ok|warning|error) ' "$WORK/steps.log" >&2 || true

# The service as its unit starts it.
unit() { sed -n "s/^$1=//p" "$UNIT"; }
user=$(unit User)
exec_start=$(unit ExecStart)
envs=$(unit Environment | tr '\n' ' ')
stop_s=$(unit TimeoutStopSec)
log "starting '$exec_start' as $user with $envs"
chroot "$ROOT" "${ENV[@]}" runuser -u "$user" -- env -i PATH=/usr/bin:/bin $envs $exec_start >"$WORK/service.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 60); do
    sleep 1
    kill -0 "$pid" 2>/dev/null || break
    if chroot "$ROOT" python3 -c '
import socket, sys, urllib.request
for port in (4573, 9092):
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
urllib.request.urlopen("http://127.0.0.1:9464/healthz", timeout=2).read()
' 2>/dev/null; then ok=1; break; fi
done
if [ -z "$ok" ]; then
    tail -n 20 "$WORK/service.log" >&2
    kill -TERM "$pid" 2>/dev/null || true
    die "the service did not answer on 4573, 9092 and 9464/healthz (see $WORK/service.log)"
fi
log "the service answers on FastAGI 4573, AudioSocket 9092 and /healthz 9464"
kill -TERM "$pid"
for _ in $(seq 1 "$stop_s"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
kill -0 "$pid" 2>/dev/null && die "still running ${stop_s}s after SIGTERM"
log "stopped on SIGTERM; everything documented worked (logs in $WORK)"
