"""Stimuli as per-step increments for the compiled loop, and closed-loop control.

A stimulus adds ``I(t_n)`` to the right-hand side of its target variables in its
regions over the step from ``t_n = n dt`` to ``t_{n+1}`` (TVB's semantics).
The loop adds the step's *increment* ``dt * I(t_n)`` where TVB's integrators
add ``dt * stimulus``, together with the step's noise draw.

Closed loop: every ``interval`` ms a controller sees the samples its monitor
produced in the last interval and returns the gain of its stimulus for the
next one (0 before its first call: nothing is known yet).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._check import validate_type


class StimulusDrive:
    """The stimuli of one run, expanded to nodes (region x batch member).

    Parameters
    ----------
    stimuli : sequence of Stimulus or ClosedLoop
    model, connectome
        Of the simulation (variable names, region labels).
    n_batch : int
    dt : float
        Integration step, ms.
    n_steps : int, optional
        Length of the run in steps (waveforms must cover it: checked up front).
    """

    def __init__(self, stimuli, model, connectome, n_batch: int, dt: float,
                 n_steps: int | None = None) -> None:
        from ..stimulus import ClosedLoop, InsetNeurons, Stimulus

        self.dt = dt
        self.n_batch = n_batch
        self.parts: list[dict[str, Any]] = []
        for i, item in enumerate(stimuli):
            loop = item if isinstance(item, ClosedLoop) else None
            stim = item.stimulus if loop is not None else item
            validate_type(f"stimuli[{i}]", stim, Stimulus)
            inset = isinstance(stim.pattern, InsetNeurons)
            if not inset:  # inset currents are checked against the inset's own step
                stim.waveform.check(dt, n_steps)
            weights = np.asarray(stim.weights(connectome), dtype=np.float64)
            part = {"waveform": stim.waveform, "vars": stim.variable_indices(model),
                    "weights": weights, "loop": loop, "index": i,
                    "inset": stim.pattern if inset else None}
            if loop is not None:
                steps = loop.interval_steps(dt)  # a whole number of steps, or an error
                loop.reset()
                # one copy per batch member: controllers keep their own history
                part.update(every=steps, gain=np.zeros((len(weights), n_batch)),
                            members=[copy.deepcopy(loop) for _ in range(n_batch)], pending=[])
            self.parts.append(part)

    @property
    def inset_parts(self) -> list[dict[str, Any]]:
        """Stimuli into inset neurons (``InsetNeurons`` patterns)."""
        return [p for p in self.parts if p["inset"] is not None]

    def gain(self, part: dict[str, Any], region: int, member: int) -> float:
        """Current closed-loop gain of a stimulus at a region and batch member (1 if open)."""
        return 1.0 if part["loop"] is None else float(part["gain"][region, member])

    @property
    def loops(self) -> list[dict[str, Any]]:
        return [p for p in self.parts if p["loop"] is not None]

    def check_monitors(self, names: list[str]) -> None:
        """Every closed loop must name a monitor of the run."""
        for p in self.loops:
            if p["loop"].monitor not in names:
                raise ValueError(f"Closed loop reads monitor {p['loop'].monitor!r}, but the "
                                 f"simulation's monitors are {names}.")

    def steps_to_boundary(self, step: int) -> int | None:
        """Steps from ``step`` to the next controller call, or None without closed loops."""
        gaps = [p["every"] - step % p["every"] for p in self.loops]
        return min(gaps) if gaps else None

    def add(self, increments: np.ndarray, step0: int) -> None:
        """Add ``dt * I(t_n)`` for steps ``step0 ...`` into (n_steps, n_state, n_nodes)."""
        n_steps = increments.shape[0]
        steps = np.arange(step0, step0 + n_steps, dtype=np.int64)
        for p in self.parts:
            if p["inset"] is not None:  # delivered by the inset (vbrain.cosim)
                continue
            values = np.asarray(p["waveform"].values(steps, self.dt), dtype=np.float64)
            w = p["weights"][:, None]
            if p["loop"] is not None:
                w = w * p["gain"]
            w = np.broadcast_to(w, (len(p["weights"]), self.n_batch)).reshape(-1)
            for var in p["vars"]:
                increments[:, var, :] += self.dt * values[:, None] * w[None, :]

    def observe(self, name: str, times: np.ndarray, samples: np.ndarray) -> None:
        """Keep a monitor's new samples (time, ..., batch) for the loops reading it."""
        for p in self.loops:
            if p["loop"].monitor == name and len(times):
                p["pending"].append((np.asarray(times), np.asarray(samples)))

    def control(self, step: int) -> None:
        """Call the controllers whose interval ends at ``step`` and set their next gains."""
        t = step * self.dt
        for p in self.loops:
            if step % p["every"]:
                continue
            pending, p["pending"] = p["pending"], []
            if pending:
                times = np.concatenate([q[0] for q in pending])
                samples = np.concatenate([q[1] for q in pending])
            else:
                times, samples = np.empty(0), None
            for b, loop in enumerate(p["members"]):
                member = None if samples is None else samples[..., b]
                p["gain"][:, b] = loop.gain(t, times, member, p["gain"].shape[0])
