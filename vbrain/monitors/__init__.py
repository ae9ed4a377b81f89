"""Monitors: what a simulation records (raw, subsampled, temporally averaged and
region-averaged states, the coupling input, BOLD, EEG/MEG/SEEG)."""

from .afferent import AfferentCoupling
from .base import Monitor, RunInfo
from .bold import Bold, BoldHRF
from .raw import Raw, SubSample, TemporalAverage
from .sensors import EEG, MEG, SEEG
from .spatial import GlobalAverage, SpatialAverage

__all__ = ["Monitor", "RunInfo", "Raw", "SubSample", "TemporalAverage", "SpatialAverage",
           "GlobalAverage", "AfferentCoupling", "Bold", "BoldHRF", "EEG", "MEG", "SEEG"]
