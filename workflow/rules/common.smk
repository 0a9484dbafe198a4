# Helpers shared by the rules: run specs, JSON parameters, wildcard constraints, resources.

import json
import re
import shlex

from lcwbench.config import evaluate_resources, train_spec


def q(obj):
    """A shell-quoted JSON argument."""
    return shlex.quote(json.dumps(obj, sort_keys=True, separators=(",", ":")))


def alternatives(names):
    return "|".join(re.escape(n) for n in sorted(set(names))) or "NO_MATCH"


def res(kind, spec=None):
    """Resources of a rule kind, with a run's own overrides for training."""
    base = dict(CFG["resources"][kind])
    if spec is not None and kind == "train":
        base.update(spec["resources"])
    return base


def eval_runtime(protocol_key):
    """The runtime (minutes) of an evaluation job of run ``w.run`` under its ``protocol_key`` protocol."""
    return lambda w: evaluate_resources(CFG, RUNS[w.run][protocol_key])["runtime"]


def common_args():
    args = [f"--device {CFG['device']}"]
    if CFG.get("data_root"):
        args.append(f"--data-root {shlex.quote(str(CFG['data_root']))}")
    if CFG.get("download"):
        args.append("--download")
    return " ".join(args)


STANDIN = f"results/weights/standin-inception-seed{CFG['fid']['standin_seed']}.pth"
USE_STANDIN = CFG["fid"]["extractor"] == "standin"


def standin_input():
    return [STANDIN] if USE_STANDIN else []


def standin_arg():
    return f"--standin-weights {STANDIN}" if USE_STANDIN else ""


# Reference statistics needed by the configured runs: path -> (dataset, data, protocol).
REFSTATS = {}
for _spec in RUNS.values():
    REFSTATS.setdefault(_spec["refstats"], (_spec["dataset"], _spec["data"], _spec["protocol"]))
    if _spec.get("snapshots"):
        REFSTATS.setdefault(_spec["snapshot_refstats"], (_spec["dataset"], _spec["data"], _spec["snapshot_protocol"]))
REF_KEYS = {}
for _path, (_ds, _data, _proto) in REFSTATS.items():
    _key, _name = _path[len("results/refstats/"):].split("/")
    REF_KEYS[(_key, _name[: -len(".npz")])] = (_ds, _data, _proto)


wildcard_constraints:
    run=alternatives(RUNS),
    table=alternatives(CFG["tables"]),
    figure=alternatives(CFG["figures"]),
    dskey=alternatives(k for k, _ in REF_KEYS),
    refname=alternatives(n for _, n in REF_KEYS),
