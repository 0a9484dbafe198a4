"""Workflow configuration: loading, validation (one clear line per problem) and run expansion.

A *run* is one experiment at one seed. Its directory name is built from the dataset, the method, a
readable tag of the data and method overrides, and the seed, e.g.
``mnist-cwae-latent_dim8_lr0.001-s0``. Two experiments with identical settings share their runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

import yaml

from lcwbench.errors import LcwbenchError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"

# dataset parameters that change the images themselves or which items form a split (LSUN's holdout), and
# so the reference statistics
IMAGE_PARAMS = ("image_size", "crop", "true_dim", "out_dim", "hidden", "gen_seed", "sigma", "negative_slope",
                "n", "noise", "seed", "holdout")

DEFAULTS: dict[str, Any] = {
    "data_root": None,
    "download": False,
    "reported_csv": "../shared/reference/reported.csv",
    "device": "auto",
    "precision": "auto",
    "seeds": [0, 1, 2],
    "checkpoint_every": 1000,
    "progress": False,
    "resources": {},
    "figures": {},
}
RESOURCE_DEFAULTS = {
    "train": {"mem_mb": 16000, "runtime": 720, "gpu": 1, "cpus": 4},
    "evaluate": {"mem_mb": 16000, "runtime": 120, "gpu": 1, "cpus": 4},
    "refstats": {"mem_mb": 16000, "runtime": 120, "gpu": 1, "cpus": 4},
    "small": {"mem_mb": 2000, "runtime": 10, "gpu": 0, "cpus": 1},
}
FID_DEFAULTS = {"weights": None, "standin_seed": 0, "implementation": "torch-fidelity", "batch_size": 50}
PROTOCOL_DEFAULTS = {"n_rec": 10000, "rec_split": "test", "is_splits": 10, "prd": True, "kid": True}


def _where(path: list) -> str:
    return "config" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in path)


def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def validate_config(cfg: dict[str, Any], check_methods: bool = True) -> dict[str, Any]:
    """Check ``cfg`` against the schema and the registries; return it with defaults filled in.

    ``check_methods=False`` skips the checks that need the method registry (every method's parameters,
    the figures' methods), which imports torch; the result is the same. For the Snakemake processes
    inside cluster jobs, which re-read the Snakefile of a config the submitting process has checked.
    """
    import jsonschema

    if not isinstance(cfg, dict):
        raise LcwbenchError(f"config must be a mapping, got {type(cfg).__name__}")
    schema = _schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(e.absolute_path)))
    if errors:
        err = errors[0]
        where = _where(list(err.absolute_path))
        if err.validator == "enum" and err.absolute_path and err.absolute_path[-1] == "method":
            from lcwbench.methods import method_names

            msg = f"unknown method {err.instance!r} at {where}; valid: {', '.join(method_names())}"
        elif err.validator == "enum" and err.absolute_path and err.absolute_path[-1] == "dataset":
            from lcwbench.data import DATASETS

            msg = f"unknown dataset {err.instance!r} at {where}; valid: {', '.join(DATASETS)}"
        elif err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed))
            msg = f"unknown key(s) {', '.join(map(repr, extra))} at {where}; valid: {', '.join(allowed)}"
        else:
            msg = f"{where}: {err.message}"
        raise LcwbenchError(f"invalid config: {msg}")

    out = copy.deepcopy(DEFAULTS)
    out.update(copy.deepcopy(cfg))
    out["fid"] = {**FID_DEFAULTS, **out["fid"]}
    out["protocols"] = {k: {**PROTOCOL_DEFAULTS, **v} for k, v in out["protocols"].items()}
    out["resources"] = {k: {**v, **out["resources"].get(k, {})} for k, v in RESOURCE_DEFAULTS.items()}
    for name, exp in out["experiments"].items():
        where = f"config['experiments'][{name!r}]"
        for key in ("protocol", "snapshot_protocol"):
            if key in exp and exp[key] not in out["protocols"]:
                defined = ", ".join(out["protocols"])
                raise LcwbenchError(f"invalid config: {where} names {key} {exp[key]!r}; defined: {defined}")
        if "snapshot_protocol" in exp and not exp.get("snapshots"):
            raise LcwbenchError(f"invalid config: {where} has a snapshot_protocol but no snapshots")
        if exp["dataset"] == "lsun_bedroom" and not (exp.get("data") or {}).get("holdout"):
            for key in ("protocol", "snapshot_protocol"):
                proto = out["protocols"].get(exp.get(key))
                if proto and "test" in (proto["ref_split"], proto["rec_split"]):
                    raise LcwbenchError(
                        f"invalid config: {where}: protocol {exp[key]!r} uses the test split, which "
                        "lsun_bedroom has only with a hold-out; set data: {holdout: N}"
                    )
        if not check_methods:
            continue
        from lcwbench.methods import get_method, make_config

        try:
            for params in sweep_points(exp):
                make_config(get_method(exp["method"]), params)
        except LcwbenchError as exc:
            raise LcwbenchError(f"invalid config: {where}: {exc}") from None
    for name, fig in out["figures"].items():
        if fig["kind"] in ("metric_comparison", "interpolation_strips", "training_curve"):
            if check_methods:
                _check_metric_figure(name, fig, out)
            continue
        if fig["kind"] in COMPARISON_KINDS:
            if check_methods:
                _check_comparison_figure(name, fig, out)
            continue
        if fig["kind"] != "latent_comparison":
            _check_sweep_figure(name, fig, out)
            continue
        for label, (base, lt) in fig["panels"].items():
            where = f"config['figures'][{name!r}]['panels'][{label!r}]"
            for exp in (base, lt):
                if exp is not None and exp not in out["experiments"]:
                    raise LcwbenchError(f"invalid config: {where} names experiment {exp!r}, which is not defined")
            if lt is not None and out["experiments"][lt].get("base") != base:
                raise LcwbenchError(f"invalid config: {where}: experiment {lt!r} is not built on {base!r}")
            seed = fig.get("seed", 0)
            for exp in (base, lt):
                if exp is not None and seed not in out["experiments"][exp].get("seeds", out["seeds"]):
                    raise LcwbenchError(f"invalid config: {where}: experiment {exp!r} has no seed {seed}")
    return out


def _check_sweep_figure(name: str, fig: dict[str, Any], cfg: dict[str, Any]) -> None:
    """A ucurve or mask_trajectories figure must name defined experiments that sweep its parameter."""
    where = f"config['figures'][{name!r}]"
    x_param = fig.get("x_param", "latent_dim")
    exps = fig["experiments"] if fig["kind"] == "ucurve" else {"": fig["experiment"]}
    for exp_name in exps.values():
        exp = cfg["experiments"].get(exp_name)
        if exp is None:
            raise LcwbenchError(f"invalid config: {where} names experiment {exp_name!r}, which is not defined")
        if x_param not in (exp.get("sweep") or {}):
            raise LcwbenchError(f"invalid config: {where}: experiment {exp_name!r} does not sweep {x_param!r}")
    if fig["kind"] == "mask_trajectories":
        exp = cfg["experiments"][fig["experiment"]]
        if exp["method"] != "lmgae":
            raise LcwbenchError(f"invalid config: {where}: experiment {fig['experiment']!r} is not an lmgae experiment")
        missing = sorted(set(fig["capacities"]) - set(exp["sweep"][x_param]))
        if missing:
            raise LcwbenchError(
                f"invalid config: {where}: capacities {missing} are not in the sweep of {fig['experiment']!r}"
            )
        if fig.get("seed", 0) not in exp.get("seeds", cfg["seeds"]):
            raise LcwbenchError(
                f"invalid config: {where}: experiment {fig['experiment']!r} has no seed {fig.get('seed', 0)}"
            )


def _figure_experiments(where: str, fig: dict[str, Any], cfg: dict[str, Any]):
    """(name, experiment) of each experiment a multi-run figure names: defined, and without a sweep (one
    run per seed)."""
    if not fig["experiments"]:
        raise LcwbenchError(f"invalid config: {where}: 'experiments' is empty")
    for exp_name in fig["experiments"].values():
        exp = cfg["experiments"].get(exp_name)
        if exp is None:
            raise LcwbenchError(f"invalid config: {where} names experiment {exp_name!r}, which is not defined")
        if exp.get("sweep"):
            raise LcwbenchError(
                f"invalid config: {where}: experiment {exp_name!r} has a sweep; a {fig['kind']} figure needs one"
                " run per seed"
            )
        yield exp_name, exp


def _same_data(where: str, first, exp_name: str, exp: dict[str, Any], why: str):
    """``first`` (name, (dataset, data)) of the figure's experiments so far; raise if ``exp`` differs."""
    data = (exp["dataset"], exp.get("data") or {})
    if first is None:
        return exp_name, data
    if data != first[1]:
        raise LcwbenchError(
            f"invalid config: {where}: experiments {first[0]!r} and {exp_name!r} differ in dataset or data; {why}"
        )
    return first


def _check_metric_figure(name: str, fig: dict[str, Any], cfg: dict[str, Any]) -> None:
    """A metric_comparison or training_curve figure names defined experiments without a sweep (one
    point, or one curve, per experiment; a training_curve's experiments list snapshots); an
    interpolation_strips figure also needs GLO-like methods (learned per-image codes), the figure's
    seed and one dataset and data for all (the pairs index the same training images)."""
    from lcwbench.methods import get_method
    from lcwbench.methods.glo import GLO

    where = f"config['figures'][{name!r}]"
    first: tuple[str, Any] | None = None
    for exp_name, exp in _figure_experiments(where, fig, cfg):
        if fig["kind"] == "training_curve" and not exp.get("snapshots"):
            raise LcwbenchError(
                f"invalid config: {where}: experiment {exp_name!r} has no snapshots (the training steps whose"
                " models a training_curve evaluates)"
            )
        if fig["kind"] != "interpolation_strips":
            continue
        if not issubclass(get_method(exp["method"]), GLO):
            raise LcwbenchError(
                f"invalid config: {where}: method {exp['method']!r} of experiment {exp_name!r} learns no per-image"
                " codes (glo or gldo do)"
            )
        if fig.get("seed", 0) not in exp.get("seeds", cfg["seeds"]):
            raise LcwbenchError(f"invalid config: {where}: experiment {exp_name!r} has no seed {fig.get('seed', 0)}")
        first = _same_data(where, first, exp_name, exp, "the pairs must index the same training images")


COMPARISON_KINDS = ("manifold_scatter", "latent_prior", "variant_grid")  # Geng Figs. 4, 5, 6
VECTOR_DATASETS = ("synthetic", "swissroll")


def _check_comparison_figure(name: str, fig: dict[str, Any], cfg: dict[str, Any]) -> None:
    """A comparison figure names defined experiments without a sweep, with the figure's seed, methods
    with an encoder, one dataset and data for all; manifold_scatter and latent_prior need the swiss
    roll (latent_prior a 2-D latent), variant_grid images."""
    from lcwbench.methods import get_method, make_config

    where = f"config['figures'][{name!r}]"
    seed = fig.get("seed", 0)
    kind = fig["kind"]
    first: tuple[str, Any] | None = None
    for exp_name, exp in _figure_experiments(where, fig, cfg):
        if seed not in exp.get("seeds", cfg["seeds"]):
            raise LcwbenchError(f"invalid config: {where}: experiment {exp_name!r} has no seed {seed}")
        method = get_method(exp["method"])
        if not getattr(method, "has_encoder", True):
            raise LcwbenchError(
                f"invalid config: {where}: method {exp['method']!r} of experiment {exp_name!r} has no encoder"
            )
        first = _same_data(where, first, exp_name, exp, "a figure draws one set of data points for all of them")
        if kind in ("manifold_scatter", "latent_prior") and exp["dataset"] != "swissroll":
            raise LcwbenchError(
                f"invalid config: {where}: a {kind} figure needs the 2-D swiss roll; experiment {exp_name!r} uses"
                f" {exp['dataset']!r}"
            )
        if kind == "variant_grid" and exp["dataset"] in VECTOR_DATASETS:
            raise LcwbenchError(
                f"invalid config: {where}: a variant_grid figure needs images; experiment {exp_name!r} uses"
                f" {exp['dataset']!r}"
            )
        if kind == "latent_prior":
            latent = make_config(method, exp.get("params")).latent_dim
            if latent != 2:
                raise LcwbenchError(
                    f"invalid config: {where}: experiment {exp_name!r} has latent_dim {latent}; a latent_prior"
                    " figure needs 2"
                )


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise LcwbenchError(f"config file not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise LcwbenchError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return validate_config(cfg)
    except LcwbenchError as exc:
        raise LcwbenchError(f"{path}: {exc}") from None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "x".join(_fmt(i) for i in v)
    return str(v)


def tag(*overrides: dict[str, Any]) -> str:
    """A readable, filesystem-safe tag of override dicts: ``latent_dim8_lr0.001``."""
    items = sorted((k, v) for d in overrides for k, v in (d or {}).items())
    if not items:
        return "default"
    text = "_".join(f"{k.rstrip('_')}{_fmt(v)}" for k, v in items)
    text = re.sub(r"[^A-Za-z0-9_.+=-]", "", text)
    if len(text) > 80:
        text = text[:60] + "-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    return text


def dataset_key(dataset: str, data: dict[str, Any] | None) -> str:
    """Names a dataset *as images*: the dataset plus the parameters that change its samples."""
    image = {k: v for k, v in (data or {}).items() if k in IMAGE_PARAMS}
    return dataset if not image else f"{dataset}-{tag(image)}"


def weights_tag(fid: dict[str, Any]) -> str:
    if fid["extractor"] == "standin":
        return f"standin{fid.get('standin_seed', 0)}"
    if fid.get("weights"):
        return re.sub(r"[^A-Za-z0-9_.-]", "", Path(fid["weights"]).stem)[:40] or "custom"
    return "torchfidelity"


def evaluate_resources(cfg: dict[str, Any], protocol: str) -> dict[str, Any]:
    """Resources of an evaluation job under ``protocol``: the evaluate resources, with the protocol's
    ``evaluate_runtime`` (minutes) where it sets one."""
    out = dict(cfg["resources"]["evaluate"])
    if "evaluate_runtime" in cfg["protocols"][protocol]:
        out["runtime"] = cfg["protocols"][protocol]["evaluate_runtime"]
    return out


def refstats_path(cfg: dict[str, Any], dataset: str, data: dict[str, Any] | None, protocol: str) -> str:
    p = cfg["protocols"][protocol]
    n = "all" if p["ref_n"] is None else str(p["ref_n"])
    fid = cfg["fid"]
    return (
        f"results/refstats/{dataset_key(dataset, data)}/"
        f"{p['ref_split']}-n{n}-{fid['extractor']}-{weights_tag(fid)}.npz"
    )


def refstats_users(runs: dict[str, dict[str, Any]]) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """The reference statistics the runs need: path -> [(run spec, protocol name)] of every evaluation
    (a run's own, and its snapshots' when it keeps any) that reads it, in run order."""
    users: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for spec in runs.values():
        users.setdefault(spec["refstats"], []).append((spec, spec["protocol"]))
        if spec.get("snapshots"):
            users.setdefault(spec["snapshot_refstats"], []).append((spec, spec["snapshot_protocol"]))
    return users


def sweep_points(exp: dict[str, Any]) -> list[dict[str, Any]]:
    """Method parameters of every point of an experiment's sweep (just ``params`` without a sweep)."""
    params = exp.get("params") or {}
    sweep = exp.get("sweep") or {}
    keys = sorted(sweep)
    return [{**params, **dict(zip(keys, combo))} for combo in itertools.product(*(sweep[k] for k in keys))]


def _core_name(exp: dict[str, Any], params: dict[str, Any], base_core: str | None = None) -> str:
    core = f"{exp['dataset']}-{exp['method']}-{tag(exp.get('data') or {}, params)}"
    return core if base_core is None else f"{core}-on-{base_core}"


def _base_core(cfg: dict[str, Any], exp_name: str, exp: dict[str, Any], check_methods: bool = True) -> str | None:
    """The run-name core of the autoencoder a stage-2 experiment (``base:``) is trained on.
    ``check_methods=False`` trusts ``base:`` instead of asking the method registry whether the method
    needs one (see validate_config)."""
    if check_methods:
        from lcwbench.methods import get_method

        needs = getattr(get_method(exp["method"]), "needs_base", False)
    else:
        needs = bool(exp.get("base"))
    where = f"config['experiments'][{exp_name!r}]"
    if not exp.get("base"):
        if needs:
            raise LcwbenchError(f"invalid config: {where}: method {exp['method']!r} needs 'base: <experiment name>'")
        return None
    if not needs:
        raise LcwbenchError(f"invalid config: {where}: method {exp['method']!r} takes no 'base'")
    base = cfg["experiments"].get(exp["base"])
    if base is None:
        raise LcwbenchError(
            f"invalid config: {where} names base {exp['base']!r}; experiments: {', '.join(cfg['experiments'])}"
        )
    if base.get("sweep") or base.get("base"):
        raise LcwbenchError(f"invalid config: {where}: base {exp['base']!r} must be a single autoencoder run per seed")
    if base["dataset"] != exp["dataset"] or (base.get("data") or {}) != (exp.get("data") or {}):
        raise LcwbenchError(f"invalid config: {where}: dataset and data must equal those of base {exp['base']!r}")
    return _core_name(base, base.get("params") or {}, None)


def expand_runs(cfg: dict[str, Any], check_methods: bool = True) -> dict[str, dict[str, Any]]:
    """All runs of the config: ``{run_name: spec}``. Specs are plain JSON-able dicts.

    An experiment with ``sweep`` expands into one run per sweep point and seed; its table cells take
    the point with the best mean FID (as the LCW paper's grid search did). An experiment with
    ``base`` (the Latent Trick) trains on the base experiment's run of the same seed.
    ``check_methods``: as in validate_config.
    """
    runs: dict[str, dict[str, Any]] = {}
    for exp_name, exp in cfg["experiments"].items():
        base_core = _base_core(cfg, exp_name, exp, check_methods)
        seeds = exp.get("seeds", cfg["seeds"])
        if base_core is not None:
            missing = sorted(set(seeds) - set(cfg["experiments"][exp["base"]].get("seeds", cfg["seeds"])))
            if missing:
                raise LcwbenchError(
                    f"invalid config: experiment {exp_name!r} uses seeds {missing} that its base {exp['base']!r} lacks"
                )
        for params in sweep_points(exp):
            for seed in seeds:
                core = _core_name(exp, params, base_core)
                name = f"{core}-s{seed}"
                spec = {
                    "run": name,
                    "dataset": exp["dataset"],
                    "data": exp.get("data") or {},
                    "method": exp["method"],
                    "params": params,
                    "seed": seed,
                    "base": None if base_core is None else f"{base_core}-s{seed}",
                    "protocol": exp["protocol"],
                }
                if name in runs:
                    prev = runs[name]
                    if prev["protocol"] != spec["protocol"]:
                        raise LcwbenchError(
                            f"invalid config: experiments {prev['experiments'][0]!r} and {exp_name!r} train the same"
                            " run but evaluate it under different protocols; give one of them a distinct setting"
                        )
                    prev["experiments"].append(exp_name)
                    prev["cells"] += list(exp.get("cells", []))
                    if exp.get("snapshots"):
                        snap_protocol = exp.get("snapshot_protocol", exp["protocol"])
                        if prev.get("snapshots") and prev["snapshot_protocol"] != snap_protocol:
                            raise LcwbenchError(
                                f"invalid config: experiments {prev['experiments'][0]!r} and {exp_name!r} evaluate the"
                                " snapshots of the same run under different protocols; give them one snapshot_protocol"
                            )
                        prev["snapshots"] = sorted({*prev.get("snapshots", []), *exp["snapshots"]})
                        prev["snapshot_protocol"] = snap_protocol
                        prev["snapshot_refstats"] = refstats_path(
                            cfg, exp["dataset"], exp.get("data") or {}, snap_protocol
                        )
                    continue
                if exp.get("snapshots"):  # only then: the specs of runs without snapshots stay as they were
                    spec["snapshots"] = sorted(set(exp["snapshots"]))
                    # the protocol the snapshots are evaluated under (default: the run's own)
                    spec["snapshot_protocol"] = exp.get("snapshot_protocol", exp["protocol"])
                    spec["snapshot_refstats"] = refstats_path(
                        cfg, exp["dataset"], exp.get("data") or {}, spec["snapshot_protocol"]
                    )
                spec["group"] = core
                spec["sweep"] = exp_name if exp.get("sweep") else None
                spec["experiments"] = [exp_name]
                spec["cells"] = list(exp.get("cells", []))
                spec["resources"] = {**cfg["resources"]["train"], **(exp.get("resources") or {})}
                spec["refstats"] = refstats_path(cfg, exp["dataset"], exp.get("data") or {}, exp["protocol"])
                runs[name] = spec
    return runs


# What defines a trained model. Only these reach the train and evaluate jobs, so that changing a
# run's table cells, resources or experiment names never retrains or re-evaluates it.
TRAIN_KEYS = ("run", "dataset", "data", "method", "params", "seed", "base")


def train_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The keys that define a trained model; ``snapshots`` (steps whose model is kept too) only where a
    run has them, so runs without snapshots keep their specs."""
    out = {k: spec[k] for k in TRAIN_KEYS}
    if spec.get("snapshots"):
        out["snapshots"] = list(spec["snapshots"])
    return out
