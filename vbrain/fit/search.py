r"""Parameter searches on the engine's batch axis: grids, differential evolution, CMA-ES.

Every search turns a set of candidate parameter sets into **batched sweeps**
(:meth:`vbrain.Simulation.sweep`): B candidates advance in one compiled loop
and one objective call scores all of them. What varies per candidate:

``model__<name>``, ``coupling__<name>``
    Batched: values of shape (P,), or (P, n_regions) for **per-region**
    parameters (e.g. a regional excitability vector).
``noise__nsig``
    Batched: one noise intensity per candidate (every state variable).
``speed``, ``dt``
    Not batchable (they shape the delays and the step): candidates are
    grouped by these values and each group runs as its own sweep(s).

Randomness: with ``seeds=None`` every candidate uses the simulation's
``seed`` (common random numbers: the same noise realisation for every
candidate, which makes the score landscape smooth in the parameters and the
comparison fair); a list of per-point seeds gives each candidate its own.
Either way a candidate's score does not depend on which batch it ran in.

Feedback inhibition control (Deco et al. 2014): with ``fic=True`` (or a
:class:`FIC`) and a :class:`~vbrain.models.ReducedWongWangExcInh` model,
:func:`~vbrain.models.tune_fic` re-tunes the inhibitory weights ``J_i`` of
every candidate for its own global coupling (and model parameters) before
the sweep; they enter the sweep as a (B, n_regions) ``model__J_i`` array.

Searches
--------
- :func:`grid_search`: the Cartesian grid, in sweeps of at most ``batch_size``
  points; returns the scores as an ``xarray.DataArray`` over the grid.
- :func:`de_search`: :func:`scipy.optimize.differential_evolution` with
  ``vectorized=True``: each generation's population is scored as **one** sweep.
- :func:`cma_search`: CMA-ES (pycma's ask-and-tell): each generation is one
  sweep. It scales to many dimensions (per-region parameters: a 76-vector)
  where differential evolution's population (15 x dimensions) does not.

All three take ``client=`` to spread the sweeps over a Dask cluster
(:mod:`vbrain.parallel`); the scores equal the serial ones bit for bit.
"""

from __future__ import annotations

import copy
import inspect
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._check import check_range, suggest, validate_type
from .objectives import Objective

logger = logging.getLogger(__name__)

__all__ = [
    "FIC",
    "SearchResult",
    "best_params",
    "cma_search",
    "de_search",
    "evaluate",
    "fic_inhibition",
    "grid_search",
    "plan_chunks",
    "run_chunk",
]

#: non-batchable parameters a search may vary (grouped into separate sweeps)
GROUPED = ("speed", "dt")
#: parameters with one scalar per candidate (never per region)
SCALAR = (*GROUPED, "noise__nsig")
#: loss given to candidates that cannot be scored (NaN) inside optimisers
NAN_PENALTY = 1e6


@dataclass(frozen=True)
class FIC:
    """Feedback inhibition control for every candidate (Deco et al. 2014).

    Parameters
    ----------
    target_rate : float, default 3.0
        Excitatory rate every region is clamped to, Hz.
    """

    target_rate: float = 3.0


# -- parameters -------------------------------------------------------------------------
def _as_fic(fic: Any) -> FIC | None:
    if fic is None or fic is False:
        return None
    if fic is True:
        return FIC()
    return validate_type("fic", fic, FIC)


def _check_names(sim: Any, names: Sequence[str], fic: FIC | None) -> None:
    """Reject parameters the simulation cannot vary, naming the valid ones."""
    valid = [f"model__{k}" for k in sim.model.parameters] + \
            [f"coupling__{k}" for k in sim.coupling.parameters] + list(SCALAR)
    for name in names:
        if name not in valid:
            raise TypeError(f"Cannot search {name!r}.{suggest(name, valid)} Searchable: "
                            f"model__<param>, coupling__<param>, {', '.join(SCALAR)}.")
    if fic is not None:
        from ..models import ReducedWongWangExcInh

        if not isinstance(sim.model, ReducedWongWangExcInh):
            raise TypeError(f"fic needs a ReducedWongWangExcInh model, but the simulation has "
                            f"{type(sim.model).__name__}.")
        if type(sim.coupling).__name__ != "Linear" or np.any(sim.coupling.b != 0.0) \
                or np.ndim(sim.coupling.a) != 0:
            raise TypeError(f"fic assumes a Linear coupling without offset and one a for every "
                            f"region (c = a W S_e), but "
                            f"the simulation has {sim.coupling!r}.")
        if "model__J_i" in names:
            raise ValueError("fic computes model__J_i; do not search it as well.")


def _points(sim: Any, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Candidate values as arrays (P,) or (P, n_regions); all share P."""
    n = sim.connectome.n_regions
    out: dict[str, np.ndarray] = {}
    for name, values in params.items():
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 0:
            v = v[None]
        if v.ndim == 2 and (name in SCALAR or v.shape[1] != n):
            raise ValueError(f"{name} values must have shape (P,)" +
                             ("" if name in SCALAR else f" or (P, {n}) (per region)") +
                             f", got {v.shape}.")
        if v.ndim > 2:
            raise ValueError(f"{name} values must have shape (P,) or (P, {n}), got {v.shape}.")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} values must be finite.")
        out[name] = v
    sizes = {k: len(v) for k, v in out.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"All candidate arrays must have the same length P; got {sizes}.")
    return out


def _n_points(points: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(points.values()))) if points else 0


def _group_keys(points: Mapping[str, np.ndarray], n: int) -> list[tuple]:
    grouped = [k for k in GROUPED if k in points]
    return [tuple(float(points[k][i]) for k in grouped) for i in range(n)]


def plan_chunks(points: Mapping[str, np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Split candidate indices into sweeps of at most ``batch_size``, never mixing groups.

    Candidates sharing the non-batchable values (speed, dt) are kept
    together in their original order; the plan depends only on the points
    and ``batch_size`` (so a resumed sweep finds the same tasks).
    """
    batch_size = int(check_range("batch_size", batch_size, 1))
    n = _n_points(points)
    keys = _group_keys(points, n)
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    chunks = []
    for idx in groups.values():
        idx = np.asarray(idx, dtype=np.int64)
        for start in range(0, len(idx), batch_size):
            chunks.append(idx[start:start + batch_size])
    return chunks


# -- FIC ----------------------------------------------------------------------------------
def fic_inhibition(sim: Any, params: Mapping[str, np.ndarray], fic: FIC | bool = True,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per-candidate FIC weights ``J_i`` for a ReducedWongWangExcInh sweep.

    Parameters
    ----------
    sim : Simulation
        With a ReducedWongWangExcInh model and a Linear coupling.
    params : dict of str to array
        The candidates' batched values (``coupling__a`` and any ``model__*``,
        (B,) or (B, n_regions)); the rest comes from ``sim``.
    fic : FIC or True

    Returns
    -------
    J_i : ndarray (B, n_regions)
        Inhibitory weights, nA (the model's own ``J_i`` where tuning failed).
    ok : ndarray of bool (B,)
        False where the target rate cannot be reached (the candidate is
        scored NaN) ; unstable tuned states are logged, not rejected.
    """
    from ..models import tune_fic

    fic = _as_fic(fic)
    n_batch = _n_points(params) if params else 1
    weights = sim.connectome.weights
    n = sim.connectome.n_regions
    J = np.empty((n_batch, n))
    ok = np.ones(n_batch, dtype=bool)
    unstable = []
    for b in range(n_batch):
        model = copy.deepcopy(sim.model)
        member = {k.partition("__")[2]: v[b] for k, v in params.items() if k.startswith("model__")}
        if member:
            model.set_params(**member)
        a = float(params["coupling__a"][b]) if "coupling__a" in params else float(sim.coupling.a)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                J[b] = tune_fic(model, weights, a, target_rate=fic.target_rate)
            if any("unstable" in str(w.message) for w in caught):
                unstable.append(b)
        except (ValueError, RuntimeError) as err:
            logger.info("FIC: candidate %d (a=%g) cannot be tuned: %s", b, a, err)
            J[b] = np.broadcast_to(np.asarray(sim.model.J_i, dtype=float), (n,))
            ok[b] = False
    if unstable:
        logger.info("FIC: the tuned steady state is unstable for %d of %d candidate(s) "
                    "(strong coupling); they are simulated anyway", len(unstable), n_batch)
    return J, ok


# -- running candidates -----------------------------------------------------------------------
def _sweep_scores(sim: Any, duration: float, objective: Objective, params: dict[str, np.ndarray],
                  seeds: list[int] | None, threads: int | None) -> np.ndarray:
    """One sweep, scored; a diverging batch is split until the culprits are alone (NaN)."""
    from ..simulation import SimulationDiverged

    n_batch = _n_points(params) if params else len(seeds or [])
    try:
        res = sim.sweep(duration, seeds=seeds, threads=threads, progress=False, **params)
    except SimulationDiverged as err:
        if n_batch == 1:
            logger.info("candidate diverged: %s", err)
            return np.array([np.nan])
        half = n_batch // 2
        parts = []
        for sl in (slice(0, half), slice(half, None)):
            sub = {k: v[sl] for k, v in params.items()}
            parts.append(_sweep_scores(sim, duration, objective, sub,
                                       None if seeds is None else seeds[sl], threads))
        return np.concatenate(parts)
    scores = np.asarray(objective(res), dtype=np.float64).reshape(-1)
    if scores.shape != (n_batch,):
        raise RuntimeError(f"The objective returned {scores.shape[0]} scores for a batch of "
                           f"{n_batch}; it must return one per batch member.")
    return scores


def run_chunk(sim: Any, duration: float, objective: Objective, params: Mapping[str, Any],
              seeds: Sequence[int] | None = None, fic: FIC | bool | None = None,
              threads: int | None = 1) -> np.ndarray:
    """Score one chunk of candidates (the unit of work of a search and of a Dask task).

    Parameters
    ----------
    sim : Simulation
        Copied before use (monitors keep per-run state), so one object can be
        shared by concurrent tasks.
    duration : float
        Simulated ms per candidate.
    objective : Objective
        Scores every batch member.
    params : dict of str to array
        Candidate values, (B,) or (B, n_regions); grouped parameters
        (``speed``, ``dt``) may vary within the chunk; ``noise__nsig`` is batched.
    seeds : sequence of int, optional
        One seed per candidate (default: every candidate uses ``sim.seed``).
    fic : FIC or bool, optional
        Re-tune ``J_i`` per candidate (ReducedWongWangExcInh).
    threads : int or None, default 1
        Threads of each sweep (None: every core).

    Returns
    -------
    ndarray (B,)
        Scores; NaN for candidates that diverged, could not be scored or
        whose FIC tuning failed.
    """
    fic = _as_fic(fic)
    points = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    n = _n_points(points) if points else len(seeds or [])
    if n == 0:
        return np.empty(0)
    scores = np.full(n, np.nan)
    keys = _group_keys(points, n)
    grouped = [k for k in GROUPED if k in points]
    for key in dict.fromkeys(keys):
        idx = np.array([i for i in range(n) if keys[i] == key], dtype=np.int64)
        gsim = copy.deepcopy(sim)
        for name, value in zip(grouped, key):
            gsim.set_params(**{name: value})
        sub = {k: v[idx] for k, v in points.items() if k not in GROUPED}
        sub_seeds = None if seeds is None else [int(seeds[i]) for i in idx]
        ok = np.ones(len(idx), dtype=bool)
        if fic is not None:
            J, ok = fic_inhibition(gsim, sub, fic)
            sub["model__J_i"] = J
        if not sub and sub_seeds is None:  # nothing batched: a one-member sweep
            sub = {"coupling__" + next(iter(gsim.coupling.parameters)):
                   np.array([next(iter(gsim.coupling.get_params().values()))] * len(idx))}
            # (a per-region first parameter gives (members, regions): still a valid sweep)
        part = _sweep_scores(gsim, duration, objective, sub, sub_seeds, threads)
        part[~ok] = np.nan
        scores[idx] = part
    return scores


def evaluate(sim: Any, duration: float, objective: Objective, points: Mapping[str, Any], *,
             seeds: Sequence[int] | None = None, batch_size: int | None = None,
             threads: int | None = None, fic: FIC | bool | None = None,
             client: Any = None, out_dir: Any = None, retries: int = 2,
             progress: bool | None = None) -> np.ndarray:
    """Score P candidates in batched sweeps of at most ``batch_size``.

    Parameters
    ----------
    sim, duration, objective, fic
        As in :func:`run_chunk`.
    points : dict of str to array
        Candidate values, (P,) or (P, n_regions) each.
    seeds : sequence of int, optional
        One seed per candidate (default: all use ``sim.seed``).
    batch_size : int, optional
        Largest batch of one sweep (memory grows with it). Default 64 in
        this process; with Dask, about two tasks per worker (at most 64).
    threads : int or None, default None
        Threads per sweep in serial mode (None: every core).
    client : None, "local", "sync", address or dask.distributed.Client
        None runs in this process; anything else goes through
        :func:`vbrain.parallel.run_points` (one task per sweep).
    out_dir : path-like, optional
        Save each finished sweep's scores there and resume from them
        (:func:`vbrain.parallel.run_points`; implies ``client="sync"`` when
        no client is given).
    retries : int, default 2
        Retries of a failed task (Dask only).
    progress : bool, optional
        Progress bar over sweeps (default: when writing to a terminal).

    Returns
    -------
    ndarray (P,)
        Scores in the candidates' order (NaN where a candidate failed).
    """
    fic = _as_fic(fic)
    pts = _points(sim, points)
    _check_names(sim, list(pts), fic)
    if seeds is not None:
        seeds = [int(s) for s in seeds]
        if len(seeds) != _n_points(pts):
            raise ValueError(f"seeds has {len(seeds)} entries for {_n_points(pts)} candidates.")
    if sim.seed is None and seeds is None:
        logger.warning("sim.seed is None: scores are not reproducible; set a seed.")
    if client is not None or out_dir is not None:
        from ..parallel import run_points

        return run_points(sim, duration, objective, pts, seeds=seeds, chunk_size=batch_size,
                          fic=fic, client="sync" if client is None else client,
                          out_dir=out_dir, retries=retries, progress=progress,
                          threads=threads if client is None else "auto")
    chunks = plan_chunks(pts, 64 if batch_size is None else batch_size)
    scores = np.full(_n_points(pts), np.nan)
    for idx in tqdm(chunks, desc="sweeps", unit="sweep", leave=False,
                    disable=False if progress else (True if progress is False else None)):
        sub = {k: v[idx] for k, v in pts.items()}
        sub_seeds = None if seeds is None else [seeds[i] for i in idx]
        scores[idx] = run_chunk(sim, duration, objective, sub, sub_seeds, fic, threads)
    return scores


# -- grid ------------------------------------------------------------------------------------
def grid_search(sim: Any, duration: float, objective: Objective, *,
                seeds: Sequence[int] | None = None, batch_size: int | None = None,
                threads: int | None = None, fic: FIC | bool | None = None, client: Any = None,
                out_dir: Any = None, retries: int = 2, progress: bool | None = None,
                **param_grids: Any):
    """Score every point of a Cartesian parameter grid, in batched sweeps.

    Parameters
    ----------
    sim : Simulation
        The model to fit (its ``seed`` is every point's seed unless ``seeds``).
    duration : float
        Simulated ms per point.
    objective : Objective
        Scores the batch (see :mod:`vbrain.fit.objectives`).
    **param_grids : array
        One grid axis per parameter: ``coupling__a=np.linspace(0, 0.02, 16)``;
        a per-region parameter takes an array (k, n_regions) of k vectors;
        ``noise__nsig=[...]`` rides the batch axis too; ``speed=[...]``, ``dt=[...]`` vary
        between sweeps.
    seeds : sequence of int, optional
        One seed per grid point, in C order of the grid (default: all use
        ``sim.seed``).
    batch_size, threads, fic, client, out_dir, retries, progress
        As in :func:`evaluate`.

    Returns
    -------
    xarray.DataArray
        Scores with one dim per parameter (in the order given; coordinates
        = the values; a per-region axis is indexed 0..k-1 with the vectors
        in ``attrs["<name>_values"]``, an array (k, n_regions)). attrs:
        ``objective``, ``higher_is_better`` (0/1), ``duration_ms``, ``seed``.

    Examples
    --------
    >>> scores = grid_search(sim, 60_000, FCCorrelation(fc_emp, transient=20_000),
    ...                      coupling__a=np.linspace(0, 0.02, 32))     # doctest: +SKIP
    >>> best_params(scores)                                             # doctest: +SKIP
    {'coupling__a': 0.0071}
    """
    import xarray as xr

    if not param_grids:
        raise ValueError("grid_search needs at least one parameter grid, e.g. "
                         "coupling__a=np.linspace(0, 0.02, 16).")
    validate_type("objective", objective, Objective)
    n = sim.connectome.n_regions
    axes: list[np.ndarray] = []
    coords: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    for name, values in param_grids.items():
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 0:
            v = v[None]
        if v.ndim == 2 and v.shape[1] == n and name not in SCALAR:
            coords[name] = np.arange(v.shape[0])
            vectors[f"{name}_values"] = v
        elif v.ndim != 1:
            raise ValueError(f"The grid of {name} must be 1-D, or (k, {n}) for a per-region "
                             f"parameter; got shape {v.shape}.")
        else:
            coords[name] = v
        axes.append(v)
    shape = tuple(len(a) for a in axes)
    index = np.indices(shape).reshape(len(shape), -1)
    points = {name: axes[k][index[k]] for k, name in enumerate(param_grids)}
    scores = evaluate(sim, duration, objective, points, seeds=seeds, batch_size=batch_size,
                      threads=threads, fic=fic, client=client, out_dir=out_dir,
                      retries=retries, progress=progress)
    return xr.DataArray(
        scores.reshape(shape), dims=list(param_grids), coords=coords, name=objective.name,
        attrs={"objective": repr(objective), "higher_is_better": int(objective.higher_is_better),
               "duration_ms": float(duration), "seed": -1 if sim.seed is None else sim.seed,
               "long_name": f"{objective.name} over the grid", **vectors})


def best_params(scores: Any) -> dict[str, Any]:
    """The best grid point of :func:`grid_search` scores (NaN ignored).

    Uses ``scores.attrs["higher_is_better"]``; per-region axes give their
    vector. Raises ValueError when every score is NaN.
    """
    values = np.asarray(scores.values, dtype=np.float64)
    if not np.any(np.isfinite(values)):
        raise ValueError("Every grid point scored NaN: no best point.")
    higher = bool(scores.attrs.get("higher_is_better", 0))
    flat = np.where(np.isfinite(values), values, -np.inf if higher else np.inf).ravel()
    pos = np.unravel_index(int(np.argmax(flat) if higher else np.argmin(flat)), values.shape)
    out: dict[str, Any] = {}
    for dim, i in zip(scores.dims, pos):
        if f"{dim}_values" in scores.attrs:
            out[dim] = np.asarray(scores.attrs[f"{dim}_values"])[i].copy()
        else:
            out[dim] = float(scores[dim].values[i])
    return out


# -- optimisers ---------------------------------------------------------------------------------
class _Space:
    """Map between optimiser vectors in [0, 1]^D and named parameters (scalar or per region)."""

    def __init__(self, sim: Any, bounds: Mapping[str, Any]) -> None:
        if not bounds:
            raise ValueError("bounds must name at least one parameter, e.g. "
                             "{'coupling__a': (0.0, 0.02)}.")
        n = sim.connectome.n_regions
        self.names, self.sizes, lo, hi = [], [], [], []
        for name, b in bounds.items():
            arr = np.asarray(b, dtype=np.float64)
            if arr.shape == (2,):
                size = 1
            elif arr.shape == (n, 2) and name not in SCALAR:
                size = n
            else:
                raise ValueError(f"bounds[{name!r}] must be (low, high), or ({n}, 2) for a "
                                 f"per-region parameter; got shape {arr.shape}.")
            arr = arr.reshape(size, 2)
            if not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
                raise ValueError(f"bounds[{name!r}] must be finite with low < high, got "
                                 f"{arr.tolist() if size == 1 else '(per-region)'}.")
            self.names.append(name)
            self.sizes.append(size)
            lo.append(arr[:, 0])
            hi.append(arr[:, 1])
        self.lo, self.hi = np.concatenate(lo), np.concatenate(hi)
        self.dim = self.lo.size

    def to_params(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Unit vectors (D, S) -> parameter arrays (S,) / (S, n)."""
        x = self.lo[:, None] + (self.hi - self.lo)[:, None] * np.clip(u, 0.0, 1.0)
        out, k = {}, 0
        for name, size in zip(self.names, self.sizes):
            out[name] = x[k] if size == 1 else x[k:k + size].T
            k += size
        return out

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """Parameter values (one candidate) -> a unit vector (D,)."""
        parts = [np.atleast_1d(np.asarray(params[name], dtype=np.float64)).reshape(size)
                 for name, size in zip(self.names, self.sizes)]
        return (np.concatenate(parts) - self.lo) / (self.hi - self.lo)

    def one(self, u: np.ndarray) -> dict[str, Any]:
        """One unit vector -> parameters (floats, or arrays for per-region ones)."""
        p = self.to_params(np.asarray(u, dtype=np.float64)[:, None])
        return {k: (float(v[0]) if v.ndim == 1 else v[0].copy()) for k, v in p.items()}


@dataclass
class SearchResult:
    """Outcome of :func:`de_search` or :func:`cma_search`.

    Attributes
    ----------
    best : dict of str to float or ndarray
        Best parameters found.
    loss : float
        Its loss (``objective.as_loss()``).
    history : xarray.Dataset
        Every evaluated candidate: parameter values (``evaluation`` dim;
        per-region ones add ``region``), ``loss`` and ``generation``.
    n_sweeps : int
        Batched sweeps run (one per generation when the population fits
        ``batch_size``).
    method : str
    message : str
        The optimiser's stopping reason.
    """

    best: dict[str, Any]
    loss: float
    history: Any
    n_sweeps: int
    method: str
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_evaluations(self) -> int:
        """Candidates scored."""
        return int(self.history.sizes["evaluation"])


class _Evaluator:
    """Loss of a population (D, S) as batched sweeps; records the history."""

    def __init__(self, sim, duration, objective, space, *, batch_size, threads, fic, client,
                 retries, bar) -> None:
        self.sim, self.duration = sim, duration
        self.loss = objective.as_loss()
        self.space = space
        self.kw = {"batch_size": batch_size, "threads": threads, "fic": fic, "client": client,
                   "retries": retries, "progress": False}
        self.bar = bar
        self.units: list[np.ndarray] = []
        self.losses: list[np.ndarray] = []
        self.generation: list[np.ndarray] = []
        self.n_sweeps = 0

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        if u.shape[0] != self.space.dim:
            u = u.T
        params = self.space.to_params(u)
        size = u.shape[1]
        batch = self.kw["batch_size"]
        losses = evaluate(self.sim, self.duration, self.loss, params, **self.kw)
        self.n_sweeps += len(plan_chunks(params, batch))
        self.units.append(u.T.copy())
        self.losses.append(losses.copy())
        self.generation.append(np.full(size, len(self.losses) - 1))
        if self.bar is not None:
            best = np.nanmin(np.concatenate(self.losses)) if np.any(
                np.isfinite(np.concatenate(self.losses))) else np.nan
            self.bar.update(1)
            self.bar.set_postfix(best=f"{best:.4g}")
        return np.where(np.isfinite(losses), losses, NAN_PENALTY)

    def result(self, method: str, message: str, extra=None) -> SearchResult:
        import xarray as xr

        units = np.concatenate(self.units)
        losses = np.concatenate(self.losses)
        params = self.space.to_params(units.T)
        data = {}
        for name, v in params.items():
            data[name] = (("evaluation",) if v.ndim == 1 else ("evaluation", "region"), v)
        data["loss"] = ("evaluation", losses)
        data["generation"] = ("evaluation", np.concatenate(self.generation))
        history = xr.Dataset(data, attrs={"objective": repr(self.loss), "method": method})
        finite = np.isfinite(losses)
        if not finite.any():
            raise RuntimeError(f"{method}: every candidate scored NaN (diverged or could not be "
                               "scored); check the bounds and the objective's inputs.")
        i = int(np.argmin(np.where(finite, losses, np.inf)))
        return SearchResult(self.space.one(units[i]), float(losses[i]), history, self.n_sweeps,
                            method, message, dict(extra or {}))


def _owned_client(client: Any) -> tuple[Any, Callable[[], None]]:
    """Resolve ``client`` once for a whole optimisation; returns (client, close)."""
    if not isinstance(client, str) or client == "sync":
        return client, (lambda: None)
    from ..parallel import get_client

    c, owned = get_client(client)
    return c, (c.close if owned else (lambda: None))


def de_search(sim: Any, duration: float, objective: Objective, bounds: Mapping[str, Any], *,
              popsize: int = 15, maxiter: int = 20, tol: float = 0.01,
              mutation: float | tuple[float, float] = (0.5, 1.0), recombination: float = 0.7,
              rng: int | None = 0, init: str = "latinhypercube", polish: bool = False,
              batch_size: int | None = None, threads: int | None = None,
              fic: FIC | bool | None = None, client: Any = None, retries: int = 2,
              progress: bool | None = None, **de_kwargs: Any) -> SearchResult:
    """Differential evolution (scipy) with each generation scored as one batched sweep.

    ``scipy.optimize.differential_evolution(..., vectorized=True,
    updating="deferred")`` hands the whole population (trial vectors) of a
    generation to one call; here that call is one sweep with a batch of
    ``popsize * D`` members (split only if larger than ``batch_size``).

    Parameters
    ----------
    sim : Simulation
        Every candidate uses ``sim.seed`` (common random numbers).
    duration : float
        Simulated ms per candidate.
    objective : Objective
        Minimised as ``objective.as_loss()`` (NaN scores count as 1e6).
    bounds : dict of str to (low, high) or array (n_regions, 2)
        Searched parameters (see :mod:`vbrain.fit.search`); a per-region
        parameter adds n_regions dimensions.
    popsize, maxiter, tol, mutation, recombination, init, polish
        scipy's options (``popsize`` is a multiplier of the dimension). The
        search runs in the unit cube; ``polish`` (L-BFGS-B on a noisy
        simulation) is off by default.
    rng : int, optional
        Seed of the optimiser's own random choices (default 0: reproducible).
    batch_size : int, optional
        Largest sweep (default: the whole population).
    threads, fic, client, retries, progress
        As in :func:`evaluate`.
    **de_kwargs
        Passed to scipy (e.g. ``strategy``, ``atol``, ``x0`` as a dict of
        parameter values).

    Returns
    -------
    SearchResult
    """
    from scipy.optimize import differential_evolution

    validate_type("objective", objective, Objective)
    space = _Space(sim, bounds)
    n_pop = int(popsize) * space.dim
    batch = n_pop if batch_size is None else int(check_range("batch_size", batch_size, 1))
    if "x0" in de_kwargs and isinstance(de_kwargs["x0"], Mapping):
        de_kwargs["x0"] = space.to_unit(de_kwargs["x0"])
    for bad in ("vectorized", "workers", "updating", "bounds"):
        if bad in de_kwargs:
            raise TypeError(f"de_search sets {bad!r} itself.")
    rng_kw = "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"
    client, close = _owned_client(client)
    bar = tqdm(total=maxiter + 1, desc="DE generations", unit="gen", leave=False,
               disable=False if progress else (True if progress is False else None))
    try:
        ev = _Evaluator(sim, duration, objective, space, batch_size=batch, threads=threads,
                        fic=fic, client=client, retries=retries, bar=bar)
        res = differential_evolution(
            ev, [(0.0, 1.0)] * space.dim, popsize=popsize, maxiter=maxiter, tol=tol,
            mutation=mutation, recombination=recombination, init=init, polish=polish,
            vectorized=True, updating="deferred", **{rng_kw: rng}, **de_kwargs)
    finally:
        bar.close()
        close()
    out = ev.result("differential_evolution", str(res.message), {"nit": int(res.nit)})
    logger.info("de_search: best loss %.4g at %s after %d sweeps", out.loss, out.best, out.n_sweeps)
    return out


def cma_search(sim: Any, duration: float, objective: Objective, bounds: Mapping[str, Any], *,
               x0: Mapping[str, Any] | None = None, sigma0: float = 0.25,
               popsize: int | None = None, maxiter: int = 30, rng: int = 1,
               tolfun: float = 1e-4, batch_size: int | None = None, threads: int | None = None,
               fic: FIC | bool | None = None, client: Any = None, retries: int = 2,
               progress: bool | None = None, **cma_options: Any) -> SearchResult:
    """CMA-ES (pycma, ask-and-tell) with each generation scored as one batched sweep.

    CMA-ES adapts a full covariance of its search distribution, so it needs
    a population of only ``4 + 3 ln D`` for D dimensions: the method of
    choice for per-region parameters (a 76-vector), where differential
    evolution would need ``15 D`` candidates per generation.

    Parameters
    ----------
    sim, duration, objective, bounds, batch_size, threads, fic, client, retries, progress
        As in :func:`de_search`.
    x0 : dict, optional
        Start (default: the centre of the bounds).
    sigma0 : float, default 0.25
        Initial step size, as a fraction of each parameter's range.
    popsize : int, optional
        Candidates per generation (default pycma's ``4 + 3 ln D``).
    maxiter : int, default 30
        Generations.
    rng : int, default 1
        pycma's seed (a positive int).
    tolfun : float, default 1e-4
        Stop when the losses of recent generations differ by less.
    **cma_options
        Other pycma options (``cma.CMAOptions()``).

    Returns
    -------
    SearchResult

    Raises
    ------
    ImportError
        Without the ``cma`` package (``pip install cma``).
    """
    try:
        import cma
    except ImportError:  # pragma: no cover - cma is a dependency
        raise ImportError("cma_search needs the 'cma' package: pip install cma") from None
    validate_type("objective", objective, Objective)
    space = _Space(sim, bounds)
    u0 = np.full(space.dim, 0.5) if x0 is None else np.clip(space.to_unit(x0), 0.0, 1.0)
    opts = {"bounds": [0.0, 1.0], "maxiter": int(maxiter), "seed": int(rng), "verbose": -9,
            "tolfun": float(tolfun), "verb_log": 0, "verb_disp": 0}
    if popsize is not None:
        opts["popsize"] = int(popsize)
    opts.update(cma_options)
    client, close = _owned_client(client)
    bar = tqdm(total=maxiter, desc="CMA-ES generations", unit="gen", leave=False,
               disable=False if progress else (True if progress is False else None))
    try:
        es = cma.CMAEvolutionStrategy(u0, float(sigma0), opts)
        batch = es.popsize if batch_size is None else int(check_range("batch_size", batch_size, 1))
        ev = _Evaluator(sim, duration, objective, space, batch_size=batch, threads=threads,
                        fic=fic, client=client, retries=retries, bar=bar)
        while not es.stop():
            cand = es.ask()
            losses = ev(np.array(cand).T)
            es.tell(cand, losses.tolist())
    finally:
        bar.close()
        close()
    out = ev.result("cma_es", str(dict(es.stop())), {"nit": int(es.countiter)})
    logger.info("cma_search: best loss %.4g after %d sweeps", out.loss, out.n_sweeps)
    return out
