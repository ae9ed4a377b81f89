"""Ingest workflows (installed as ``vbrain.pipelines``).

Recipes that turn a subject's diffusion MRI, fMRI and EEG into a connectome and
fitting targets live here (dti, fmri, eeg). None is available yet: see the
project's pipelines issue.
"""

__all__: list[str] = []
