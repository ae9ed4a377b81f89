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

from vbrain._lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
