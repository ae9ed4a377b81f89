"""Raw, subsampled and temporally averaged state monitors (TVB's Raw, SubSample, TemporalAverage)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import Monitor, RunInfo, period_steps


class Raw(Monitor):
    """Every integration step: the state after step n, at time (n + 1) dt."""

    name = "raw"

    def consume(self, trace: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        n = trace.shape[0]
        times = (first_step + 1 + np.arange(n)) * self.info.dt
        return times, trace[:, self.var_index_].copy()


class SubSample(Monitor):
    """The instantaneous state every ``period`` ms (TVB's SubSample).

    Parameters
    ----------
    period : float
        Sampling period in ms, a multiple of dt.
    variables : sequence of str, optional
    """

    name = "subsample"

    def __init__(self, period: float = 1.0, variables=None) -> None:
        super().__init__(variables)
        self.period = period

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        super().setup(info)
        self.istep_ = period_steps("SubSample", self.period, info.dt)

    def consume(self, trace, first_step):  # noqa: D102
        steps = first_step + 1 + np.arange(trace.shape[0])
        keep = steps % self.istep_ == 0
        return steps[keep] * self.info.dt, trace[keep][:, self.var_index_].copy()

    def __repr__(self) -> str:
        return f"SubSample(period={self.period}, variables={self.variables})"


class TemporalAverage(Monitor):
    """The mean state over consecutive windows of ``period`` ms (TVB's TemporalAverage).

    A sample averages the states after the ``period / dt`` steps of its window
    and is stamped at the window's centre, (end - period / 2), as TVB does.

    Parameters
    ----------
    period : float
        Averaging window and sampling period in ms, a multiple of dt.
    variables : sequence of str, optional
    """

    name = "tavg"

    def __init__(self, period: float = 1.0, variables=None) -> None:
        super().__init__(variables)
        self.period = period

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        super().setup(info)
        self.istep_ = period_steps("TemporalAverage", self.period, info.dt)
        self._sum = None
        self._count = 0

    def consume(self, trace, first_step):  # noqa: D102
        n_steps, n_state = trace.shape[:2]
        flat = trace.reshape(n_steps, n_state, -1)
        if self._sum is None:
            self._sum = np.zeros((len(self.var_index_), flat.shape[2]))
        n_out = (self._count + n_steps) // self.istep_
        out = np.empty((n_out, len(self.var_index_), flat.shape[2]))
        ends = np.empty(n_out, dtype=np.int64)
        self._count = _window_means(flat, self.var_index_, self._sum, self._count, self.istep_,
                                    first_step, out, ends)
        times = (ends - self.istep_ / 2.0) * self.info.dt
        return times, out.reshape((n_out, len(self.var_index_)) + trace.shape[2:])

    def window(self) -> int:  # noqa: D102
        return self.istep_

    def consume_sums(self, sums, first_step):  # noqa: D102
        # the loop's sums start from 0.0 and add in step order, as _window_means does:
        # the same samples, bit for bit
        ends = first_step + self.istep_ * (1 + np.arange(sums.shape[0]))
        chosen = (sums if len(self.var_index_) == sums.shape[1]  # all variables, in order
                  and np.array_equal(self.var_index_, np.arange(sums.shape[1]))
                  else sums[:, self.var_index_])
        return (ends - self.istep_ / 2.0) * self.info.dt, np.divide(chosen, self.istep_)

    def get_state(self):  # noqa: D102
        s = np.zeros(0) if self._sum is None else self._sum.copy()
        return {"sum": s, "count": np.array(self._count)}

    def set_state(self, state):  # noqa: D102
        self._sum = None if state["sum"].size == 0 else state["sum"].copy()
        self._count = int(state["count"])

    def __repr__(self) -> str:
        return f"TemporalAverage(period={self.period}, variables={self.variables})"


@njit(cache=True, error_model="numpy", nogil=True)
def _window_means(trace, var_index, acc, count, m, first_step, out, ends):  # pragma: no cover
    """Add the chosen variables of each trace row to acc, in order; every m rows emit acc / m.

    Returns the number of rows in the window left open.
    """
    j = 0
    for t in range(trace.shape[0]):
        for q in range(var_index.shape[0]):
            row = trace[t, var_index[q]]
            for k in range(row.shape[0]):
                acc[q, k] += row[k]
        count += 1
        if count == m:
            for q in range(acc.shape[0]):
                for k in range(acc.shape[1]):
                    out[j, q, k] = acc[q, k] / m
                    acc[q, k] = 0.0
            ends[j] = first_step + t + 1
            j += 1
            count = 0
    return count
