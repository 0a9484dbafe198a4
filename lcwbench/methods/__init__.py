"""Method registry: every method module registers its class here by name."""

from __future__ import annotations

from typing import Any

from lcwbench.errors import LcwbenchError
from lcwbench.methods.base import Method, MethodConfig, make_config

REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    if cls.name in REGISTRY:
        raise RuntimeError(f"method {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def method_names() -> list[str]:
    return sorted(REGISTRY)


def get_method(name: str) -> type[Method]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise LcwbenchError(f"unknown method {name!r}; valid: {', '.join(method_names())}") from None


def build_method(
    name: str, params: dict[str, Any] | None, sample_shape: tuple[int, ...], base: Method | None = None
) -> Method:
    """Build method ``name`` from ``params``; ``base`` is the trained model a stage-2 method builds on."""
    cls = get_method(name)
    return cls(make_config(cls, params), sample_shape, base=base)


# Importing the modules registers them.
from lcwbench.methods import (  # noqa: E402,F401
    aae,
    ae,
    age,
    alae,
    began,
    cw2,
    cw_generator,
    cwae,
    dcgan,
    geng,
    gldo,
    glo,
    glo_mapping,
    introvae,
    latent_trick,
    lmgae,
    pca,
    sw_generator,
    vae,
    wae_gan,
    wae_mmd,
    wgan_gp,
)

__all__ = ["REGISTRY", "Method", "MethodConfig", "build_method", "get_method", "make_config", "method_names"]
