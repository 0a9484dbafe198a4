#!/usr/bin/env bash
# CI's Slurm stage: the tiny DAG (ci/slurm/tiny.yaml -> LCW Table 2, 7 jobs) through the Slurm
# executor on a throwaway single-node Slurm (run_smoke.sh), then the same DAG again with the local
# profile; the two tables must agree to the last digit (same seeds, CPU).
#
#   bash ci/slurm/check.sh
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

targets=(paper_tables/table2.csv --configfile ci/slurm/tiny.yaml)
t0=$SECONDS
SNAKEMAKE="$SNAKEMAKE" bash ci/slurm/run_smoke.sh "${targets[@]}"
t_slurm=$((SECONDS - t0))
mv paper_tables/table2.csv "$work/table2.slurm.csv"

t0=$SECONDS
timeout -k 10 "${LCWBENCH_SLURM_RUN_TIMEOUT:-1800}" "$SNAKEMAKE" --profile profiles/local "${targets[@]}" \
  --forceall
t_local=$((SECONDS - t0))

"$ROOT/.venv/bin/python" ci/slurm/compare_tables.py "$work/table2.slurm.csv" paper_tables/table2.csv
echo "slurm-ci: wall time slurm ${t_slurm}s (start, run, stop), local ${t_local}s"
rm -rf "$work"   # kept when a step fails
