# Helpers shared by the rules: run specs, JSON parameters, wildcard constraints, resources.

import json
import re
import shlex

from lcwbench.config import evaluate_resources, refstats_users, train_spec


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


# Reference statistics needed by the configured runs: path -> (dataset, data, protocol). A refstats job
# reads the same split as the training jobs of the runs it serves and may be the first to decode it
# into the data cache (37 GB for LSUN bedroom at 64 px), so REF_MEM asks for the largest of their
# training memories (never less than resources.refstats).
REFSTATS = {}
REF_MEM = {}
for _path, _users in refstats_users(RUNS).items():
    _spec, _proto = _users[0]
    REFSTATS[_path] = (_spec["dataset"], _spec["data"], _proto)
    REF_MEM[_path] = max(res("refstats")["mem_mb"], *(res("train", u)["mem_mb"] for u, _ in _users))
REF_KEYS = {}
for _path, (_ds, _data, _proto) in REFSTATS.items():
    _key, _name = _path[len("results/refstats/"):].split("/")
    REF_KEYS[(_key, _name[: -len(".npz")])] = (_ds, _data, _proto)


def refstats_mem(w):
    return REF_MEM[f"results/refstats/{w.dskey}/{w.refname}.npz"]


wildcard_constraints:
    run=alternatives(RUNS),
    table=alternatives(CFG["tables"]),
    figure=alternatives(CFG["figures"]),
    dskey=alternatives(k for k, _ in REF_KEYS),
    refname=alternatives(n for _, n in REF_KEYS),
