"""The monitor interface.

The engine advances in chunks. After each chunk it hands every monitor the
states the chunk produced (``trace``, shape (n_steps, n_state, n_regions,
n_batch), the state after each step) and the monitor returns the samples
that chunk completes. Monitors that only need sums of the states over fixed
windows (temporal averages) say so with ``window()``; when all of a run's
monitors share one window, the loop sums the states itself and they get
``consume_sums`` instead (one row per window). Monitors keep whatever they
need across chunk boundaries (partial averages, hemodynamic state), so their
output does not depend on the chunk size. The trace is a bounded scratch
buffer, never the run's output: BOLD and sensor monitors integrate it in
compiled code and keep only their own samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._check import check_range, suggest


@dataclass
class RunInfo:
    """What a monitor learns about the run before the first chunk.

    Attributes
    ----------
    dt : float
        Integration step, ms.
    state_names : tuple of str
        Model state variable names, in state order.
    state_units : tuple of str
        Their units.
    model : object
        The model instance (for model-specific defaults).
    region_labels : tuple of str
    n_batch : int
    connectome : Connectome, optional
        The run's connectome (for its region flags, e.g. hemispheres).
    """

    dt: float
    state_names: tuple[str, ...]
    state_units: tuple[str, ...]
    model: Any
    region_labels: tuple[str, ...]
    n_batch: int
    connectome: Any = None


class Monitor:
    """Base class: ``setup`` once, ``consume`` per chunk, ``state``/``restore`` for checkpoints.

    Parameters
    ----------
    variables : sequence of str, optional
        State variables to record; default the model's variables of interest.
    """

    #: name of the output (key in the Result); subclasses set it
    name = "monitor"
    #: what :meth:`consume` receives: ``"state"``, the state after each step, or
    #: ``"coupling"``, each step's coupling input (n_steps, n_cvar, n_regions, n_batch)
    reads = "state"

    def __init__(self, variables: tuple[str, ...] | list[str] | None = None) -> None:
        self.variables = None if variables is None else tuple(variables)

    def setup(self, info: RunInfo) -> None:
        """Resolve variables and reset the running state for a new run."""
        self.info = info
        names = info.state_names
        wanted = self.variables
        if wanted is None:
            voi = getattr(info.model, "variables_of_interest", None)
            wanted = tuple(voi) if voi else names
        for v in wanted:
            if v not in names:
                raise ValueError(
                    f"{type(self).__name__}: unknown variable {v!r}.{suggest(v, names)} "
                    f"The model's state variables are {list(names)}."
                )
        self.variables_ = tuple(wanted)
        self.var_index_ = np.array([names.index(v) for v in wanted], dtype=np.intp)
        self.units_ = tuple(info.state_units[i] for i in self.var_index_)

    def consume(self, trace: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:
        """Take a chunk of states; return (times in ms, samples).

        Parameters
        ----------
        trace : array (n_steps, n_state, n_regions, n_batch)
            State after steps ``first_step + 1 ... first_step + n_steps``.
        first_step : int
            Number of steps done before this chunk.

        Returns
        -------
        times : array (n_samples,), ms
        samples : array (n_samples, *space, n_batch)
            Axes as :meth:`space` describes them, batch last.
        """
        raise NotImplementedError  # abstract: every monitor implements it

    def window(self) -> int:
        """Steps this monitor can take summed into one row (:meth:`consume_sums`); 1: every state.

        When every monitor of a run gives the same window, the compiled loop adds the
        states of each window up itself and hands over one row per window.
        """
        return 1

    def consume_sums(self, sums: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`consume`, from sums of the states over consecutive windows.

        Parameters
        ----------
        sums : array (n_windows, n_state, n_regions, n_batch)
            Row r is the sum, in step order, of the states after steps
            ``first_step + r * w + 1 ... first_step + (r + 1) * w``, w = :meth:`window`;
            ``first_step`` is a multiple of w.
        first_step : int
            Number of steps done before this chunk.
        """
        raise NotImplementedError(f"{type(self).__name__} takes every state (window() == 1)")

    def space(self) -> list[tuple[str, list, dict[str, list]]]:
        """Labelled axes of one sample, after time and before batch.

        Default: ``variable`` (with a ``unit`` coordinate) and ``region``.
        Sensor monitors return ``[("sensor", names, {...})]`` instead.
        """
        return [("variable", list(self.variables_), {"unit": list(self.units_)}),
                ("region", list(self.info.region_labels), {})]

    def attrs(self) -> dict[str, Any]:
        """Attributes of the output array (e.g. ``units`` when one unit applies)."""
        return {}

    def get_state(self) -> dict[str, np.ndarray]:
        """Running state to checkpoint (empty when the monitor is stateless)."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a checkpointed running state."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(variables={self.variables})"


def period_steps(name: str, period: float, dt: float) -> int:
    """Convert a sampling period in ms to a whole number of steps (error if not)."""
    check_range(f"{name} period", period, 0.0, low_inclusive=False)
    steps = period / dt
    n = int(round(steps))
    if n < 1 or abs(steps - n) > 1e-6 * max(1.0, steps):
        # TVB rounds such a period silently (its default 0.9765625 ms is 10 steps at 0.1 ms)
        nearest = max(1, n) * dt
        raise ValueError(
            f"{name} period must be a positive multiple of dt={dt} ms, but got "
            f"{period} ms ({steps:g} steps); TVB would sample every {max(1, n)} steps: "
            f"pass period={nearest:g} for that."
        )
    return n
