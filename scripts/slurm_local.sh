#!/usr/bin/env bash
# A throwaway one-node SLURM cluster on this machine, everything (config, munge key, state,
# logs) in one folder, daemons on free ports: to try `hydra/launcher=slurm_cpu` and `srun kiln
# train ...` without a real cluster (tests/training/test_slurm.py uses it the same way).
# Needs slurm-wlm and munge (Debian/Ubuntu: apt-get install slurm-wlm munge) and root: slurmd
# starts each job step as the submitting user (tried with SLURM 22.05 only).
#   eval "$(scripts/slurm_local.sh start DIR)"   sets SLURM_CONF=DIR/slurm.conf once the node is idle
#   scripts/slurm_local.sh stop DIR             cancels its jobs, stops its daemons (DIR stays)
# Env: SLURM_LOCAL_CPUS (default 2; the node offers this many CPUs whatever the machine has).
set -euo pipefail
SBIN="/usr/sbin:/usr/local/sbin:$PATH"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

free_port() {  # a port nothing listens on, in 20000-31999 (below Linux's ephemeral ports)
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port found" >&2; exit 1
}

alive() { ps -o stat= -p "$1" 2>/dev/null | grep -qv Z; }  # a zombie is gone

drain() {  # end the jobs first: a step whose slurmd is gone lingers as an orphan slurmstepd
  [ -f "$dir/slurmctld.pid" ] && alive "$(cat "$dir/slurmctld.pid")" || return 0
  export SLURM_CONF="$dir/slurm.conf"
  scancel --user="$(id -un)" 2>/dev/null || true  # submitit returns before its jobs exit
  for _ in $(seq 60); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && return
    sleep 0.5
  done
  echo "jobs still running after 30 s: squeue" >&2
}

stop() {
  drain
  for name in slurmd slurmctld munged; do
    [ -f "$dir/$name.pid" ] || continue
    pid=$(cat "$dir/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$name.pid"
  done
}

start() {
  [ "$(id -u)" = 0 ] || { echo "run as root: slurmd starts job steps as their user" >&2; exit 1; }
  for tool in munged mungekey slurmctld slurmd; do
    PATH=$SBIN command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install slurm-wlm munge" >&2; exit 1; }
  done
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod a+x "$dir" "$dir/munge"  # munged wants its socket reachable by every user
  [ -f "$dir/munge/munge.key" ] || PATH=$SBIN mungekey --create --keyfile="$dir/munge/munge.key"
  chmod 600 "$dir/munge/munge.key"
  PATH=$SBIN munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"
  host=$(hostname -s)
  user=$(id -un)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
  cat >"$dir/slurm.conf" <<EOF
# written by scripts/slurm_local.sh: one node, this machine, nothing outside $dir
ClusterName=kiln-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host NodeAddr=127.0.0.1 CPUs=${SLURM_LOCAL_CPUS:-2} State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  PATH=$SBIN slurmctld -i -f "$SLURM_CONF"   # -i: ignore state left in $dir by an earlier run
  PATH=$SBIN slurmd -f "$SLURM_CONF"
  for _ in $(seq 60); do  # the node registers within a few seconds
    if [ "$(sinfo -h -N -o %t 2>/dev/null)" = "idle" ]; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return
    fi
    sleep 0.5
  done
  echo "the node did not become idle; logs in $dir (slurmctld.log, slurmd.log, munged.log)" >&2
  stop
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
