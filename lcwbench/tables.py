"""Aggregation of run metrics and rendering of the papers' tables (reported beside reproduced).

``summarize`` turns ``metrics.json`` files into one tidy row per run x metric, with the protocol in
columns and a short ``protocol_id`` hash. ``render_table`` takes every cell of one paper table from
``reported.csv`` and puts the reproduced mean, std and seed count beside it. Runs evaluated under
different protocols are never pooled: a cell with several protocols gets one row per protocol.
Cells the config does not reproduce keep an empty reproduction; rows the paper copied from the
literature are marked as such.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from lcwbench.errors import LcwbenchError
from lcwbench.io import write_text

PROTOCOL_COLUMNS = [
    "protocol",
    "extractor",
    "is_standin",
    "weights_sha256",
    "implementation",
    "fid_arithmetic",
    "rounding",
    "n_gen",
    "ref_dataset",
    "ref_split",
    "ref_n",
    "split",
    "n",
    "definition",
]
TABLE_COLUMNS = [
    "paper", "table", "dataset", "method", "metric", "setting", "reported", "reported_pm",
    "reproduced_mean", "reproduced_std", "n_seeds", "difference", "runs", "protocol_id", "protocol", "note", "source",
]


# Protocol entries that say where or how long, not how: they do not change what a number means.
NOT_IDENTITY = ("weights_path", "seconds")


def protocol_id(protocol: dict[str, Any]) -> str:
    """Short hash of everything in a protocol that changes what a number means."""
    core = {k: v for k, v in protocol.items() if k not in NOT_IDENTITY}
    return hashlib.sha1(json.dumps(core, sort_keys=True, default=str).encode()).hexdigest()[:10]


def summarize(metrics_files: list[str | Path]) -> pd.DataFrame:
    rows = []
    for path in metrics_files:
        try:
            m = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LcwbenchError(f"metrics file {path} is unreadable: {exc}") from None
        for name, entry in sorted(m["metrics"].items()):
            proto = entry.get("protocol", {})
            row = {
                "run": m["run"],
                "dataset": m["dataset"],
                "method": m["method"],
                "seed": m["seed"],
                "metric": name,
                "value": entry["value"],
                "std_within_run": entry.get("std"),
                "standin": bool(m.get("standin")),
                "protocol_id": protocol_id(proto),
            }
            row.update({c: proto.get(c) for c in PROTOCOL_COLUMNS})
            row["protocol_json"] = json.dumps(proto, sort_keys=True, default=str)
            rows.append(row)
    cols = ["run", "dataset", "method", "seed", "metric", "value", "std_within_run", "standin", "protocol_id",
            *PROTOCOL_COLUMNS, "protocol_json"]
    return pd.DataFrame(rows, columns=cols)


def describe_protocol(proto: dict[str, Any]) -> str:
    """One human line: which extractor, how many samples against which reference."""
    if "n_gen" in proto:
        ex = proto.get("extractor", "?")
        if proto.get("is_standin"):
            ex = f"STAND-IN weights ({ex}), not comparable to published FIDs"
        return (
            f"{proto.get('protocol', '')}: {proto.get('n_gen')} generated vs {proto.get('ref_dataset')}/"
            f"{proto.get('ref_split')} n={proto.get('ref_n')}; {ex}; {proto.get('fid_arithmetic', '')}"
        )
    return f"{proto.get('definition', '')} on {proto.get('dataset', '')}/{proto.get('split')} n={proto.get('n')}"


def read_reported(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise LcwbenchError(
            f"reported numbers not found: {path}; set reported_csv in the config to the papers' reported.csv"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _literature(row: pd.Series) -> bool:
    """Rows the paper copied from other papers (marked * in its table; reported.csv notes the asterisk)."""
    note = row["note"].lower()
    return ("literature" in note or "asterisk" in note) and "no asterisk" not in note


def select_sweep_point(
    cell_runs: list[str], runs: dict[str, dict[str, Any]], summary: pd.DataFrame
) -> tuple[list[str], str]:
    """For a cell fed by a sweep, keep the runs of the point with the lowest mean FID over seeds.

    That is how the LCW paper chose its grid-search configurations. Runs that are not part of a
    sweep pass through unchanged.
    """
    groups: dict[str, list[str]] = {}
    for r in cell_runs:
        groups.setdefault(runs[r].get("group") or r, []).append(r)
    if len(groups) < 2 or not any(runs[r].get("sweep") for r in cell_runs):
        return cell_runs, ""
    fid = summary[summary["metric"] == "fid"]
    means = {g: fid[fid["run"].isin(rs)]["value"].astype(float).mean() for g, rs in groups.items()}
    scored = {g: m for g, m in means.items() if pd.notna(m)}
    if not scored:
        return cell_runs, f"sweep of {len(groups)} points not evaluated yet"
    best = min(scored, key=scored.get)
    return groups[best], f"best of {len(scored)}/{len(groups)} sweep points by mean FID: {best}"


def render_table(
    paper: str,
    table: str,
    reported: pd.DataFrame,
    summary: pd.DataFrame,
    runs: dict[str, dict[str, Any]],
    metric_map: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Every cell of ``paper``'s ``table`` with its reproduction. ``runs`` maps run names to
    ``{"cells": [...], "group": <run name without seed>, "sweep": <experiment or None>}``.
    ``metric_map`` reads a reported metric from another ``metrics.json`` entry (GLDO Table 3 reports
    "fid" of interpolations: ``{"fid": "fid_interp"}``)."""
    metric_map = metric_map or {}
    cells = reported[(reported["paper"] == paper) & (reported["table"] == table)]
    if cells.empty:
        raise LcwbenchError(f"reported.csv has no cells for paper {paper!r} table {table!r}")
    out = []
    for _, cell in cells.iterrows():
        key = f"{paper}/{table}/{cell['dataset']}/{cell['method']}"
        cell_runs = sorted(r for r, spec in runs.items() if key in spec.get("cells", []))
        base = {
            "paper": paper, "table": table, "dataset": cell["dataset"], "method": cell["method"],
            "metric": cell["metric"], "setting": cell["setting"],
            "reported": pd.to_numeric(cell["value"], errors="coerce"), "reported_pm": cell["pm"],
            "source": cell["source"],
        }
        note = []
        if cell["value"] == "":
            note.append("reported value not recovered from the paper")
        if _literature(cell):
            note.append("taken by the paper from the literature: reported only")
        cell_runs, sweep_note = select_sweep_point(cell_runs, runs, summary)
        if sweep_note:
            note.append(sweep_note)
        measured = metric_map.get(cell["metric"], cell["metric"])
        if measured != cell["metric"]:
            note.append(f"reproduced as {measured}")
        sub = summary[summary["run"].isin(cell_runs) & (summary["metric"] == measured)]
        if sub.empty:
            if cell_runs:
                note.append(f"no results yet for runs {', '.join(cell_runs)}")
            elif not _literature(cell):
                note.append("not reproduced by this config")
            out.append({**base, "n_seeds": 0, "note": "; ".join(note)})
            continue
        groups = list(sub.groupby("protocol_id", sort=True))
        if len(groups) > 1:
            note.append(f"runs evaluated under {len(groups)} different protocols: one row each, not pooled")
        for pid, g in groups:
            values = g["value"].astype(float)
            proto = json.loads(g["protocol_json"].iloc[0])
            mean = float(values.mean())
            row_note = list(note)
            if proto.get("is_standin"):
                row_note.append("STAND-IN Inception weights: not comparable to the reported value")
            out.append({
                **base,
                "reproduced_mean": mean,
                "reproduced_std": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                "n_seeds": int(g["seed"].nunique()),
                # a stand-in extractor's FID/IS/PRD says nothing about the paper: no difference is shown
                "difference": (mean - base["reported"]
                               if pd.notna(base["reported"]) and not proto.get("is_standin") else float("nan")),
                "runs": " ".join(sorted(g["run"])),
                "protocol_id": pid,
                "protocol": describe_protocol(proto),
                "note": "; ".join(row_note),
            })
    return pd.DataFrame(out, columns=TABLE_COLUMNS)


def _fmt(v: Any, digits: int = 2) -> str:
    """Floats with ``digits`` decimals; below 1 in magnitude with three significant digits instead, so
    small numbers (Geng's MSEs of 0.0165, KIDs) keep their precision."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if 0 < abs(v) < 1 else f"{v:.{digits}f}"
    return str(v)


DISPLAY_HEADER = [
    "dataset", "method", "metric", "setting", "reported", "reproduced (mean ± std)", "seeds", "diff", "note",
]
STANDIN_NOTE = ("Some reproduced generation metrics were computed with randomly initialised Inception weights (a test"
                " stand-in); they check the pipeline, not the paper.")


def _display_rows(df: pd.DataFrame) -> list[list[str]]:
    """The cells of the rendered table (markdown and HTML), one list per row, in DISPLAY_HEADER order."""
    rows = []
    for _, r in df.iterrows():
        rep = _fmt(r["reported"]) + (f" ± {r['reported_pm']}" if r["reported_pm"] else "")
        repro = ""
        if pd.notna(r["reproduced_mean"]):
            repro = _fmt(r["reproduced_mean"])
            if pd.notna(r["reproduced_std"]):
                repro += f" ± {_fmt(r['reproduced_std'])}"
        rows.append([
            str(r["dataset"]), str(r["method"]), str(r["metric"]), str(r["setting"]), rep, repro,
            str(int(r["n_seeds"]) if pd.notna(r["n_seeds"]) else 0), _fmt(r["difference"]), str(r["note"] or ""),
        ])
    return rows


def _has_standin(df: pd.DataFrame) -> bool:
    return bool(df["note"].fillna("").str.contains("STAND-IN").any())


def _protocols(df: pd.DataFrame) -> list[tuple[str, str]]:
    protos = df.dropna(subset=["protocol_id"]).drop_duplicates("protocol_id")
    return [(str(r["protocol_id"]), str(r["protocol"])) for _, r in protos.iterrows()]


def table_markdown(df: pd.DataFrame, title: str) -> str:
    lines = [f"# {title}", ""]
    if _has_standin(df):
        lines += [f"> **Stand-in extractor.** {STANDIN_NOTE}", ""]
    lines.append("| " + " | ".join(DISPLAY_HEADER) + " |")
    lines.append("|" + "---|" * len(DISPLAY_HEADER))
    lines += ["| " + " | ".join(row) + " |" for row in _display_rows(df)]
    protos = _protocols(df)
    if protos:
        lines += ["", "Protocols:", ""]
        lines += [f"- `{pid}`: {desc}" for pid, desc in protos]
    return "\n".join(lines) + "\n"


def table_html(df: pd.DataFrame, title: str) -> str:
    """The table as one self-contained HTML page (for the Snakemake report): the markdown's content,
    with each row's protocol id and the list of protocols below."""
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in [*DISPLAY_HEADER, "protocol"])
    body = "\n".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row)
        + f"<td><code>{escape(str(pid)) if pd.notna(pid) else ''}</code></td></tr>"
        for row, pid in zip(_display_rows(df), df["protocol_id"])
    )
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{escape(title)}</title>",
        "<style>body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse}"
        "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}"
        "th{background:#eee}.standin{border-left:4px solid #c60;padding-left:.5em}</style>",
        "</head><body>", f"<h1>{escape(title)}</h1>",
    ]
    if _has_standin(df):
        parts.append(f'<p class="standin"><strong>Stand-in extractor.</strong> {escape(STANDIN_NOTE)}</p>')
    parts += [f'<table id="paper-table"><thead><tr>{head}</tr></thead><tbody>', body, "</tbody></table>"]
    protos = _protocols(df)
    parts.append('<h2>Protocols</h2><ul id="protocols">')
    parts += [f"<li><code>{escape(pid)}</code>: {escape(desc)}</li>" for pid, desc in protos]
    if not protos:
        parts.append("<li>none: this configuration reproduces no cell of this table</li>")
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def write_table(
    df: pd.DataFrame, csv_path: str | Path, md_path: str | Path, title: str, html_path: str | Path | None = None
) -> None:
    write_text(csv_path, df.to_csv(index=False, float_format="%.6g"))
    write_text(md_path, table_markdown(df, title))
    if html_path is not None:
        write_text(html_path, table_html(df, title))
