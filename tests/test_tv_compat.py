"""torchvision imports beside CPU torch through the in-process op declarations, and only then."""

from __future__ import annotations

import subprocess
import sys

import torch

from lcwbench import _tv_compat


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_torchvision_imports_after_compat_module():
    res = _run("import lcwbench._tv_compat, torchvision, torchvision.utils; print(torchvision.__version__)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("0.28.0")


def test_without_compat_the_upstream_failure_is_what_we_work_around():
    res = _run("import torchvision")
    if res.returncode == 0:  # a torch build whose torchvision extension loads (e.g. CUDA): nothing to fix
        assert _tv_compat.DECLARED == []
    else:
        assert "torchvision::nms does not exist" in res.stderr
        assert set(_tv_compat.DECLARED) == {"nms", "qnms"}


def test_second_call_does_nothing_once_ops_exist():
    assert _tv_compat.ensure_torchvision_ops() == []
    assert torch._C._dispatch_find_schema_or_throw("torchvision::nms", "") is not None


def test_package_modules_that_use_torchvision_import_cleanly_in_a_fresh_process():
    res = _run("import lcwbench.metrics.inception, lcwbench.evaluate, torch_fidelity, cleanfid; print('ok')")
    assert res.returncode == 0, res.stderr
    # save_grid imports torchvision lazily: it must work as the first torchvision user of a process
    res = _run("import torch, tempfile, pathlib; from lcwbench.evaluate import save_grid; "
               "save_grid(torch.rand(4, 1, 8, 8), pathlib.Path(tempfile.mkdtemp()) / 'g.png')")
    assert res.returncode == 0, res.stderr
