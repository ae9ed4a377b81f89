r"""Compartmental neurons and small networks of them, numerically like NEURON.

A :class:`Cell` is a morphology (:mod:`vbrain.spiking.morphology`) with cable
properties (``Ra`` Ohm cm, ``cm`` uF/cm2), membrane mechanisms per section (NEURON's
``pas`` and ``hh``, :mod:`vbrain.spiking.channels`), conductance synapses at chosen
locations and a spike detector. A :class:`CellNetwork` holds populations of identical
cells, projections between them and external inputs, and advances them with one
compiled loop; it implements the inset engine contract of :mod:`vbrain.spiking`, so a
population of compartmental cells can replace a brain region.

The cable equation of every node (segment centre) ``i`` with membrane area :math:`a_i`,

.. math::

    c_m \frac{dv_i}{dt} = -i_{ion,i} - \frac{I_{syn,i}}{a_i} + \frac{I_{inj,i}}{a_i}
        + \sum_{j} \frac{v_j - v_i}{r_{ij} a_i},

is integrated as NEURON does by default (``secondorder = 0``, fixed step): backward
Euler for the voltages with the channel states staggered half a step, i.e. the currents
and conductances of the present gates linearise the membrane current, the tree-shaped
linear system is solved in O(n) by Hines' elimination, and the gates are then advanced
over the step (``cnexp``) with rates at the new voltage. Areas, axial resistances,
segment centres and zero-area section ends follow NEURON's conventions
(:func:`vbrain.spiking.morphology.discretize`), so spike times agree with NEURON's at the
same ``dt`` (tests: within 0.1 ms at dt = 0.025 ms on a ball-and-stick cell).

Synapses (point processes, conductance in uS, current ``g (v - e)`` in nA):

- ``"exp"``, NEURON's ``ExpSyn``: :math:`g \leftarrow g + w` per event,
  :math:`\dot g = -g/\tau` (default tau 0.1 ms, e 0 mV);
- ``"exp2"``, NEURON's ``Exp2Syn``: :math:`g = B - A`, each event adds :math:`w f` to A
  and B (f normalises the peak to w), :math:`\dot A = -A/\tau_1`,
  :math:`\dot B = -B/\tau_2` (defaults 0.1 ms, 10 ms, e 0 mV).

Events follow NEURON's fixed-step queue: a spike is detected when the voltage at the
detection location is above ``threshold`` at the end of a step (time ``t``, recorded as
the spike time) and was not at the end of the previous one; an event of delay ``d`` is
delivered at the start of the first step whose start time ``t_k`` satisfies
``t + d <= t_k + dt / 2``.

Units: ms, mV, nA, uS, um for morphology and electrode positions (mm accepted), S/cm2
for conductance densities, Hz for rates; the LFP is in mV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .._check import check_array, check_option, check_random_state, check_range, validate_type
from .channels import (
    HH_TABLE_N,
    HH_TABLE_VMAX,
    HH_TABLE_VMIN,
    hh_q10,
    hh_rates,
    hh_rates_exact,
    hh_table,
    mechanism_parameters,
)
from .lfp import line_source_matrix
from .morphology import Morphology, discretize, parse_location

__all__ = ["Cell", "CellNetwork", "Synapse"]

#: maximum steps per compiled call (bounds the per-call event and output buffers)
_CHUNK = 4096


@dataclass(frozen=True)
class Synapse:
    """A conductance synapse type of a :class:`Cell` (one instance per cell).

    Attributes
    ----------
    name : str
    section : str
    x : float
        Location on the section (0..1).
    kind : {"exp", "exp2"}
    tau1, tau2 : float
        Rise and decay time constants, ms (``"exp"`` uses tau2 only).
    e : float
        Reversal potential, mV.
    """

    name: str
    section: str
    x: float
    kind: str
    tau1: float
    tau2: float
    e: float

    def factor(self) -> float:
        """Peak normalisation of Exp2Syn (1 for ExpSyn)."""
        if self.kind == "exp":
            return 1.0
        tau1 = self.effective_tau1()
        tp = tau1 * self.tau2 / (self.tau2 - tau1) * math.log(self.tau2 / tau1)
        return 1.0 / (-math.exp(-tp / tau1) + math.exp(-tp / self.tau2))

    def effective_tau1(self) -> float:
        """tau1 kept below 0.9999 tau2 and above 1e-9 tau2, as Exp2Syn's INITIAL does."""
        tau1 = self.tau1
        if tau1 / self.tau2 > 0.9999:
            tau1 = 0.9999 * self.tau2
        if tau1 / self.tau2 < 1e-9:
            tau1 = self.tau2 * 1e-9
        return tau1


class Cell:
    """A compartmental neuron model: morphology, cable properties, mechanisms, synapses.

    Parameters
    ----------
    morphology : Morphology
        Sections and their ``nseg``; copied.
    Ra : float, default 35.4
        Axial resistivity of every section, Ohm cm (NEURON's default).
    cm : float, default 1.0
        Specific membrane capacitance of every section, uF/cm2.
    spike_location : str, default "soma(0.5)"
        Where spikes are detected (like a NetCon's source), ``"section(x)"``.
    threshold : float, default 10.0
        Spike detection threshold, mV (NetCon's default).

    Examples
    --------
    >>> cell = Cell(Morphology.ball_and_stick(), Ra=100.0)
    >>> cell = cell.insert("hh", "soma").insert("pas", "dend", g=0.001, e=-65.0)
    >>> cell = cell.add_synapse("ampa", "dend(0.5)", kind="exp", tau=2.0, e=0.0)
    """

    def __init__(self, morphology: Morphology, *, Ra: float = 35.4, cm: float = 1.0,
                 spike_location: str = "soma(0.5)", threshold: float = 10.0) -> None:
        validate_type("morphology", morphology, Morphology)
        self.morphology = morphology.copy()
        n = len(self.morphology.sections)
        self.Ra = np.full(n, check_range("Ra", Ra, 0, low_inclusive=False))
        self.cm = np.full(n, check_range("cm", cm, 0))
        self.mechanisms: list[dict[str, dict[str, float]]] = [{} for _ in range(n)]
        self.synapses: list[Synapse] = []
        self.spike_location = self._location("spike_location", spike_location)
        self.threshold = check_range("threshold", threshold)

    @classmethod
    def ball_and_stick(cls, *, dend_nseg: int = 5, dend_hh: bool = False, Ra: float = 100.0,
                       cm: float = 1.0, soma_diam: float = 12.6157, dend_length: float = 200.0,
                       dend_diam: float = 1.0, pas_g: float = 0.001,
                       pas_e: float = -65.0) -> Cell:
        """NEURON's ball-and-stick tutorial cell: hh soma, passive (or hh) dendrite.

        Soma L = diam = 12.6157 um with ``hh`` at its defaults; dendrite 200 x 1 um
        attached at soma(1), ``pas`` (g 0.001 S/cm2, e -65 mV) or ``hh``; Ra 100 Ohm cm.
        """
        morph = Morphology.ball_and_stick(soma_diam=soma_diam, dend_length=dend_length,
                                          dend_diam=dend_diam, dend_nseg=dend_nseg)
        cell = cls(morph, Ra=Ra, cm=cm)
        cell.insert("hh", "soma")
        if dend_hh:
            cell.insert("hh", "dend")
        else:
            cell.insert("pas", "dend", g=pas_g, e=pas_e)
        return cell

    def _location(self, what: str, location) -> tuple[int, float]:
        try:
            name, x = parse_location(location)
        except ValueError as err:
            raise ValueError(f"{what}: {err}") from None
        return self.morphology.index(name), x

    def insert(self, mechanism: str, sections: str | list[str] | None = None,
               **params: float) -> Cell:
        """Insert ``"pas"`` or ``"hh"`` into sections (a name, a type such as ``"dend"``,
        a list, or None / ``"all"``), with NEURON's parameter names; returns self."""
        full = mechanism_parameters(mechanism, params)
        for k in self.morphology.select(sections):
            self.mechanisms[k][mechanism] = dict(full)
        return self

    def set_cable(self, sections: str | list[str] | None = None, *, Ra: float | None = None,
                  cm: float | None = None) -> Cell:
        """Set Ra (Ohm cm) and/or cm (uF/cm2) of some sections; returns self."""
        for k in self.morphology.select(sections):
            if Ra is not None:
                self.Ra[k] = check_range("Ra", Ra, 0, low_inclusive=False)
            if cm is not None:
                self.cm[k] = check_range("cm", cm, 0)
        return self

    def add_synapse(self, name: str, location: str, kind: str = "exp", *, tau: float = 0.1,
                    tau1: float = 0.1, tau2: float = 10.0, e: float = 0.0) -> Cell:
        """Add a synapse type (one per cell) at ``location``; returns self.

        Parameters
        ----------
        name : str
            Name used by projections and inputs.
        location : str
            ``"section(x)"``.
        kind : {"exp", "exp2"}, default "exp"
            NEURON's ExpSyn (decay ``tau``) or Exp2Syn (``tau1`` rise, ``tau2`` decay).
        tau, tau1, tau2 : float
            Time constants, ms (NEURON's defaults 0.1; 0.1 and 10).
        e : float, default 0
            Reversal potential, mV.
        """
        validate_type("name", name, str)
        if any(s.name == name for s in self.synapses):
            raise ValueError(f"the cell already has a synapse named {name!r}.")
        check_option("kind", kind, ("exp", "exp2"))
        k, x = self._location("location", location)
        if kind == "exp":
            t2 = check_range("tau", tau, 0, low_inclusive=False)
            t1 = 0.0
        else:
            t1 = check_range("tau1", tau1, 0, low_inclusive=False)
            t2 = check_range("tau2", tau2, 0, low_inclusive=False)
        self.synapses.append(Synapse(name, self.morphology.sections[k].name, x, kind, t1, t2,
                                     check_range("e", e)))
        return self

    def synapse_index(self, name: str) -> int:
        """Index of the synapse called ``name``."""
        from .._check import suggest

        names = [s.name for s in self.synapses]
        if name not in names:
            raise ValueError(f"the cell has no synapse {name!r}; its synapses are {names}."
                             f"{suggest(name, names)}")
        return names.index(name)

    # ------------------------------------------------------------------ compile
    def compile(self, dt: float, extra_locations=()) -> dict:
        """Per-node arrays of this cell for the engine (NEURON's matrix coefficients).

        ``extra_locations`` are (section index, x) pairs that need a node (inputs).
        """
        morph = self.morphology
        locs = [self.spike_location] + [(morph.index(s.section), s.x) for s in self.synapses]
        locs += list(extra_locations)
        ends = {(k, 0) for k, x in locs if x == 0.0} | {(k, 1) for k, x in locs if x == 1.0}
        disc = discretize(morph, self.Ra, ends)
        n = disc.n_nodes
        zero = disc.area == 0.0
        area_eff = np.where(zero, 100.0, disc.area)  # NEURON's 1e2 for zero-area nodes
        par = disc.parent.copy()
        if par[0] != -1 or np.any(par[1:] < 0):
            raise RuntimeError("internal error: node 0 must be the only root.")
        rinv = np.zeros(n)
        rinv[1:] = 1.0 / disc.resistance[1:]
        A = np.zeros(n)
        B = np.zeros(n)
        A[1:] = -1e2 * rinv[1:] / area_eff[par[1:]]
        B[1:] = -1e2 * rinv[1:] / area_eff[1:]
        cm = self.cm[disc.section]
        cfac = np.where(zero, 0.0, cm * 1e-3 / dt)
        gpas = np.zeros(n)
        epas = np.zeros(n)
        hh_nodes, hh_par = [], []
        for i in range(n):
            if zero[i]:
                continue
            mech = self.mechanisms[disc.section[i]]
            if "pas" in mech:
                gpas[i] = mech["pas"]["g"]
                epas[i] = mech["pas"]["e"]
            if "hh" in mech:
                p = mech["hh"]
                hh_nodes.append(i)
                hh_par.append([p["gnabar"], p["gkbar"], p["gl"], p["el"], p["ena"], p["ek"]])
        syn = []
        for s in self.synapses:
            node = disc.node(morph.index(s.section), s.x)
            tau1 = s.effective_tau1() if s.kind == "exp2" else 0.0
            syn.append((node, s.e, math.exp(-dt / tau1) if tau1 > 0 else 0.0,
                        math.exp(-dt / s.tau2), s.factor(), s.kind == "exp2"))
        return {
            "n_nodes": n, "parent": par, "A": A, "B": B, "cfac": cfac, "gpas": gpas,
            "epas": epas, "ppf": 100.0 / area_eff, "hh_nodes": np.array(hh_nodes, dtype=np.int64),
            "hh_par": np.array(hh_par, dtype=float).reshape(-1, 6), "syn": syn,
            "spike_node": disc.node(*self.spike_location), "disc": disc, "area": disc.area,
            "node": disc.node,
        }


class CellNetwork:
    """Populations of compartmental cells, projections and inputs, advanced step by step.

    Implements the inset engine contract of :mod:`vbrain.spiking` (``dt``, ``time``,
    ``populations``, ``add_input``, ``advance``, ``spikes``, ``run``, ``build``).

    Parameters
    ----------
    dt : float, default 0.025
        Time step, ms (NEURON's default).
    seed : int or None
        Seeds every random choice: default cell positions, random connectivity, input
        subsets and Poisson inputs (each input its own stream, so results do not depend
        on how a run is split into ``advance`` calls).
    celsius : float, default 6.3
        Temperature, degC (hh rates scale by 3 ** ((celsius - 6.3) / 10)).
    v_init : float, default -65.0
        Initial membrane potential, mV; gates start at their steady state there.
    use_table : bool, default True
        Tabulate hh rates at 1 mV steps as NEURON does (``usetable_hh = 1``).
    electrode : array (3,), optional
        LFP electrode position (``electrode_units``). Default: the mean of all cells'
        positions (the centre of the population(s)).
    electrode_units : {"um", "mm"}, default "um"
    sigma : float, default 0.3
        Extracellular conductivity for the LFP, S/m.

    Notes
    -----
    ``advance`` returns per step: ``counts`` (somatic spikes), ``v_mean`` (mean
    membrane potential at the cells' spike-detection location, the soma by default, mV)
    and ``lfp`` (line-source potential of all transmembrane currents at the electrode,
    mV; :mod:`vbrain.spiking.lfp`).
    """

    def __init__(self, dt: float = 0.025, seed: int | None = None, *, celsius: float = 6.3,
                 v_init: float = -65.0, use_table: bool = True, electrode=None,
                 electrode_units: str = "um", sigma: float = 0.3) -> None:
        self.dt = check_range("dt", dt, 0, low_inclusive=False)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be None or an int, but got {seed!r}.")
        self.seed = seed
        self.celsius = check_range("celsius", celsius, -273.15)
        self.v_init = check_range("v_init", v_init)
        self.use_table = bool(use_table)
        check_option("electrode_units", electrode_units, ("um", "mm"))
        self.electrode = None if electrode is None else check_array(
            "electrode", electrode, shape=(3,)) * (1e3 if electrode_units == "mm" else 1.0)
        self.sigma = check_range("sigma", sigma, 0, low_inclusive=False)
        ss = np.random.SeedSequence(seed)
        s_struct, self._input_seeds = ss.spawn(2)
        self._rng = check_random_state(np.random.default_rng(s_struct))
        self._pops: dict[str, dict] = {}
        self._projections: list[dict] = []
        self._inputs: dict[str, dict] = {}
        self._trains: list[dict] = []
        self._built = False
        self._step = 0

    # ----------------------------------------------------------------- contract
    @property
    def time(self) -> float:
        """Simulated time, ms."""
        return self._step * self.dt

    @property
    def populations(self) -> dict[str, int]:
        """Population name -> number of cells."""
        return {k: p["n"] for k, p in self._pops.items()}

    def _check_not_built(self, what: str) -> None:
        if self._built:
            raise RuntimeError(f"{what} must be called before the network is built "
                               "(the first advance() or build()).")

    def _pop(self, name: str, what: str) -> dict:
        from .._check import suggest

        if name not in self._pops:
            raise ValueError(f"{what} {name!r} is not a population; populations are "
                             f"{list(self._pops)}.{suggest(name, self._pops)}")
        return self._pops[name]

    def add_population(self, name: str, cell: Cell, n: int, *,
                       positions: np.ndarray | None = None) -> None:
        """Add ``n`` copies of ``cell``.

        Parameters
        ----------
        name : str
        cell : Cell
            The model; later changes to it do not affect the network once built.
        n : int
            Number of cells.
        positions : array (n, 3), optional
            Where each cell's morphology origin goes, um. Default: uniform at random in
            a 200 x 200 um square in the z = 0 plane, centred on the origin.
        """
        self._check_not_built("add_population")
        validate_type("name", name, str)
        validate_type("cell", cell, Cell)
        if name in self._pops:
            raise ValueError(f"population {name!r} already exists.")
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, but got {n!r}.")
        n = int(n)
        if positions is None:
            positions = np.zeros((n, 3))
            positions[:, :2] = self._rng.uniform(-100.0, 100.0, size=(n, 2))
        else:
            positions = check_array("positions", positions, shape=(n, 3))
        self._pops[name] = {"cell": cell, "n": n, "positions": positions}

    def connect(self, source: str, target: str, synapse: str | None = None, *,
                weight: float | np.ndarray = 0.001, delay: float | np.ndarray = 1.0,
                p: float | None = None, pairs: np.ndarray | None = None,
                autapses: bool = False) -> int:
        """Connect spikes of ``source`` cells to a synapse of ``target`` cells (NetCons).

        Parameters
        ----------
        source, target : str
            Population names.
        synapse : str, optional
            Synapse name on the target cell; default its first synapse.
        weight : float or array (n_connections,), default 0.001
            Conductance increment per spike, uS (>= 0).
        delay : float or array, default 1.0
            Delay from the spike to delivery, ms (>= 0).
        p : float, optional
            Connect each (source, target) pair independently with probability p.
        pairs : int array (n_connections, 2), optional
            Explicit (source id, target id) pairs instead of ``p``.
        autapses : bool, default False
            With ``p`` and source == target, allow a cell to connect to itself.

        Returns
        -------
        int
            The number of connections made.
        """
        self._check_not_built("connect")
        src = self._pop(source, "source")
        tgt = self._pop(target, "target")
        syn = 0 if synapse is None else tgt["cell"].synapse_index(synapse)
        if not tgt["cell"].synapses:
            raise ValueError(f"population {target!r} has no synapse; add one with "
                             "Cell.add_synapse().")
        if (p is None) == (pairs is None):
            raise ValueError("give exactly one of p (a probability) or pairs.")
        if p is not None:
            p = check_range("p", p, 0, 1)
            # rows in blocks (bounded memory); the draws do not depend on the block size
            pre_l, post_l = [], []
            block = max(1, 2**22 // tgt["n"])
            for r0 in range(0, src["n"], block):
                mask = self._rng.random((min(block, src["n"] - r0), tgt["n"])) < p
                if source == target and not autapses:
                    rows = np.arange(mask.shape[0])
                    mask[rows, r0 + rows] = False
                i, j = np.nonzero(mask)
                pre_l.append(i + r0)
                post_l.append(j)
            pre, post = np.concatenate(pre_l), np.concatenate(post_l)
        else:
            pairs = check_array("pairs", pairs, shape=(None, 2), dtype=np.int64)
            pre, post = pairs[:, 0], pairs[:, 1]
            if np.any((pre < 0) | (pre >= src["n"])) or np.any((post < 0) | (post >= tgt["n"])):
                raise ValueError(f"pairs must hold source ids in [0, {src['n']}) and target "
                                 f"ids in [0, {tgt['n']}).")
        m = len(pre)
        w = np.broadcast_to(check_array("weight", weight, nonnegative=True), (m,)).copy() \
            if np.ndim(weight) == 0 else check_array("weight", weight, shape=(m,),
                                                     nonnegative=True)
        d = np.broadcast_to(check_array("delay", delay, nonnegative=True), (m,)).copy() \
            if np.ndim(delay) == 0 else check_array("delay", delay, shape=(m,), nonnegative=True)
        self._projections.append({"source": source, "target": target, "syn": syn,
                                  "pre": pre.astype(np.int64), "post": post.astype(np.int64),
                                  "weight": w, "delay": d})
        return m

    def add_input(self, name: str, target: str, kind: str, *, weight: float = 1.0,
                  fraction: float = 1.0, compartment: str | None = None) -> None:
        """Declare a time-varying external input (see the inset engine contract).

        Parameters
        ----------
        name : str
            Key of this input in ``advance(drive=...)``.
        target : str
            Population.
        kind : {"poisson", "current"}
            ``"poisson"``: each selected cell gets its own Poisson train with the rate
            (Hz) given per step; each spike adds ``weight`` (uS) to the synapse named by
            ``compartment`` (default the cell's first synapse), like a NetCon event.
            ``"current"``: each selected cell gets ``weight * value`` nA injected at the
            location ``compartment`` (``"section(x)"``, default the spike-detection
            location), like an IClamp held over the step.
        weight : float, default 1.0
        fraction : float in (0, 1], default 1.0
            A seeded random subset of round(fraction * n) cells receives the input.
        compartment : str, optional
        """
        self._check_not_built("add_input")
        validate_type("name", name, str)
        if name in self._inputs:
            raise ValueError(f"an input named {name!r} already exists.")
        pop = self._pop(target, "target")
        check_option("kind", kind, ("poisson", "current"))
        weight = check_range("weight", weight)
        fraction = check_range("fraction", fraction, 0, 1, low_inclusive=False)
        cell = pop["cell"]
        n_sel = max(1, round(fraction * pop["n"]))
        cells = np.sort(self._rng.choice(pop["n"], n_sel, replace=False)) if n_sel < pop["n"] \
            else np.arange(pop["n"])
        spec = {"target": target, "kind": kind, "weight": weight, "cells": cells}
        if kind == "poisson":
            if weight < 0:
                raise ValueError(f"weight of a poisson input is a conductance (uS) and must "
                                 f"be >= 0, but got {weight}.")
            if not cell.synapses:
                raise ValueError(f"population {target!r} has no synapse for a poisson input; "
                                 "add one with Cell.add_synapse().")
            spec["syn"] = 0 if compartment is None else cell.synapse_index(compartment)
            spec["rng"] = np.random.default_rng(self._input_seeds.spawn(1)[0])
        else:
            loc = cell.spike_location if compartment is None else \
                cell._location("compartment", compartment)
            spec["loc"] = loc
        self._inputs[name] = spec

    def add_spike_train(self, target: str, times: np.ndarray, cells: np.ndarray | int,
                        synapse: str | None = None, *, weight: float = 0.001) -> None:
        """Deliver given spike times (ms) to a synapse of given cells (like NetCon.event).

        ``times`` and ``cells`` are broadcast together; each event adds ``weight`` (uS).
        """
        self._check_not_built("add_spike_train")
        pop = self._pop(target, "target")
        syn = 0 if synapse is None else pop["cell"].synapse_index(synapse)
        if not pop["cell"].synapses:
            raise ValueError(f"population {target!r} has no synapse.")
        t = check_array("times", times, nonnegative=True).ravel()
        c = np.broadcast_to(check_array("cells", cells, dtype=np.int64), t.shape).copy()
        if np.any((c < 0) | (c >= pop["n"])):
            raise ValueError(f"cells must be in [0, {pop['n']}).")
        self._trains.append({"target": target, "syn": syn, "times": t, "cells": c,
                             "weight": check_range("weight", weight, 0)})

    # ------------------------------------------------------------------- build
    def build(self) -> None:
        """Compile the cells, lay out the state arrays and set the initial state."""
        if self._built:
            return
        if not self._pops:
            raise RuntimeError("the network has no population; call add_population() first.")
        dt = self.dt
        names = list(self._pops)
        comp = []
        for name in names:
            pop = self._pops[name]
            extra = [s["loc"] for s in self._inputs.values()
                     if s["target"] == name and s["kind"] == "current"]
            comp.append(pop["cell"].compile(dt, extra))
        nn = np.array([c["n_nodes"] for c in comp], dtype=np.int64)
        nc = np.array([self._pops[n]["n"] for n in names], dtype=np.int64)
        node_off = np.concatenate([[0], np.cumsum(nn)]).astype(np.int64)
        st_off = np.concatenate([[0], np.cumsum(nn * nc)]).astype(np.int64)
        cell_off = np.concatenate([[0], np.cumsum(nc)]).astype(np.int64)
        cat = lambda key: np.concatenate([c[key] for c in comp])
        # hh
        table = hh_table(self.celsius)
        q10 = hh_q10(self.celsius)
        rates = np.empty(6)
        hh_rates(self.v_init, q10, table, self.use_table, rates)
        hh_ptr = np.concatenate([[0], np.cumsum([len(c["hh_nodes"]) for c in comp])])
        hh_st, off = [], 0
        for p, c in enumerate(comp):
            for _ in c["hh_nodes"]:
                hh_st.append(off)
                off += nc[p]
        n_hh = off
        # synapses: types and instances
        syn_ptr = np.concatenate([[0], np.cumsum([len(c["syn"]) for c in comp])])
        syn_st, inst_fac, inst_two, off = [], [], [], 0
        for p, c in enumerate(comp):
            for (_, _, _, _, fac, two) in c["syn"]:
                syn_st.append(off)
                inst_fac.append(np.full(nc[p], fac))
                inst_two.append(np.full(nc[p], two))
                off += nc[p]
        n_inst = off
        all_syn = [s for c in comp for s in c["syn"]]
        # connections, CSR by source cell
        pre_g, syn_g, w_g, d_g = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)], \
            [np.zeros(0, np.int64)]
        max_d = 0
        for pr in self._projections:
            ps, pt = names.index(pr["source"]), names.index(pr["target"])
            k = syn_ptr[pt] + pr["syn"]
            pre_g.append(cell_off[ps] + pr["pre"])
            syn_g.append(syn_st[k] + pr["post"])
            w_g.append(pr["weight"])
            steps = self._delay_steps(pr["delay"])
            d_g.append(steps)
            if len(steps):
                max_d = max(max_d, int(steps.max()))
        pre_g, syn_g, w_g, d_g = (np.concatenate(a) for a in (pre_g, syn_g, w_g, d_g))
        order = np.argsort(pre_g, kind="stable")
        out_ptr = np.searchsorted(pre_g[order], np.arange(cell_off[-1] + 1)).astype(np.int64)
        # explicit spike trains -> (step, instance, weight), sorted by step
        tr_step, tr_syn, tr_w = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for tr in self._trains:
            pt = names.index(tr["target"])
            tr_step.append(self._delay_steps(tr["times"]))
            tr_syn.append(syn_st[syn_ptr[pt] + tr["syn"]] + tr["cells"])
            tr_w.append(np.full(len(tr["times"]), tr["weight"]))
        tr_step, tr_syn, tr_w = (np.concatenate(a) for a in (tr_step, tr_syn, tr_w))
        o = np.argsort(tr_step, kind="stable")
        # current inputs
        cur = [s for s in self._inputs.values() if s["kind"] == "current"]
        self._cur_names = [k for k, s in self._inputs.items() if s["kind"] == "current"]
        cur_pop = np.array([names.index(s["target"]) for s in cur], dtype=np.int64)
        cur_node = np.array([comp[names.index(s["target"])]["node"](*s["loc"]) for s in cur],
                            dtype=np.int64)
        cur_ptr = np.concatenate([[0], np.cumsum([len(s["cells"]) for s in cur])]).astype(
            np.int64)
        cur_cells = np.concatenate([np.zeros(0, np.int64)] + [s["cells"] for s in cur]).astype(
            np.int64)
        # poisson inputs: synapse instance of each selected cell
        self._poi_names = [k for k, s in self._inputs.items() if s["kind"] == "poisson"]
        for k in self._poi_names:
            s = self._inputs[k]
            pt = names.index(s["target"])
            s["inst"] = syn_st[syn_ptr[pt] + s["syn"]] + s["cells"]
        # LFP coefficients per (node, cell): mV per (mA/cm2) of membrane current density
        centres = np.concatenate([self._pops[n]["positions"] for n in names])
        electrode = centres.mean(axis=0) if self.electrode is None else self.electrode
        lfpc = np.zeros(st_off[-1])
        for p, c in enumerate(comp):
            disc = c["disc"]
            pos = self._pops[names[p]]["positions"]
            start = (disc.start[:, None, :] + pos[None, :, :]).reshape(-1, 3)
            end = (disc.end[:, None, :] + pos[None, :, :]).reshape(-1, 3)
            rad = np.repeat(disc.radius, nc[p])
            M = line_source_matrix(electrode, start, end, rad, sigma=self.sigma)[0]
            lfpc[st_off[p]:st_off[p + 1]] = M * np.repeat(disc.area * 0.01, nc[p])
        self.electrode_ = electrode
        self._names = names
        self._disc = [c["disc"] for c in comp]
        nstate = int(st_off[-1])
        self._k = {
            # a repeated last row lets the kernel clamp at the top without a special case
            "q10": q10, "table": np.vstack([table, table[-1:]]), "nn": nn, "nc": nc, "node_off": node_off,
            "st_off": st_off, "cell_off": cell_off,
            "par": cat("parent").astype(np.int64), "A": cat("A"), "B": cat("B"),
            "cfac": cat("cfac"), "gpas": cat("gpas"), "epas": cat("epas"), "ppf": cat("ppf"),
            "hh_ptr": hh_ptr.astype(np.int64),
            "hh_node": np.concatenate([np.zeros(0, np.int64)] + [c["hh_nodes"] for c in comp]),
            "hh_par": np.concatenate([c["hh_par"] for c in comp]).reshape(-1, 6),
            "hh_st": np.array(hh_st, dtype=np.int64),
            "gm": np.full(n_hh, rates[0]), "gh": np.full(n_hh, rates[2]),
            "gn": np.full(n_hh, rates[4]),
            "syn_ptr": syn_ptr.astype(np.int64),
            "syn_node": np.array([s[0] for s in all_syn], dtype=np.int64),
            "syn_e": np.array([s[1] for s in all_syn], dtype=float),
            "syn_d1": np.array([s[2] for s in all_syn], dtype=float),
            "syn_d2": np.array([s[3] for s in all_syn], dtype=float),
            "inst_fac": np.concatenate([np.zeros(0)] + inst_fac),
            "inst_two": np.concatenate([np.zeros(0, bool)] + inst_two).astype(np.bool_),
            "syn_st": np.array(syn_st, dtype=np.int64),
            "sA": np.zeros(n_inst), "sB": np.zeros(n_inst),
            "ring": np.zeros((max_d + 2, n_inst)),
            "spk_node": np.array([c["spike_node"] for c in comp], dtype=np.int64),
            "thresh": np.array([self._pops[n]["cell"].threshold for n in names]),
            "flag": np.array(np.repeat([self.v_init > self._pops[n]["cell"].threshold
                                        for n in names], nc), dtype=np.int8),
            "out_ptr": out_ptr, "conn_syn": syn_g[order].astype(np.int64),
            "conn_w": w_g[order].astype(float), "conn_d": d_g[order].astype(np.int64),
            "cur_pop": cur_pop, "cur_node": cur_node, "cur_ptr": cur_ptr, "cur_cells": cur_cells,
            "v": np.full(nstate, self.v_init), "d": np.zeros(nstate), "rhs": np.zeros(nstate),
            "dm": np.zeros(nstate), "rm": np.zeros(nstate), "lfpc": lfpc,
        }
        self._trains_sorted = (tr_step[o], tr_syn[o], tr_w[o])
        self._spikes: list[tuple[np.ndarray, np.ndarray]] = []
        self._built = True

    def _delay_steps(self, t: np.ndarray) -> np.ndarray:
        """Steps after which an event of time/delay ``t`` is due: first k with
        t <= k dt + dt / 2 (NEURON's fixed-step delivery)."""
        k = np.ceil(np.asarray(t) / self.dt - 0.5 - 1e-9)
        return np.maximum(k, 0).astype(np.int64)

    # ----------------------------------------------------------------- advance
    def advance(self, n_steps: int, drive: dict[str, np.ndarray] | None = None) -> dict:
        """Simulate ``n_steps`` steps of ``dt`` from ``time``; see the module contract.

        Parameters
        ----------
        n_steps : int
        drive : dict of str -> array (n_steps,), optional
            Per-step values of declared inputs (Hz for poisson, nA for current); inputs
            not given are 0.

        Returns
        -------
        dict
            ``counts`` {pop: int64 (n_steps,)}, ``v_mean`` {pop: float (n_steps,), mV},
            ``lfp`` float (n_steps,), mV.
        """
        if int(n_steps) != n_steps or n_steps < 0:
            raise ValueError(f"n_steps must be a non-negative integer, but got {n_steps!r}.")
        n_steps = int(n_steps)
        drive = {} if drive is None else dict(drive)
        from .._check import suggest

        for key in drive:
            if key not in self._inputs:
                raise ValueError(f"drive has an unknown input {key!r}; declared inputs are "
                                 f"{list(self._inputs)}.{suggest(key, self._inputs)}")
        vals = {}
        for key, arr in drive.items():
            arr = check_array(f"drive[{key!r}]", arr, shape=(n_steps,))
            if self._inputs[key]["kind"] == "poisson" and np.any(arr < 0):
                raise ValueError(f"drive[{key!r}] holds Poisson rates (Hz) and must be >= 0.")
            vals[key] = arr
        self.build()
        k = self._k
        P = len(self._names)
        counts = np.zeros((n_steps, P), dtype=np.int64)
        vmean = np.zeros((n_steps, P))
        lfp = np.zeros(n_steps)
        total_cells = int(k["cell_off"][-1])
        tr_step, tr_syn, tr_w = self._trains_sorted
        for c0 in range(0, n_steps, _CHUNK):
            L = min(_CHUNK, n_steps - c0)
            g0 = self._step
            # events of this chunk: explicit trains, then Poisson draws (own stream each)
            lo, hi = np.searchsorted(tr_step, [g0, g0 + L])
            ev = [(tr_step[lo:hi] - g0, tr_syn[lo:hi], tr_w[lo:hi])]
            for name in self._poi_names:
                s = self._inputs[name]
                rate = vals[name][c0:c0 + L] if name in vals else np.zeros(L)
                lam = np.broadcast_to((rate * self.dt * 1e-3)[:, None], (L, len(s["cells"])))
                cnt = s["rng"].poisson(lam)
                st, e = np.nonzero(cnt)
                ev.append((st, s["inst"][e], s["weight"] * cnt[st, e]))
            ev_step = np.concatenate([e[0] for e in ev]).astype(np.int64)
            o = np.argsort(ev_step, kind="stable")
            ev_step = ev_step[o]
            ev_syn = np.concatenate([e[1] for e in ev]).astype(np.int64)[o]
            ev_w = np.concatenate([e[2] for e in ev]).astype(float)[o]
            cur_val = np.zeros((L, len(self._cur_names)))
            for j, name in enumerate(self._cur_names):
                if name in vals:
                    cur_val[:, j] = self._inputs[name]["weight"] * vals[name][c0:c0 + L]
            done = 0
            while done < L:
                cap = total_cells * (min(L - done, 64) + 1)
                spk_step = np.zeros(cap, dtype=np.int64)
                spk_id = np.zeros(cap, dtype=np.int64)
                n, n_spk = _run_steps(
                    L - done, self._step, self.dt, k["q10"], k["table"], self.use_table,
                    k["nn"], k["nc"], k["node_off"], k["st_off"], k["cell_off"],
                    k["par"], k["A"], k["B"], k["cfac"], k["gpas"], k["epas"], k["ppf"],
                    k["hh_ptr"], k["hh_node"], k["hh_par"], k["hh_st"], k["gm"], k["gh"],
                    k["gn"], k["syn_ptr"], k["syn_node"], k["syn_e"], k["syn_d1"], k["syn_d2"],
                    k["inst_fac"], k["inst_two"], k["syn_st"], k["sA"], k["sB"], k["ring"],
                    k["spk_node"], k["thresh"], k["flag"], k["out_ptr"], k["conn_syn"],
                    k["conn_w"], k["conn_d"], ev_step - done, ev_syn, ev_w,
                    k["cur_pop"], k["cur_node"], k["cur_ptr"], k["cur_cells"],
                    cur_val[done:], k["v"], k["d"], k["rhs"], k["dm"], k["rm"], k["lfpc"],
                    True, counts[c0 + done:], vmean[c0 + done:], lfp[c0 + done:],
                    spk_step, spk_id, 0)
                if n_spk:
                    self._spikes.append((spk_step[:n_spk].copy(), spk_id[:n_spk].copy()))
                done += n
                self._step += n
        return {
            "counts": {name: counts[:, p].copy() for p, name in enumerate(self._names)},
            "v_mean": {name: vmean[:, p].copy() for p, name in enumerate(self._names)},
            "lfp": lfp,
        }

    def run(self, duration: float, drive: dict[str, np.ndarray] | None = None) -> dict:
        """Advance round(duration / dt) steps (duration in ms); returns advance()'s dict."""
        duration = check_range("duration", duration, 0)
        return self.advance(round(duration / self.dt), drive)

    def spikes(self, pop: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes of population ``pop``: (times in ms, cell ids), in time order."""
        self._pop(pop, "pop")
        if not self._built or not self._spikes:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        p = self._names.index(pop)
        step = np.concatenate([s[0] for s in self._spikes])
        gid = np.concatenate([s[1] for s in self._spikes])
        lo, hi = self._k["cell_off"][p], self._k["cell_off"][p + 1]
        sel = (gid >= lo) & (gid < hi)
        return step[sel] * self.dt, gid[sel] - lo

    def nodes(self, pop: str) -> dict[str, np.ndarray]:
        """The nodes of a population's cell, in the row order of :meth:`voltages`.

        Returns a dict with ``section`` (names), ``x`` (segment centre along the section,
        0 or 1 for zero-area end nodes), ``area`` (um2) and ``midpoint`` (um, relative to
        the cell's position).
        """
        self._pop(pop, "pop")
        self.build()
        disc = self._disc[self._names.index(pop)]
        morph = self._pops[pop]["cell"].morphology
        nseg = np.array([morph.sections[k].nseg for k in disc.section])
        x = np.where(disc.segment >= 0, (disc.segment + 0.5) / nseg,
                     np.where(disc.segment == -1, 0.0, 1.0))
        return {"section": np.array([morph.sections[k].name for k in disc.section]), "x": x,
                "area": disc.area.copy(), "midpoint": (disc.start + disc.end) / 2}

    def voltages(self, pop: str) -> np.ndarray:
        """Present membrane potential of every node of every cell, mV, (n_nodes, n_cells)."""
        self._pop(pop, "pop")
        self.build()
        p = self._names.index(pop)
        k = self._k
        return k["v"][k["st_off"][p]:k["st_off"][p + 1]].reshape(k["nn"][p], k["nc"][p]).copy()


# ----------------------------------------------------------------- compiled loop
# Compiled time loop of :class:`vbrain.spiking.CellNetwork` (private).
#
# State arrays are flat; population ``p`` holds its ``nn[p]`` nodes x ``nc[p]`` cells at
# ``st_off[p] + node * nc[p] + cell``, so every per-node phase (channel currents, the
# Hines elimination, gate updates) is an inner loop over the cells sharing that node,
# which LLVM vectorises. One step follows NEURON's fixed-step method (``secondorder=0``):
#
# 1. deliver the synaptic events due in this step (queued spikes, external inputs);
# 2. assemble the backward-Euler node equations for the voltage change from the
#    membrane currents and conductances at the present state (the staggered gates are
#    half a step ahead) plus axial coupling, solve them in O(n) (Hines), update v;
# 3. advance hh gates (``cnexp``, rates at the new v) and synaptic conductances;
# 4. detect threshold crossings at the spike node and queue their events.


# error_model='numpy': no zero-division checks, so the per-cell loops vectorise
@njit(cache=True, error_model="numpy")
def _run_steps(n_steps, step0, dt, q10, table, use_table,
              nn, nc, node_off, st_off, cell_off,
              par, A, B, cfac, gpas, epas, ppf,
              hh_ptr, hh_node, hh_par, hh_st, gm, gh, gn,
              syn_ptr, syn_node, syn_e, syn_d1, syn_d2, inst_fac, inst_two, syn_st, sA, sB,
              ring, spk_node, thresh, flag, out_ptr, conn_syn, conn_w, conn_d,
              ev_step, ev_syn, ev_w,
              cur_pop, cur_node, cur_ptr, cur_cells, cur_val,
              v, d, rhs, dm, rm, lfpc, do_lfp,
              counts, vmean, lfp, spk_step, spk_id, n_spk):
    """Advance ``n_steps``; returns (steps done, spikes recorded); stops early if the
    spike buffer could overflow in the next step."""
    n_pop = nn.shape[0]
    n_slot = ring.shape[0]
    n_inst = ring.shape[1]
    total_cells = cell_off[n_pop]
    cap = spk_id.shape[0]
    scale = HH_TABLE_N / (HH_TABLE_VMAX - HH_TABLE_VMIN)
    rates = np.empty(6)
    lacc = np.empty(nc.max())
    ev = 0
    while ev < ev_step.shape[0] and ev_step[ev] < 0:
        ev += 1
    for s in range(n_steps):
        gs = step0 + s
        if n_spk + total_cells > cap:
            return s, n_spk
        # 1. events due now
        slot = gs % n_slot
        for k in range(n_inst):
            w = ring[slot, k]
            if w != 0.0:
                ring[slot, k] = 0.0
                sB[k] += w * inst_fac[k]
                if inst_two[k]:
                    sA[k] += w * inst_fac[k]
        while ev < ev_step.shape[0] and ev_step[ev] == s:
            k = ev_syn[ev]
            sB[k] += ev_w[ev] * inst_fac[k]
            if inst_two[k]:
                sA[k] += ev_w[ev] * inst_fac[k]
            ev += 1
        for p in range(n_pop):
            N = nn[p]
            C = nc[p]
            o = st_off[p]
            no = node_off[p]
            # per-population (node, cell) views: rows are nodes, columns cells
            V = v[o:o + N * C].reshape((N, C))
            D = d[o:o + N * C].reshape((N, C))
            R = rhs[o:o + N * C].reshape((N, C))
            # 2a. membrane terms: capacitance, passive leak
            for i in range(N):
                g0 = gpas[no + i]
                e0 = epas[no + i]
                cf = cfac[no + i]
                Vi = V[i]
                Di = D[i]
                Ri = R[i]
                for c in range(C):
                    Di[c] = cf + g0
                    Ri[c] = -g0 * (Vi[c] - e0)
            # hh
            for k in range(hh_ptr[p], hh_ptr[p + 1]):
                i = hh_node[k]
                Vi = V[i]
                Di = D[i]
                Ri = R[i]
                sb = hh_st[k]
                M = gm[sb:sb + C]
                H = gh[sb:sb + C]
                Nn = gn[sb:sb + C]
                gnabar = hh_par[k, 0]
                gkbar = hh_par[k, 1]
                gl = hh_par[k, 2]
                el = hh_par[k, 3]
                ena = hh_par[k, 4]
                ek = hh_par[k, 5]
                for c in range(C):
                    vv = Vi[c]
                    mm = M[c]
                    n2 = Nn[c] * Nn[c]
                    gna = gnabar * mm * mm * mm * H[c]
                    gk = gkbar * n2 * n2
                    Di[c] += gna + gk + gl
                    Ri[c] -= gna * (vv - ena) + gk * (vv - ek) + gl * (vv - el)
            # synapses (point processes: nA -> mA/cm2 through 100 / area)
            for k in range(syn_ptr[p], syn_ptr[p + 1]):
                i = syn_node[k]
                Vi = V[i]
                Di = D[i]
                Ri = R[i]
                f = ppf[no + i]
                e0 = syn_e[k]
                sb = syn_st[k]
                SA = sA[sb:sb + C]
                SB = sB[sb:sb + C]
                for c in range(C):
                    g = (SB[c] - SA[c]) * f
                    Di[c] += g
                    Ri[c] -= g * (Vi[c] - e0)
            if do_lfp:
                dm[o:o + N * C] = d[o:o + N * C]
                rm[o:o + N * C] = rhs[o:o + N * C]
            # electrode currents (nA)
            for j in range(cur_pop.shape[0]):
                if cur_pop[j] != p:
                    continue
                Ri = R[cur_node[j]]
                val = cur_val[s, j] * ppf[no + cur_node[j]]
                for q in range(cur_ptr[j], cur_ptr[j + 1]):
                    Ri[cur_cells[q]] += val
            # 2b. axial coupling
            for i in range(1, N):
                pi = par[no + i]
                ai = A[no + i]
                bi = B[no + i]
                Vi = V[i]
                Vp = V[pi]
                Ri = R[i]
                Rp = R[pi]
                Di = D[i]
                Dp = D[pi]
                for c in range(C):
                    dv = Vp[c] - Vi[c]
                    Ri[c] -= bi * dv
                    Rp[c] += ai * dv
                    Di[c] -= bi
                    Dp[c] -= ai
            # 2c. Hines: eliminate leaves towards the root, then back-substitute
            for i in range(N - 1, 0, -1):
                pi = par[no + i]
                ai = A[no + i]
                bi = B[no + i]
                Ri = R[i]
                Rp = R[pi]
                Di = D[i]
                Dp = D[pi]
                for c in range(C):
                    f = ai / Di[c]
                    Dp[c] -= f * bi
                    Rp[c] -= f * Ri[c]
            R0 = R[0]
            D0 = D[0]
            for c in range(C):
                R0[c] /= D0[c]
            for i in range(1, N):
                bi = B[no + i]
                Ri = R[i]
                Rp = R[par[no + i]]
                Di = D[i]
                for c in range(C):
                    Ri[c] = (Ri[c] - bi * Rp[c]) / Di[c]
            for idx in range(o, o + N * C):
                v[idx] += rhs[idx]
            if do_lfp:
                # per-cell partial sums keep the loop vectorisable (order is fixed)
                for c in range(C):
                    lacc[c] = 0.0
                for i in range(N):
                    b0 = o + i * C
                    for c in range(C):
                        lacc[c] += lfpc[b0 + c] * (dm[b0 + c] * rhs[b0 + c] - rm[b0 + c])
                acc = 0.0
                for c in range(C):
                    acc += lacc[c]
                lfp[s] += acc
            # 3. gates at the new voltage, synaptic decay
            for k in range(hh_ptr[p], hh_ptr[p + 1]):
                Vi = V[hh_node[k]]
                sb = hh_st[k]
                M = gm[sb:sb + C]
                H = gh[sb:sb + C]
                Nn = gn[sb:sb + C]
                for c in range(C):
                    vv = Vi[c]
                    if use_table:
                        # the table has a repeated last row, so the upper clamp is exact
                        xi = (vv - HH_TABLE_VMIN) * scale
                        if xi <= 0.0:
                            ii = 0
                            th = 0.0
                        elif xi >= HH_TABLE_N:
                            ii = HH_TABLE_N
                            th = 0.0
                        else:
                            ii = int(xi)
                            th = xi - ii
                        t0 = table[ii]
                        t1 = table[ii + 1]
                        minf = t0[0] + th * (t1[0] - t0[0])
                        mtau = t0[1] + th * (t1[1] - t0[1])
                        hinf = t0[2] + th * (t1[2] - t0[2])
                        htau = t0[3] + th * (t1[3] - t0[3])
                        ninf = t0[4] + th * (t1[4] - t0[4])
                        ntau = t0[5] + th * (t1[5] - t0[5])
                    else:
                        hh_rates_exact(vv, q10, rates)
                        minf = rates[0]
                        mtau = rates[1]
                        hinf = rates[2]
                        htau = rates[3]
                        ninf = rates[4]
                        ntau = rates[5]
                    M[c] += (1.0 - math.exp(-dt / mtau)) * (minf - M[c])
                    H[c] += (1.0 - math.exp(-dt / htau)) * (hinf - H[c])
                    Nn[c] += (1.0 - math.exp(-dt / ntau)) * (ninf - Nn[c])
            for k in range(syn_ptr[p], syn_ptr[p + 1]):
                sb = syn_st[k]
                d1 = syn_d1[k]
                d2 = syn_d2[k]
                for c in range(C):
                    sA[sb + c] *= d1
                    sB[sb + c] *= d2
            # 4. spikes at the detection node; mean voltage there
            Vs = V[spk_node[p]]
            th0 = thresh[p]
            acc = 0.0
            for c in range(C):
                vv = Vs[c]
                acc += vv
                gid = cell_off[p] + c
                if vv > th0:
                    if flag[gid] == 0:
                        flag[gid] = 1
                        counts[s, p] += 1
                        spk_step[n_spk] = gs + 1
                        spk_id[n_spk] = gid
                        n_spk += 1
                        for q in range(out_ptr[gid], out_ptr[gid + 1]):
                            ring[(gs + 1 + conn_d[q]) % n_slot, conn_syn[q]] += conn_w[q]
                else:
                    flag[gid] = 0
            vmean[s, p] = acc / C
    return n_steps, n_spk
