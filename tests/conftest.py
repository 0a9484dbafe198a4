"""Shared fixtures: the real data in ../shared/data and the project root."""

from __future__ import annotations

import copy
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


def _assert_config_error(cfg: dict, mutate, message: str) -> None:
    """``mutate`` a copy of ``cfg``; validating it must fail with one line that matches ``message``."""
    from lcwbench.config import validate_config
    from lcwbench.errors import LcwbenchError

    bad = copy.deepcopy(cfg)
    mutate(bad)
    with pytest.raises(LcwbenchError, match=message) as info:
        validate_config(bad)
    assert "\n" not in str(info.value)


@pytest.fixture
def assert_config_error():
    return _assert_config_error
