"""Shared fixtures: the real data in ../shared/data and the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
REPORTED = ROOT.parent / "shared" / "reference" / "reported.csv"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def reported_csv() -> Path:
    if not REPORTED.is_file():
        pytest.skip(f"reported.csv not found at {REPORTED}")
    return REPORTED
