#!/usr/bin/env bash
# Stop the single-node CI Slurm that ci/slurm/start.sh started: cancel its jobs, then end slurmd,
# slurmctld and munged by the PIDs start.sh recorded, and remove start.sh's /etc/slurm/slurm.conf
# symlink. Leaves $LCWBENCH_SLURM_DIR (logs) in place;
# `--purge` removes it as well.
set -uo pipefail

STATE=${LCWBENCH_SLURM_DIR:-/tmp/lcwbench-slurm}
export SLURM_CONF="$STATE/etc/slurm.conf"

pid_of() {
  local pidfile="$STATE/run/$1.pid" pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then
    echo "$pid"
  fi
}

# jobs still in this cluster (a run cut short by a timeout leaves them running)
if [ -n "$(pid_of slurmctld)" ] && command -v squeue >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 20); do
      [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
fi

for d in slurmd slurmctld munged; do
  pid=$(pid_of "$d")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
      echo "slurm-ci: $d ($pid) did not stop on TERM, killed" >&2
    fi
  fi
  rm -f "$STATE/run/$d.pid"
done
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$SLURM_CONF" ]; then
  rm -f /etc/slurm/slurm.conf
fi
if [ "${1:-}" = --purge ]; then
  rm -rf "$STATE"
fi
echo "slurm-ci: stopped"
