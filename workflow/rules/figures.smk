# Figures: per-run sample grids, reconstructions beside test images (LCW Fig. 5), Latent Trick
# interpolations (Fig. 7); and the configured multi-run figures (Fig. 4: 2-D latents vs LT samples).


def figure_panels(name):
    """{label: [base run model, LT run model or None]} of a latent_comparison figure, at its seed."""
    fig = CFG["figures"][name]
    out = {}
    for label, (base_exp, lt_exp) in fig["panels"].items():
        def run_of(exp):
            return next(r for r, s in RUNS.items() if exp in s["experiments"] and s["seed"] == fig.get("seed", 0))

        lt_model = f"results/runs/{run_of(lt_exp)}/model.pt" if lt_exp else None
        out[label] = [f"results/runs/{run_of(base_exp)}/model.pt", lt_model]
    return out


rule run_figures:
    input:
        model="results/runs/{run}/model.pt",
    output:
        directory("paper_tables/figures/runs/{run}"),
    log:
        "results/logs/figures/{run}.log",
    benchmark:
        "results/benchmarks/figures/{run}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"] * 2,
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        spec=lambda w: q(train_spec(RUNS[w.run])),
        rundir=lambda w: f"results/runs/{w.run}",
        common=common_args(),
    shell:
        "lcwbench figures --run-dir {params.rundir} --spec {params.spec} --out-dir {output} {params.common} > {log} 2>&1"


rule latent_figure:
    input:
        lambda w: [p for pair in figure_panels(w.figure).values() for p in pair if p],
    output:
        "paper_tables/figures/{figure}.png",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"] * 2,
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        panels=lambda w: q(figure_panels(w.figure)),
        dataset=lambda w: CFG["figures"][w.figure]["dataset"],
        split=lambda w: CFG["figures"][w.figure].get("split", "test"),
        n=lambda w: CFG["figures"][w.figure].get("n", 2000),
        common=common_args(),
    shell:
        "lcwbench latent-figure --panels {params.panels} --dataset {params.dataset} --split {params.split}"
        " --n {params.n} --out {output} {params.common} > {log} 2>&1"
