"""Compare two rendered paper tables (paper_tables/<table>.csv), e.g. from a Slurm run and a local run.

    python ci/slurm/compare_tables.py SLURM.csv LOCAL.csv [--rtol 0] [--atol 0]
    python ci/slurm/compare_tables.py SLURM_DIR LOCAL_DIR      # every top-level *.csv of two paper_tables/

Given two directories, both must hold the same table files, and each pair must agree.

Rows are matched on the cell key (paper, table, dataset, method, metric, setting, protocol_id);
every other column must agree: numbers within the tolerances (exact by default: the same seeds on
CPU give the same numbers), everything else as text. Exit 0 when the tables agree, 1 with one line
per difference otherwise, 2 when a file cannot be read.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["paper", "table", "dataset", "method", "metric", "setting", "protocol_id"]


def load(path):
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        print(f"compare_tables: cannot read {path}: {exc}", file=sys.stderr)
        sys.exit(2)


def as_number(text):
    try:
        return float(text) if text != "" else np.nan
    except ValueError:
        return None


def same(a, b, rtol, atol):
    if a == b:
        return True
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return False
    if np.isnan(x) or np.isnan(y):
        return np.isnan(x) and np.isnan(y)
    return bool(np.isclose(x, y, rtol=rtol, atol=atol))


def compare(a, b, rtol=0.0, atol=0.0):
    """Differences between two tables as readable lines (empty when they agree)."""
    problems = []
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    key = [c for c in KEY if c in a.columns]
    ka = a.set_index(key)
    kb = b.set_index(key)
    for name, df in (("first", ka), ("second", kb)):
        dup = df.index[df.index.duplicated()]
        if len(dup):
            problems.append(f"{name} table has duplicate rows for {list(dup)}")
    if problems:
        return problems
    only_a = ka.index.difference(kb.index)
    only_b = kb.index.difference(ka.index)
    problems += [f"row only in the first table: {dict(zip(key, k))}" for k in only_a]
    problems += [f"row only in the second table: {dict(zip(key, k))}" for k in only_b]
    for k in ka.index.intersection(kb.index, sort=False):
        for col in ka.columns:
            va, vb = ka.at[k, col], kb.at[k, col]
            if not same(va, vb, rtol, atol):
                problems.append(f"{'/'.join(map(str, k))} {col}: {va!r} vs {vb!r}")
    return problems


def compare_files(first, second, rtol, atol):
    """The first table, read, when the two agree; None (differences printed) otherwise."""
    a = load(first)
    problems = compare(a, load(second), rtol, atol)
    for line in problems:
        print(f"compare_tables: {line}", file=sys.stderr)
    if problems:
        print(f"compare_tables: {first} and {second} differ ({len(problems)} difference(s))", file=sys.stderr)
        return None
    return a


def compare_dirs(first, second, rtol, atol):
    names = {p.name for p in Path(first).glob("*.csv")}, {p.name for p in Path(second).glob("*.csv")}
    ok = True
    for only, where in ((names[0] - names[1], second), (names[1] - names[0], first)):
        for name in sorted(only):
            print(f"compare_tables: {name} is missing from {where}", file=sys.stderr)
            ok = False
    if not names[0] | names[1]:
        print(f"compare_tables: no tables (*.csv) in {first} or {second}", file=sys.stderr)
        return False
    for name in sorted(names[0] & names[1]):
        ok = compare_files(Path(first) / name, Path(second) / name, rtol, atol) is not None and ok
    if ok:
        print(f"compare_tables: {first} and {second} agree ({len(names[0])} tables)")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers (default 0)")
    ap.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for numbers (default 0)")
    args = ap.parse_args(argv)
    if Path(args.first).is_dir() and Path(args.second).is_dir():
        return 0 if compare_dirs(args.first, args.second, args.rtol, args.atol) else 1
    a = compare_files(args.first, args.second, args.rtol, args.atol)
    if a is None:
        return 1
    print(f"compare_tables: {args.first} and {args.second} agree ({len(a)} rows, {len(a.columns)} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
