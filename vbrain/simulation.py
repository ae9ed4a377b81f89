"""``Simulation``: a connectome-coupled network of region models, run in compiled chunks."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from ._check import byte_size, check_option, check_range, suggest, validate_type
from .coupling import Coupling, Linear
from .models.base import Model
from .monitors import Monitor, RunInfo, TemporalAverage
from .noise import ETA_KEY, Additive, Multiplicative
from .result import Result, ResultWriter, label_samples
from .sim import checkpoint
from .sim.kernel import SCHEMES, make_kernel, parameter_pair
from .sim.normals import noise_key, standard_normals

logger = logging.getLogger(__name__)

#: scratch memory per chunk (trace, noise draws, stimulus increments), bytes: small
#: enough that monitors read the trace while it is in cache (two sweep threads with
#: 4 MiB each ran 1.4x slower than with 2 MiB)
_CHUNK_BYTES = 2 * 2**20
#: steps whose long-delay coupling is gathered at once, and spare history
#: columns (see sim/loop.py)
_BLOCK, _SUB, _SLACK = 64, 16, 8
#: history buffer per group of a sweep: larger batches run as groups of members this
#: small, so two threads' delayed gathers share the L3 without thrashing it (whole-batch
#: buffers of ~15 MB each ran at half speed); big enough to amortise the per-chunk work
#: (noise draws shared by the group, monitors) over many members
_GROUP_BYTES = 8 * 2**20


class SimulationInterrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM stopped a run that streams to a file; it can be resumed."""


@contextmanager
def _stop_on_signals(stop: list, enabled: bool):
    """While active, SIGINT/SIGTERM append to ``stop`` instead of killing the run."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        stop.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class SimulationDiverged(RuntimeError):
    """A state became NaN or infinite; ``result`` holds what was computed before."""

    def __init__(self, message: str, result: Result, time: float, region: str) -> None:
        super().__init__(message)
        self.result = result
        self.time = time
        self.region = region


@dataclass
class _Prepared:
    """Arrays the kernel needs, derived from the simulation's parameters."""

    n_batch: int
    batch_coords: dict[str, np.ndarray] | None
    p: np.ndarray
    cp: np.ndarray
    long: tuple[np.ndarray, ...]
    short: tuple[np.ndarray, ...]
    self_w: np.ndarray
    wsum: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    horizon: int
    amp: np.ndarray | None
    seeds: list[Any]


class Simulation:
    """A whole-brain network simulation.

    Parameters
    ----------
    connectome : Connectome
        Structural weights (``weights[i, j]``: from region j to region i) and
        tract lengths in mm.
    model : Model
        The region model (parameters scalar or per region).
    coupling : Coupling, default Linear()
        Long-range coupling function.
    speed : float, default 4.0
        Conduction speed, mm/ms. Delays are ``round(length / speed / dt)`` steps.
    dt : float, default 0.1
        Integration step, ms.
    integrator : {"heun", "euler", "rk4"}, default "heun"
        Scheme. With ``noise``, "euler" is Euler-Maruyama and "heun" the
        stochastic Heun scheme of TVB; "rk4" is deterministic only.
    noise : Additive, optional
        Additive white noise; None for a deterministic run.
    seed : int, optional
        Seeds the default initial history and the noise. The same seed gives
        bit-identical output whatever the chunk size.
    monitors : sequence of Monitor, default (TemporalAverage(1.0),)
        What to record.
    initial_history : array, optional
        Either a state of shape (n_state, n_regions), held constant over the
        history, or a history of shape (n_times, n_state, n_regions) whose
        last row is the state at t = 0 and which covers at least the longest
        delay (``n_times >= max delay steps + 1``). Values outside the model's
        state bounds are clamped to them (as TVB does). Default: every history
        sample drawn uniformly within the model's ``initial_range`` (TVB's
        default), seeded by ``seed``.
    stimuli : sequence of Stimulus or ClosedLoop, optional
        Virtual stimulation (``vbrain.stimulus``): each adds its waveform times
        its spatial pattern to its target variables' right-hand sides, applied at
        every step inside the compiled loop as TVB does (the step from t_n adds
        ``dt * I(t_n)``). A ``ClosedLoop``'s controller sets its gain every
        ``interval`` ms from the latest samples of a monitor (gain 0 until its
        first call).
    insets : dict of region label to Inset, optional
        Regions replaced by spiking or compartmental models
        (``vbrain.cosim.Inset``), exchanging with the network through
        rate <-> spike bridges at intervals no longer than their shortest
        delay (exact coupling). Their population rates, LFP and spike rasters
        are saved beside the monitors (``inset_<label>_rate`` / ``_lfp`` /
        ``_spikes``).
    """

    def __init__(self, connectome, model: Model, coupling: Coupling | None = None, *,
                 speed: float = 4.0, dt: float = 0.1, integrator: str = "heun",
                 noise: Additive | None = None, seed: int | None = None,
                 monitors: list[Monitor] | tuple[Monitor, ...] | None = None,
                 initial_history: np.ndarray | None = None,
                 stimuli: list | tuple | None = None, insets: dict | None = None) -> None:
        self.connectome = connectome
        self.model = model
        self.coupling = Linear() if coupling is None else coupling
        self.speed = speed
        self.dt = dt
        self.integrator = integrator
        self.noise = noise
        self.seed = seed
        self.monitors = (TemporalAverage(1.0),) if monitors is None else tuple(monitors)
        self.initial_history = initial_history
        self.stimuli = tuple(stimuli or ())
        self.insets = dict(insets or {})

    # -- parameters ------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Parameters, with nested ``model__x`` and ``coupling__x`` entries."""
        out: dict[str, Any] = {k: getattr(self, k) for k in
                               ("speed", "dt", "integrator", "noise", "seed")}
        out.update({f"model__{k}": v for k, v in self.model.get_params().items()})
        out.update({f"coupling__{k}": v for k, v in self.coupling.get_params().items()})
        return out

    def set_params(self, **params: Any) -> Simulation:
        """Set parameters, nested ones as ``model__x=...`` / ``coupling__x=...``."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise TypeError(f"Simulation has no parameter {key!r}.{suggest(key, valid)}")
            part, _, name = key.partition("__")
            if name:
                getattr(self, part).set_params(**{name: value})
            else:
                setattr(self, key, value)
        return self

    # -- running ---------------------------------------------------------
    def run(self, duration: float, *, chunk_steps: int | None = None,
            progress: bool | None = None, out: str | os.PathLike | None = None,
            overwrite: bool = False, checkpoint_every: float | None = None,
            resume: bool = False) -> Result:
        """Simulate ``duration`` ms.

        Parameters
        ----------
        duration : float
            Simulated time in ms: whole steps covering it, as TVB counts them
            (``ceil(duration / dt)``, forgiving float noise: 10.04 ms at dt 0.1
            ms is 101 steps, 3 * 0.1 ms is 3).
        chunk_steps : int, optional
            Steps per compiled chunk (default: as many as fit in ~4 MiB of
            scratch memory, at most 10 000). Results do not depend on it.
        progress : bool, optional
            Show a progress bar (default: when writing to a terminal).
        out : path-like, optional
            Stream every monitor's samples to this NetCDF file as the run goes
            (memory stays bounded); the returned Result reads from it lazily.
        overwrite : bool
            Replace an existing ``out`` file.
        checkpoint_every : float, optional
            With ``out``: write a checkpoint (``<out>.ckpt.npz``) about every
            this many simulated ms. SIGINT/SIGTERM always checkpoint (when
            ``out`` is given) and stop after the current chunk, leaving
            ``<out>.partial`` and the checkpoint.
        resume : bool
            With ``out``: continue from ``<out>.ckpt.npz`` if it exists (same
            simulation and arguments); the finished output is bit-identical
            to an uninterrupted run.

        Returns
        -------
        Result
            One labelled array per monitor.

        Raises
        ------
        SimulationDiverged
            When a state becomes NaN/Inf; its ``result`` holds the output so far.
        SimulationInterrupted
            On SIGINT/SIGTERM during a run with ``out``; resume with ``resume=True``.
        """
        if (checkpoint_every is not None or resume) and out is None:
            raise ValueError("checkpoint_every and resume need an output file: pass out=...")
        if (checkpoint_every is not None or resume) and (self.insets or self._closed_loops()):
            raise ValueError("Checkpoints do not cover insets or closed-loop controllers (their "
                             "state lives outside vbrain); run without checkpoint_every/resume.")
        if checkpoint_every is not None:
            check_range("checkpoint_every", checkpoint_every, 0.0, low_inclusive=False)
        return self._run(duration, {}, None, chunk_steps, progress, out, overwrite,
                         checkpoint_every, resume)

    def sweep(self, duration: float, *, seeds: list[int] | None = None, threads: int | None = None,
              chunk_steps: int | None = None, progress: bool | None = None,
              out: str | os.PathLike | None = None, overwrite: bool = False,
              **params: Any) -> Result:
        """Run B parameter sets in one compiled loop; outputs get a ``batch`` dim.

        Parameters
        ----------
        duration : float
            Simulated time, ms.
        seeds : list of int, optional
            One seed per batch member; default every member uses ``self.seed``
            (common random numbers), so each member equals its single run.
        threads : int or None, default None
            Threads advancing groups of members in parallel (the compiled loop
            releases the GIL); None uses every core. Large batches run as
            groups small enough for their delay buffers to stay in cache
            (about 8 MiB each), a pool of ``threads`` working through them.
            Members are independent, so results do not depend on either.
        **params : array
            ``model__<name>`` or ``coupling__<name>`` = values of shape (B,)
            or (B, n_regions) (per-region values); ``noise__nsig`` = noise
            intensities of shape (B,) or (B, n_state) (each member's
            ``Additive(nsig)``; the draws are shared as for any parameter).
            All must share B.
        chunk_steps, progress, out, overwrite
            As for :meth:`run`.

        Examples
        --------
        >>> res = sim.sweep(10_000, coupling__a=np.linspace(0, 0.05, 32))  # doctest: +SKIP
        """
        if not params and seeds is None:
            raise ValueError("sweep() needs at least one parameter array, e.g. coupling__a=[...].")
        sizes = {k: len(np.atleast_1d(v)) for k, v in params.items()}
        if seeds is not None:
            sizes["seeds"] = len(seeds)
        if len(set(sizes.values())) != 1:
            raise ValueError(f"All swept arrays must share the batch size; got {sizes}.")
        n_batch = next(iter(sizes.values()))
        n = self.connectome.n_regions
        for key, values in params.items():
            shape = np.shape(values)
            second = len(self.model.state_variables) if key == "noise__nsig" else n
            if shape not in ((n_batch,), (n_batch, second)):
                raise ValueError(f"{key} must have shape ({n_batch},) or ({n_batch}, {second}), "
                                 f"got {shape}.")
        if threads is None:
            threads = os.cpu_count() or 1
        threads = int(check_range("threads", threads, 1))
        threads = min(threads, n_batch)
        n_groups = -(-n_batch // self._group_size(n_batch, threads))
        if n_groups == 1 or (threads == 1 and out is not None):  # one loop (streams to out)
            return self._run(duration, params, seeds, chunk_steps, progress, out, overwrite)
        return self._threaded_sweep(duration, params, seeds, threads, n_groups, chunk_steps,
                                    out, overwrite)

    def _group_size(self, n_batch: int, threads: int) -> int:
        """Members per compiled loop: the batch split over the threads, capped for the cache."""
        delays = self.connectome.delay_steps(self.speed, self.dt)
        cols = 2 * (int(delays.max()) + 1 if delays.size else 1) + _BLOCK + _SLACK
        n_comp = self.coupling.n_components(len(type(self.model).cvar_indices()))
        per_member = 8 * n_comp * self.connectome.n_regions * cols
        return int(max(1, min(-(-n_batch // threads), _GROUP_BYTES // per_member)))

    def _threaded_sweep(self, duration, params, seeds, threads, n_groups, chunk_steps, out,
                        overwrite) -> Result:
        """Run groups of batch members on a pool of threads and join them on ``batch``."""
        import copy
        from concurrent.futures import ThreadPoolExecutor

        import xarray as xr

        if out is not None and Path(out).exists() and not overwrite:
            raise FileExistsError(f"{out} exists; pass overwrite=True to replace it.")
        n_batch = len(np.atleast_1d(next(iter(params.values())))) if params else len(seeds)
        groups = np.array_split(np.arange(n_batch), n_groups)
        shared = _SharedOutputs(n_batch)

        def part(idx: np.ndarray) -> tuple:
            sim = copy.deepcopy(self)  # monitors keep per-run state
            sub = {k: np.asarray(v)[idx] for k, v in params.items()}
            sub_seeds = None if seeds is None else [seeds[i] for i in idx]
            return sim._run(duration, sub, sub_seeds, chunk_steps, False, None, False,
                            group=(shared, slice(idx[0], idx[-1] + 1)))

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(part, groups))
        sinks = [sink for sink, _, _ in parts]
        data = {}
        for name in sinks[0].templates:
            if sinks[0].samples(name) is not None:  # into one array, each group its slice
                data[name] = _MemorySink.join(sinks, name, groups)
            else:  # whole arrays (inset spikes) or no samples
                joined = xr.concat([s.arrays()[name] for s in sinks], dim="batch",
                                   coords="different", compat="equals", join="exact")
                data[name] = joined.assign_coords(batch=np.arange(n_batch))
        result = Result(data, parts[0][1], parts[0][2])
        if out is not None:
            result.save(out, overwrite=overwrite)
        return result

    # -- internals -------------------------------------------------------
    def _closed_loops(self) -> list:
        from .stimulus import ClosedLoop

        return [s for s in self.stimuli if isinstance(s, ClosedLoop)]

    def _validate(self) -> None:
        from .connectome import Connectome

        validate_type("connectome", self.connectome, Connectome)
        validate_type("model", self.model, Model)
        validate_type("coupling", self.coupling, Coupling)
        check_range("speed", self.speed, 0.0, low_inclusive=False)
        check_range("dt", self.dt, 0.0, low_inclusive=False)
        check_option("integrator", self.integrator, SCHEMES)
        if self.seed is not None and (isinstance(self.seed, bool) or
                                      not isinstance(self.seed, (int, np.integer)) or
                                      self.seed < 0):
            raise TypeError(f"seed must be None or an integer >= 0, but got {self.seed!r}.")
        if self.noise is not None:
            validate_type("noise", self.noise, Additive)
            if self.integrator == "rk4":
                raise ValueError("integrator 'rk4' is deterministic; with noise use 'heun' or 'euler'.")
        for m in self.monitors:
            validate_type("monitor", m, Monitor)
        names = [m.name for m in self.monitors]
        if len(set(names)) != len(names):
            raise ValueError(f"Two monitors share an output name: {names}.")

    def _prepare(self, params: dict[str, Any], seeds: list[int] | None) -> _Prepared:
        conn, model = self.connectome, self.model
        n = conn.n_regions
        n_batch, batch_coords = 1, None
        p = model.parameter_array(n)[:, :, None]
        cp = self.coupling.parameter_array(n)[:, :, None]
        if params or seeds is not None:
            sizes = {k: len(np.atleast_1d(v)) for k, v in params.items()}
            if seeds is not None:
                sizes["seeds"] = len(seeds)
            if len(set(sizes.values())) != 1:
                raise ValueError(f"All swept arrays must share the batch size; got {sizes}.")
            n_batch = next(iter(sizes.values()))
            p = np.repeat(p, n_batch, axis=2)
            cp = np.repeat(cp, n_batch, axis=2)
            batch_coords = {}
            for key, values in params.items():
                if key == "noise__nsig":
                    batch_coords[key] = self._swept_noise(values, n_batch)
                    continue
                part, _, name = key.partition("__")
                table = {"model": (model.parameters, p), "coupling": (self.coupling.parameters, cp)}
                if part not in table or name not in table[part][0]:
                    valid = [f"model__{k}" for k in model.parameters] + \
                            [f"coupling__{k}" for k in self.coupling.parameters] + ["noise__nsig"]
                    raise TypeError(f"Cannot sweep {key!r}.{suggest(key, valid)} "
                                    f"Sweepable: {valid}.")
                names, target = table[part]
                if names[name].size > 1:
                    raise ValueError(f"Cannot sweep {key!r}: a vector parameter (its "
                                     f"{names[name].size} values are the same at every region).")
                row = (model if part == "model" else self.coupling).parameter_rows()[name]
                v = np.asarray(values, dtype=np.float64)
                if v.ndim == 1:
                    target[row] = v[None, :]
                elif v.shape == (n_batch, n):
                    target[row] = v.T
                else:
                    raise ValueError(f"{key} must have shape ({n_batch},) or ({n_batch}, {n}), "
                                     f"got {v.shape}.")
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"{key} must be finite.")
                batch_coords[key] = v
            if seeds is not None:
                batch_coords["seed"] = np.asarray(seeds)
            type(model).fill_derived(p)  # from each member's swept values
        w = conn.weights
        if self.insets:  # an inset's own recurrence lives inside it
            w = w.copy()
            for label in self.insets:
                if label in conn.labels:
                    i = list(conn.labels).index(label)
                    w[i, i] = 0.0
        delays = conn.delay_steps(self.speed, self.dt)
        self_now = np.eye(n, dtype=bool) & (delays == 0)  # zero-delay self-connections
        wsum = np.repeat(w.sum(axis=1), n_batch)
        amp = None
        n_state = len(model.state_variables)
        if "noise__nsig" in params:  # per member: (n_state, n_regions, n_batch)
            noise = Additive() if self.noise is None else self.noise
            amp = np.stack([noise.with_nsig(v).amplitude(n_state, n, self.dt)
                            for v in batch_coords["noise__nsig"]], axis=-1)
        elif self.noise is not None:
            amp = self.noise.amplitude(n_state, n, self.dt)
        return _Prepared(
            n_batch=n_batch, batch_coords=batch_coords,
            p=np.ascontiguousarray(p.reshape(p.shape[0], -1)),
            cp=np.ascontiguousarray(cp.reshape(cp.shape[0], -1)),
            long=_tiers(w, delays), short=_flat(w, delays, (delays < _SUB) & ~self_now),
            self_w=np.where(np.diag(self_now), np.diag(w), 0.0),
            wsum=wsum, weights=w, delays=delays,
            horizon=int(delays.max()) + 1 if delays.size else 1, amp=amp,
            seeds=[self.seed] * n_batch if seeds is None else list(seeds),
        )

    def _swept_noise(self, values: Any, n_batch: int) -> np.ndarray:
        """Validated noise intensities per member, (B,) or (B, n_state)."""
        if self.integrator == "rk4":
            raise ValueError("integrator 'rk4' is deterministic; sweep noise__nsig with 'heun' "
                             "or 'euler'.")
        v = np.asarray(values, dtype=np.float64)
        n_state = len(self.model.state_variables)
        if v.shape not in ((n_batch,), (n_batch, n_state)):
            raise ValueError(f"noise__nsig must have shape ({n_batch},) or ({n_batch}, "
                             f"{n_state}), got {v.shape}.")
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError("noise__nsig must be finite and non-negative.")
        return v

    def _check_history_fits(self, horizon: int, n_bytes: int) -> None:
        """A clear error, not a MemoryError, when the delays need more memory than the machine has
        (usually a speed given in the wrong unit)."""
        total = _memory_short_of(n_bytes)
        if total is not None:
            raise ValueError(
                f"The longest delay, {(horizon - 1) * self.dt:g} ms ({horizon - 1} steps of "
                f"dt={self.dt} ms at speed={self.speed} mm/ms), needs {byte_size(n_bytes)} of "
                f"delay history; this machine has {byte_size(total)}. Check the speed "
                "(mm/ms, i.e. m/s: 1-10 for axons) and the tract lengths (mm).")

    def _history(self, horizon: int, seeds: list[Any]) -> np.ndarray:
        """Initial history (horizon, n_state, n_regions, n_batch); last row is t = 0."""
        model, n = self.model, self.connectome.n_regions
        n_state, n_batch = len(model.state_variables), len(seeds)
        h = self.initial_history
        if h is None:  # TVB's default: uniform in each variable's initial range, per sample
            lo = np.array([sv.initial_range[0] for sv in model.state_variables])[:, None]
            hi = np.array([sv.initial_range[1] for sv in model.state_variables])[:, None]
            draws = {}
            for s in seeds:
                if s not in draws:
                    u = _history_generator(s).uniform(size=(horizon, n_state, n))
                    draws[s] = lo + (hi - lo) * u
            h = np.stack([draws[s] for s in seeds], axis=-1)
        h = np.asarray(h, dtype=np.float64)
        if h.ndim == 2:
            h = h[None]
        if h.ndim == 3:
            h = h[..., None]
        if h.ndim != 4 or h.shape[1:3] != (n_state, n) or h.shape[3] not in (1, n_batch):
            raise ValueError(
                f"initial_history must be (n_state, n_regions) = ({n_state}, {n}) or "
                f"(n_times, {n_state}, {n}), optionally with a last batch axis of "
                f"{n_batch}; got {np.shape(self.initial_history)}."
            )
        if not np.all(np.isfinite(h)):
            raise ValueError("initial_history must be finite.")
        if h.shape[0] == 1:
            h = np.repeat(h, horizon, axis=0)
        if h.shape[0] < horizon:
            raise ValueError(
                f"initial_history covers {h.shape[0]} steps, but the longest delay needs "
                f"{horizon} (max delay steps + 1) at speed {self.speed} mm/ms, dt {self.dt} ms."
            )
        # as TVB: every history row is clamped to the state bounds before the first step
        lo, hi = type(model).bounds_arrays()
        h = np.clip(h[-horizon:], lo[:, None, None], hi[:, None, None])
        return np.ascontiguousarray(np.broadcast_to(h, (horizon, n_state, n, n_batch)))

    def _run(self, duration, params, seeds, chunk_steps, progress, out, overwrite,
             checkpoint_every=None, resume=False, group=None) -> Result:
        """One compiled run. ``group`` = (shared outputs, slice of the batch) for a sweep's
        group (in memory): its samples go to its slice, and (sink, attrs, status) is
        returned to be joined with the other groups instead of a Result."""
        self._validate()
        check_range("duration", duration, 0.0, low_inclusive=False)
        model, conn = self.model, self.connectome
        prep = self._prepare(params, seeds)
        n_state, n, nb = len(model.state_variables), conn.n_regions, prep.n_batch
        m = n * nb
        n_total = _n_steps(duration, self.dt)
        if duration < self.dt * (1.0 - 1e-9):
            raise ValueError(f"duration {duration} ms is shorter than one step (dt={self.dt} ms).")
        info = RunInfo(self.dt, model.state_names(), tuple(sv.unit for sv in model.state_variables),
                       model, tuple(conn.labels), nb, conn)
        for mon in self.monitors:
            mon.setup(info)
        # steps summed per trace row: when every monitor only needs sums over the same
        # window (temporal averages), the loop adds the states up and writes one row per
        # window (a tenth of the bytes through memory for 1 ms at dt 0.1 ms); else every state
        # (insets exchange states, closed loops cut chunks at their own times: every state)
        windows = {mon.window() for mon in self.monitors if mon.reads == "state"}
        window = (windows.pop() if len(windows) == 1 and not (self.insets or self._closed_loops())
                  else 1)
        record_c = bool(self.insets) or any(mon.reads == "coupling" for mon in self.monitors)
        if chunk_steps is None:
            per_step = 8 * n_state * (m / window + (m if self.stimuli else 0))
            chunk_steps = int(max(1, min(10_000, _CHUNK_BYTES // per_step)))
            chunk_steps = max(window, chunk_steps // window * window)
        chunk_steps = int(check_range("chunk_steps", chunk_steps, 1))
        if chunk_steps % window:  # windows must not straddle chunks: every state instead
            window = 1

        cvar = tuple(int(i) for i in type(model).cvar_indices())  # a tuple: unrolled when compiled
        n_comp = self.coupling.n_components(len(cvar))
        lo, hi = type(model).bounds_arrays()
        bounded = bool(np.any(np.isfinite(lo) | np.isfinite(hi)))
        drive = None
        if self.stimuli:
            from .sim.drive import StimulusDrive

            drive = StimulusDrive(self.stimuli, model, conn, nb, self.dt, n_total)
            drive.check_monitors([mon.name for mon in self.monitors])
        colored = prep.amp is not None and self.noise is not None and self.noise.ntau > 0.0
        mul = (np.array([self.noise.a, self.noise.b]) if isinstance(self.noise, Multiplicative)
               else np.array([1.0, 0.0]))
        kernel, fill, rewrite_history = make_kernel(
            type(model).dfun, self.coupling.pre, self.coupling.post, SCHEMES[self.integrator],
            n_state=n_state, n_comp=n_comp, batched=nb > 1,
            noisy=prep.amp is not None, driven=drive is not None, bounded=bounded,
            record_c=record_c, colored=colored,
            multiplicative=prep.amp is not None and isinstance(self.noise, Multiplicative),
            uniform=(_uniform_rows(prep.p), _uniform_rows(prep.cp)))
        n_cols = 2 * prep.horizon + _BLOCK + _SLACK
        self._check_history_fits(prep.horizon, 8 * (prep.horizon * n_state * m + n_comp * n_cols * m))
        hist_states = self._history(prep.horizon, prep.seeds).reshape(prep.horizon, n_state, m)
        H = np.zeros((n_comp, n, n_cols, nb))
        p_pair, cp_pair = parameter_pair(prep.p), parameter_pair(prep.cp)
        fill(hist_states, cvar, cp_pair, H)
        x = hist_states[-1].copy()
        cur = prep.horizon - 1
        cosim = None
        if self.insets:
            from .cosim import CoSimulation

            cosim = CoSimulation(self.insets, self, prep.delays, prep.weights, prep.p, x,
                                 prep.seeds, reseed=seeds is not None, drive=drive)
        elif drive is not None and drive.inset_parts:
            raise ValueError("A stimulus targets InsetNeurons, but the simulation has no insets.")
        c_trace = np.empty((chunk_steps, len(cvar), m) if record_c else (1, 1, 1))
        S = np.zeros((_BLOCK, n_comp, m))
        acc = np.zeros(_BLOCK * nb + 8)

        templates = {}
        for mon in self.monitors:
            space = mon.space()
            templates[mon.name] = label_samples(
                mon.name, np.empty(0), np.empty((0, *(len(lab) for _, lab, _ in space), nb)),
                space, prep.batch_coords, {"monitor": repr(mon), **mon.attrs()})
        if cosim is not None:
            templates.update(cosim.templates(prep.batch_coords))
        attrs = self._provenance(n_total, params)
        no_incr = np.empty((0, n_state, m))
        keys = np.zeros(0, dtype=np.uint64)
        zrow, zamp = np.zeros(nb, dtype=np.int64), np.ones((n_state, n, 1))
        zactive = np.zeros(n_state, dtype=np.bool_)
        if prep.amp is not None:  # member b draws with key keys[zrow[b]] (one per distinct seed)
            distinct = list(dict.fromkeys(prep.seeds))
            keys = np.array([noise_key(s) for s in distinct], dtype=np.uint64)
            zrow = np.array([distinct.index(s) for s in prep.seeds], dtype=np.int64)
            zamp = prep.amp if prep.amp.ndim == 3 else prep.amp[:, :, None]
            zactive = np.any(zamp != 0.0, axis=(1, 2))  # variables with noise: drawn
        eta, decay = np.zeros((n_state, m)), np.array([0.0, 1.0])
        if colored:  # eta_0 ~ N(0, 1) per node, from each member's key (noise.py)
            decay = self.noise.decay(self.dt)
            eta0 = [standard_normals(k ^ ETA_KEY, 0, 1, n_state, n)[0] for k in keys]
            eta.reshape(n_state, n, nb)[...] = np.stack([eta0[r] for r in zrow], axis=-1)
        step = 0
        ckpt_path = None if out is None else Path(str(out) + ".ckpt.npz")
        config = self._config_hash(attrs, params, seeds, templates)
        if resume and ckpt_path.exists():
            state = checkpoint.load(ckpt_path, config)
            step, cur = state["step"], state["cur"]
            x[...] = state["x"]
            H[...] = state["H"]
            keys[...] = state["noise_keys"]  # a seed of None drew its key at random
            if state["noise_eta"].size:  # (checkpoints before coloured noise have none)
                eta[...] = state["noise_eta"]
            for mon, mon_state in zip(self.monitors, state["monitor_states"]):
                mon.set_state(mon_state)
            sink = ResultWriter.reopen(out, state["sizes"])
            if step % window:  # checkpointed mid-window by a run that kept every state
                window = 1
            logger.info("resuming %s at step %d of %d", out, step, n_total)
        elif out is None:
            sink = _MemorySink(templates, n_total * self.dt, *(group or (None, None)))
        else:  # a fresh start (resume without a checkpoint starts from the beginning)
            sink = ResultWriter(out, templates, attrs, overwrite=overwrite)
            if ckpt_path.exists():  # a stale checkpoint must never meet this new file
                ckpt_path.unlink()
        trace = np.empty((-(-chunk_steps // window), n_state, m))  # a row per window
        every = None if checkpoint_every is None else max(1, int(round(checkpoint_every / self.dt)))
        last_ckpt = step

        def save_checkpoint() -> None:
            sink.flush()
            checkpoint.save(ckpt_path, config=config, step=step, cur=cur, x=x, H=H,
                            noise_keys=keys, noise_eta=eta,
                            monitor_states=[mon.get_state() for mon in self.monitors],
                            sizes=sink.sizes())

        bad, status, stop, suspended = -1, "interrupted", [], False
        with _stop_on_signals(stop, enabled=out is not None):
            try:
                with tqdm(total=n_total, initial=step, unit="step", disable=False if progress
                          else (True if progress is False else None), leave=False) as bar:
                    while step < n_total and not stop:
                        n_chunk = min(chunk_steps, n_total - step)
                        if drive is not None and drive.loops:
                            n_chunk = min(n_chunk, drive.steps_to_boundary(step))
                        incr = no_incr
                        if drive is not None:  # stimuli: dt * I per node and step
                            incr = np.zeros((n_chunk, n_state, m))
                            drive.add(incr, step)

                        def advance(off: int, count: int, cur: int) -> tuple[int, int, int]:
                            return kernel(x, H, cur, prep.horizon - 1, count, self.dt, nb,
                                          _BLOCK, _SUB, *prep.long, *prep.short, prep.self_w,
                                          prep.wsum, cvar, p_pair,
                                          cp_pair, lo, hi, incr[off:off + count],
                                          keys, step + off, zactive, zrow, zamp, eta, decay,
                                          mul,
                                          trace[off:off + count], window, S, acc,
                                          c_trace[off:off + count] if record_c else c_trace)

                        def final_coupling() -> np.ndarray:
                            """c(t_N), the coupling after the last step (TVB records it): one
                            more step on copies of the state and history; (1, n_cvar, m)."""
                            c_last = np.empty((1, len(cvar), m))
                            kernel(x.copy(), H.copy(), cur, prep.horizon - 1, 1, self.dt, nb,
                                   _BLOCK, _SUB, *prep.long, *prep.short, prep.self_w, prep.wsum,
                                   cvar, p_pair, cp_pair, lo, hi,
                                   np.zeros((1, n_state, m)) if drive is not None else no_incr,
                                   keys, n_total, zactive, zrow, zamp, eta.copy(), decay, mul,
                                   np.empty((1, n_state, m)), 1, S, acc, c_last)
                            return c_last

                        if cosim is None:
                            done, bad, cur = advance(0, n_chunk, cur)
                        else:  # exchange with the insets at most every exchange_steps
                            done = 0
                            while done < n_chunk:
                                count = min(cosim.exchange_steps, n_chunk - done)
                                d, bad, cur = advance(done, count, cur)
                                if bad >= 0:
                                    done += d
                                    break
                                piece = trace[done:done + count]
                                cosim.exchange(c_trace[done:done + count], piece, x, step + done)
                                rewrite_history(piece, cosim.nodes, cvar, cp_pair, H, cur - count + 1)
                                done += count
                        rows = done // window  # whole windows (all of them but at the end)
                        chunk = trace[:rows].reshape(rows, n_state, n, nb)
                        if record_c:
                            # the coupling at the states' times: c_trace[r] is c(t_{step + r}),
                            # TVB's sample at that time (c(t_0), before the first step, is not
                            # one); c(t_N) after the last step comes from one more evaluation
                            first = 1 if step == 0 else 0
                            c_rows = c_trace[first:done]
                            if step + done == n_total and bad < 0:
                                c_rows = np.concatenate([c_rows, final_coupling()])
                            c_rows = c_rows.reshape(len(c_rows), len(cvar), n, nb)
                        for mon in self.monitors:
                            if mon.reads == "coupling":
                                t, samples = mon.consume(c_rows, step + first - 1)
                            else:
                                t, samples = (mon.consume(chunk, step) if window == 1
                                              else mon.consume_sums(chunk, step))
                            if drive is not None:
                                drive.observe(mon.name, t, samples)
                            sink.append(mon.name, t, samples if nb > 1 or prep.batch_coords
                                        else samples[..., 0])
                        if cosim is not None:
                            for name, t, samples in cosim.drain():
                                sink.append(name, t, samples if nb > 1 or prep.batch_coords
                                            else samples[..., 0])
                        step += done
                        if drive is not None and bad < 0:
                            drive.control(step)
                        bar.update(done)
                        if bad >= 0:
                            break
                        if every is not None and step - last_ckpt >= every and step < n_total:
                            save_checkpoint()
                            last_ckpt = step
                if bad >= 0:
                    region = conn.labels[bad // nb]
                    t_bad = (step + 1) * self.dt
                    status = f"diverged at t={t_bad:g} ms in region {region!r}"
                elif step >= n_total:
                    status = "complete"
                else:  # stopped by a signal: checkpoint and keep the partial file
                    save_checkpoint()
                    partial = sink.suspend()
                    suspended = True
                    raise SimulationInterrupted(
                        f"Simulation stopped at t = {step * self.dt:g} ms of {duration:g} ms; "
                        f"output so far in {partial}, checkpoint in {ckpt_path}. Continue with "
                        "the same call plus resume=True (CLI: --resume).")
            finally:  # on errors too: keep what was computed, marked as such
                if cosim is not None:
                    for name, da in cosim.spikes().items():
                        sink.add(name, da)
                if out is None and group is not None and bad < 0:
                    result = (sink, attrs, status)
                elif out is None:
                    result = Result(sink.arrays(), attrs, status)
                elif status != "interrupted":
                    result = Result.load(sink.close(status), lazy=True)
                    if ckpt_path.exists():
                        ckpt_path.unlink()
                elif not suspended:  # an unexpected error: the partial file stays partial
                    sink.suspend()
        if bad >= 0:
            member = f", batch member {bad % nb}" if nb > 1 else ""
            raise SimulationDiverged(
                f"Simulation diverged: a state became NaN/Inf at t = {t_bad:g} ms in region "
                f"{region!r} (index {bad // nb}){member}. The {step * self.dt:g} ms computed "
                "before are in this error's .result; try a smaller dt or check parameters.",
                result, t_bad, region)
        return result

    def _config_hash(self, attrs: dict[str, Any], params: dict[str, Any], seeds: Any,
                     templates: dict[str, Any]) -> str:
        """Hash of everything that shapes a run's output (refuses mismatched resumes)."""
        h = hashlib.sha256(json.dumps(attrs, sort_keys=True, default=str).encode())
        h.update(json.dumps({k: np.asarray(v).tolist() for k, v in params.items()}).encode())
        h.update(repr(seeds).encode())
        h.update(repr(sorted(templates)).encode())
        h.update(repr([repr(m) for m in self.monitors]).encode())
        if self.initial_history is not None:
            h.update(np.ascontiguousarray(self.initial_history, dtype=np.float64).tobytes())
        return h.hexdigest()

    def _provenance(self, n_total: int, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "vbrain_version": __version__,
            "model": type(self.model).__name__,
            "model_params": {k: np.asarray(v).tolist() for k, v in self.model.get_params().items()},
            "coupling": type(self.coupling).__name__,
            "coupling_params": {k: np.asarray(v).tolist()
                                for k, v in self.coupling.get_params().items()},
            "integrator": self.integrator, "dt_ms": self.dt, "speed_mm_per_ms": self.speed,
            "noise": repr(self.noise), "seed": -1 if self.seed is None else self.seed,
            "connectome": getattr(self.connectome, "name", "") or "",
            "connectome_sha256": self.connectome.checksum(),
            "n_steps": n_total,
            "swept": json.dumps(sorted(params)) if params else "[]",
        }


class _MemorySink:
    """Collects monitor samples in memory; ``arrays()`` labels them like the templates.

    Each output goes into one buffer sized at its first samples from the run's
    duration (grown if that falls short), so the samples are copied once.
    """

    def __init__(self, templates: dict[str, Any], duration: float,
                 shared: _SharedOutputs | None = None, members: slice | None = None) -> None:
        self.templates = templates
        self.duration = duration  # ms
        self.shared, self.members = shared, members  # a sweep's group: its slice of batch
        self.filled: dict[str, list] = {}  # name -> [list of time arrays, buffer, rows used]

    def append(self, name: str, times: np.ndarray, samples: np.ndarray) -> None:
        if not len(times):
            return
        entry = self.filled.get(name)
        if entry is None:
            expected = len(times) * self.duration / times[-1] if times[-1] > 0 else len(times)
            rows = max(len(times), int(np.ceil(1.01 * expected)) + 2)
            n_bytes = rows * samples[0].nbytes * (1 if self.shared is None else
                                                  self.shared.n_batch / samples.shape[-1])
            total = _memory_short_of(n_bytes)
            if total is not None:
                raise ValueError(
                    f"Keeping the {name!r} output of this run in memory needs "
                    f"{byte_size(n_bytes)} ({rows} samples of {samples[0].nbytes} bytes); this "
                    f"machine has {byte_size(total)}. Stream it to a file (out=...), "
                    "or record less: a TemporalAverage instead of Raw, fewer variables, a shorter "
                    "run.")
            if self.shared is not None:
                buf = self.shared.buffer(name, rows, samples.shape[1:-1],
                                         samples.dtype)[..., self.members]
            else:
                buf = np.empty((rows, *samples.shape[1:]), dtype=samples.dtype)
            entry = self.filled[name] = [[], buf, 0]
        stamps, buf, n = entry
        if n + len(times) > len(buf):  # the first guess was short
            grown = np.empty((max(2 * len(buf), n + len(times)), *buf.shape[1:]), dtype=buf.dtype)
            grown[:n] = buf[:n]
            entry[1] = buf = grown
        buf[n:n + len(times)] = samples
        stamps.append(times)
        entry[2] = n + len(times)

    def add(self, name: str, da: Any) -> None:
        """Keep a whole labelled array (e.g. a spike raster) beside the monitors."""
        self.templates[name] = da
        self.filled.pop(name, None)

    def samples(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(times, data) of output ``name``, or None without samples."""
        if name not in self.filled:
            return None
        stamps, buf, n = self.filled[name]
        return np.concatenate(stamps), buf[:n]

    def arrays(self) -> dict[str, Any]:
        out = {}
        for name, tpl in self.templates.items():
            got = self.samples(name)
            out[name] = tpl if got is None else _labelled(tpl, *got)
        return out

    @staticmethod
    def join(sinks: list, name: str, groups: list) -> Any:
        """Output ``name`` of a sweep's groups (members ``groups[g]`` in ``sinks[g]``)
        as one (time, ..., batch) array: the groups' shared buffer when every group
        wrote its slice of it, else a copy."""
        times, first = sinks[0].samples(name)
        shared = sinks[0].shared.buffers.get(name) if sinks[0].shared is not None else None
        if shared is not None and all(
                s.filled[name][1].base is shared and s.filled[name][2] == len(times)
                for s in sinks):
            data = shared[:len(times)]
        else:  # a group outgrew the shared buffer
            data = np.empty((*first.shape[:-1], sum(len(g) for g in groups)), dtype=first.dtype)
            for sink, idx in zip(sinks, groups):
                data[..., idx[0]:idx[-1] + 1] = sink.samples(name)[1]
        tpl = sinks[0].templates[name]
        batch = {k: np.concatenate([s.templates[name][k].values for s in sinks])
                 for k, c in tpl.coords.items() if c.dims == ("batch",)}
        return _labelled(tpl, times, data, batch)


class _SharedOutputs:
    """One (time, ..., batch) buffer per output, written in slices by a sweep's groups."""

    def __init__(self, n_batch: int) -> None:
        self.n_batch = n_batch
        self.buffers: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def buffer(self, name: str, rows: int, shape: tuple, dtype: Any) -> np.ndarray:
        with self.lock:  # the first group to produce samples sizes it
            if name not in self.buffers:
                self.buffers[name] = np.empty((rows, *shape, self.n_batch), dtype=dtype)
            return self.buffers[name]


def _labelled(tpl: Any, times: np.ndarray, data: np.ndarray, batch: dict | None = None) -> Any:
    """``tpl``'s labels around ``times`` and ``data`` (and new coordinates along batch).

    Built around the data: reindexing the empty template would first fill a NaN
    array of the full size.
    """
    import xarray as xr

    coords = {k: c for k, c in tpl.coords.items() if "time" not in c.dims}
    for k, values in (batch or {}).items():
        coords[k] = ("batch", np.arange(len(values)) if k == "batch" else values,
                     tpl.coords[k].attrs)
    coords["time"] = ("time", times, tpl["time"].attrs)
    return xr.DataArray(data, dims=tpl.dims, coords=coords, name=tpl.name, attrs=tpl.attrs)


def _uniform_rows(p: np.ndarray) -> tuple[int, ...]:
    """Rows of a (n_params, n_nodes) parameter array holding one value at every node."""
    return tuple(int(j) for j in range(p.shape[0]) if np.all(p[j] == p[j, 0]))


def _flat(weights: np.ndarray, delays: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, ...]:
    """Non-zero connections where ``keep``, as (target, source, weight, delay) lists."""
    rows, cols = np.nonzero((weights != 0) & keep)  # row-major: per target, sources in order
    return (rows.astype(np.int64), cols.astype(np.int64), weights[rows, cols].astype(np.float64),
            delays[rows, cols].astype(np.int64))


def _physical_memory() -> int | None:
    """Bytes of physical memory, or None where the OS does not say (no sysconf: Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _memory_short_of(n_bytes: float) -> int | None:
    """The machine's memory in bytes when ``n_bytes`` exceed it, else None."""
    total = _physical_memory()
    return total if total is not None and n_bytes > total else None


def _n_steps(duration: float, dt: float) -> int:
    """Steps covering ``duration``: ceil(duration / dt), but a ratio within 1e-9 of a whole
    number (0.3 / 0.1 = 2.9999999999999996) counts as that number."""
    steps = duration / dt
    whole = round(steps)
    return int(whole) if abs(steps - whole) <= 1e-9 * max(1.0, steps) else math.ceil(steps)


def _tiers(weights: np.ndarray, delays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Far (delay >= _BLOCK) and near (_SUB <= delay < _BLOCK) connections grouped by target.

    Returns (ptr, source, weight, delay): tier t's connections into region i are
    entries ptr[t, i] to ptr[t, i + 1] of the other three (far ones first).
    """
    n = weights.shape[0]
    far = delays >= _BLOCK
    parts = [_flat(weights, delays, keep) for keep in (far, ~far & (delays >= _SUB))]
    ptr = np.zeros((2, n + 1), dtype=np.int64)
    offset = 0
    for t, (rows, *_) in enumerate(parts):
        ptr[t, 1:] = offset + np.cumsum(np.bincount(rows, minlength=n))
        ptr[t, 0] = offset
        offset += len(rows)
    return (ptr,) + tuple(np.concatenate([part[f] for part in parts]) for f in (1, 2, 3))


def _history_generator(seed: Any) -> np.random.Generator:
    """The initial history's generator: stream 0 of the seed (stream 1 keys the noise,
    sim/normals.py's noise_key)."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])

