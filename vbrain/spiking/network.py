"""``Network``: populations of point neurons, projections, inputs; the inset engine.

A network is described first (populations, projections, Poisson generators,
named inputs), then built once (connectivity drawn, arrays laid out, the
compiled loop loaded from numba's cache) and advanced in steps of ``dt``:

>>> import vbrain.spiking as sp
>>> net = sp.Network(dt=0.1, seed=1)
>>> net.add_population("E", "iaf_psc_delta", 800, params={"V_th": -55.0})
>>> net.connect("E", "E", rule="fixed_indegree", indegree=80, weight=0.1, delay=1.5)
>>> net.add_poisson("E", rate=15000.0, weight=0.1)
>>> out = net.run(100.0)                      # ms
>>> sorted(out)
['counts', 'lfp', 'v_mean']

It implements the inset engine contract the co-simulation drives: ``dt``,
``time``, ``populations``, ``add_input``, ``advance``, ``spikes``.

Conventions (NEST's): a spike emitted in the step from ``t`` to ``t + dt`` has
time ``t + dt``; a delay of ``d`` ms (rounded to whole steps, at least one)
means the spike acts in the step that starts ``d`` later. Poisson inputs draw
an independent count per neuron and step.

Signals returned per step: spike counts and mean ``V_m`` per population, and an
LFP proxy (Mazzoni et al. 2008, 2015): the sum over the neurons of the LFP
populations of the absolute synaptic currents, :math:`\\sum_i |I_{ex,i}| +
|I_{in,i}|`, in pA, taken at the end of the step. Currents are the model's
synaptic currents (``iaf_psc_exp/alpha``, ``hh_psc_alpha``), ``g (V - E)`` for
conductance models, and for delta synapses the charge of the step's jumps
spread over the step, :math:`C_m |\\Delta V| / dt`. For ``izhikevich`` it is
:math:`|\\Delta V| / dt` (mV/ms), for ``qif`` :math:`\\tau |\\Delta V| / dt`
(model units). By default the LFP populations are the excitatory ones: those
whose outgoing projections all have non-negative weights (all populations if
none qualifies); ``add_population(..., lfp=True/False)`` overrides this.

References
----------
Mazzoni A, Panzeri S, Logothetis NK, Brunel N (2008). Encoding of naturalistic
stimuli by local field potential spectra in networks of excitatory and
inhibitory neurons. PLoS Comput Biol 4:e1000239.
Mazzoni A, Linden H, Cuntz H, Lansner A, Panzeri S, Einevoll GT (2015).
Computing the local field potential (LFP) from integrate-and-fire network
models. PLoS Comput Biol 11:e1004584.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._check import check_option, check_range, suggest, validate_type
from . import kernels
from .connect import RULES, build_csr, make_pairs
from .neurons import MODELS, NeuronModel
from .rng import TABLE_SIZE, seed_state
from .values import draw, is_distribution

INPUT_KINDS = ("poisson", "current")
_REC_MIN = 1 << 16


@dataclass
class _Population:
    name: str
    model: NeuronModel
    n: int
    record: bool
    lfp: bool | None
    offset: int = 0


@dataclass
class _Projection:
    source: str
    target: str
    rule: str
    weight: Any
    delay: Any
    indegree: int | None
    p: float | None
    allow_autapses: bool
    allow_multapses: bool


@dataclass
class _Input:
    name: str | None  # None: a constant-rate generator from add_poisson
    target: str
    kind: str
    weight: float
    fraction: float
    rate: float = 0.0


class Network:
    """A network of point-neuron populations (the point-neuron inset engine).

    Parameters
    ----------
    dt : float, default 0.1
        Integration step in ms, fixed for the network's life.
    seed : int or None, default None
        Seed of everything random: connectivity, initial states, input subsets
        and the loop's stream (Poisson inputs). The same seed gives
        bit-identical results, however the run is split into ``advance`` calls.

    Attributes
    ----------
    dt : float
        Step (ms).
    time : float
        Simulated time (ms).
    populations : dict of str to int
        Population name -> number of neurons.
    """

    def __init__(self, dt: float = 0.1, seed: int | None = None) -> None:
        self.dt = check_range("dt", dt, 0.0, low_inclusive=False)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be None or an int, but got {seed!r}.")
        self.seed = seed
        self._ss = np.random.SeedSequence(seed)
        self._pops: dict[str, _Population] = {}
        self._projections: list[_Projection] = []
        self._inputs: list[_Input] = []
        self._built = False
        self._step = 0

    # -- description ---------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated time in ms."""
        return self._step * self.dt

    @property
    def populations(self) -> dict[str, int]:
        """Population name -> number of neurons."""
        return {name: p.n for name, p in self._pops.items()}

    def _check_open(self, what: str) -> None:
        if self._built:
            raise RuntimeError(f"{what} must be called before the network is built "
                               "(before the first advance(), run() or build()).")

    def _check_pop(self, name: str, what: str) -> _Population:
        if name not in self._pops:
            raise ValueError(
                f"{what} {name!r} is not a population of this network; populations: "
                f"{list(self._pops)}.{suggest(name, self._pops)}"
            )
        return self._pops[name]

    def add_population(
        self,
        name: str,
        model: str | NeuronModel | type[NeuronModel],
        n: int,
        *,
        params: dict[str, Any] | None = None,
        record: bool = True,
        lfp: bool | None = None,
    ) -> None:
        """Add a population of ``n`` neurons of one model.

        Parameters
        ----------
        name : str
            Population name (unique).
        model : str, NeuronModel or NeuronModel subclass
            A NEST model name (``"iaf_psc_delta"``, ``"iaf_psc_exp"``,
            ``"iaf_psc_alpha"``, ``"iaf_cond_exp"``, ``"iaf_cond_alpha"``,
            ``"aeif_cond_exp"``, ``"izhikevich"``, ``"hh_psc_alpha"``, or
            ``"qif"``), a model instance, or a model class.
        n : int
            Number of neurons (> 0).
        params : dict, optional
            Parameter values (with a name or class ``model``); see the model's
            docstring for names, units and defaults.
        record : bool, default True
            Record the population's spikes (for :meth:`spikes`).
        lfp : bool or None, default None
            Include the population's synaptic currents in the LFP proxy; None
            decides by the excitatory rule in the module docstring.
        """
        self._check_open("add_population()")
        validate_type("name", name, str)
        if name in self._pops:
            raise ValueError(f"A population named {name!r} already exists.")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, but got {n!r}.")
        if isinstance(model, str):
            check_option("model", model, MODELS)
            model = MODELS[model](**(params or {}))
        elif isinstance(model, type) and issubclass(model, NeuronModel):
            model = model(**(params or {}))
        elif isinstance(model, NeuronModel):
            if params:
                raise TypeError("params= is for a model given by name or class; set the "
                                "parameters of a model instance when creating it.")
        else:
            raise TypeError(f"model must be a NEST model name {sorted(MODELS)}, a NeuronModel "
                            f"or a NeuronModel subclass, but got {model!r}.")
        self._pops[name] = _Population(name, model, int(n), bool(record), lfp)

    def connect(
        self,
        source: str,
        target: str,
        *,
        rule: str = "all_to_all",
        weight: Any = 1.0,
        delay: Any = None,
        indegree: int | None = None,
        p: float | None = None,
        allow_autapses: bool = True,
        allow_multapses: bool = True,
    ) -> None:
        """Add a projection from population ``source`` to population ``target``.

        Parameters
        ----------
        source, target : str
            Population names.
        rule : {"all_to_all", "one_to_one", "fixed_indegree", "fixed_probability"}
            Connection rule (NEST's names; see :mod:`vbrain.spiking.connect`).
        weight : float, array or distribution dict, default 1.0
            Synaptic efficacy in the target model's weight unit (mV, pA or nS);
            negative = inhibitory receptor.
        delay : float, array or distribution dict, optional
            Transmission delay in ms (default: one step), rounded to whole steps;
            must be at least ``dt``.
        indegree : int, optional
            Sources per target for ``"fixed_indegree"``.
        p : float, optional
            Connection probability for ``"fixed_probability"``.
        allow_autapses, allow_multapses : bool, default True
            As NEST (only meaningful within one population / for random rules).
        """
        self._check_open("connect()")
        self._check_pop(source, "source")
        self._check_pop(target, "target")
        check_option("rule", rule, RULES)
        if rule == "fixed_indegree" and indegree is None:
            raise TypeError("rule='fixed_indegree' needs indegree=<int>.")
        if rule == "fixed_probability" and p is None:
            raise TypeError("rule='fixed_probability' needs p=<probability>.")
        if rule == "fixed_probability":
            for nm, v in (("weight", weight), ("delay", delay)):
                if v is not None and not is_distribution(v) and np.ndim(v) > 0:
                    raise ValueError(f"{nm} for rule='fixed_probability' must be a scalar or "
                                     "a distribution dict (the number of synapses is random).")
        self._projections.append(_Projection(source, target, rule, weight, delay, indegree, p,
                                             bool(allow_autapses), bool(allow_multapses)))

    def add_poisson(self, target: str, rate: float, *, weight: float = 1.0,
                    fraction: float = 1.0) -> None:
        """A constant-rate Poisson generator (NEST ``poisson_generator``) onto ``target``.

        Each selected neuron receives its own independent Poisson train of
        ``rate`` (Hz); every event acts as a synapse of efficacy ``weight``
        (target model's weight unit). To stand for ``C`` external synapses of
        rate ``nu`` each, use ``rate = C * nu``.
        """
        self._check_open("add_poisson()")
        self._check_pop(target, "target")
        rate = check_range("rate", rate, 0.0)
        self._inputs.append(_Input(None, target, "poisson",
                                   check_range("weight", weight),
                                   check_range("fraction", fraction, 0.0, 1.0,
                                               low_inclusive=False), rate))

    def add_input(self, name: str, target: str, kind: str, *, weight: float = 1.0,
                  fraction: float = 1.0, compartment: str | None = None) -> None:
        """Declare a time-varying external input whose values come with ``advance()``.

        Parameters
        ----------
        name : str
            Input name (the key of ``drive`` in :meth:`advance`).
        target : str
            Population receiving it.
        kind : {"poisson", "current"}
            ``"poisson"``: each selected neuron gets an independent Poisson train
            whose rate (Hz) is the drive value of the step; each event acts as a
            synapse of efficacy ``weight``. ``"current"``: each selected neuron
            gets ``weight * value`` as injected current (pA for the NEST models,
            model units for ``izhikevich`` and ``qif``).
        weight : float, default 1.0
            Efficacy (poisson) or scale (current).
        fraction : float in (0, 1], default 1.0
            A seeded random subset of ``round(fraction * n)`` neurons is selected.
        compartment : None
            For compartmental engines only; must be None here.
        """
        self._check_open("add_input()")
        validate_type("name", name, str)
        if any(i.name == name for i in self._inputs):
            raise ValueError(f"An input named {name!r} already exists.")
        self._check_pop(target, "target")
        check_option("kind", kind, INPUT_KINDS)
        if compartment is not None:
            raise ValueError("compartment= applies to compartmental cells (CellNetwork); "
                             f"point neurons have none, but got {compartment!r}.")
        self._inputs.append(_Input(name, target, kind, check_range("weight", weight),
                                   check_range("fraction", fraction, 0.0, 1.0,
                                               low_inclusive=False)))

    # -- build ---------------------------------------------------------------------------
    def build(self) -> Network:
        """Draw connectivity and initial states and lay out the arrays (once)."""
        if self._built:
            return self
        if not self._pops:
            raise RuntimeError("The network has no population; add_population() first.")
        dt = self.dt
        ss_conn, ss_init, ss_inputs, ss_loop = self._ss.spawn(4)
        pops = list(self._pops.values())
        off = 0
        for p in pops:
            p.offset = off
            off += p.n
        N = off
        n_rows = max(len(p.model.state) for p in pops)
        S = np.zeros((n_rows, N))
        bias = np.zeros(N)
        packs = [p.model.pack(dt) for p in pops]
        P = np.zeros((len(pops), max(len(x) for x in packs)))
        for k, (p, rng) in enumerate(zip(pops, (np.random.default_rng(s)
                                                for s in ss_init.spawn(len(pops))))):
            S0, b0 = p.model.initial_state(p.n, rng)
            S[: S0.shape[0], p.offset:p.offset + p.n] = S0
            bias[p.offset:p.offset + p.n] = b0
            P[k, : len(packs[k])] = packs[k]

        # projections -> CSR by source
        srcs, cols, ws, ds = [], [], [], []
        proj_w = []  # weights of each projection, for the LFP rule
        dense: list[tuple[int, int, int, float, int]] = []
        max_d = 1
        rngs = [np.random.default_rng(s) for s in ss_conn.spawn(len(self._projections))]
        pop_index = {p.name: k for k, p in enumerate(pops)}
        for pr, rng in zip(self._projections, rngs):
            a, b = self._pops[pr.source], self._pops[pr.target]
            delay = dt if pr.delay is None else pr.delay
            if (pr.rule == "all_to_all" and (pr.allow_autapses or pr.source != pr.target)
                    and np.ndim(pr.weight) == 0 and not is_distribution(pr.weight)
                    and np.ndim(delay) == 0 and not is_distribution(delay)):
                # one weight, one delay: delivered per population count (see kernels)
                w = check_range("weight", pr.weight)
                d = int(np.rint(check_range("delay", delay) / dt))
                if d < 1:
                    raise ValueError(
                        f"delay of the projection {pr.source!r} -> {pr.target!r} must be >= "
                        f"dt ({dt} ms), but got {delay} ms."
                    )
                max_d = max(max_d, d)
                lo = b.offset + (N if w < 0 else 0)
                dense.append((pop_index[pr.source], lo, lo + b.n, w, d))
                proj_w.append(np.array([w]))
                continue
            s, t, shape, keep = make_pairs(
                pr.rule, a.n, b.n, pr.source == pr.target, rng, indegree=pr.indegree, p=pr.p,
                allow_autapses=pr.allow_autapses, allow_multapses=pr.allow_multapses)
            w = self._values("weight", pr.weight, shape, keep, len(s), rng)
            d_ms = self._values("delay", delay, shape, keep, len(s), rng)
            d = np.rint(d_ms / dt).astype(np.int64)
            if len(d) and d.min() < 1:
                raise ValueError(
                    f"delay of the projection {pr.source!r} -> {pr.target!r} must be >= dt "
                    f"({dt} ms), but {np.count_nonzero(d < 1)} delay(s) round to less "
                    f"(smallest {d_ms.min()} ms)."
                )
            if len(d):
                max_d = max(max_d, int(d.max()))
            tg = t + b.offset
            srcs.append(s + a.offset)
            cols.append(np.where(w < 0, tg + N, tg))
            ws.append(w)
            ds.append(d)
            proj_w.append(w)
        cat = (lambda x, dtype: np.concatenate(x).astype(dtype) if x else np.zeros(0, dtype))
        self._syn_ptr, self._syn_col, self._syn_w, self._syn_d = build_csr(
            N, cat(srcs, np.int64), cat(cols, np.int64), cat(ws, np.float64), cat(ds, np.int64))
        n_slots = max_d + 1

        # LFP populations: explicit, else the excitatory ones
        excit = {p.name: None for p in pops}
        for pr, w in zip(self._projections, proj_w):
            if len(w):
                ok = bool(np.all(w >= 0))
                excit[pr.source] = ok if excit[pr.source] is None else excit[pr.source] and ok
        auto = [bool(excit[p.name]) for p in pops]
        if not any(auto):
            auto = [True] * len(pops)
        lfp_flags = [p.lfp if p.lfp is not None else a for p, a in zip(pops, auto)]

        # inputs
        names = [p.name for p in pops]
        in_rng = [np.random.default_rng(s) for s in ss_inputs.spawn(max(1, len(self._inputs)))]
        sel, ptr = [], [0]
        for inp, rng in zip(self._inputs, in_rng):
            p = self._pops[inp.target]
            m = int(round(inp.fraction * p.n))
            idx = (np.arange(p.n) if m == p.n else np.sort(rng.choice(p.n, m, replace=False)))
            sel.append(idx + p.offset)
            ptr.append(ptr[-1] + m)
        n_in = len(self._inputs)
        self._in_kind = np.array([INPUT_KINDS.index(i.kind) for i in self._inputs], np.int64)
        self._in_ptr = np.array(ptr, np.int64)
        self._in_sel = cat(sel, np.int64)
        self._in_w = np.array([i.weight for i in self._inputs], np.float64)
        self._in_col = np.array([N if (i.kind == "poisson" and i.weight < 0) else 0
                                 for i in self._inputs], np.int64)
        self._in_rate = np.array([i.rate for i in self._inputs], np.float64)
        self._tables = np.zeros((n_in, TABLE_SIZE), np.uint64)
        self._table_lam = np.full(n_in, -1.0)
        self._input_index = {i.name: k for k, i in enumerate(self._inputs) if i.name}

        self._N = N
        self._S = S
        self._refr = np.zeros(N, np.int64)
        self._bias = bias
        self._P = P
        self._pop_lo = np.array([p.offset for p in pops], np.int64)
        self._pop_hi = np.array([p.offset + p.n for p in pops], np.int64)
        self._pop_model = np.array([p.model.model_id for p in pops], np.int64)
        self._pop_lfp = np.array(lfp_flags, np.bool_)
        self._pop_rec = np.array([p.record for p in pops], np.bool_)
        self._pop_names = names
        self._ring = np.zeros((n_slots, 2 * N))
        self._rng = seed_state(ss_loop)
        self._Icur = np.zeros(N)
        self._spk = np.zeros(N, np.int64)
        self._rec_step = np.zeros(_REC_MIN, np.int64)
        self._rec_id = np.zeros(_REC_MIN, np.int64)
        self._rec_n = np.zeros(1, np.int64)
        self._dense_src = np.array([x[0] for x in dense], np.int64)
        self._dense_lo = np.array([x[1] for x in dense], np.int64)
        self._dense_hi = np.array([x[2] for x in dense], np.int64)
        self._dense_w = np.array([x[3] for x in dense], np.float64)
        self._dense_d = np.array([x[4] for x in dense], np.int64)
        self._built = True
        return self

    @staticmethod
    def _values(name, spec, shape, keep, n_syn, rng) -> np.ndarray:
        if is_distribution(spec) or np.ndim(spec) == 0 or shape is None:
            return draw(name, spec, (n_syn,), rng)
        arr = draw(name, spec, shape, rng).ravel()
        return arr[keep.ravel()] if keep is not None else arr

    # -- running -------------------------------------------------------------------------
    def advance(self, n_steps: int, drive: dict[str, np.ndarray] | None = None) -> dict:
        """Simulate ``n_steps`` steps of ``dt`` from :attr:`time`.

        Parameters
        ----------
        n_steps : int
            Number of steps (>= 0).
        drive : dict of str to array (n_steps,), optional
            Per-step values of inputs declared with :meth:`add_input` (rates in Hz
            for ``"poisson"``, currents for ``"current"``), held over each step;
            inputs not given are 0.

        Returns
        -------
        dict
            ``"counts"``: {population: int64 array (n_steps,)} spikes emitted per
            step; ``"v_mean"``: {population: float array (n_steps,)} mean
            membrane potential at the end of each step (model units);
            ``"lfp"``: float array (n_steps,), the LFP proxy (pA, see the module
            docstring).
        """
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) \
                or n_steps < 0:
            raise ValueError(f"n_steps must be a non-negative integer, but got {n_steps!r}.")
        n_steps = int(n_steps)
        self.build()
        n_in = len(self._inputs)
        in_drive = np.zeros((n_in, n_steps))
        for key, values in (drive or {}).items():
            if key not in self._input_index:
                declared = list(self._input_index)
                raise ValueError(
                    f"drive has an input {key!r} that was not declared with add_input(); "
                    f"declared inputs: {declared}.{suggest(str(key), declared)}"
                )
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != (n_steps,):
                raise ValueError(f"drive[{key!r}] must have shape ({n_steps},) (one value per "
                                 f"step), but got {arr.shape}.")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"drive[{key!r}] must be finite.")
            k = self._input_index[key]
            if self._inputs[k].kind == "poisson" and np.any(arr < 0):
                raise ValueError(f"drive[{key!r}] is a Poisson rate and must be >= 0 Hz, but "
                                 f"has {np.count_nonzero(arr < 0)} negative value(s).")
            in_drive[k] = arr
        n_pop = len(self._pop_names)
        counts = np.zeros((n_pop, n_steps), np.int64)
        vmean = np.zeros((n_pop, n_steps))
        lfp = np.zeros(n_steps)
        done = 0
        while done < n_steps:
            k = kernels.run_steps(
                n_steps - done, self._step + done, done, self.dt, self._S, self._refr,
                self._bias, self._P, self._pop_lo, self._pop_hi, self._pop_model, self._pop_lfp,
                self._pop_rec, self._ring, self._syn_ptr, self._syn_col, self._syn_w,
                self._syn_d, self._in_kind, self._in_ptr, self._in_sel, self._in_w,
                self._in_col, self._in_rate, in_drive, self._tables, self._table_lam, self._rng,
                self._Icur, self._spk, counts, vmean, lfp, self._rec_step, self._rec_id,
                self._rec_n, self._dense_src, self._dense_lo, self._dense_hi, self._dense_w,
                self._dense_d)
            done += k
            if done < n_steps:
                self._grow_recorder()
        self._step += n_steps
        return {
            "counts": {nm: counts[k] for k, nm in enumerate(self._pop_names)},
            "v_mean": {nm: vmean[k] for k, nm in enumerate(self._pop_names)},
            "lfp": lfp,
        }

    def run(self, duration: float) -> dict:
        """Advance ``round(duration / dt)`` steps (``duration`` in ms); same dict as advance."""
        duration = check_range("duration", duration, 0.0)
        return self.advance(int(round(duration / self.dt)))

    def _grow_recorder(self) -> None:
        cap = 2 * self._rec_step.shape[0] + self._N
        for attr in ("_rec_step", "_rec_id"):
            old = getattr(self, attr)
            new = np.zeros(cap, np.int64)
            new[: old.shape[0]] = old
            setattr(self, attr, new)

    # -- outputs -------------------------------------------------------------------------
    def spikes(self, pop: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes of population ``pop``: (times in ms, neuron indices in ``pop``).

        Times are the ends of the steps in which the spikes were emitted, in
        emission order.
        """
        p = self._check_pop(pop, "pop")
        if not p.record:
            raise ValueError(f"Population {pop!r} was added with record=False.")
        if not self._built:
            return np.zeros(0), np.zeros(0, np.int64)
        n = int(self._rec_n[0])
        ids = self._rec_id[:n]
        mask = (ids >= p.offset) & (ids < p.offset + p.n)
        return (self._rec_step[:n][mask] + 1) * self.dt, ids[mask] - p.offset

    def get_state(self, pop: str, variable: str = "V_m") -> np.ndarray:
        """A copy of a state variable (model's ``state`` names) of every neuron of ``pop``."""
        p = self._check_pop(pop, "pop")
        self.build()
        check_option("variable", variable, p.model.state)
        row = p.model.state.index(variable)
        return self._S[row, p.offset:p.offset + p.n].copy()

    @property
    def n_synapses(self) -> int:
        """Number of synapses (those of one-weight all-to-all projections included)."""
        self.build()
        n = int(self._syn_ptr[-1])
        for k in range(self._dense_src.shape[0]):
            n += int(self._pop_hi[self._dense_src[k]] - self._pop_lo[self._dense_src[k]]) * int(
                self._dense_hi[k] - self._dense_lo[k])
        return n

    def __repr__(self) -> str:
        pops = ", ".join(f"{nm}: {p.model.name} x {p.n}" for nm, p in self._pops.items())
        return (f"Network(dt={self.dt}, seed={self.seed}, time={self.time} ms, "
                f"populations={{{pops}}}, projections={len(self._projections)})")
