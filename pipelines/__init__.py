"""Ingest workflows (installed as ``vbrain.pipelines``): subject data -> connectome and targets.

Submodules (imported on first use, so ``import vbrain.pipelines`` stays cheap):

- :mod:`~vbrain.pipelines.fmri`: 4-D fMRI (+ confounds) + atlas -> region series, FC, FCD
  (:func:`fmri_targets`);
- :mod:`~vbrain.pipelines.eeg`: raw EEG -> spectra, band powers, envelope connectivity,
  montage (:func:`eeg_targets`);
- :mod:`~vbrain.pipelines.dti`: diffusion MRI -> structural connectome (``run_dti``);
- :mod:`~vbrain.pipelines.bids`: run a recipe (``recipes/{dti,fmri,eeg,all}.toml``) on a
  BIDS dataset and write BIDS-derivatives outputs (:func:`run_pipeline`, the CLI's
  ``vbrain pipeline``);
- :mod:`~vbrain.pipelines.provenance`: how each output was made (inputs with SHA-256,
  parameters, versions); :func:`save_dataset` / :func:`load_dataset` for the NetCDF outputs.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_LAZY = {
    "fmri_targets": "fmri",
    "tangent_connectivity": "fmri",
    "eeg_targets": "eeg",
    "info_from_targets": "eeg",
    "run_pipeline": "bids",
    "available_recipes": "bids",
    "save_dataset": "provenance",
    "load_dataset": "provenance",
}

__all__ = ["available_recipes", "eeg_targets", "fmri_targets", "info_from_targets",
           "load_dataset", "run_pipeline", "save_dataset", "tangent_connectivity"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
