#!/usr/bin/env bash
# Run Snakemake targets through the Slurm executor on a throwaway single-node Slurm (start.sh),
# with the production profile plus the CI overrides, and stop Slurm again however the run ends.
#
#   bash ci/slurm/run_smoke.sh                        # the tiny DAG: ci/slurm/tiny.yaml -> table2
#   bash ci/slurm/run_smoke.sh paper_tables/table2.csv --configfile config/smoke.yaml
#
# Arguments go to snakemake as they are, targets first: --configfile takes every word after it
# (default: paper_tables/table2.csv --configfile ci/slurm/tiny.yaml, a 7-job DAG). Environment:
# SNAKEMAKE (default .venv/bin/snakemake), LCWBENCH_SLURM_RUN_TIMEOUT (seconds for the whole run,
# default 1800), LCWBENCH_SLURM_KEEP=1 to leave Slurm running afterwards, and start.sh's
# LCWBENCH_SLURM_* variables.
set -euo pipefail
cd "$(dirname "$0")/../.."

SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
LIMIT=${LCWBENCH_SLURM_RUN_TIMEOUT:-1800}
export SLURM_CONF="${LCWBENCH_SLURM_DIR:-/tmp/lcwbench-slurm}/etc/slurm.conf"

if [ "${LCWBENCH_SLURM_KEEP:-0}" != 1 ]; then
  trap 'bash ci/slurm/stop.sh >&2' EXIT
fi
bash ci/slurm/start.sh

[ $# -gt 0 ] || set -- paper_tables/table2.csv --configfile ci/slurm/tiny.yaml
start=$SECONDS
rc=0
# Snakemake ignores SIGTERM while jobs are active: -k sends SIGKILL 10 s after the TERM. timeout runs
# in its own process group, so a TERM or INT to this script is passed on to it (then stop.sh runs).
timeout -k 10 "$LIMIT" "$SNAKEMAKE" --profile profiles/slurm --workflow-profile ci/slurm/profile "$@" &
smk=$!
trap 'kill -TERM "$smk" 2>/dev/null; wait "$smk"; exit 143' TERM
trap 'kill -TERM "$smk" 2>/dev/null; wait "$smk"; exit 130' INT
wait "$smk" || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "slurm-ci: snakemake did not finish within ${LIMIT}s (killed)" >&2
elif [ "$rc" != 0 ]; then
  echo "slurm-ci: snakemake failed (exit $rc) after $((SECONDS - start))s" >&2
else
  echo "slurm-ci: snakemake finished in $((SECONDS - start))s"
fi
exit "$rc"
