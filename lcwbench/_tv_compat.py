"""Make the PyPI torchvision wheel importable beside a CPU-only torch.

The torchvision 0.28 wheel from PyPI registers fake-tensor kernels for ``torchvision::nms`` and
``torchvision::qnms`` at import time. When its compiled extension does not load against the CPU
torch build, those operators were never declared and the import dies with
``operator torchvision::nms does not exist`` (upstream pytorch/vision#9085). Declaring the two
schemas in-process first lets the import succeed; the ops themselves stay unavailable (the harness
never calls them). Nothing on disk is modified.

Import this module before torchvision anywhere in the package. On a torch build where the operators
exist already (CUDA wheels, a working extension) it does nothing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY = None  # keep the Library object alive: its definitions vanish when it is collected


def _has_op(name: str) -> bool:
    try:
        torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
        return True
    except RuntimeError:
        return False


def _try_load_extension() -> None:
    """Load torchvision's compiled extension the way torchvision itself would, without importing it.

    Where the extension matches the installed torch (CUDA wheels, matching CPU builds) this registers
    the real operators, and nothing needs declaring. Where it cannot load, nothing happens here.
    """
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        for lib in sorted(Path(location).glob("_C*.so")) + sorted(Path(location).glob("_C*.pyd")):
            try:
                torch.ops.load_library(str(lib))
            except (OSError, RuntimeError):
                pass
            return


def ensure_torchvision_ops() -> list[str]:
    """Declare the torchvision op schemas that are still missing; return the names declared."""
    global _LIBRARY
    if all(_has_op(name) for name in _SCHEMAS):
        return []
    _try_load_extension()
    missing = [name for name in _SCHEMAS if not _has_op(name)]
    if missing:
        if _LIBRARY is None:
            _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            _LIBRARY.define(_SCHEMAS[name])
    return missing


DECLARED = ensure_torchvision_ops()
