# Evaluation of one run against its protocol's shared reference statistics.


rule evaluate:
    input:
        model="results/runs/{run}/model.pt",
        refstats=lambda w: RUNS[w.run]["refstats"],
        standin=standin_input(),
    output:
        metrics="results/runs/{run}/metrics.json",
    log:
        "results/logs/evaluate/{run}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}.tsv"
    threads: res("evaluate")["cpus"]
    resources:
        mem_mb=res("evaluate")["mem_mb"],
        runtime=eval_runtime("protocol"),
        gpu=res("evaluate")["gpu"],
    params:
        spec=lambda w: q(train_spec(RUNS[w.run])),
        protocol_name=lambda w: RUNS[w.run]["protocol"],
        protocol=lambda w: q(CFG["protocols"][RUNS[w.run]["protocol"]]),
        fid=q(CFG["fid"]),
        rundir=lambda w: f"results/runs/{w.run}",
        common=common_args(),
        standin=standin_arg(),
        snapshot="",  # evaluate_snapshot: --snapshot-step N
    shell:
        "lcwbench evaluate --run-dir {params.rundir} --spec {params.spec} --protocol-name {params.protocol_name}"
        " --protocol {params.protocol} --fid {params.fid} --refstats {input.refstats} {params.standin}"
        " {params.snapshot} {params.common} --threads {threads} --out {output.metrics} > {log} 2>&1"


def snapshot_step(w):
    """The snapshot step of a run; only the steps its experiments list (``snapshots:``) are evaluated."""
    step = int(w.step)
    if step not in RUNS[w.run].get("snapshots", []):
        raise ValueError(f"run {w.run} keeps no snapshot of step {step}; its snapshots: {RUNS[w.run].get('snapshots')}")
    return step


# One snapshot of a run (GLDO Fig. 4: the metric over training), under the experiment's snapshot_protocol
# (default: the run's protocol). The snapshot file is written by the run's training job (listed in its
# spec), so the job depends on model.pt. (`with:` replaces the whole input; params merge by name.)
use rule evaluate as evaluate_snapshot with:
    wildcard_constraints:
        step=r"[1-9][0-9]*",
    input:
        model="results/runs/{run}/model.pt",
        refstats=lambda w: RUNS[w.run]["snapshot_refstats"],
        standin=standin_input(),
    output:
        metrics="results/runs/{run}/snapshots/step{step}/metrics.json",
    log:
        "results/logs/evaluate/{run}-step{step}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}-step{step}.tsv"
    resources:  # `with:` replaces the whole resources
        mem_mb=res("evaluate")["mem_mb"],
        runtime=eval_runtime("snapshot_protocol"),
        gpu=res("evaluate")["gpu"],
    params:
        protocol_name=lambda w: RUNS[w.run]["snapshot_protocol"],
        protocol=lambda w: q(CFG["protocols"][RUNS[w.run]["snapshot_protocol"]]),
        snapshot=lambda w: f"--snapshot-step {snapshot_step(w)}",
