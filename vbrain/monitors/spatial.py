"""Averages over regions (TVB's SpatialAverage and GlobalAverage monitors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Monitor, RunInfo, period_steps

#: group names of the connectome's boolean flags (False, True)
_FLAG_GROUPS = {"cortical": ("subcortical", "cortical"), "hemispheres": ("left", "right")}


class SpatialAverage(Monitor):
    """The instantaneous state every ``period`` ms, averaged over groups of regions.

    TVB's SpatialAverage: a sample is taken at the steps SubSample takes (time
    ``k * period``, ``k = 1, 2, ...``) and holds, per variable and group, the mean
    over the group's regions.

    Parameters
    ----------
    period : float
        Sampling period in ms, a multiple of dt.
    mask : "cortical", "hemispheres" or sequence, default "cortical"
        The groups. ``"cortical"`` and ``"hemispheres"`` use the connectome's
        flags (groups ``subcortical``/``cortical``, ``left``/``right``; TVB's
        default masks, one group when every region has the flag). A sequence
        gives each region's group label (ints or strings, one per region);
        the groups are its sorted distinct labels (TVB's integer masks, 0 .. G-1,
        give groups 0 .. G-1).
    variables : sequence of str, optional

    Output dims ``(time, variable, group[, batch])``.
    """

    name = "spatial"

    def __init__(self, period: float = 1.0, mask: str | Any = "cortical", variables=None) -> None:
        super().__init__(variables)
        self.period = period
        self.mask = mask

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        super().setup(info)
        self.istep_ = period_steps(type(self).__name__, self.period, info.dt)
        labels, index = self._groups(info)
        self.groups_ = labels
        mean = np.zeros((len(labels), len(info.region_labels)))
        mean[index, np.arange(len(index))] = 1.0
        self.mean_ = mean / mean.sum(axis=1, keepdims=True)

    def _groups(self, info: RunInfo) -> tuple[list, np.ndarray]:
        """Group labels and each region's group index."""
        n = len(info.region_labels)
        if isinstance(self.mask, str):
            if self.mask not in _FLAG_GROUPS:
                raise ValueError(f"{type(self).__name__} mask must be 'cortical', 'hemispheres' or "
                                 f"one group label per region, but got {self.mask!r}.")
            flags = getattr(info.connectome, self.mask, None)
            if flags is None:
                raise ValueError(
                    f"{type(self).__name__}(mask={self.mask!r}): the connectome has no "
                    f"{self.mask} flags; give mask= one group label per region instead.")
            flags = np.asarray(flags, dtype=bool)
            present = np.unique(flags)
            names = _FLAG_GROUPS[self.mask]
            return [names[int(v)] for v in present], np.searchsorted(present, flags)
        mask = np.asarray(self.mask)
        if mask.ndim != 1 or len(mask) != n:
            raise ValueError(f"{type(self).__name__} mask must hold one group label per region "
                             f"({n}), but got shape {mask.shape}.")
        labels, index = np.unique(mask, return_inverse=True)
        return labels.tolist(), index.ravel()

    def consume(self, trace, first_step):  # noqa: D102
        steps = first_step + 1 + np.arange(trace.shape[0])
        keep = steps % self.istep_ == 0
        states = trace[keep][:, self.var_index_]  # (time, variable, region, batch)
        return steps[keep] * self.info.dt, self.mean_ @ states

    def space(self):  # noqa: D102
        return [("variable", list(self.variables_), {"unit": list(self.units_)}),
                ("group", list(self.groups_), {})]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(period={self.period}, mask={self.mask!r}, "
                f"variables={self.variables})")


class GlobalAverage(SpatialAverage):
    """The instantaneous state every ``period`` ms, averaged over all regions (TVB's
    GlobalAverage). Output dims ``(time, variable[, batch])``.

    Parameters
    ----------
    period : float
        Sampling period in ms, a multiple of dt.
    variables : sequence of str, optional
    """

    name = "global"

    def __init__(self, period: float = 1.0, variables=None) -> None:
        super().__init__(period, None, variables)

    def _groups(self, info):
        return ["all"], np.zeros(len(info.region_labels), dtype=np.intp)

    def consume(self, trace, first_step):  # noqa: D102
        times, samples = super().consume(trace, first_step)
        return times, samples[:, :, 0]

    def space(self):  # noqa: D102
        return super().space()[:1]  # the variable axis alone

    def __repr__(self) -> str:
        return f"GlobalAverage(period={self.period}, variables={self.variables})"
