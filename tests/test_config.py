"""Workflow config: schema validation with one clear line, registries in sync, run expansion."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lcwbench.config import (
    SCHEMA,
    dataset_key,
    expand_runs,
    load_config,
    refstats_path,
    tag,
    validate_config,
)
from lcwbench.data import DATASETS
from lcwbench.errors import LcwbenchError
from lcwbench.methods import method_names

ROOT = Path(__file__).resolve().parents[1]


BASE = """
seeds: [0, 1]
fid: {extractor: standin}
protocols:
  smoke: {n_gen: 100, ref_split: train, ref_n: 100}
tables:
  table2: {paper: lcw, table: table2}
experiments:
  smoke_mnist_ae:
    dataset: mnist
    data: {max_items: 2000}
    method: ae
    params: {latent_dim: 8, lr: 0.001, epochs: 2}
    protocol: smoke
    cells: [lcw/table2/MNIST/AE]
  smoke_mnist_cwae:
    dataset: mnist
    data: {max_items: 2000}
    method: cwae
    params: {latent_dim: 8, lr: 0.001, lambda: 1.0, epochs: 2}
    protocol: smoke
    cells: [lcw/table2/MNIST/CWAE]
"""


@pytest.fixture
def smoke():
    """A small config of the tests' own (the shipped configs are checked separately)."""
    return yaml.safe_load(BASE)


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "mnist_cpu.yaml", "lcw_cpu.yaml", "geng_cpu.yaml"])
def test_shipped_configs_are_valid(name):
    cfg = load_config(ROOT / "config" / name)
    assert expand_runs(cfg)


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")) + [ROOT / "ci" / "slurm" / "tiny.yaml"],
                         ids=lambda p: p.name)
def test_unchecked_validation_gives_the_same_config_and_runs(path):
    """What the Snakefile does inside cluster jobs (check_methods=False) fills in the same config and
    expands the same runs as the full validation, for every shipped config."""
    raw = yaml.safe_load(path.read_text())
    full = validate_config(copy.deepcopy(raw))
    fast = validate_config(copy.deepcopy(raw), check_methods=False)
    assert fast == full
    assert expand_runs(fast, check_methods=False) == expand_runs(full)


def test_unchecked_validation_imports_no_torch():
    code = (
        "import sys, yaml; from lcwbench.config import validate_config, expand_runs; "
        f"c = validate_config(yaml.safe_load(open({str(ROOT / 'config' / 'smoke.yaml')!r})), check_methods=False); "
        "assert expand_runs(c, check_methods=False); print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_schema_enums_match_registries():
    schema = yaml.safe_load(SCHEMA.read_text())
    exp = schema["properties"]["experiments"]["additionalProperties"]["properties"]
    assert sorted(exp["method"]["enum"]) == method_names()
    assert tuple(exp["dataset"]["enum"]) == DATASETS


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["experiments"]["smoke_mnist_ae"].update(method="gan"), r"unknown method 'gan' at .*valid: aae, ae"),
        (lambda c: c["experiments"]["smoke_mnist_ae"].update(dataset="svhn"), r"unknown dataset 'svhn' .*valid: mnist"),
        (lambda c: c.update(seedz=[1]), r"unknown key\(s\) 'seedz' at config; valid: .*seeds"),
        (lambda c: c["experiments"]["smoke_mnist_ae"].update(protocol="nope"), r"names protocol 'nope'; defined: smoke"),
        (lambda c: c["experiments"]["smoke_mnist_ae"]["params"].update(latent_dim=0), r"latent_dim must be >= 1, got 0"),
        (lambda c: c["experiments"]["smoke_mnist_ae"]["params"].update(lr="x"), r"'lr' must be of type float"),
        (lambda c: c["experiments"]["smoke_mnist_ae"]["params"].update(beta=1), r"unknown parameter\(s\) beta"),
        (lambda c: c.update(seeds="0"), r"config\['seeds'\]: '0' is not of type 'array'"),
        (lambda c: c["fid"].update(extractor="vgg"), r"config\['fid'\]\['extractor'\]: 'vgg' is not one of"),
        (lambda c: c["protocols"]["smoke"].update(n_gen=0), r"config\['protocols'\]\['smoke'\]\['n_gen'\]"),
        (
            lambda c: c["experiments"]["smoke_mnist_ae"].update(dataset="lsun_bedroom", data={"image_size": 64}),
            r"\['smoke_mnist_ae'\]: protocol 'smoke' uses the test split, which lsun_bedroom has only with a "
            r"hold-out; set data: \{holdout: N\}",
        ),
    ],
)
def test_bad_config_is_one_clear_line(smoke, mutate, message, assert_config_error):
    assert_config_error(smoke, mutate, message)


def test_load_config_names_the_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("experiments: [1, 2\n")
    with pytest.raises(LcwbenchError, match=r"c.yaml is not valid YAML"):
        load_config(bad)
    with pytest.raises(LcwbenchError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_run_names_tags_and_shared_reference(smoke):
    cfg = validate_config(smoke)
    runs = expand_runs(cfg)
    assert sorted(runs) == [
        "mnist-ae-epochs2_latent_dim8_lr0.001_max_items2000-s0",
        "mnist-ae-epochs2_latent_dim8_lr0.001_max_items2000-s1",
        "mnist-cwae-epochs2_lambda1.0_latent_dim8_lr0.001_max_items2000-s0",
        "mnist-cwae-epochs2_lambda1.0_latent_dim8_lr0.001_max_items2000-s1",
    ]
    # max_items does not change the images: every run shares one reference-statistics node
    assert {s["refstats"] for s in runs.values()} == {"results/refstats/mnist/train-n100-standin-standin0.npz"}


def test_identical_experiments_share_runs_and_merge_cells(smoke):
    cfg = copy.deepcopy(smoke)
    twin = copy.deepcopy(cfg["experiments"]["smoke_mnist_ae"])
    twin["cells"] = ["lcw/table4/MNIST/AE"]
    cfg["experiments"]["twin"] = twin
    runs = expand_runs(validate_config(cfg))
    assert len(runs) == 4
    spec = runs["mnist-ae-epochs2_latent_dim8_lr0.001_max_items2000-s0"]
    assert spec["experiments"] == ["smoke_mnist_ae", "twin"]
    assert spec["cells"] == ["lcw/table2/MNIST/AE", "lcw/table4/MNIST/AE"]


def test_tag_and_dataset_key():
    assert tag({}) == "default"
    assert tag({"lr": 0.001, "latent_dim": 8}) == "latent_dim8_lr0.001"
    assert tag({"lambda_": 1.0}) == "lambda1.0"
    assert dataset_key("celeba", {"crop": 140, "image_size": 64, "max_items": 10}) == "celeba-crop140_image_size64"
    # LSUN's hold-out changes which records form the train split, so it names the reference set too
    assert dataset_key("lsun_bedroom", {"holdout": 10, "max_items": 5}) == "lsun_bedroom-holdout10"
    long = tag({f"k{i}": i for i in range(40)})
    assert len(long) <= 80


def test_refstats_path_depends_on_weights(smoke):
    cfg = validate_config(smoke)
    assert refstats_path(cfg, "mnist", {}, "smoke").endswith("train-n100-standin-standin0.npz")
    cfg["fid"].update(extractor="inception", weights="/w/pt_inception-2015-12-05-6726825d.pth")
    assert refstats_path(cfg, "mnist", {}, "smoke").endswith("train-n100-inception-pt_inception-2015-12-05-6726825d.npz")
