"""Aggregation and table rendering: mean/std per cell, protocols never pooled, reported-only rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lcwbench.tables import protocol_id, read_reported, render_table, summarize, table_markdown, write_table

REPORTED = """paper,table,dataset,method,metric,value,pm,setting,source,note
p,t,MNIST,AE,rec_error,11,,lr=0.001,x:L1,
p,t,MNIST,AE,fid,52,,lr=0.001,x:L1,
p,t,MNIST,VAE,fid,60,,,x:L2,
p,t,MNIST,DCGAN,fid,30,,,x:L3,asterisk; caption: from X
p,t,MNIST,WAE,fid,52,,,x:L5,no asterisk
p,t,MNIST,LOST,fid,,,,x:L4,NOT_RECOVERED
q,t,MNIST,AE,fid,1,,,y:L1,
"""


def _metrics(tmp_path, run, seed, rec, fid, standin=False, n_gen=100):
    proto = {"protocol": "s", "n_gen": n_gen, "ref_dataset": "mnist", "ref_split": "train", "ref_n": 100,
             "extractor": "e", "is_standin": standin, "weights_sha256": "abc", "weights_path": f"/{run}"}
    m = {
        "run": run, "dataset": "mnist", "method": "ae", "seed": seed, "cells": ["p/t/MNIST/AE"],
        "standin": standin,
        "metrics": {
            "rec_error": {"value": rec, "protocol": {"split": "test", "n": 10, "definition": "d", "dataset": "mnist"}},
            "fid": {"value": fid, "protocol": proto},
        },
    }
    path = tmp_path / f"{run}.json"
    path.write_text(json.dumps(m))
    return path


@pytest.fixture
def reported(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text(REPORTED)
    return read_reported(path)


def test_summary_rows_and_protocol_columns(tmp_path):
    files = [_metrics(tmp_path, "r0", 0, 10.0, 50.0), _metrics(tmp_path, "r1", 1, 12.0, 54.0)]
    df = summarize(files)
    assert len(df) == 4
    fid = df[df.metric == "fid"]
    assert set(fid.n_gen) == {100} and set(fid.ref_split) == {"train"}
    # the weights' location is not part of a protocol's identity
    assert fid.protocol_id.nunique() == 1


def test_cell_mean_std_difference(tmp_path, reported):
    files = [_metrics(tmp_path, "r0", 0, 10.0, 50.0), _metrics(tmp_path, "r1", 1, 12.0, 54.0)]
    runs = {"r0": {"cells": ["p/t/MNIST/AE"]}, "r1": {"cells": ["p/t/MNIST/AE"]}}
    df = render_table("p", "t", reported, summarize(files), runs)
    rec = df[(df.method == "AE") & (df.metric == "rec_error")].iloc[0]
    assert rec.reproduced_mean == pytest.approx(11.0)
    assert rec.reproduced_std == pytest.approx(2**0.5)  # sample std of 10 and 12
    assert rec.n_seeds == 2 and rec.difference == pytest.approx(0.0)
    fid = df[(df.method == "AE") & (df.metric == "fid")].iloc[0]
    assert fid.reproduced_mean == pytest.approx(52.0) and fid.difference == pytest.approx(0.0)
    # every cell of the paper's table is present, only that paper's
    assert len(df) == 6 and set(df.paper) == {"p"}
    vae = df[df.method == "VAE"].iloc[0]
    assert pd.isna(vae.reproduced_mean) and "not reproduced" in vae.note
    assert "literature" in df[df.method == "DCGAN"].iloc[0].note
    assert "not reproduced" in df[df.method == "WAE"].iloc[0].note
    assert "not recovered" in df[df.method == "LOST"].iloc[0].note


def test_different_protocols_are_not_pooled_and_standin_is_labelled(tmp_path, reported):
    files = [_metrics(tmp_path, "r0", 0, 10.0, 50.0, standin=True),
             _metrics(tmp_path, "r1", 1, 12.0, 54.0, standin=True, n_gen=200)]
    runs = {"r0": {"cells": ["p/t/MNIST/AE"]}, "r1": {"cells": ["p/t/MNIST/AE"]}}
    df = render_table("p", "t", reported, summarize(files), runs)
    fid = df[(df.method == "AE") & (df.metric == "fid")]
    assert len(fid) == 2 and sorted(fid.reproduced_mean) == [50.0, 54.0]
    assert all("2 different protocols" in n and "STAND-IN" in n for n in fid.note)
    md = table_markdown(df, "T")
    assert "Stand-in extractor" in md and "| MNIST | AE | fid |" in md
    write_table(df, tmp_path / "t.csv", tmp_path / "t.md", "T", html_path=tmp_path / "t.html")
    assert len(pd.read_csv(tmp_path / "t.csv")) == len(df)
    # the HTML page (for the Snakemake report): the same rows, each with its protocol id, and the protocols
    page = (tmp_path / "t.html").read_text()
    assert page.count("<tr>") == len(df) + 1 and "Stand-in extractor" in page
    for pid in fid.protocol_id:
        assert page.count(f"<code>{pid}</code>") == 2  # in its row and in the protocol list


def test_unknown_table_and_missing_reported(tmp_path, reported):
    from lcwbench.errors import LcwbenchError

    with pytest.raises(LcwbenchError, match="no cells for paper 'p' table 'zz'"):
        render_table("p", "zz", reported, summarize([]), {})
    with pytest.raises(LcwbenchError, match="reported numbers not found"):
        read_reported(tmp_path / "nope.csv")


def test_protocol_id_ignores_location_only():
    a = {"n_gen": 1, "weights_path": "/a", "seconds": 3}
    assert protocol_id(a) == protocol_id({"n_gen": 1, "weights_path": "/b"})
    assert protocol_id(a) != protocol_id({"n_gen": 2})


def test_real_reported_csv_renders_lcw_table2_with_every_cell(reported_csv):
    df = render_table("lcw", "table2", read_reported(reported_csv), summarize([]), {})
    assert len(df) == 25 and (df.n_seeds == 0).all()


def test_sweep_cell_uses_the_point_with_best_mean_fid(tmp_path, reported):
    files = [
        _metrics(tmp_path, "a-s0", 0, 10.0, 50.0), _metrics(tmp_path, "a-s1", 1, 10.0, 52.0),  # mean FID 51
        _metrics(tmp_path, "b-s0", 0, 20.0, 40.0), _metrics(tmp_path, "b-s1", 1, 22.0, 44.0),  # mean FID 42: best
    ]
    runs = {r: {"cells": ["p/t/MNIST/AE"], "group": r[0], "sweep": "grid"} for r in ("a-s0", "a-s1", "b-s0", "b-s1")}
    df = render_table("p", "t", reported, summarize(files), runs)
    rec = df[(df.method == "AE") & (df.metric == "rec_error")].iloc[0]
    assert rec.reproduced_mean == pytest.approx(21.0) and rec.runs == "b-s0 b-s1"
    assert "best of 2/2 sweep points by mean FID: b" in rec.note


def test_metric_map_reads_another_metric_and_says_so(tmp_path, reported):
    files = [_metrics(tmp_path, "r0", 0, 10.0, 50.0), _metrics(tmp_path, "r1", 1, 12.0, 54.0)]
    runs = {"r0": {"cells": ["p/t/MNIST/AE"]}, "r1": {"cells": ["p/t/MNIST/AE"]}}
    # the reported "fid" cell is filled from the runs' rec_error entry: mean of 10 and 12
    df = render_table("p", "t", reported, summarize(files), runs, metric_map={"fid": "rec_error"})
    fid = df[(df.method == "AE") & (df.metric == "fid")].iloc[0]
    assert fid.reproduced_mean == 11.0 and "reproduced as rec_error" in fid.note
