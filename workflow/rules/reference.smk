# Reference statistics: one node per (dataset as images, split, n, extractor, weights), shared by runs.


rule standin_weights:
    output:
        STANDIN,
    log:
        "results/logs/standin_weights.log",
    benchmark:
        "results/benchmarks/standin_weights.tsv"
    resources:
        mem_mb=CFG["resources"]["small"]["mem_mb"] * 2,
        runtime=CFG["resources"]["small"]["runtime"],
        gpu=0,
    params:
        seed=CFG["fid"]["standin_seed"],
    shell:
        "lcwbench standin-weights --out {output} --seed {params.seed} > {log} 2>&1"


rule refstats:
    input:
        standin_input(),
    output:
        "results/refstats/{dskey}/{refname}.npz",
    log:
        "results/logs/refstats/{dskey}/{refname}.log",
    benchmark:
        "results/benchmarks/refstats/{dskey}/{refname}.tsv"
    threads: res("refstats")["cpus"]
    resources:
        mem_mb=refstats_mem,
        runtime=res("refstats")["runtime"],
        gpu=res("refstats")["gpu"],
    params:
        args=lambda w: (
            "--dataset {ds} --data {data} --split {split} --n {n} --fid {fid}".format(
                ds=REF_KEYS[(w.dskey, w.refname)][0],
                data=q(REF_KEYS[(w.dskey, w.refname)][1]),
                split=CFG["protocols"][REF_KEYS[(w.dskey, w.refname)][2]]["ref_split"],
                n=CFG["protocols"][REF_KEYS[(w.dskey, w.refname)][2]]["ref_n"] or "all",
                fid=q(CFG["fid"]),
            )
        ),
        common=common_args(),
        standin=standin_arg(),
    shell:
        "lcwbench refstats {params.args} {params.standin} {params.common} --threads {threads} --out {output} > {log} 2>&1"
