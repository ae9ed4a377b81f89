"""Forward models: region activity to what a scanner records (BOLD images, sensor data).

Submodules are imported on first use, so ``import vbrain.forward`` stays
cheap and does not pull in nibabel or MNE:

- :mod:`vbrain.forward.nifti`: :func:`bold_to_nifti` (region BOLD -> 4-D NIfTI);
- :mod:`vbrain.forward.leadfield`: :class:`LeadField` (region -> EEG/MEG/SEEG gain).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it (extend as submodules are added)
_LAZY = {
    "bold_to_nifti": "nifti",
    "LeadField": "leadfield",
    "to_raw": "sensors",
    "save_raw": "sensors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
