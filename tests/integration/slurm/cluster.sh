#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost for the Slurm executor's tests (munged, slurmctld,
# slurmd from Debian's packages; deploy/install-deps.sh --with-slurm). Everything (config, state,
# logs, munge key and socket) lives under DIR; nothing in /etc, /run or /var is used.
#
#   cluster.sh start DIR    fresh cluster; returns once the node is idle (about a second)
#   cluster.sh stop DIR     cancels the jobs, stops the daemons by the PIDs in DIR/run, kills
#                           leftover job processes of this cluster; safe on a half-started DIR
#   cluster.sh status DIR
#
# Clients need SLURM_CONF=DIR/slurm.conf. Runs as root (SlurmUser=root); no cgroups, no
# accounting database (sacct -c reads the job completion log instead).
#
# Environment: SLURM_TEST_CTLD_PORT, SLURM_TEST_SLURMD_PORT (defaults 16817, 16818; the tests
# pick free ones), SLURM_TEST_NODE (default hostname -s), SLURM_TEST_MEM_MB (1024),
# SLURM_TEST_TIMEOUT (seconds until the node must be idle, 30).
#
# Pitfalls this handles: slurmctld and slurmd exit 0 and die later (their PID files and the
# node's state are checked against a deadline); the munge socket's folder must be o+x; a node
# set down by hand must stay down (ReturnToService=1); a requeued job waits cred_expire before
# it starts again (10 s here, not 120); job processes outlive killed daemons (no cgroups), so
# stop cancels jobs first and then kills what is left of this cluster's job steps.
set -euo pipefail
die() { echo "slurm-cluster: $*" >&2; exit 1; }

usage() { echo "usage: $0 {start|stop|status} DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
CMD=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)

CTLD_PORT=${SLURM_TEST_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_TEST_SLURMD_PORT:-16818}
NODE=${SLURM_TEST_NODE:-$(hostname -s)}
CTLD_HOST=$(hostname -s)   # slurmctld only runs on a host whose name is in SlurmctldHost
MEM_MB=${SLURM_TEST_MEM_MB:-1024}
TIMEOUT=${SLURM_TEST_TIMEOUT:-30}

export SLURM_CONF=$DIR/slurm.conf
MUNGE_SOCK=$DIR/munge/munge.sock

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

# PID from a pid file, only if that process is alive and is the expected program.
live_pid() { # pidfile comm
    local f=$1 comm=$2 p
    [ -s "$f" ] || return 1
    p=$(tr -dc '0-9' < "$f")
    [ -n "$p" ] && [ -r "/proc/$p/comm" ] || return 1
    [ "$(cat "/proc/$p/comm")" = "$comm" ] || return 1
    # a zombie counts as gone
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] || return 1
    echo "$p"
}

wait_gone() { # pid seconds
    local p=$1 n=$(( $2 * 20 ))
    while [ $n -gt 0 ]; do
        [ -d "/proc/$p" ] || return 0
        [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] || return 0
        sleep 0.05; n=$((n - 1))
    done
    return 1
}

stop_pid() { # pidfile comm
    local p
    p=$(live_pid "$1" "$2") || return 0
    kill -TERM "$p" 2>/dev/null || true
    if ! wait_gone "$p" 15; then
        echo "slurm-cluster: $2 ($p) did not stop on TERM, sending KILL" >&2
        kill -KILL "$p" 2>/dev/null || true
        wait_gone "$p" 5 || true
    fi
    echo "stopped $2 pid $p"
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# slurmstepd processes of this cluster (identified by SLURM_CONF in their
# environment) and every process in their sessions: the job scripts and tasks.
kill_steps() {
    local p sid pids=""
    for p in $(pgrep -x slurmstepd || true); do
        tr '\0' '\n' 2>/dev/null < "/proc/$p/environ" | grep -qxF "SLURM_CONF=$SLURM_CONF" || continue
        sid=$(ps -o sid= -p "$p" 2>/dev/null | tr -d ' ' || true)
        [ -n "$sid" ] || continue
        pids="$pids $(ps -eo pid=,sid= | awk -v s="$sid" '$2==s{print $1}')"
    done
    pids=$(echo $pids)
    [ -n "$pids" ] || return 0
    echo "killing leftover job processes: $pids"
    kill -KILL $pids 2>/dev/null || true
    for p in $pids; do wait_gone "$p" 5 || true; done
}

write_conf() {
    local hw
    # Node hardware as slurmd sees it (CPUs, sockets, cores, threads); name and memory replaced.
    hw=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//')
    cat > "$SLURM_CONF" <<EOF
ClusterName=testcluster
SlurmctldHost=$CTLD_HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# own munged socket; cred_expire also sets how long a requeued job waits (default 120 s)
AuthInfo=socket=$MUNGE_SOCK,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=1
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 $hw RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

# log tail of each named daemon, stop whatever was started, exit 1
fail() { # message daemon...
    local msg=$1 d; shift
    for d in "$@"; do echo "--- $DIR/log/$d.log:" >&2; tail -5 "$DIR/log/$d.log" >&2 2>/dev/null || true; done
    stop >/dev/null 2>&1 || true
    die "$msg"
}

# wait up to 10 s for the daemon's pid file; 1 s more to see that it stays up
wait_daemon() { # name
    local i=200
    while [ $i -gt 0 ]; do
        live_pid "$DIR/run/$1.pid" "$1" >/dev/null && break
        sleep 0.05; i=$((i - 1))
    done
    [ $i -gt 0 ] || return 1
    sleep 0.2
    live_pid "$DIR/run/$1.pid" "$1" >/dev/null
}

start() {
    local t0 p st deadline
    for b in munged mungekey slurmctld slurmd sinfo; do
        command -v "$b" >/dev/null || die "$b not found: deploy/install-deps.sh --with-slurm"
    done
    [ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root)"
    if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null || live_pid "$DIR/run/slurmd.pid" slurmd >/dev/null \
       || live_pid "$DIR/run/munged.pid" munged >/dev/null; then
        die "a cluster is already running in $DIR (stop it first)"
    fi
    for p in "$CTLD_PORT" "$SLURMD_PORT"; do port_busy "$p" && die "port $p is in use"; done

    t0=$(now)
    # fresh state, logs and job-completion file every start
    rm -rf "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/munge" "$DIR/log"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log" "$DIR/munge"
    # munged: every folder above its socket must be o+x (mkdtemp makes DIR 0700)
    chmod 755 "$DIR" "$DIR/munge"
    mungekey --create --keyfile="$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
    write_conf
    echo "export SLURM_CONF=$SLURM_CONF" > "$DIR/env.sh"

    munged --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCK" \
           --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
           --seed-file="$DIR/munge/munged.seed" \
        || fail "munged failed" munged

    # -c: clear any saved state (fresh job ids); -i would ignore errors in it instead.
    # Both daemons fork and exit 0 even when the daemon then fails: check that they live.
    trap 'stop >/dev/null 2>&1 || true' ERR
    slurmctld -c || fail "slurmctld failed" slurmctld
    wait_daemon slurmctld || fail "slurmctld exited" slurmctld
    slurmd -N "$NODE" || fail "slurmd failed" slurmd
    wait_daemon slurmd || fail "slurmd exited" slurmd

    deadline=$(( $(date +%s) + TIMEOUT ))
    st=""
    while [ "$(date +%s)" -lt "$deadline" ]; do
        st=$(timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
        [ "$st" = idle ] && break
        live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null || break
        live_pid "$DIR/run/slurmd.pid" slurmd >/dev/null || break
        sleep 0.1
    done
    [ "$st" = idle ] || fail "node not idle after ${TIMEOUT}s (state '$st')" slurmctld slurmd
    trap - ERR
    echo "slurm up in $(elapsed "$t0")s: node $NODE idle;" \
         "munged $(live_pid "$DIR/run/munged.pid" munged)" \
         "slurmctld $(live_pid "$DIR/run/slurmctld.pid" slurmctld)" \
         "slurmd $(live_pid "$DIR/run/slurmd.pid" slurmd)"
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop() {
    local t0 deadline
    t0=$(now)
    if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null && live_pid "$DIR/run/slurmd.pid" slurmd >/dev/null; then
        # cancel every job while the daemons can still clean up after it
        if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null || true)" ]; then
            (timeout 10 squeue -h -o %i | xargs -r timeout 10 scancel) 2>/dev/null || true
            deadline=$(( $(date +%s) + 5 + 10 ))   # KillWait + margin
            while [ "$(date +%s)" -lt "$deadline" ] \
                  && [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null || true)" ]; do sleep 0.1; done
        fi
    fi
    stop_pid "$DIR/run/slurmd.pid" slurmd
    stop_pid "$DIR/run/slurmctld.pid" slurmctld
    stop_pid "$DIR/run/munged.pid" munged
    kill_steps
    echo "slurm stopped in $(elapsed "$t0")s"
}

status() {
    local n
    for n in munged slurmctld slurmd; do
        echo "$n: $(live_pid "$DIR/run/$n.pid" "$n" || echo 'not running')"
    done
    sinfo 2>&1 || true
}

case $CMD in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
