#!/usr/bin/env bash
# CI's Slurm stage: a DAG through the Slurm executor on a throwaway single-node Slurm (run_smoke.sh),
# then the same DAG again with the local profile; the tables must agree to the last digit (same
# seeds, CPU).
#
#   bash ci/slurm/check.sh                                   # tiny DAG (ci/slurm/tiny.yaml -> table2, 7 jobs)
#   LCWBENCH_SLURM_DAG=smoke bash ci/slurm/check.sh          # the whole smoke DAG (config/smoke.yaml)
#   LCWBENCH_SLURM_DAG=smoke LCWBENCH_LOCAL_TABLES=DIR bash ci/slurm/check.sh
#
# LCWBENCH_LOCAL_TABLES names the paper_tables/ of a local run of the same DAG and commit (e.g. the
# one test_smoke_dag left): the local run is then not repeated, and every table in it must agree.
#
# It works in a scratch copy of the working tree (tracked and untracked, not ignored files) beside
# a link to ../shared (removed on success, kept for inspection on failure), so results/ and
# paper_tables/ of the checkout stay untouched. Needs .venv (scripts/setup.sh) and root (or Slurm
# and munge already installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SNAKEMAKE="$ROOT/.venv/bin/snakemake"
[ -x "$SNAKEMAKE" ] || { echo "slurm-ci: $SNAKEMAKE missing: run scripts/setup.sh first" >&2; exit 1; }
[ -d ../shared ] || { echo "slurm-ci: ../shared missing beside the checkout" >&2; exit 1; }

work=$(mktemp -d /tmp/lcwbench-slurm-check.XXXXXX)
ln -s "$(cd ../shared && pwd)" "$work/shared"
mkdir "$work/repo"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
  xargs -0 cp --parents -t "$work/repo"
cd "$work/repo"

case "${LCWBENCH_SLURM_DAG:-tiny}" in
  tiny) targets=(paper_tables/table2.csv --configfile ci/slurm/tiny.yaml); limit=1800 ;;
  # the smoke config runs on the CPU: its one-thread "gpu" jobs run two at a time (as test_smoke_dag)
  smoke) targets=(--configfile config/smoke.yaml); local_extra=(--resources gpu=2); limit=5400 ;;
  *) echo "slurm-ci: LCWBENCH_SLURM_DAG must be tiny or smoke, got '$LCWBENCH_SLURM_DAG'" >&2; exit 1 ;;
esac
export LCWBENCH_SLURM_RUN_TIMEOUT=${LCWBENCH_SLURM_RUN_TIMEOUT:-$limit}
local_tables=${LCWBENCH_LOCAL_TABLES:-}
if [ -n "$local_tables" ] && [ ! -d "$local_tables" ]; then
  echo "slurm-ci: LCWBENCH_LOCAL_TABLES=$local_tables is not a directory" >&2; exit 1
fi

t0=$SECONDS
SNAKEMAKE="$SNAKEMAKE" bash ci/slurm/run_smoke.sh "${targets[@]}"
t_slurm=$((SECONDS - t0))
mv paper_tables "$work/tables.slurm"

if [ -z "$local_tables" ]; then
  t0=$SECONDS
  timeout -k 10 "$LCWBENCH_SLURM_RUN_TIMEOUT" "$SNAKEMAKE" --profile profiles/local "${targets[@]}" \
    ${local_extra[@]+"${local_extra[@]}"} --forceall
  t_local="$((SECONDS - t0))s"
  local_tables=paper_tables
else
  t_local="not rerun, tables from $local_tables"
fi

"$ROOT/.venv/bin/python" ci/slurm/compare_tables.py "$work/tables.slurm" "$local_tables"
echo "slurm-ci: wall time slurm ${t_slurm}s (start, run, stop), local ${t_local}"
rm -rf "$work"   # kept when a step fails
