# lcwbench: one DAG that trains every configured run, evaluates it against shared reference
# statistics and renders the papers' tables.
#
#   snakemake --profile profiles/local                         # full paper DAG (config/config.yaml)
#   snakemake --profile profiles/local --configfile config/smoke.yaml   # reduced smoke DAG
#   snakemake --profile profiles/slurm                         # on a Slurm cluster
#   snakemake paper_tables/table2.csv                          # one table and what it needs
#   snakemake --report report.html                             # every table and figure, with captions

import os
import sys

# Rules call the `lcwbench` console script of the environment running Snakemake (also inside
# Slurm jobs, which re-read this file), whether or not that environment is activated.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

from lcwbench.config import expand_runs, validate_config
from lcwbench.errors import LcwbenchError

if not config:

    configfile: "config/config.yaml"


# Inside a cluster job Snakemake reads this file again (twice per job with the Slurm plugin) for a
# config the submitting process has checked: skip the checks that import every method, and torch
# with them (about 2 s each time here).
_check = not workflow.remote_exec
try:
    CFG = validate_config(config, check_methods=_check)
    RUNS = expand_runs(CFG, check_methods=_check)
except LcwbenchError as exc:
    sys.exit(f"lcwbench: error: {exc}")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        "results/summary.csv",
        expand("paper_tables/{table}.csv", table=list(CFG["tables"])),
        expand("paper_tables/{table}.md", table=list(CFG["tables"])),
        expand("paper_tables/{table}.html", table=list(CFG["tables"])),
        expand("paper_tables/figures/runs/{run}", run=sorted(RUNS)),
        expand("paper_tables/figures/{figure}.png", figure=list(CFG["figures"])),
    default_target: True
