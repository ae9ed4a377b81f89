"""The coupling input each region receives (TVB's AfferentCoupling monitors)."""

from __future__ import annotations

import numpy as np

from .base import RunInfo, period_steps
from .raw import TemporalAverage


class AfferentCoupling(TemporalAverage):
    r"""The long-range coupling each region receives, per coupling variable.

    TVB's AfferentCoupling: at each state's time :math:`t_n = n\,dt`, n = 1 .. N,
    the coupling computed from the delayed states up to :math:`t_n`, i.e. the
    input of the step that starts there (the last one is evaluated after the
    run's last step, as TVB does). With a ``period``, TVB's
    AfferentCouplingTemporalAverage: means over windows of ``period`` ms of those
    samples, stamped at the window's centre, as ``TemporalAverage``. The values
    are what the model's equations receive as ``c``: the coupling function's
    output, before any model-specific scaling.

    Parameters
    ----------
    period : float, optional
        Averaging window in ms, a multiple of dt; default every step.
    variables : sequence of str, optional
        Coupling variables (the model's ``coupling_variables``) to record; default all.

    Output dims ``(time, variable, region[, batch])``, named ``coupling``.
    """

    name = "coupling"
    reads = "coupling"

    def __init__(self, period: float | None = None, variables=None) -> None:
        super().__init__(period, variables)

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        self.info = info
        cvar = tuple(info.state_names[i] for i in type(info.model).cvar_indices())
        wanted = cvar if self.variables is None else self.variables
        for v in wanted:
            if v not in cvar:
                raise ValueError(f"AfferentCoupling: {v!r} is not a coupling variable of "
                                 f"{type(info.model).__name__}; its coupling variables are "
                                 f"{list(cvar)}.")
        self.variables_ = tuple(wanted)
        self.var_index_ = np.array([cvar.index(v) for v in wanted], dtype=np.intp)
        self.units_ = ("",) * len(wanted)  # the coupling's unit is the model's business
        self.istep_ = (1 if self.period is None
                       else period_steps("AfferentCoupling", self.period, info.dt))
        self._sum = None
        self._count = 0

    def consume(self, coupling, first_step):  # noqa: D102
        if self.period is None:
            times = (first_step + 1 + np.arange(coupling.shape[0])) * self.info.dt
            return times, coupling[:, self.var_index_].copy()
        return super().consume(coupling, first_step)

    def window(self) -> int:  # noqa: D102
        return 1  # the loop sums states, never the coupling

    def __repr__(self) -> str:
        return f"AfferentCoupling(period={self.period}, variables={self.variables})"
