# Figures: per-run sample grids, reconstructions beside test images (LCW Fig. 5), Latent Trick
# interpolations (Fig. 7); and the configured multi-run figures: LCW Fig. 4 (2-D latents vs LT
# samples), LMGAE Fig. 3 (metric vs model capacity, "ucurve") and Fig. 5 (mask trajectories), Geng
# Fig. 4 ("manifold_scatter"), Fig. 5 ("latent_prior") and Fig. 6 ("variant_grid").

COMPARISON_KINDS = ("manifold_scatter", "latent_prior", "variant_grid")


def figures_of_kind(kind):
    return [name for name, fig in CFG["figures"].items() if fig["kind"] == kind]


def sweep_runs(fig, exp):
    """Runs of experiment ``exp`` -> their value of the figure's swept parameter."""
    x_param = fig.get("x_param", "latent_dim")
    return {r: s["params"][x_param] for r, s in RUNS.items() if exp in s["experiments"]}


def ucurve_points(name):
    fig = CFG["figures"][name]
    return {
        r: {"curve": label, "x": x, "seed": RUNS[r]["seed"]}
        for label, exp in fig["experiments"].items()
        for r, x in sweep_runs(fig, exp).items()
    }


def mask_runs(name):
    """{"M=<capacity>": run} of a mask_trajectories figure, at its seed."""
    fig = CFG["figures"][name]
    runs = sweep_runs(fig, fig["experiment"])
    seed = fig.get("seed", 0)
    return {f"M={m}": next(r for r, x in runs.items() if x == m and RUNS[r]["seed"] == seed) for m in fig["capacities"]}


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


def comparison_runs(name):
    """{label: (run at the figure's seed, [runs of every seed])} of a comparison figure."""
    fig = CFG["figures"][name]
    seed = fig.get("seed", 0)
    out = {}
    for label, exp in fig["experiments"].items():
        runs = sorted(r for r, s in RUNS.items() if exp in s["experiments"])
        out[label] = (next(r for r in runs if RUNS[r]["seed"] == seed), runs)
    return out


def experiment_metrics(name):
    """[[label, [metrics.json of every seed]], ...] of a metric_comparison figure, in the config's order."""
    fig = CFG["figures"][name]
    return [
        [label, sorted(f"results/runs/{r}/metrics.json" for r, s in RUNS.items() if exp in s["experiments"])]
        for label, exp in fig["experiments"].items()
    ]


def snapshot_points(name):
    """{"<run>@step<N>": {"curve": label, "x": N, "seed": s}} of a training_curve figure: every seed's
    snapshots of each experiment."""
    fig = CFG["figures"][name]
    return {
        f"{r}@step{step}": {"curve": label, "x": step, "seed": RUNS[r]["seed"]}
        for label, exp in fig["experiments"].items()
        for r in sorted(r for r, s in RUNS.items() if exp in s["experiments"])
        for step in RUNS[r]["snapshots"]
    }


def comparison_inputs(name):
    runs = comparison_runs(name).values()
    return sorted({f"results/runs/{r}/model.pt" for r, _ in runs}) + sorted(
        {f"results/runs/{r}/metrics.json" for _, rs in runs for r in rs}
    )


def comparison_data(name):
    exp = CFG["experiments"][next(iter(CFG["figures"][name]["experiments"].values()))]
    return exp["dataset"], exp.get("data") or {}


# The report (snakemake --report report.html): per-run figures grouped by protocol and kind, the
# configured figures by kind; captions in workflow/report/.
RUN_FIGURE_NAMES = {
    "samples": "Sample grids",
    "reconstructions": "Reconstructions",
    "lt_interpolations": "Latent Trick interpolations",
    "lt_interpolations_latent": "Latent Trick interpolation paths",
}
FIGURE_KINDS = {
    "latent_comparison": "2-D latents vs Latent Trick samples",
    "ucurve": "Metric vs model capacity",
    "mask_trajectories": "Mask trajectories",
    "manifold_scatter": "Manifold scatter",
    "latent_prior": "Latents vs prior",
    "variant_grid": "Variant grid",
    "metric_comparison": "Metric per experiment",
    "interpolation_strips": "Interpolations between learned codes",
    "training_curve": "Metric over training",
}


def figure_report(path):
    return report(
        path,
        caption="../report/figure.rst",
        category="Figures",
        subcategory=lambda w: FIGURE_KINDS.get(CFG["figures"][w.figure]["kind"], CFG["figures"][w.figure]["kind"]),
        labels={"figure": "{figure}"},
    )


rule run_figures:
    input:
        model="results/runs/{run}/model.pt",
    output:
        report(
            directory("paper_tables/figures/runs/{run}"),
            patterns=["{name}.png"],
            caption="../report/run_figure.rst",
            category=lambda w: f"Run figures, protocol {RUNS[w.run]['protocol']}",
            subcategory=lambda w: RUN_FIGURE_NAMES.get(w.name, w.name),
            labels={"run": "{run}"},
        ),
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
        "lcwbench figures --run-dir {params.rundir} --spec {params.spec} --out-dir {output} {params.common} --threads {threads} > {log} 2>&1"


rule latent_figure:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("latent_comparison")),
    input:
        lambda w: [p for pair in figure_panels(w.figure).values() for p in pair if p],
    output:
        figure_report("paper_tables/figures/{figure}.png"),
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
        " --n {params.n} --out {output} {params.common} --threads {threads} > {log} 2>&1"


rule ucurve:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("ucurve")),
    input:
        lambda w: expand("results/runs/{run}/metrics.json", run=sorted(ucurve_points(w.figure))),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        points=lambda w: q(ucurve_points(w.figure)),
        metric=lambda w: CFG["figures"][w.figure].get("metric", "fid"),
        true_dim=lambda w: (
            f"--true-dim {CFG['figures'][w.figure]['true_dim']}" if "true_dim" in CFG["figures"][w.figure] else ""
        ),
        x_axis=lambda w: "--x-param {} --x-scale {}{}".format(
            shlex.quote(CFG["figures"][w.figure].get("x_param", "latent_dim")),
            CFG["figures"][w.figure].get("x_scale", "linear"),
            f" --x-label {shlex.quote(CFG['figures'][w.figure]['x_label'])}" if "x_label" in CFG["figures"][w.figure] else "",
        ),
        title=lambda w: shlex.quote(CFG["figures"][w.figure].get("title", w.figure)),
    shell:
        "lcwbench ucurve --points {params.points} --metric {params.metric} {params.true_dim} {params.x_axis}"
        " --title {params.title} --out {output.png} {input} > {log} 2>&1"


rule mask_trajectories:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("mask_trajectories")),
    input:
        lambda w: expand("results/runs/{run}/model.pt", run=sorted(mask_runs(w.figure).values())),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        logs=lambda w: q({k: f"results/runs/{r}/train_log.csv" for k, r in mask_runs(w.figure).items()}),
        threshold=lambda w: CFG["experiments"][CFG["figures"][w.figure]["experiment"]]
        .get("params", {})
        .get("active_threshold", 0.1),
        title=lambda w: shlex.quote(f"{w.figure} (seed {CFG['figures'][w.figure].get('seed', 0)})"),
    shell:
        "lcwbench mask-trajectories --logs {params.logs} --threshold {params.threshold} --title {params.title}"
        " --out {output.png} > {log} 2>&1"


rule comparison_figure:
    wildcard_constraints:
        figure=alternatives(n for k in COMPARISON_KINDS for n in figures_of_kind(k)),
    input:
        lambda w: comparison_inputs(w.figure),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"] * 2,
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        kind=lambda w: CFG["figures"][w.figure]["kind"],
        # [label, ...] pairs, not mappings: q() sorts mapping keys, and the rows keep the config's order
        models=lambda w: q([[k, f"results/runs/{r}/model.pt"] for k, (r, _) in comparison_runs(w.figure).items()]),
        metrics=lambda w: q(
            [[k, [f"results/runs/{r}/metrics.json" for r in rs]] for k, (_, rs) in comparison_runs(w.figure).items()]
        ),
        dataset=lambda w: comparison_data(w.figure)[0],
        data=lambda w: q(comparison_data(w.figure)[1]),
        split=lambda w: CFG["figures"][w.figure].get("split", "test"),
        n=lambda w: CFG["figures"][w.figure].get("n", 5000),
        seed=lambda w: CFG["figures"][w.figure].get("seed", 0),
        title=lambda w: (
            f"--title {shlex.quote(CFG['figures'][w.figure]['title'])}" if "title" in CFG["figures"][w.figure] else ""
        ),
        common=common_args(),
    shell:
        "lcwbench comparison-figure --kind {params.kind} --models {params.models} --metrics {params.metrics}"
        " --dataset {params.dataset} --data {params.data} --split {params.split} --n {params.n} --seed {params.seed}"
        " {params.title} --out {output.png} {params.common} --threads {threads} > {log} 2>&1"


rule metric_figure:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("metric_comparison")),
    input:
        lambda w: sorted({f for _, files in experiment_metrics(w.figure) for f in files}),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        # [label, ...] pairs, not mappings: q() sorts mapping keys, and the points keep the config's order
        metrics=lambda w: q(experiment_metrics(w.figure)),
        metric=lambda w: CFG["figures"][w.figure].get("metric", "fid"),
        title=lambda w: shlex.quote(CFG["figures"][w.figure].get("title", w.figure)),
    shell:
        "lcwbench metric-figure --metrics {params.metrics} --metric {params.metric} --title {params.title}"
        " --out {output.png} > {log} 2>&1"


rule code_interpolations:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("interpolation_strips")),
    input:
        lambda w: sorted({f"results/runs/{r}/model.pt" for r, _ in comparison_runs(w.figure).values()}),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"] * 2,
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        models=lambda w: q([[k, f"results/runs/{r}/model.pt"] for k, (r, _) in comparison_runs(w.figure).items()]),
        pairs=lambda w: CFG["figures"][w.figure].get("pairs", 4),
        steps=lambda w: CFG["figures"][w.figure].get("interp_steps", 8),
        seed=lambda w: CFG["figures"][w.figure].get("seed", 0),
        title=lambda w: shlex.quote(
            CFG["figures"][w.figure].get("title", f"{w.figure}: lines between learned codes of training images")
        ),
    shell:
        "lcwbench code-interpolations --models {params.models} --pairs {params.pairs} --steps {params.steps}"
        " --seed {params.seed} --title {params.title} --out {output.png} > {log} 2>&1"


rule training_curve:
    wildcard_constraints:
        figure=alternatives(figures_of_kind("training_curve")),
    input:
        lambda w: sorted(
            "results/runs/{}/snapshots/step{}/metrics.json".format(*p.split("@step")) for p in snapshot_points(w.figure)
        ),
    output:
        png=figure_report("paper_tables/figures/{figure}.png"),
        csv="paper_tables/figures/{figure}.csv",
    log:
        "results/logs/figures/{figure}.log",
    benchmark:
        "results/benchmarks/figures/{figure}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        points=lambda w: q(snapshot_points(w.figure)),
        metric=lambda w: CFG["figures"][w.figure].get("metric", "fid"),
        x_axis=lambda w: "--x-param step --x-scale {}{}".format(
            CFG["figures"][w.figure].get("x_scale", "linear"),
            f" --x-label {shlex.quote(CFG['figures'][w.figure]['x_label'])}" if "x_label" in CFG["figures"][w.figure] else "",
        ),
        title=lambda w: shlex.quote(CFG["figures"][w.figure].get("title", w.figure)),
    shell:
        "lcwbench ucurve --points {params.points} --metric {params.metric} {params.x_axis} --title {params.title}"
        " --out {output.png} {input} > {log} 2>&1"
