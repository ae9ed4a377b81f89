"""Monitors: what a simulation records (raw, subsampled, temporally averaged states)."""

from .base import Monitor, RunInfo
from .bold import Bold, BoldHRF
from .raw import Raw, SubSample, TemporalAverage
from .sensors import EEG, MEG, SEEG

__all__ = ["Monitor", "RunInfo", "Raw", "SubSample", "TemporalAverage", "Bold", "BoldHRF",
           "EEG", "MEG", "SEEG"]
