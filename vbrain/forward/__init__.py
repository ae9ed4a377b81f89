"""Forward models: region activity to what a scanner records (BOLD images, sensor data).

Submodules are imported on first use, so ``import vbrain.forward`` stays
cheap and does not pull in nibabel or MNE:

- :mod:`vbrain.forward.nifti`: :func:`bold_to_nifti` (region BOLD -> 4-D NIfTI);
- :mod:`vbrain.forward.leadfield`: :class:`LeadField` (region -> EEG/MEG/SEEG gain).
"""

from __future__ import annotations

from vbrain._lazy import lazy_attributes

#: public name -> submodule that defines it (extend as submodules are added)
_LAZY = {
    "bold_to_nifti": "nifti",
    "LeadField": "leadfield",
    "to_raw": "sensors",
    "save_raw": "sensors",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
