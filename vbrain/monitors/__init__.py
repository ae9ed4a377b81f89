"""Monitors: what a simulation records (raw, subsampled, temporally averaged states)."""

from .base import Monitor, RunInfo
from .raw import Raw, SubSample, TemporalAverage
from .bold import Bold, BoldHRF
from .sensors import EEG, MEG, SEEG

__all__ = ["Monitor", "RunInfo", "Raw", "SubSample", "TemporalAverage", "Bold", "BoldHRF",
           "EEG", "MEG", "SEEG"]
