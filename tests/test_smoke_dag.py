"""End to end: the smoke DAG on real data subsets (train -> shared reference statistics -> evaluate ->
tables and figures), in a temporary working directory so the project's results/ and paper_tables/
are untouched.

First only `paper_tables/table2.csv` is asked for, as a user would; then the default target, which
adds the other tables, the figures and the aggregate without retraining what Table 2 already
trained; then a dry run must find nothing to do. Last, `snakemake --report report.html` bundles it all
and headless Chromium opens the report and views every result as a user would (needs `chromium` on
PATH: `bash ci/report/install_chromium.sh`; without it that part skips, unless
LCWBENCH_REQUIRE_CHROMIUM=1 makes it fail).

LCWBENCH_SMOKE_TABLES_OUT=DIR copies the run's paper_tables/ to DIR (replacing it), for .ci/run's Slurm
stage to compare against.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, shared: Path, *args: str) -> str:
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(ROOT / "config" / "smoke.yaml"),
        "--config", f"reported_csv={shared.parent / 'reference' / 'reported.csv'}", f"data_root={shared}",
        # the smoke config runs on the CPU: its "gpu" jobs are CPU jobs of one thread each (the rules
        # pass --threads), so two run at once on a 2-core machine
        "--cores", "2", "--resources", "gpu=2", "--keep-going", *args,
    ]
    # the limit only guards against a hang (the smoke DAG took 44 min one job at a time, CI at aa5a0bf)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return res.stdout + res.stderr


# Defines lcwView(path): view one report result as a user would (open its info panel, click its view
# button, wait until it is on screen); resolves to the rendered caption's text and, for an image, its
# decoded size and whether it is laid out on screen.
VIEW_RESULT_JS = """
window.lcwView = async (path) => {
    const entry = results[path];
    const until = async (what, f) => {
        for (const end = Date.now() + 20000; ; await new Promise((r) => setTimeout(r, 20))) {
            const v = f();
            if (v) return v;
            if (Date.now() > end) throw new Error(`${path}: no ${what} on screen after 20 s`);
        }
    };
    app.showResultInfo(path);
    const button = await until("view button", () =>
        [...document.querySelectorAll("nav li.grow a")].some((a) => a.textContent === path)
        && document.querySelector("nav a[iconname=eye]"));
    const caption = document.querySelector("nav li.prose");
    const out = {mime: entry.mime_type, caption: caption ? caption.innerText : null};
    if (entry.mime_type.startsWith("image/")) {
        button.click();
        const img = await until("image", () => [...document.querySelectorAll("#app img")].find((i) => i.src === entry.data_uri));
        await img.decode().catch((err) => { throw new Error(`${path}: ${err}`); });
        out.img = [img.naturalWidth, img.naturalHeight];
        out.on_screen = img.getBoundingClientRect().width > 0;
    } else if (entry.mime_type === "text/html") {
        button.click();
        await until("frame", () => [...document.querySelectorAll("#app iframe")].some((f) => f.src === entry.data_uri));
    }
    return out;
};
"""
# The paper table of an HTML result, read inside its frame once that has loaded (else null).
TABLE_JS = """
(() => {
    if (document.readyState !== "complete") return null;
    const cells = (tr) => [...tr.children].map((c) => c.innerText);
    return {
        title: document.querySelector("h1") ? document.querySelector("h1").innerText : null,
        headers: [...document.querySelectorAll("table thead tr")].flatMap(cells),
        rows: [...document.querySelectorAll("table tbody tr")].map(cells),
        protocols: [...document.querySelectorAll("#protocols li")].map((li) => li.innerText),
    };
})()
"""


class Chromium:
    """Headless Chromium, driven through the DevTools protocol on a pipe (the child's fds 3 and 4)."""

    def __init__(self, timeout: float = 60):
        self.timeout, self.buf, self.n = timeout, b"", 0
        self.profile = tempfile.mkdtemp(prefix="lcwbench-chromium-")
        to_child, self.w = os.pipe()
        self.r, from_child = os.pipe()

        def fds():
            a, b = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child))
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        os.close(to_child)
        os.close(from_child)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, **params):
        self.n += 1
        os.write(self.w, json.dumps({"id": self.n, "method": method, "params": params}
                                    | ({"sessionId": session} if session else {})).encode() + b"\0")
        end = time.monotonic() + self.timeout
        while True:
            while b"\0" not in self.buf:
                if not select.select([self.r], [], [], max(0.0, end - time.monotonic()))[0]:
                    raise TimeoutError(f"Chromium did not answer {method} within {self.timeout} s")
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium exited: {self.proc.stderr.read().decode()[-2000:]}")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.n:  # else an event
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def js(self, expression: str, context: int | None = None):
        res = self.call("Runtime.evaluate", self.session, expression=expression, awaitPromise=True, returnByValue=True,
                        **({"contextId": context} if context is not None else {}))
        assert "exceptionDetails" not in res, res["exceptionDetails"].get("exception", {}).get("description")
        return res["result"].get("value")

    def frame_js(self, url: str, expression: str):
        """Value of ``expression`` in the frame showing ``url``, once it is not null."""
        end = time.monotonic() + self.timeout
        while True:
            frames = self.call("Page.getFrameTree", self.session)["frameTree"].get("childFrames", [])
            frame = next((f["frame"]["id"] for f in frames if f["frame"]["url"] == url), None)
            if frame is not None:
                ctx = self.call("Page.createIsolatedWorld", self.session, frameId=frame)["executionContextId"]
                value = self.js(expression, ctx)
                if value is not None:
                    return value
            assert time.monotonic() < end, f"the frame of {url[:80]}... did not load"
            time.sleep(0.05)

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            os.killpg(self.proc.pid, 9)  # its own session: only the processes of this browser
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, ignore_errors=True)


def open_report(report: Path) -> dict:
    """Open a Snakemake report in headless Chromium and view each of its results as a user would.

    Returns the workflow description's text (``"workflow"``) and, per result path (``"results"``), its
    mime type, caption text and, as rendered, an image's decoded ``[width, height]`` (``"img"``) or an
    HTML page's table (``"table"``: title, headers, rows, protocol list). Raises when something does not render.
    """
    browser = Chromium()
    try:
        browser.call("Page.navigate", browser.session, url=report.resolve().as_uri())
        end = time.monotonic() + browser.timeout
        while not browser.js("typeof app !== 'undefined' && !!document.querySelector('#app nav')"):
            assert time.monotonic() < end, "the report did not start"
            time.sleep(0.1)
        out = {"workflow": browser.js("document.querySelector('#app .prose').innerText"), "results": {}}
        browser.js(VIEW_RESULT_JS)
        for path, uri in browser.js("Object.entries(results).map(([p, r]) => [p, r.data_uri])"):
            view = out["results"][path] = browser.js(f"lcwView({json.dumps(path)})")
            if view["mime"] == "text/html":
                view["table"] = browser.frame_js(uri, TABLE_JS)
        return out
    finally:
        browser.close()


def png_size(path: Path) -> list[int]:
    return list(struct.unpack(">II", path.read_bytes()[16:24]))


def check_report(report: Path, workdir: Path) -> None:
    """Every table, figure and per-run figure of the smoke DAG renders in the report, captioned with its
    protocol."""
    assert report.stat().st_size > 1_000_000
    if shutil.which("chromium") is None:
        why = "chromium not on PATH (bash ci/report/install_chromium.sh): report.html built but not opened"
        if os.environ.get("LCWBENCH_REQUIRE_CHROMIUM") == "1":
            pytest.fail(why)
        pytest.skip(why)
    shown = open_report(report)
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    assert "Numbers are comparable only under the same protocol" in shown["workflow"]
    assert all(p["description"] in shown["workflow"] for p in cfg["protocols"].values())
    res = shown["results"]
    assert all(v["caption"] and "System Message" not in v["caption"] for v in res.values())  # rst rendered cleanly

    for name, spec in cfg["tables"].items():
        csv = pd.read_csv(workdir / "paper_tables" / f"{name}.csv", dtype={"protocol_id": str})
        page = res[f"paper_tables/{name}.html"]
        table = page["table"]
        assert table["title"] == spec["title"]
        assert table["headers"][:3] == ["dataset", "method", "metric"] and table["headers"][-1] == "protocol"
        assert [r[:3] for r in table["rows"]] == csv[["dataset", "method", "metric"]].values.tolist()
        assert [r[-1] for r in table["rows"]] == csv.protocol_id.fillna("").tolist()
        ids = sorted(csv.protocol_id.dropna().unique()) or ["none"]  # none: the config reproduces no cell
        assert sorted(p.split(":")[0] for p in table["protocols"]) == ids
        for caption in (page["caption"], res[f"paper_tables/{name}.csv"]["caption"]):
            assert spec["title"] in caption and f"paper_tables/{name}.md" in caption and "Protocol." in caption
    t2 = {tuple(r[:3]): r for r in res["paper_tables/table2.html"]["table"]["rows"]}
    assert t2[("MNIST", "CWAE", "rec_error")][6] == "2"  # seeds
    assert "smoke: 64 generated vs 64 training images" in res["paper_tables/table2.html"]["caption"]

    pngs = sorted((workdir / "paper_tables").rglob("*.png"))
    assert sorted(p for p, v in res.items() if v["mime"] == "image/png") == [str(p.relative_to(workdir)) for p in pngs]
    for png in pngs:
        view = res[str(png.relative_to(workdir))]
        assert view["img"] == png_size(png) and view["on_screen"], png
        if png.parent.parent.name == "runs":
            run = png.parent.name
            assert run in view["caption"] and f"results/runs/{run}/metrics.json" in view["caption"]
            assert re.search(r"evaluated under protocol (\w+)", view["caption"]).group(1) in cfg["protocols"]
        else:
            fig = cfg["figures"][png.stem]
            assert f"figure kind {fig['kind']}" in view["caption"] and "Protocol." in view["caption"]
    assert len([p for p in pngs if p.name == "samples.png"]) == len(list((workdir / "results" / "runs").iterdir()))
    assert "Metric: fid" in res["paper_tables/figures/lmgae_ucurve_synthetic.png"]["caption"]


def cell(table: pd.DataFrame, method: str, metric: str) -> pd.Series:
    rows = table[(table.dataset == table.dataset.iloc[0]) & (table.method == method) & (table.metric == metric)]
    assert len(rows) == 1, (method, metric, rows)
    return rows.iloc[0]


@pytest.mark.slow
def test_smoke_dag_end_to_end(tmp_path, shared_data):
    log = snakemake(tmp_path, shared_data, "paper_tables/table2.csv")
    # stand-in weights, MNIST refstats, 9 train (AE, CWAE x2 seeds; CW2 grid x2; 3 LT), 9 evaluate, table
    assert "21 of 21 steps (100%) done" in log

    t2 = pd.read_csv(tmp_path / "paper_tables" / "table2.csv")
    assert len(t2) == 25  # every cell of LCW Table 2 once
    done = t2[t2.n_seeds > 0]
    assert sorted(zip(done.method, done.metric)) == sorted(
        [("AE", "fid"), ("AE", "rec_error"), ("CWAE", "fid"), ("CWAE", "rec_error"), ("CW2", "fid"),
         ("CW2", "rec_error"), ("AE+LT", "fid"), ("CWAE+LT", "fid"), ("LCW", "fid")]
    )
    assert done.reproduced_mean.notna().all()
    for method in ("AE", "CWAE"):
        row = cell(t2, method, "rec_error")
        assert row.n_seeds == 2 and pd.notna(row.reproduced_std) and pd.notna(row.difference)
    assert "best of 2/2 sweep points by mean FID" in cell(t2, "CW2", "fid").note
    assert done[done.metric == "fid"].note.str.contains("STAND-IN").all()
    assert done[done.metric == "fid"].difference.isna().all()  # no difference against a stand-in FID
    assert "Stand-in extractor" in (tmp_path / "paper_tables" / "table2.md").read_text()

    # one reference-statistics node shared by all nine evaluations
    refs = sorted(p.relative_to(tmp_path / "results" / "refstats") for p in (tmp_path / "results" / "refstats").rglob("*.npz"))
    assert refs == [Path("mnist/train-n64-standin-standin0.npz")]

    runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 9
    lt_runs = [r for r in runs if "-latent_trick-" in r.name]
    assert len(lt_runs) == 3 and all("-on-mnist-" in r.name for r in lt_runs)
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        fid = m["metrics"]["fid"]
        assert fid["protocol"]["is_standin"] is True and re.fullmatch(r"[0-9a-f]{64}", fid["protocol"]["weights_sha256"])
        assert fid["protocol"]["n_gen"] == 64 and fid["protocol"]["ref_n"] == 64
        assert {"fid", "is", "kid", "f8", "f1_8", "rec_error", "mse", "psnr", "offdiag_cov"} <= set(m["metrics"])
        assert (run / "samples.png").stat().st_size > 0 and not (run / "ckpt.pt").exists()
        for sub in ("train", "evaluate"):
            assert (tmp_path / "results" / "logs" / sub / f"{run.name}.log").exists()
            assert (tmp_path / "results" / "benchmarks" / sub / f"{run.name}.tsv").exists()
    mtimes = {r.name: (r / "model.pt").stat().st_mtime_ns for r in runs}

    snakemake(tmp_path, shared_data)
    assert {r.name: (r / "model.pt").stat().st_mtime_ns for r in runs} == mtimes  # nothing retrained
    for name in ("table1", "table3", "table4"):
        assert (tmp_path / "paper_tables" / f"{name}.md").exists()
    t1 = pd.read_csv(tmp_path / "paper_tables" / "table1.csv")
    assert {"CWAE", "CW2", "CW-Generator", "SW-Generator"} <= set(t1[(t1.dataset == "MNIST") & (t1.n_seeds > 0)].method)
    t3 = pd.read_csv(tmp_path / "paper_tables" / "table3.csv")
    assert set(t3[(t3.dataset == "MNIST") & (t3.n_seeds > 0)].method) == {"CW-Generator", "SW-Generator", "LCW"}
    t4 = pd.read_csv(tmp_path / "paper_tables" / "table4.csv")
    assert set(t4[t4.n_seeds > 0].method) == {"VAE"}
    assert t4[t4.method == "DCGAN"].note.str.contains("literature").all()

    figures = tmp_path / "paper_tables" / "figures"
    assert (figures / "smoke_fig4_fmnist.png").stat().st_size > 0
    all_runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(all_runs) == 51
    for run in all_runs:
        figs = figures / "runs" / run.name
        assert (figs / "samples.png").stat().st_size > 0
        if "-latent_trick-" in run.name:
            assert (figs / "lt_interpolations.png").exists() and (figs / "lt_interpolations_latent.png").exists()
        metrics = json.loads((run / "metrics.json").read_text())["metrics"]
        if "rec_error" in metrics and not run.name.startswith(("synthetic-", "swissroll-")):  # encoder, images
            assert (figs / "reconstructions.png").exists()
    summary = pd.read_csv(tmp_path / "results" / "summary.csv")
    assert summary.run.nunique() == 51 and {"protocol_id", "extractor", "n_gen", "ref_split"} <= set(summary.columns)

    # LMGAE: capacity sweeps, U-curves with their CSV, mask trajectories, both tables
    for name in ("lmgae_ucurve_synthetic", "lmgae_ucurve_mnist", "lmgae_mask_trajectories"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.csv").exists()
    # GLDO Figs. 3, 4, 7, 8 with their CSVs
    for name in ("gldo_fig8_eps", "gldo_fig7_loss", "gldo_fig3_interpolations", "gldo_fig4_convergence"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.csv").exists()
    assert list(pd.read_csv(figures / "gldo_fig8_eps.csv").x) == [0.01, 1.0]
    assert list(pd.read_csv(figures / "gldo_fig7_loss.csv").label) == ["GLO_Lap", "GLDO_L2"]
    assert set(pd.read_csv(figures / "gldo_fig4_convergence.csv").curve) == {"GLDO", "WGAN-GP", "GLO"}
    curve = pd.read_csv(figures / "lmgae_ucurve_synthetic.csv")
    assert sorted(zip(curve.curve, curve.x)) == [(c, m) for c in ("LMGAE", "WAE-GAN") for m in (1, 2, 4)]
    assert curve[curve.curve == "LMGAE"].active_dims_mean.notna().all()
    assert curve[curve.curve == "WAE-GAN"].active_dims_mean.isna().all()
    lm1 = pd.read_csv(tmp_path / "paper_tables" / "lmgae_table1.csv")
    assert set(lm1[lm1.n_seeds > 0].method) == {"WAE", "LMGAE"} and lm1.reported.isna().all()
    lm2 = pd.read_csv(tmp_path / "paper_tables" / "lmgae_table2.csv")
    assert set(zip(lm2[lm2.n_seeds > 0].method, lm2[lm2.n_seeds > 0].metric)) == {
        ("WAE", "offdiag_cov"), ("LMGAE", "offdiag_cov"), ("LMGAE", "active_dims")}
    assert "active" in lm2[lm2.method == "LMGAE"].protocol.iloc[0]

    # GLDO: every method; search-based PSNR for the encoder-less ones, interpolation FID, PRD
    g1 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table1.csv")
    assert set(g1[g1.n_seeds > 0].method) == {"GLO", "GLDO", "DCGAN", "WGAN-GP", "BEGAN"}
    g2 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table2.csv")
    done2 = g2[g2.n_seeds > 0]
    assert set(done2.method) == {"PCA", "GAN", "GLO", "GLDO"} and done2.reproduced_mean.between(3, 60).all()
    assert done2[done2.method == "GLO"].protocol.str.contains("latent search").all()
    assert set(done2[done2.method == "GLO"].dataset) == {"MNIST", "LSUN-bedroom"}  # LSUN's held-out test split
    g5 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table5.csv")
    assert set(g5[g5.n_seeds > 0].method) == {"GLO", "GLDO", "GLO-GLF", "GLO-TSV", "GLANN"}
    g6 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table6.csv")
    assert set(g6[g6.n_seeds > 0].method) == {"GLO", "GLDO", "GLO-SN"}
    for run in all_runs:
        if "-glo-" in run.name or "-dcgan-" in run.name:
            m = json.loads((run / "metrics.json").read_text())["metrics"]
            assert {"fid", "f8", "f1_8", "psnr"} <= set(m)
            # GLDO Table 8's crop-108 CelebA GLO: reconstruction FID instead of interpolation FID
            assert ("fid_reconstruction" if run.name.startswith("celeba-") else "fid_interp") in m
            assert m["psnr"]["protocol"]["search"]["n"] == 16
    assert (tmp_path / "paper_tables" / "gldo_table3.md").exists()

    # Geng: every method of Tables 1-2 (VAE shares the LCW Table 4 run), geng's two stages, the swiss
    # roll's manifold distances, Figs. 4-6 with their CSVs
    e1 = pd.read_csv(tmp_path / "paper_tables" / "geng_table1.csv")
    assert set(zip(e1[e1.n_seeds > 0].method, e1[e1.n_seeds > 0].metric)) == {
        (m, k) for m in ("VAE", "AAE", "WAE", "IntroVAE", "AGE", "Ours") for k in ("fid", "mse")}
    e2 = pd.read_csv(tmp_path / "paper_tables" / "geng_table2.csv")
    assert set(zip(e2[e2.n_seeds > 0].dataset, e2[e2.n_seeds > 0].method)) == {
        ("CelebA", m) for m in ("VAE", "AAE", "WAE", "IntroVAE", "AGE", "Ours")} | {("cifar10", "AAE"), ("cifar10", "Ours")}
    assert e2[(e2.dataset == "cifar10") & (e2.method == "Ours")].reported.isna().all()
    for run in all_runs:
        if run.name.startswith("swissroll-"):
            m = json.loads((run / "metrics.json").read_text())["metrics"]
            assert {"mse", "manifold_dist", "manifold_dist_rec", "fid"} <= set(m)
            assert "100000 points" in m["manifold_dist"]["protocol"]["reference"]
        if "-geng-" in run.name:
            log = pd.read_csv(run / "train_log.csv")
            assert set(log.stage) == {1.0, 2.0}
    for name in ("geng_swissroll", "geng_swissroll_latent", "geng_ablation_mnist"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.csv").exists()
    fig4 = pd.read_csv(figures / "geng_swissroll.csv")
    assert set(fig4.label) == {"VAE", "AAE", "ALAE", "Ours"} and {"mse", "manifold_dist"} <= set(fig4.metric)
    assert set(pd.read_csv(figures / "geng_swissroll_latent.csv").label) == {"VAE", "AAE", "ALAE", "Ours"}
    assert set(pd.read_csv(figures / "geng_ablation_mnist.csv").label) == {"Without BN", "With BN", "BN+Regularizer"}

    assert "Nothing to be done" in snakemake(tmp_path, shared_data, "-n")
    # .ci/run compares these tables with the same DAG run through Slurm (ci/slurm/check.sh)
    keep = os.environ.get("LCWBENCH_SMOKE_TABLES_OUT")
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(tmp_path / "paper_tables", keep)

    # the report: tables, figures and per-run figures with captions that state the protocol, in Chromium
    snakemake(tmp_path, shared_data, "--report", str(tmp_path / "report.html"))
    check_report(tmp_path / "report.html", tmp_path)
