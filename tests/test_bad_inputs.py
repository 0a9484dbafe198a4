"""Bad inputs through the real command line, one case each: config, data, checkpoints, weights, outputs.

Every case runs ``python -m lcwbench.cli ...`` as a subprocess in its own folder (the working directory)
with an environment that cannot reach the network (proxies point at a closed local port, the torch hub
cache is an empty folder) and asserts the project's policy for bad input:

* exit status 2;
* stderr is exactly one line, ``lcwbench: error: <what and where>``, naming the problem and the key or
  path (each case lists substrings the line must hold), with no traceback;
* nothing partial is left: after the command the case folder holds exactly the files it held before
  (no ``model.pt``, ``run.json``, ``metrics.json``, ``.*.tmp``, ...), with the same contents (an input
  such as a corrupt checkpoint is neither "repaired" nor deleted).

A read-only results directory cannot be made with ``chmod`` when the tests run as root (root writes
anyway), so that case points ``--out-dir`` *inside a regular file*, which no user can create.

The cases run two at a time in a module fixture (each is one CPU-bound process), only those selected.
Set ``LCWBENCH_BAD_INPUTS_TABLE=<path>`` to also write a Markdown table ``case | input | message``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TIMEOUT = 180  # seconds per command; each takes a few seconds on an idle CPU
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused at once

BASE_CONFIG = """\
seeds: [0]
fid: {extractor: standin}
protocols:
  smoke: {n_gen: 64, ref_split: train, ref_n: 64}
tables:
  table2: {paper: lcw, table: table2}
experiments:
  mnist_ae:
    dataset: mnist
    data: {max_items: 64}
    method: ae
    params: {latent_dim: 8, epochs: 1, batch_size: 32}
    protocol: smoke
    cells: [lcw/table2/MNIST/AE]
"""

FID_STANDIN = {"extractor": "standin", "standin_seed": 0, "implementation": "torch-fidelity", "batch_size": 50,
               "weights": None}
FID_INCEPTION = {**FID_STANDIN, "extractor": "inception"}
PROTOCOL = {"n_gen": 64, "ref_split": "train", "ref_n": 64, "n_rec": 64, "rec_split": "test", "is_splits": 2,
            "prd": False, "kid": False}


def spec(**params) -> dict:
    """A tiny training run: 64 MNIST images, batches of 32, one epoch (two steps)."""
    data = params.pop("data", {"max_items": 64})
    seed = params.pop("seed", 0)
    method = params.pop("method", "ae")
    return {"run": "bad", "dataset": "mnist", "data": data, "method": method,
            "params": {"epochs": 1, "batch_size": 32, "latent_dim": 8, **params}, "seed": seed, "base": None}


def train_args(d: Path, s: dict, out: str = "out/run", *extra: str) -> list[str]:
    return ["train", "--spec", json.dumps(s), "--out-dir", str(d / out), "--device", "cpu",
            "--checkpoint-every", "1", *extra]


def evaluate_args(d: Path, run_dir: str = "out/run") -> list[str]:
    return ["evaluate", "--run-dir", str(d / run_dir), "--spec", json.dumps(spec()), "--protocol-name", "smoke",
            "--protocol", json.dumps(PROTOCOL), "--fid", json.dumps(FID_STANDIN), "--refstats",
            str(d / "out" / "ref.npz"), "--standin-weights", str(d / "standin.pth"), "--out",
            str(d / run_dir / "metrics.json"), "--device", "cpu"]


def refstats_args(d: Path, fid: dict, *extra: str) -> list[str]:
    return ["refstats", "--dataset", "mnist", "--split", "test", "--n", "64", "--fid", json.dumps(fid),
            "--out", str(d / "out" / "refstats" / "test-n64.npz"), "--device", "cpu", *extra]


# ------------------------------------------------------------------------------------------ inputs


def write_config(d: Path, old: str | None = None, new: str = "", text: str | None = None) -> Path:
    """``BASE_CONFIG`` with ``old`` replaced by ``new`` (or ``text`` as is) in ``d/config.yaml``."""
    if text is None:
        assert old is None or old in BASE_CONFIG, old
        text = BASE_CONFIG if old is None else BASE_CONFIG.replace(old, new)
    path = d / "config.yaml"
    path.write_text(text)
    return path


def data_root(d: Path, *, drop: str | None = None, corrupt: str | None = None) -> Path:
    """A data root with MNIST's four files linked from the shared copy, less ``drop``; ``corrupt`` is
    replaced by a gzip that decompresses fine but has one byte changed (so only its checksum is wrong)."""
    raw = d / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for src in sorted((SHARED_DATA / "MNIST" / "raw").glob("*.gz")):
        if src.name == drop:
            continue
        if src.name == corrupt:
            content = bytearray(gzip.decompress(src.read_bytes()))
            content[-1] ^= 0x01  # last label / pixel: header and size stay valid
            (raw / src.name).write_bytes(gzip.compress(bytes(content), mtime=0))
        else:
            (raw / src.name).symlink_to(src)
    return d / "data"


class RunsCode:
    """Unpickling this calls ``exec``, which writes ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import builtins

        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def malicious_torch_file(path: Path, marker: Path) -> None:
    """A torch.save zip whose pickle runs code: refused by weights_only=True, runs with the full unpickler."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"step": 1, "modules": {}, "payload": RunsCode(marker)}, path)


def cut(src: Path, dst: Path) -> None:
    """``dst``: the first half of ``src`` (a checkpoint cut short by a full disk or a killed copy)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])


# ------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    area: str  # config, data, checkpoint, weights, outputs
    input: str  # what is wrong, for the table
    prepare: Callable[[Path, dict], tuple[list[str], dict[str, str]]]  # (case dir, artifacts) -> argv, env
    expect: tuple[str, ...]  # substrings of the error line: the problem and where
    may_leave: tuple[str, ...] = ()  # complete files the command may leave (named in its message)


def _config(old, new):
    return lambda d, art: (["validate-config", str(write_config(d, old, new))], {})


def _ckpt_truncated(d, art):
    cut(art["ckpt"], d / "out" / "run" / "ckpt.pt")
    return train_args(d, spec()), {}


def _ckpt_malicious(d, art):
    malicious_torch_file(d / "out" / "run" / "ckpt.pt", d / "PWNED")
    return train_args(d, spec()), {}


def _model_truncated(d, art):
    cut(art["model"], d / "out" / "run" / "model.pt")
    return evaluate_args(d), {}


def _model_malicious(d, art):
    malicious_torch_file(d / "out" / "run" / "model.pt", d / "PWNED")
    return evaluate_args(d), {}


def _out_dir_in_file(d, art):
    (d / "results").write_text("a regular file where the results folder should be\n")
    return train_args(d, spec(), "results/runs/bad"), {}


def _garbage_standin(d, art):
    (d / "standin.pth").write_text("not a torch file\n")
    return refstats_args(d, FID_STANDIN, "--standin-weights", str(d / "standin.pth")), {}


CASES = [
    # --- config (validate-config: what the Snakefile runs first) -----------------------------------
    Case("config-wrong-type", "config", "params latent_dim: \"eight\"",
         _config("latent_dim: 8", 'latent_dim: "eight"'),
         ("config.yaml", "['experiments']['mnist_ae']", "latent_dim", "must be of type int", "'eight'")),
    Case("config-unknown-method", "config", "method: vaex",
         _config("method: ae", "method: vaex"),
         ("config.yaml", "unknown method 'vaex'", "['experiments']['mnist_ae']['method']", "valid: ")),
    Case("config-unknown-dataset", "config", "dataset: svhn",
         _config("dataset: mnist", "dataset: svhn"),
         ("config.yaml", "unknown dataset 'svhn'", "['experiments']['mnist_ae']['dataset']", "mnist")),
    Case("config-latent-dim-zero", "config", "params latent_dim: 0",
         _config("latent_dim: 8", "latent_dim: 0"),
         ("config.yaml", "['experiments']['mnist_ae']", "latent_dim must be >= 1, got 0")),
    Case("config-negative-seed", "config", "seeds: [-1]",
         _config("seeds: [0]", "seeds: [-1]"),
         ("config.yaml", "config['seeds'][0]", "-1 is less than the minimum of 0")),
    Case("config-unknown-key", "config", "top-level key seedz: [0] (typo of seeds)",
         _config("seeds: [0]", "seedz: [0]"),
         ("config.yaml", "unknown key(s) 'seedz' at config", "seeds")),
    Case("config-unknown-protocol", "config", "experiment protocol: paper (not defined)",
         _config("protocol: smoke", "protocol: paper"),
         ("config.yaml", "['experiments']['mnist_ae'] names protocol 'paper'", "defined: smoke")),
    Case("config-bad-yaml", "config", "unclosed flow sequence `seeds: [0` (YAML syntax)",
         _config("seeds: [0]", "seeds: [0"),
         ("config.yaml", "is not valid YAML")),
    Case("config-missing-file", "config", "validate-config of a file that does not exist",
         lambda d, art: (["validate-config", str(d / "nope.yaml")], {}),
         ("config file not found", "nope.yaml")),
    # --- training run specs -------------------------------------------------------------------------
    Case("train-unknown-method", "config", "train --spec method: gan",
         lambda d, art: (train_args(d, spec(method="gan")), {}),
         ("unknown method 'gan'", "valid: ")),
    Case("train-negative-seed", "config", "train --spec seed: -1",
         lambda d, art: (train_args(d, spec(seed=-1)), {}),
         ("--spec", "'bad'", "seed must be an integer >= 0, got -1")),
    Case("train-batch-larger-than-data", "config", "batch_size 128 with data max_items 64",
         lambda d, art: (train_args(d, spec(batch_size=128)), {}),
         ("batch_size 128", "larger than the training set (64 items)")),
    Case("train-image-size-vs-arch", "config", "data image_size 30 with arch: conv (needs a multiple of 16)",
         lambda d, art: (train_args(d, spec(data={"max_items": 64, "image_size": 30}, arch="conv")), {}),
         ("arch 'conv'", "30x30")),
    Case("train-lr-diverges", "config", "params lr: 1e30 (loss becomes NaN/inf)",
         lambda d, art: (train_args(d, spec(lr=1e30)), {}),
         ("loss term 'total' became", "at step 2 (epoch 1)", "lr=1e+30", "checkpoint of step 1", "is kept"),
         # the resumable checkpoint of step 1 (complete, written atomically) stays: on a GPU a long run
         # that diverged may be worth resuming; the message names it and says how to start over
         may_leave=("out/run/ckpt.pt",)),
    # --- data ---------------------------------------------------------------------------------------
    Case("data-missing-file", "data", "MNIST/raw/train-labels-idx1-ubyte.gz absent from the data root",
         lambda d, art: (train_args(d, spec()),
                         {"LCWBENCH_DATA": str(data_root(d, drop="train-labels-idx1-ubyte.gz"))}),
         ("mnist: file train-labels-idx1-ubyte.gz not found in", "MNIST/raw", "LCWBENCH_DATA")),
    Case("data-checksum-mismatch", "data", "train-labels-idx1-ubyte.gz with one byte changed (valid gzip)",
         lambda d, art: (train_args(d, spec()),
                         {"LCWBENCH_DATA": str(data_root(d, corrupt="train-labels-idx1-ubyte.gz"))}),
         ("mnist: file train-labels-idx1-ubyte.gz in", "MNIST/raw", "failed its checksum", "corrupt")),
    # --- checkpoints --------------------------------------------------------------------------------
    Case("ckpt-truncated", "checkpoint", "resume from a ckpt.pt cut to half its size",
         _ckpt_truncated, ("training checkpoint", "ckpt.pt", "unreadable (truncated or corrupt?)")),
    Case("ckpt-pickle-runs-code", "checkpoint", "resume from a ckpt.pt whose pickle calls exec (writes a marker)",
         _ckpt_malicious, ("training checkpoint", "ckpt.pt", "refused by the safe loader", "GLOBAL exec")),
    Case("model-truncated", "checkpoint", "evaluate a model.pt cut to half its size",
         _model_truncated, ("model file", "model.pt", "unreadable (truncated or corrupt?)")),
    Case("model-pickle-runs-code", "checkpoint", "evaluate a model.pt whose pickle calls exec (writes a marker)",
         _model_malicious, ("model file", "model.pt", "refused by the safe loader", "GLOBAL exec")),
    # --- weights ------------------------------------------------------------------------------------
    Case("inception-weights-offline", "weights",
         "fid.extractor inception, no fid.weights / LCWBENCH_INCEPTION_WEIGHTS, empty hub cache, no network",
         lambda d, art: (refstats_args(d, FID_INCEPTION), {}),
         ("Inception FID weights are not available offline", "fid.weights", "LCWBENCH_INCEPTION_WEIGHTS",
          "weights-inception-2015-12-05-6726825d.pth")),
    Case("inception-weights-path-missing", "weights", "fid.weights: a file that does not exist",
         lambda d, art: (refstats_args(d, {**FID_INCEPTION, "weights": str(d / "missing.pth")}), {}),
         ("Inception weights file not found", "missing.pth", "fid.weights")),
    Case("standin-weights-not-torch", "weights", "--standin-weights: a text file",
         _garbage_standin, ("Inception weights file", "standin.pth", "refused by the safe loader",
                           "not a torch.save file")),
    # --- outputs and reference numbers --------------------------------------------------------------
    Case("results-dir-not-writable", "outputs",
         "train --out-dir results/runs/bad where results is a regular file (read-only stand-in; root ignores chmod)",
         _out_dir_in_file, ("cannot create run directory", "results/runs/bad", "Not a directory")),
    Case("reported-csv-missing", "config", "table --reported: a reported.csv that does not exist",
         lambda d, art: (["table", "--paper", "lcw", "--table", "table2", "--reported", str(d / "nope.csv"),
                          "--csv", str(d / "out" / "table2.csv"), "--md", str(d / "out" / "table2.md"),
                          "--cells", "{}"], {}),
         ("reported numbers not found", "nope.csv", "reported_csv")),
]
assert len({c.id for c in CASES}) == len(CASES) >= 15


# ------------------------------------------------------------------------------------------ running


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LCWBENCH_INCEPTION_WEIGHTS", "LCWBENCH_VGG_WEIGHTS", "no_proxy", "NO_PROXY")}
    env.update({
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "LCWBENCH_DATA": str(SHARED_DATA), "LCWBENCH_CACHE": str(tmp / "cache"),
        "TORCH_HOME": str(tmp / "torch-home"),  # an empty hub cache: no Inception weights there
        "PYTHONPATH": str(ROOT),
        **{k: DEAD_PROXY for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
    })
    return env


def lcwbench(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lcwbench.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=TIMEOUT)


def snapshot(d: Path) -> dict[str, str]:
    """Every file under ``d`` (relative path -> sha256); links are listed, not followed."""
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(d))] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass
class Outcome:
    case: Case
    folder: Path
    before: dict[str, str]
    after: dict[str, str]
    res: subprocess.CompletedProcess


def _selected(request) -> list[Case]:
    ids = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is sys.modules[__name__] and callspec is not None and "case" in callspec.params:
            ids.add(callspec.params["case"].id)
    return [c for c in CASES if c.id in ids]


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    tmp = tmp_path_factory.mktemp("bad-inputs")
    env = base_env(tmp)
    cases = _selected(request)

    # real artefacts to cut: a checkpoint (stopped after one step) and a finished model
    art_dir = tmp / "artifacts"
    art_dir.mkdir()
    need = {c.id for c in cases} & {"ckpt-truncated", "model-truncated"}
    jobs = []
    if "ckpt-truncated" in need:
        jobs.append(train_args(art_dir, spec(), "ckpt", "--max-steps", "1"))
    if "model-truncated" in need:
        jobs.append(train_args(art_dir, spec(), "model"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for res in pool.map(lambda a: lcwbench(a, art_dir, env), jobs):
            assert res.returncode == 0, res.stderr
    artifacts = {"ckpt": art_dir / "ckpt" / "ckpt.pt", "model": art_dir / "model" / "model.pt"}

    def run(case: Case) -> Outcome:
        d = tmp / case.id
        d.mkdir()
        args, extra_env = case.prepare(d, artifacts)
        before = snapshot(d)
        res = lcwbench(args, d, {**env, **extra_env})
        return Outcome(case, d, before, snapshot(d), res)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = {o.case.id: o for o in pool.map(run, cases)}
    yield done

    table = os.environ.get("LCWBENCH_BAD_INPUTS_TABLE")
    if table:
        rows = ["| area | case | input | stderr (exit status) |", "|---|---|---|---|"]
        for c in CASES:
            if c.id in done:
                o = done[c.id]
                line = " / ".join(ln for ln in o.res.stderr.splitlines() if ln.strip())
                line = line.replace(str(o.folder), "<case dir>").replace(str(tmp), "<tmp>")
                rows.append(f"| {c.area} | `{c.id}` | {c.input} | `{line.replace('|', '/')}` ({o.res.returncode}) |")
        Path(table).write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line_and_leaves_nothing(outcomes, case):
    o = outcomes[case.id]
    err = o.res.stderr
    assert o.res.returncode == 2, f"exit {o.res.returncode}\nstdout: {o.res.stdout}\nstderr: {err}"
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"stderr is not one line:\n{err}"
    line = lines[0]
    assert line.startswith("lcwbench: error: "), line
    missing = [s for s in case.expect if s not in line]
    assert not missing, f"{missing} not named in: {line}"
    assert not (o.folder / "PWNED").exists(), "a malicious pickle ran"
    # nothing new, nothing changed: no model.pt / run.json / metrics.json / *.tmp / marker, inputs untouched
    after = {k: v for k, v in o.after.items() if k not in case.may_leave or k in o.before}
    assert after == o.before, (
        f"files changed: new {sorted(set(after) - set(o.before))}, "
        f"gone {sorted(set(o.before) - set(after))}, "
        f"modified {sorted(k for k in o.before if k in after and o.before[k] != after[k])}"
    )


def test_malicious_payload_would_have_run(tmp_path):
    """The files of the ``*-pickle-runs-code`` cases are real threats: an unsafe load runs their code."""
    import torch

    marker = tmp_path / "PWNED"
    pickle.loads(pickle.dumps(RunsCode(marker)))
    assert marker.read_text() == "pwned"
    marker.unlink()
    malicious_torch_file(tmp_path / "ckpt.pt", marker)
    torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert marker.read_text() == "pwned"
