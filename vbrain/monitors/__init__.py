"""Monitors: what a simulation records (raw, subsampled, temporally averaged states)."""

from .base import Monitor, RunInfo
from .raw import Raw, SubSample, TemporalAverage

__all__ = ["Monitor", "RunInfo", "Raw", "SubSample", "TemporalAverage"]
