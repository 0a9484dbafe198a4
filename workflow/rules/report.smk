# Aggregation (one tidy row per run x metric) and the papers' tables.


def table_runs(table):
    t = CFG["tables"][table]
    prefix = f"{t['paper']}/{t['table']}/"
    return sorted(r for r, s in RUNS.items() if any(c.startswith(prefix) for c in s["cells"]))


def table_paper(table):
    """Report subcategory of a table: its paper, as the configs name them (lcw, lmgae, gldo, geng)."""
    return {"lcw": "LCW", "lmgae": "LMGAE", "gldo": "GLDO", "geng": "Geng"}.get(
        CFG["tables"][table]["paper"], CFG["tables"][table]["paper"]
    )


rule aggregate:
    input:
        expand("results/runs/{run}/metrics.json", run=sorted(RUNS)),
    output:
        "results/summary.csv",
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    shell:
        "lcwbench aggregate --out {output} {input} > {log} 2>&1"


rule table:
    input:
        lambda w: expand("results/runs/{run}/metrics.json", run=table_runs(w.table)),
    output:
        csv=report(
            "paper_tables/{table}.csv",
            caption="../report/table.rst",
            category="Paper tables (CSV)",
            subcategory=lambda w: table_paper(w.table),
            labels={"table": "{table}"},
        ),
        md="paper_tables/{table}.md",
        html=report(
            "paper_tables/{table}.html",
            caption="../report/table.rst",
            category="Paper tables",
            subcategory=lambda w: table_paper(w.table),
            labels={"table": "{table}"},
        ),
    log:
        "results/logs/tables/{table}.log",
    benchmark:
        "results/benchmarks/tables/{table}.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"],
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        paper=lambda w: CFG["tables"][w.table]["paper"],
        table=lambda w: CFG["tables"][w.table]["table"],
        title=lambda w: shlex.quote(CFG["tables"][w.table].get("title", w.table)),
        metric_map=lambda w: (
            f"--metric-map {q(CFG['tables'][w.table]['metric_map'])}" if CFG["tables"][w.table].get("metric_map") else ""
        ),
        reported=shlex.quote(str(CFG["reported_csv"])),
        cells=lambda w: q(
            {r: {k: RUNS[r][k] for k in ("cells", "group", "sweep")} for r in table_runs(w.table)}
        ),
    shell:
        "lcwbench table --paper {params.paper} --table {params.table} --title {params.title} {params.metric_map}"
        " --reported {params.reported} --cells {params.cells} --csv {output.csv} --md {output.md} --html {output.html}"
        " {input} > {log} 2>&1"
