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
        runtime=res("evaluate")["runtime"],
        gpu=res("evaluate")["gpu"],
    params:
        spec=lambda w: q(train_spec(RUNS[w.run])),
        protocol_name=lambda w: RUNS[w.run]["protocol"],
        protocol=lambda w: q(CFG["protocols"][RUNS[w.run]["protocol"]]),
        fid=q(CFG["fid"]),
        rundir=lambda w: f"results/runs/{w.run}",
        common=common_args(),
        standin=standin_arg(),
    shell:
        "lcwbench evaluate --run-dir {params.rundir} --spec {params.spec} --protocol-name {params.protocol_name}"
        " --protocol {params.protocol} --fid {params.fid} --refstats {input.refstats} {params.standin}"
        " {params.common} --out {output.metrics} > {log} 2>&1"
