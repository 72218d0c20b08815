#!/bin/bash
# asterisk_chroot.sh - a real Asterisk (Debian sid's package) for the PBX tests,
# in a debootstrap'ed chroot on a Debian 12 host, listening on 127.0.0.1 only.
#
#   asterisk_chroot.sh build                 build the chroot once (cached), print its path
#   asterisk_chroot.sh start NAME CONFDIR [OWNER_PID]
#                                            start an instance with CONFDIR/*.conf, print its PID;
#                                            it is stopped by the next start once OWNER_PID is gone
#   asterisk_chroot.sh stop NAME             stop that instance and remove its directory
#   asterisk_chroot.sh cli NAME 'COMMAND'    asterisk -rx COMMAND on that instance
#   asterisk_chroot.sh path NAME             host path of the instance dir (logs in log/)
#   asterisk_chroot.sh mirror                the Debian mirror this host's apt uses
#
# The chroot is cached in $CALLTICKET_ASTERISK_CACHE (default
# ${XDG_CACHE_HOME:-/var/cache}/callticket/asterisk-sid) and built from nothing when
# absent; a half-finished build never looks finished (built in root.tmp, then renamed).
# Each instance keeps its configs, database, sockets and logs in its own
# /var/tmp/callticket/NAME inside the chroot, so the cached tree stays pristine.
# Needs root (debootstrap, chroot, mount). The mirror comes from /etc/apt at
# run time ($CALLTICKET_DEBIAN_MIRROR overrides it).
set -euo pipefail

CACHE=${CALLTICKET_ASTERISK_CACHE:-${XDG_CACHE_HOME:-/var/cache}/callticket/asterisk-sid}
ROOT=$CACHE/root
SUITE=${CALLTICKET_DEBIAN_SUITE:-sid}
PKGS=(asterisk asterisk-core-sounds-en-wav)
CHROOT_ENV=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)

log() { echo "[asterisk_chroot $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mount need it)"; }

mirror_url() {
    if [ -n "${CALLTICKET_DEBIAN_MIRROR:-}" ]; then echo "${CALLTICKET_DEBIAN_MIRROR%/}"; return; fi
    local u="" f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        u=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) if ($i !~ /security/) { print $i; exit } }' "$f")
        [ -n "$u" ] && break
    done
    if [ -z "$u" ]; then
        u=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^(https?|ftp|file):/) { print $i; exit } }' | head -n1)
    fi
    [ -n "$u" ] || die "cannot find a Debian mirror in /etc/apt (set CALLTICKET_DEBIAN_MIRROR)"
    echo "${u%/}"
}

is_built() { [ -x "$1/usr/sbin/asterisk" ] && [ -f "$1/usr/share/asterisk/sounds/en_US_f_Allison/beep.wav" ] && [ -f "$1/.callticket-built" ]; }

proc_mounted() { awk -v m="$ROOT/proc" '$2==m {f=1} END {exit !f}' /proc/mounts; }

build() {
    need_root
    mkdir -p "$CACHE"
    # parallel test runs wait for one build; the lock lives in a subshell so
    # that no Asterisk started later inherits it
    ( flock 9; build_locked ) 9>"$CACHE/.lock"
}

build_locked() {
    if is_built "$ROOT"; then echo "$ROOT"; return 0; fi
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    local tmp=$CACHE/root.tmp mirror t0
    mirror=$(mirror_url)
    if [ -e "$tmp" ]; then
        awk -v m="$tmp/proc" '$2==m {f=1} END {exit !f}' /proc/mounts && umount -l "$tmp/proc"
        rm -rf "$tmp"
    fi
    t0=$SECONDS
    log "debootstrap --variant=minbase $SUITE (mirror from /etc/apt) into $tmp"
    debootstrap --variant=minbase "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap $SUITE failed (log: $CACHE/debootstrap.log)"; }
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"   # never start services in the chroot
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
    log "apt-get install ${PKGS[*]} in the chroot"
    # debootstrap leaves usable package lists; a frozen mirror's Release file may
    # have 'expired', so only then refresh without the validity check.
    if ! chroot "$tmp" "${CHROOT_ENV[@]}" apt-get install -y --no-install-recommends "${PKGS[@]}" >"$CACHE/apt.log" 2>&1; then
        chroot "$tmp" "${CHROOT_ENV[@]}" apt-get -o Acquire::Check-Valid-Until=false update >>"$CACHE/apt.log" 2>&1 || true
        chroot "$tmp" "${CHROOT_ENV[@]}" apt-get install -y --no-install-recommends "${PKGS[@]}" >>"$CACHE/apt.log" 2>&1 \
            || { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get install asterisk failed (log: $CACHE/apt.log)"; }
    fi
    chroot "$tmp" "${CHROOT_ENV[@]}" apt-get clean >/dev/null 2>&1 || true
    chroot "$tmp" dpkg-query -W -f='${Version}\n' asterisk >"$tmp/.callticket-built"
    [ -e "$ROOT" ] && rm -rf "$ROOT"
    mv "$tmp" "$ROOT"
    log "built asterisk $(cat "$ROOT/.callticket-built") in $((SECONDS - t0)) s"
    echo "$ROOT"
}

inst_dir() { echo "/var/tmp/callticket/$1"; }          # inside the chroot
pidfile() { echo "$ROOT$(inst_dir "$1")/asterisk.pid"; }
astcli() { chroot "$ROOT" /usr/sbin/asterisk -C "$(inst_dir "$1")/etc/asterisk.conf" -rx "$2"; }
running() { local p; p=$(cat "$(pidfile "$1")" 2>/dev/null) || return 1; kill -0 "$p" 2>/dev/null && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = asterisk ]; }

# Some container runtimes drop root's DAC override: then root cannot read files
# it does not own, and Asterisk must run as its own user.
root_reads_foreign_files() {
    local f; f=$(mktemp); echo x >"$f"; chown 65534 "$f"; chmod 600 "$f"
    if cat "$f" >/dev/null 2>&1; then rm -f "$f"; return 0; fi
    rm -f "$f"; return 1
}

# Core config files Asterisk complains about when absent; CONFDIR may override them.
write_stubs() {
    printf '[general]\nenable=no\n' >"$1/cdr.conf"
    printf '[general]\nenable=no\n' >"$1/cel.conf"
    local f
    for f in features ccss udptl pjproject; do printf '[general]\n' >"$1/$f.conf"; done
    printf '; none\n' >"$1/acl.conf"
    printf '[general]\ncountry=us\n[us]\ndescription=United States\nringcadence=2000,4000\nring=440+480/2000,0/4000\nbusy=480+620/500,0/500\ncongestion=480+620/250,0/250\n' \
        >"$1/indications.conf"
}

# Instances whose owner (a test run) died without stopping them.
reap() {
    local dir owner name
    for dir in "$ROOT"/var/tmp/callticket/*/; do
        [ -d "$dir" ] || continue
        name=$(basename "$dir")
        owner=$(cat "$dir/owner" 2>/dev/null || true)
        if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then
            running "$name" && log "stopping instance $name: its owner $owner is gone"
            stop "$name"
        fi
    done
}

start() {
    need_root
    local name=$1 confdir=$2 owner=${3:-$PPID}
    [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad instance name '$name'"
    [ -d "$confdir" ] || die "no config dir $confdir"
    build >/dev/null
    if running "$name"; then die "instance $name is already running"; fi
    reap
    local d; d=$(inst_dir "$name")
    local h=$ROOT$d
    rm -rf "$h"
    mkdir -p "$h"/{etc,run,log,lib/keys,spool,cache}
    echo "$owner" >"$h/owner"
    write_stubs "$h/etc"
    cp "$confdir"/*.conf "$h/etc/"
    local moddir; moddir=$(cd "$ROOT" && ls -d usr/lib/*/asterisk/modules | head -n1)
    local runas=root
    root_reads_foreign_files || runas=asterisk
    cat >"$h/etc/asterisk.conf" <<EOF
[directories]
astcachedir => $d/cache
astetcdir => $d/etc
astmoddir => /$moddir
astvarlibdir => /var/lib/asterisk
astdbdir => $d/lib
astkeydir => $d/lib
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => $d/spool
astrundir => $d/run
astlogdir => $d/log
astsbindir => /usr/sbin

[options]
verbose = 3
debug = 0
cache_media_frames = yes

[files]
astctlpermissions = 0660
astctlowner = $runas
astctlgroup = root
EOF
    local user_args=()
    if [ "$runas" != root ]; then
        chroot "$ROOT" chown -R asterisk:asterisk "$d"
        user_args=(-U asterisk -G asterisk)
    fi
    proc_mounted || mount -t proc proc "$ROOT/proc"
    setsid chroot "$ROOT" /usr/sbin/asterisk -f -g -vvv "${user_args[@]}" -C "$d/etc/asterisk.conf" \
        >"$h/log/console.log" 2>&1 </dev/null &
    local pid=$! i
    echo "$pid" >"$h/asterisk.pid"
    for i in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$h/log/console.log" >&2; die "asterisk exited during start (log: $h/log/console.log)"
        fi
        if astcli "$name" "core waitfullybooted" >/dev/null 2>&1; then echo "$pid"; return 0; fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    die "asterisk did not boot within 30 s (log: $h/log/console.log)"
}

stop() {
    need_root
    local name=$1 pid i
    pid=$(cat "$(pidfile "$name")" 2>/dev/null || true)
    if [ -n "$pid" ] && running "$name"; then
        astcli "$name" "core stop now" >/dev/null 2>&1 || true
        for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { kill -TERM "$pid"; sleep 2; }
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$(pidfile "$name")"
    [ -n "${CALLTICKET_KEEP_INSTANCE:-}" ] || rm -rf "$ROOT$(inst_dir "$name")"
    # /proc stays mounted while another instance runs
    local other
    for other in "$ROOT"/var/tmp/callticket/*/asterisk.pid; do
        [ -f "$other" ] && kill -0 "$(cat "$other")" 2>/dev/null && return 0
    done
    if proc_mounted; then umount "$ROOT/proc" 2>/dev/null || umount -l "$ROOT/proc"; fi
}

cmd=${1:-}
case "$cmd" in
    build)  build ;;
    start)  [ $# -ge 3 ] || die "usage: $0 start NAME CONFDIR [OWNER_PID]"; start "$2" "$3" "${4:-$PPID}" ;;
    stop)   [ $# -eq 2 ] || die "usage: $0 stop NAME"; stop "$2" ;;
    cli)    [ $# -eq 3 ] || die "usage: $0 cli NAME COMMAND"; astcli "$2" "$3" ;;
    path)   [ $# -eq 2 ] || die "usage: $0 path NAME"; echo "$ROOT$(inst_dir "$2")" ;;
    mirror) mirror_url ;;
    *) echo "usage: $0 build | start NAME CONFDIR [OWNER_PID] | stop NAME | cli NAME CMD | path NAME | mirror" >&2; exit 2 ;;
esac
