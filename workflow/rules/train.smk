# Training: one job per run. Resumes from results/runs/<run>/ckpt.pt when a previous attempt died.


def base_model(w):
    base = RUNS[w.run]["base"]
    return [f"results/runs/{base}/model.pt"] if base else []


rule train:
    input:
        base=base_model,
    output:
        model="results/runs/{run}/model.pt",
        info="results/runs/{run}/run.json",
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    threads: lambda w: res("train", RUNS[w.run])["cpus"]
    resources:
        mem_mb=lambda w: res("train", RUNS[w.run])["mem_mb"],
        runtime=lambda w: res("train", RUNS[w.run])["runtime"],
        gpu=lambda w: res("train", RUNS[w.run])["gpu"],
    params:
        spec=lambda w: q(train_spec(RUNS[w.run])),
        outdir=lambda w: f"results/runs/{w.run}",
        common=common_args(),
        every=CFG["checkpoint_every"],
        precision=CFG["precision"],
        base=lambda w, input: f"--base-model {input.base[0]}" if input.base else "",
    shell:
        "lcwbench train --spec {params.spec} --out-dir {params.outdir} --checkpoint-every {params.every}"
        " --precision {params.precision} {params.base} {params.common} --threads {threads} > {log} 2>&1"
