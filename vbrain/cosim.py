"""Insets: regions of the network replaced by spiking or compartmental models.

``Simulation(..., insets={"rHC": Inset(network)})`` replaces region ``rHC``.
The run alternates, every exchange interval, between

1. the network, advanced by the compiled loop, which records the coupling each
   inset region receives (its delayed, weighted network input, exactly what
   its neural mass would have received), and
2. each inset, advanced over the same interval with that input converted by its
   input bridges (rate -> Poisson spikes or current); its activity, converted by
   its output bridges (spikes -> rate, synaptic gating, mean potential), then
   replaces the region's state variables in that interval, in the history the
   other regions read with their delays, and in what the monitors see.

The exchange interval is the shortest delay into or out of an inset region (in
steps), so no region ever needs a value not yet computed: the coupling is
exact, as in TVB-multiscale, but within one process. An inset region's own
self-connection is dropped (its recurrence lives inside the inset), and the
coupling function must not read the target's own state (Linear, Scaling,
Sigmoidal and SigmoidalJansenRit qualify; Difference and Kuramoto do not).

State variables of an inset region that no output bridge writes keep being
integrated by the region's neural mass, driven by the written ones: write
every variable that is coupled or monitored (MPR: ``r`` and ``V``, as the
default bridges do), or make the leftover dynamics harmless (e.g. ``J = 0``
for that region).

Inset engines (``vbrain.spiking.Network``, ``vbrain.spiking.CellNetwork``)
follow one contract: ``dt``, ``populations``, ``add_input(name, target, kind,
weight=, fraction=)``, ``advance(n_steps, drive) -> {"counts", "v_mean",
"lfp"}`` and ``spikes(pop)``. Their step must divide the simulation's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._check import suggest
from .bridges import MeanPotential, RateToCurrent, SpikesToRate, SpikesToSynaptic


class Inset:
    """A detailed model that replaces one region.

    Parameters
    ----------
    engine : inset engine
        E.g. a ``vbrain.spiking.Network`` (not yet run).
    inputs : sequence of bridges, optional
        Network -> inset (:class:`~vbrain.bridges.RateToPoisson`,
        :class:`~vbrain.bridges.RateToCurrent`). Default: see :meth:`defaults`.
    outputs : sequence of bridges, optional
        Inset -> the region's state variables (:class:`~vbrain.bridges.SpikesToRate`,
        :class:`~vbrain.bridges.SpikesToSynaptic`, :class:`~vbrain.bridges.MeanPotential`).
    record_every : float
        Sampling period, ms, of the saved population rates and LFP (window means).
    """

    def __init__(self, engine: Any, inputs: Sequence | None = None, outputs: Sequence | None = None,
                 *, record_every: float = 1.0) -> None:
        for attr in ("dt", "populations", "add_input", "advance", "spikes"):
            if not hasattr(engine, attr):
                raise TypeError(f"Inset engine {type(engine).__name__} lacks {attr!r}; expected a "
                                "vbrain.spiking.Network or CellNetwork (see vbrain.cosim).")
        self.engine = engine
        self.inputs = None if inputs is None else list(inputs)
        self.outputs = None if outputs is None else list(outputs)
        self.record_every = float(record_every)

    def defaults(self, model) -> tuple[list, list]:
        """Bridges used when none are given, by region model.

        - ``MontbrioPazoRoxin`` (a QIF inset, the exact microscopic model of the
          mean field): the network input enters every neuron as the current
          ``cr c_0 + cv c_1``; the region's ``r`` is the population rate in kHz
          (exponential kernel, 1 ms) and ``V`` the mean membrane potential.
        - ``ReducedWongWang``: ``S`` follows the model's synaptic equation
          driven by the inset's rate in Hz; the input needs a scale (Hz per
          unit of coupling), so ``inputs`` must be given.
        """
        name = type(model).__name__
        pops = list(self.engine.populations)
        if name == "MontbrioPazoRoxin":
            inputs = self.inputs or [RateToCurrent(pops[0])]
            outputs = self.outputs or [SpikesToRate(pops[0], "r", unit="kHz"),
                                       MeanPotential(pops[0], "V")]
            return inputs, outputs
        if name == "ReducedWongWang" and self.outputs is None:
            if self.inputs is None:
                raise ValueError("An inset in a ReducedWongWang network needs inputs=[...], e.g. "
                                 "RateToPoisson(population, scale=<Hz per unit coupling>).")
            return self.inputs, [SpikesToSynaptic(pops[0], "S")]
        if self.inputs is None or self.outputs is None:
            raise ValueError(f"No default bridges for {name}: pass inputs=[...] and outputs=[...] "
                             "(see vbrain.bridges).")
        return self.inputs, self.outputs

    def __repr__(self) -> str:
        return f"Inset({type(self.engine).__name__}, populations={dict(self.engine.populations)})"


class _Member:
    """One inset advancing for one batch member."""

    def __init__(self, inset: Inset, engine, model, params: dict[str, float], dt: float,
                 x0: np.ndarray, stimuli: list) -> None:
        self.engine = engine
        self.n_sub = int(round(dt / engine.dt))
        if self.n_sub < 1 or abs(self.n_sub * engine.dt - dt) > 1e-9 * dt:
            raise ValueError(f"The inset's step ({engine.dt} ms) must divide the simulation's "
                             f"dt ({dt} ms).")
        inputs, outputs = inset.defaults(model)
        self.inputs = copy.deepcopy(inputs)
        self.outputs = copy.deepcopy(outputs)
        sizes = dict(engine.populations)
        for b in self.inputs:
            if b.target not in sizes:
                raise ValueError(f"Bridge into population {b.target!r}: the inset has "
                                 f"{sorted(sizes)}.{suggest(b.target, sizes)}")
            b.setup(model, params)
            where = {} if b.compartment is None else {"compartment": b.compartment}
            engine.add_input(b.name, b.target, b.kind, weight=b.weight, fraction=b.fraction,
                             **where)
        for o in self.outputs:
            o.setup(model, params, sizes, dt)
            if isinstance(o, SpikesToSynaptic):
                o.start(x0[o.index])
        self.stimuli = stimuli  # StimulusDrive parts aimed at this inset's neurons
        for part in stimuli:
            target = part["inset"]
            if target.population not in sizes:
                raise ValueError(f"stimuli[{part['index']}] targets population "
                                 f"{target.population!r}; the inset at {target.region!r} has "
                                 f"{sorted(sizes)}.{suggest(target.population, sizes)}")
            part["waveform"].check(engine.dt)
            extra = {} if target.compartment is None else {"compartment": target.compartment}
            engine.add_input(f"stimulus_{part['index']}", target.population, "current",
                             fraction=target.fraction, **extra)
        self.sizes = sizes

    def exchange(self, c: np.ndarray, first_step: int,
                 gains: list[float]) -> tuple[list, np.ndarray, np.ndarray]:
        """Advance over len(c) steps; return [(variable, values)], rates (t, pops) Hz, lfp (t,).

        ``first_step`` is the simulation step the piece starts at; ``gains``
        the current gain of each of this inset's stimuli.
        """
        t = c.shape[0]
        drive = {b.name: np.repeat(b.drive(c), self.n_sub) for b in self.inputs}
        if self.stimuli:  # sampled at the inset's own step (e.g. 60 us DBS pulses)
            sub = np.arange(first_step * self.n_sub, (first_step + t) * self.n_sub, dtype=np.int64)
            for part, gain in zip(self.stimuli, gains):
                drive[f"stimulus_{part['index']}"] = gain * np.asarray(
                    part["waveform"].values(sub, self.engine.dt), dtype=np.float64)
        act = self.engine.advance(t * self.n_sub, drive)
        if self.n_sub > 1:  # back onto the simulation's steps
            act = {"counts": {p: np.asarray(v).reshape(t, self.n_sub).sum(1)
                              for p, v in act["counts"].items()},
                   "v_mean": {p: np.asarray(v).reshape(t, self.n_sub)[:, -1]
                              for p, v in act["v_mean"].items()},
                   "lfp": np.asarray(act["lfp"]).reshape(t, self.n_sub).mean(1)}
        values = [(o.index, o.values(act)) for o in self.outputs]
        dt_s = self.engine.dt * self.n_sub / 1000.0
        rates = np.stack([np.asarray(act["counts"][p], dtype=np.float64) / (n * dt_s)
                          for p, n in self.sizes.items()], axis=1)
        return values, rates, np.asarray(act["lfp"], dtype=np.float64)


class CoSimulation:
    """The insets of one run: exchange interval, members, recorded signals.

    Parameters
    ----------
    insets : dict of region label to Inset
    sim : Simulation
    delays : int array (n_regions, n_regions)
        Delay steps of the connections (``weights != 0`` matter).
    weights : array (n_regions, n_regions)
    p : array (n_params, n_nodes)
        Model parameters per node.
    x0 : array (n_state, n_nodes)
        The state at t = 0.
    seeds : list
        Per batch member seed; members of a sweep given ``seeds=`` reseed their copy.
    reseed : bool
        Whether ``seeds`` were given per member.
    drive : StimulusDrive, optional
        The run's stimuli; those aimed at inset neurons are delivered here.
    """

    def __init__(self, insets: dict[str, Inset], sim, delays: np.ndarray, weights: np.ndarray,
                 p: np.ndarray, x0: np.ndarray, seeds: list, reseed: bool,
                 drive=None) -> None:
        labels = list(sim.connectome.labels)
        model, nb, dt = sim.model, len(seeds), sim.dt
        if getattr(sim.coupling, "reads_target", False):
            raise ValueError(f"Insets need a coupling that does not read the target region's own "
                             f"state; {type(sim.coupling).__name__} does (use Linear, Scaling, "
                             "Sigmoidal or SigmoidalJansenRit).")
        self.regions = []
        for label, inset in insets.items():
            if label not in labels:
                raise ValueError(f"insets: no region {label!r} in the connectome."
                                 f"{suggest(label, labels)}")
            if not isinstance(inset, Inset):
                raise TypeError(f"insets[{label!r}] must be a vbrain.cosim.Inset, got "
                                f"{type(inset).__name__}.")
            self.regions.append(labels.index(label))
        idx = np.array(self.regions, dtype=np.int64)
        links = (weights != 0)
        np.fill_diagonal(links, False)
        touching = np.concatenate([delays[idx][links[idx]], delays[:, idx][links[:, idx]]])
        self.exchange_steps = int(touching.min()) if touching.size else 1_000_000
        if self.exchange_steps < 1:
            bad = labels[idx[0]]
            raise ValueError(f"A connection into or out of inset region {bad!r} has a delay under "
                             f"one step (dt = {dt} ms), so the inset cannot exchange exactly; "
                             "use a smaller dt or a lower conduction speed.")
        rows = model.parameter_rows()
        sizes = {n: q.size for n, q in model.parameters.items()}
        self.labels = list(insets)
        self.drive = drive
        aimed = [] if drive is None else drive.inset_parts
        for part in aimed:
            if part["inset"].region not in insets:
                raise ValueError(f"stimuli[{part['index']}] targets neurons of region "
                                 f"{part['inset'].region!r}, which is not an inset; insets: "
                                 f"{sorted(insets)}.")
        self.members: list[list[_Member]] = []
        for (label, inset), i in zip(insets.items(), self.regions):
            row = []
            for b in range(nb):
                engine = copy.deepcopy(inset.engine)
                if reseed:
                    engine.seed = seeds[b]
                k = i * nb + b
                params = {n: float(p[r, k]) if sizes[n] == 1 else p[r:r + sizes[n], k].copy()
                          for n, r in rows.items()}
                row.append(_Member(inset, engine, model, params, dt, x0[:, k],
                                   [a for a in aimed if a["inset"].region == label]))
            self.members.append(row)
        self.nodes = np.array([i * nb + b for i in self.regions for b in range(nb)], dtype=np.int64)
        self.nb, self.dt = nb, dt
        self.window = [max(1, int(round(ins.record_every / dt))) for ins in insets.values()]
        self._waiting = [None] * len(self.regions)  # rows short of a whole window
        self._start = [0] * len(self.regions)
        self._pending: dict[str, list] = {}

    def exchange(self, c: np.ndarray, trace: np.ndarray, x: np.ndarray, first_step: int) -> None:
        """Advance every inset over the piece; write their values into ``trace`` and ``x``.

        ``c`` (t, n_cvar, n_nodes) is the coupling the loop recorded, ``trace``
        (t, n_state, n_nodes) the states after each step of the piece.
        """
        nb = self.nb
        for r, (i, row) in enumerate(zip(self.regions, self.members)):
            rates, lfps = [], []
            for b, member in enumerate(row):
                k = i * nb + b
                gains = [self.drive.gain(part, i, b) for part in member.stimuli]
                values, rate, lfp = member.exchange(c[:, :, k], first_step, gains)
                for v, series in values:
                    trace[:, v, k] = series
                    x[v, k] = series[-1]
                rates.append(rate)
                lfps.append(lfp)
            self._record(r, np.stack(rates, -1), np.stack(lfps, -1), first_step)

    def _record(self, r: int, rates: np.ndarray, lfp: np.ndarray, first_step: int) -> None:
        """Window means of rates (t, pops, nb) and LFP (t, nb), stamped at window centres.

        Rows left over after the last whole window wait for the next piece, so the
        windows do not depend on how the run was cut into pieces.
        """
        series = np.concatenate([lfp[:, None], rates], axis=1)  # (t, 1 + pops, nb)
        w = self.window[r]
        if self._waiting[r] is None:  # rows waiting for their window, and the step of the first
            self._waiting[r], self._start[r] = series[:0], first_step
        rows = np.concatenate([self._waiting[r], series])
        n_full = len(rows) // w
        self._waiting[r] = rows[n_full * w:]
        start = self._start[r]
        self._start[r] = start + n_full * w
        if n_full:
            block = rows[:n_full * w].reshape((n_full, w) + rows.shape[1:]).mean(axis=1)
            times = (start + w * np.arange(1, n_full + 1) - w / 2.0) * self.dt
            name = _name(self.labels[r])
            self._pending.setdefault(f"{name}_lfp", []).append((times, block[:, 0]))
            self._pending.setdefault(f"{name}_rate", []).append((times, block[:, 1:]))

    def templates(self, batch: dict | None) -> dict[str, xr.DataArray]:
        """Empty labelled arrays for the recorded rates and LFP."""
        from .result import label_samples

        out = {}
        for label, row in zip(self.labels, self.members):
            pops = list(row[0].sizes)
            name = _name(label)
            out[f"{name}_rate"] = label_samples(
                f"{name}_rate", np.empty(0), np.empty((0, len(pops), self.nb)),
                [("population", pops, {})], batch,
                {"units": "Hz", "long_name": f"population rates of the inset at {label}"})
            out[f"{name}_lfp"] = label_samples(
                f"{name}_lfp", np.empty(0), np.empty((0, self.nb)), [], batch,
                {"long_name": f"LFP estimate of the inset at {label}",
                 "units": "engine units (see the inset engine's lfp)"})
        return out

    def drain(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Samples recorded since the last call: (name, times, samples (..., nb))."""
        out = []
        for name, parts in self._pending.items():
            if parts:
                out.append((name, np.concatenate([p[0] for p in parts]),
                            np.concatenate([p[1] for p in parts])))
        self._pending = {}
        return out

    def spikes(self) -> dict[str, xr.DataArray]:
        """Spike rasters: per inset (and member), spike times with the neuron and population."""
        out = {}
        for label, row in zip(self.labels, self.members):
            for b, member in enumerate(row):
                times, ids, pops = [], [], []
                for q, pop in enumerate(member.sizes):
                    t, i = member.engine.spikes(pop)
                    times.append(np.asarray(t, dtype=np.float64))
                    ids.append(np.asarray(i, dtype=np.int64))
                    pops.append(np.full(len(t), q, dtype=np.int64))
                t = np.concatenate(times)
                order = np.argsort(t, kind="stable")
                table = np.stack([np.concatenate(ids), np.concatenate(pops)], axis=1)[order]
                name = _name(label) + "_spikes" + (f"_{b}" if self.nb > 1 else "")
                out[name] = xr.DataArray(
                    table, dims=["time", "field"], name=name,
                    coords={"time": ("time", t[order], {"units": "ms", "long_name": "time"}),
                            "field": ["neuron", "population"]},
                    attrs={"long_name": f"spike raster of the inset at {label}: neuron index "
                                        "within its population, population index",
                           "populations": json.dumps(list(member.sizes))})
        return out


def _name(label: str) -> str:
    """Output-name form of a region label."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in label)
    return f"inset_{safe}"
