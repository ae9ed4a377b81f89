"""Lazy attributes for packages whose submodules pull in heavy libraries (MNE, nilearn, dipy)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, names: dict[str, str]) -> tuple[Callable, Callable]:
    """Module ``__getattr__`` and ``__dir__`` importing ``names`` (name -> submodule) on first use.

    Usage in a package ``__init__``::

        __getattr__, __dir__ = lazy_attributes(__name__, {"LeadField": "leadfield"})
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(names))

    return __getattr__, __dir__
