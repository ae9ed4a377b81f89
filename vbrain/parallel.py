"""Dask execution: sweeps and cohorts on a local machine or any Dask cluster.

A sweep of P candidates is cut into tasks of at most ``chunk_size``
candidates; each task is one batched sweep (:func:`vbrain.fit.search.run_chunk`)
that returns only its scores. Every candidate keeps its seed (the
simulation's ``seed``, or its own from ``seeds``) whatever task it lands in,
so a distributed sweep equals the serial one **bit for bit**.

Where it runs (``client=``)
---------------------------
- ``None`` or ``"local"``: a ``LocalCluster`` sized to the machine, one
  single-threaded worker process per core (``processes=True``,
  ``threads_per_worker=1``), closed at the end. Scripts that start one must
  guard their main code with ``if __name__ == "__main__":`` (worker processes
  are spawned and re-import the script).
- ``"tcp://host:8786"``: an existing scheduler's address.
- a ``dask.distributed.Client``: used as is and left open.
- ``"sync"``: no Dask; the tasks run one after the other in this process (for
  debugging, and resumable runs without a cluster).

Clusters: the same code runs on HPC schedulers and Kubernetes through Dask's
deployment packages (not dependencies of vbrain; install them where needed)::

    # SLURM (pip install dask-jobqueue)
    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="16GB", walltime="02:00:00",
                           job_extra_directives=["--partition=compute"])
    cluster.scale(jobs=4)                         # 4 nodes x 8 single-threaded workers
    client = dask.distributed.Client(cluster)
    scores = vbrain.fit.grid_search(sim, 60_000, objective, client=client,
                                    out_dir="sweep/", coupling__a=np.linspace(0, 0.02, 256))

    # Kubernetes (pip install dask-kubernetes; the image must have vbrain installed)
    from dask_kubernetes.operator import KubeCluster
    cluster = KubeCluster(name="vbrain", image="ghcr.io/you/vbrain:latest", n_workers=16,
                          resources={"requests": {"cpu": "1", "memory": "4Gi"}})
    client = dask.distributed.Client(cluster)

Workers need vbrain (same version) and write numba's compiled kernels to
``$VBRAIN_CACHE_DIR`` (default ``~/.cache/vbrain/kernels``); a shared cache
directory saves each worker the first compile (~seconds).

Fault tolerance and resumption
------------------------------
Failed tasks are retried ``retries`` times (``client.submit(..., retries=n)``;
a worker that dies also gets its tasks rescheduled by Dask). With ``out_dir``,
each task's scores are written as the task completes, one small file per task
(``tasks/task-000012.npz``, written to a temporary name and renamed, so a
file is either complete or absent), beside a ``manifest.json`` that
fingerprints the sweep (simulation, duration, objective, candidates, seeds,
chunking). Running the same sweep again with the same ``out_dir`` (after a
crash, a kill or Ctrl-C) loads the finished tasks and submits only the
others. A different sweep in the same folder is refused (the fingerprints
differ) unless ``overwrite=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._check import check_range

logger = logging.getLogger(__name__)

__all__ = ["SweepStore", "get_client", "map_cohort", "run_points"]

_ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def get_client(client: Any = None, *, n_workers: int | None = None, processes: bool = True,
               threads_per_worker: int = 1, **cluster_kwargs: Any) -> tuple[Any, bool]:
    """Resolve where Dask work runs.

    Parameters
    ----------
    client : None, "local", address or dask.distributed.Client
        None/"local" start a LocalCluster; a string with a scheme
        (``tcp://...``) connects to a scheduler; a Client is returned as is.
    n_workers : int, optional
        Workers of a new LocalCluster (default: ``os.cpu_count()``).
    processes : bool, default True
        Workers as processes (True) or threads of this process (False:
        starts fast, shares the GIL outside compiled code).
    threads_per_worker : int, default 1
        Threads per worker of a new LocalCluster.
    **cluster_kwargs
        Passed to ``LocalCluster`` (e.g. ``memory_limit``).

    Returns
    -------
    (client, owned)
        ``owned`` is True when this function created the client (and its
        cluster): the caller closes it with ``client.close()``.
    """
    from dask.distributed import Client

    if isinstance(client, Client):
        return client, False
    if client is None or client == "local":
        n = int(check_range("n_workers", n_workers, 1)) if n_workers is not None \
            else (os.cpu_count() or 1)
        cluster_kwargs.setdefault("dashboard_address", ":0")  # no fixed port to collide on
        c = Client(n_workers=n, threads_per_worker=int(threads_per_worker),
                   processes=bool(processes), **cluster_kwargs)
        logger.info("started a LocalCluster: %d worker(s) x %d thread(s), processes=%s", n,
                    threads_per_worker, processes)
        return c, True
    if isinstance(client, str) and client.startswith(_ADDRESS_PREFIXES):
        return Client(client), True
    raise TypeError(f"client must be None, 'local', 'sync', a scheduler address "
                    f"('tcp://host:8786') or a dask.distributed.Client, but got {client!r}.")


# -- the on-disk record of a sweep ---------------------------------------------------------------
def _digest(obj: Any) -> str:
    """SHA-256 of a value's serialisation (pickle *dumps* only: nothing is ever loaded)."""
    try:
        data = pickle.dumps(obj, protocol=4)
    except Exception:  # noqa: BLE001 - any unpicklable object falls back to its repr
        data = repr(obj).encode()
    return hashlib.sha256(data).hexdigest()


def _describe_sim(sim: Any) -> dict[str, Any]:
    """What determines a simulation's output, as JSON-able data (not its run state)."""
    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return hashlib.sha256(np.ascontiguousarray(v, dtype=np.float64).tobytes()).hexdigest()
        if isinstance(v, (int, float, str, bool)) or v is None:
            return v
        return repr(v)

    hist = sim.initial_history
    return {
        "model": type(sim.model).__name__, "coupling": type(sim.coupling).__name__,
        "params": {k: plain(v) for k, v in sorted(sim.get_params().items())},
        "noise": repr(sim.noise), "connectome": sim.connectome.checksum(),
        "monitors": [repr(m) for m in sim.monitors],
        "initial_history": None if hist is None else plain(np.asarray(hist)),
    }


def _fingerprint(sim: Any, duration: float, objective: Any, points: Mapping[str, np.ndarray],
                 seeds: Sequence[int] | None, fic: Any, chunk_size: int) -> str:
    desc = {
        "duration": float(duration), "sim": _describe_sim(sim), "objective": _digest(objective),
        "points": {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
                   + str(v.shape) for k, v in sorted(points.items())},
        "seeds": None if seeds is None else [int(s) for s in seeds],
        "fic": repr(fic), "chunk_size": int(chunk_size),
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


class SweepStore:
    """A folder of finished tasks of one sweep: ``manifest.json`` + ``tasks/task-NNNNNN.npz``.

    Parameters
    ----------
    out_dir : path-like
        Created if needed.
    fingerprint : str
        Identifies the sweep; an existing folder with another one is refused.
    info : dict
        Stored in the manifest (n_points, chunk_size, n_tasks, parameter names).
    overwrite : bool, default False
        Discard a different sweep's files instead of refusing.
    """

    def __init__(self, out_dir: Any, fingerprint: str, info: dict[str, Any], *,
                 overwrite: bool = False) -> None:
        self.root = Path(out_dir)
        self.tasks = self.root / "tasks"
        self.tasks.mkdir(parents=True, exist_ok=True)
        manifest = self.root / "manifest.json"
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except ValueError:
                old = {}
            if old.get("fingerprint") != fingerprint:
                if not overwrite:
                    raise ValueError(
                        f"{self.root} holds the results of a different sweep (other simulation, "
                        "objective, candidates, seeds or chunking). Use another out_dir, or "
                        "overwrite=True to discard them.")
                for f in self.tasks.glob("task-*.npz"):
                    f.unlink()
        _atomic_write(manifest, json.dumps({"fingerprint": fingerprint, **info}, indent=1)
                      .encode())

    def path(self, k: int) -> Path:
        """File of task ``k``."""
        return self.tasks / f"task-{k:06d}.npz"

    def load(self, k: int, indices: np.ndarray) -> np.ndarray | None:
        """Scores of finished task ``k`` (None if absent or unreadable)."""
        p = self.path(k)
        if not p.exists():
            return None
        try:
            with np.load(p) as f:
                if not np.array_equal(f["indices"], indices):
                    logger.warning("%s belongs to another chunking; recomputing it", p)
                    return None
                return np.asarray(f["scores"], dtype=np.float64)
        except (OSError, ValueError, KeyError) as err:
            logger.warning("cannot read %s (%s); recomputing that task", p, err)
            return None

    def save(self, k: int, indices: np.ndarray, scores: np.ndarray, seconds: float) -> None:
        """Write task ``k``'s scores atomically (temporary file + rename)."""
        import io

        buf = io.BytesIO()
        np.savez(buf, indices=indices, scores=scores, seconds=seconds)
        _atomic_write(self.path(k), buf.getvalue())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -- sweeps ------------------------------------------------------------------------------------
def _timed_chunk(sim, duration, objective, params, seeds, fic, threads):
    """Run one task; return (scores, wall seconds)."""
    from .fit.search import run_chunk

    t0 = time.perf_counter()
    scores = run_chunk(sim, duration, objective, params, seeds, fic, threads)
    return scores, time.perf_counter() - t0


def run_points(sim: Any, duration: float, objective: Any, points: Mapping[str, Any], *,
               seeds: Sequence[int] | None = None, chunk_size: int | None = None,
               fic: Any = None, client: Any = None, out_dir: Any = None, retries: int = 2,
               progress: bool | None = None, overwrite: bool = False,
               n_workers: int | None = None, processes: bool = True,
               threads: int | None | str = "auto") -> np.ndarray:
    """Score candidates as Dask tasks of batched sweeps; save and resume per task.

    Parameters
    ----------
    sim : Simulation
    duration : float
        Simulated ms per candidate.
    objective : Objective
    points : dict of str to array
        Candidate values, (P,) or (P, n_regions) (see :mod:`vbrain.fit.search`).
    seeds : sequence of int, optional
        One seed per candidate (default: all use ``sim.seed``).
    chunk_size : int, optional
        Candidates per task (one sweep each). Default: as many as make about
        two tasks per worker, at most 64 (64 for "sync"; resuming reuses the
        saved value).
    fic : FIC or bool, optional
        Re-tune ``J_i`` per candidate (ReducedWongWangExcInh).
    client : None, "local", "sync", address or Client
        See the module docstring.
    out_dir : path-like, optional
        Save finished tasks here and resume from them.
    retries : int, default 2
        Retries of a failed task.
    progress : bool, optional
        Progress bar over tasks (default: when writing to a terminal).
    overwrite : bool, default False
        Replace another sweep's results in ``out_dir``.
    n_workers, processes
        Of a LocalCluster started here (see :func:`get_client`).
    threads : int or None, default "auto"
        Threads of each task's sweep: "auto" is 1 on Dask workers (one
        single-threaded worker per core) and None (every core) for "sync".

    Returns
    -------
    ndarray (P,)
        Scores in candidate order, equal to the serial run's.

    Raises
    ------
    RuntimeError
        Tasks that still failed after their retries (the finished ones are
        saved: run again to resume).
    """
    from .fit.search import _as_fic, _n_points, _points, plan_chunks

    fic = _as_fic(fic)
    pts = _points(sim, points)
    n_points = _n_points(pts)
    retries = int(check_range("retries", retries, 0))
    seeds = None if seeds is None else [int(s) for s in seeds]
    owned, c = False, None
    manifest = Path(out_dir) / "manifest.json" if out_dir is not None else None
    if chunk_size is None and manifest is not None and manifest.exists():
        try:
            chunk_size = int(json.loads(manifest.read_text())["chunk_size"])
        except (ValueError, KeyError):
            chunk_size = None
    try:
        if client != "sync":
            c, owned = get_client(client, n_workers=n_workers, processes=processes)
        if chunk_size is None and c is None:
            chunk_size = 64
        elif chunk_size is None:
            n_w = len(c.scheduler_info().get("workers", {}))
            chunk_size = max(1, min(64, -(-n_points // max(1, 2 * n_w))))
        chunks = plan_chunks(pts, chunk_size)
        scores = np.full(n_points, np.nan)
        todo = list(range(len(chunks)))
        store = None
        if out_dir is not None:
            fp = _fingerprint(sim, duration, objective, pts, seeds, fic, chunk_size)
            store = SweepStore(out_dir, fp, {"n_points": n_points, "chunk_size": int(chunk_size),
                                             "n_tasks": len(chunks), "params": sorted(pts),
                                             "duration_ms": float(duration)},
                               overwrite=overwrite)
            todo = []
            for k, idx in enumerate(chunks):
                done = store.load(k, idx)
                if done is None:
                    todo.append(k)
                else:
                    scores[idx] = done
            if len(todo) < len(chunks):
                logger.info("resuming %s: %d of %d tasks already done", out_dir,
                            len(chunks) - len(todo), len(chunks))

        def args(k: int) -> tuple:
            idx = chunks[k]
            return ({n: v[idx] for n, v in pts.items()},
                    None if seeds is None else [seeds[i] for i in idx])

        bar = tqdm(total=len(chunks), initial=len(chunks) - len(todo), desc="sweep tasks",
                   unit="task", leave=False,
                   disable=False if progress else (True if progress is False else None))
        errors: list[tuple[int, BaseException]] = []
        with bar:
            if c is None:  # "sync": in this process, one task after the other
                n_threads = None if threads == "auto" else threads
                for k in todo:
                    params, sub_seeds = args(k)
                    s, sec = _timed_chunk(sim, duration, objective, params, sub_seeds, fic,
                                          n_threads)
                    _finish(k, s, sec, chunks, scores, store, bar)
            else:
                errors = _run_dask(c, todo, args, sim, duration, objective, fic, retries,
                                   chunks, scores, store, bar, 1 if threads == "auto" else threads)
        if errors:
            k, err = errors[0]
            saved = f" The {len(chunks) - len(errors)} finished tasks are saved in {out_dir}: " \
                    "run the same sweep again to resume." if store is not None else ""
            raise RuntimeError(f"{len(errors)} of {len(chunks)} sweep tasks failed after "
                               f"{retries} retries (first: task {k}: {err!r}).{saved}") from err
        return scores
    finally:
        if owned:
            c.close()


def _finish(k, s, sec, chunks, scores, store, bar) -> None:
    idx = chunks[k]
    s = np.asarray(s, dtype=np.float64)
    scores[idx] = s
    if store is not None:
        store.save(k, idx, s, sec)
    bar.update(1)


def _run_dask(c, todo, args, sim, duration, objective, fic, retries, chunks, scores, store,
              bar, threads) -> list[tuple[int, BaseException]]:
    from dask.distributed import as_completed

    sim_f = c.scatter(sim, hash=False)
    obj_f = c.scatter(objective, hash=False)
    futures = {}
    for k in todo:
        params, sub_seeds = args(k)
        fut = c.submit(_timed_chunk, sim_f, duration, obj_f, params, sub_seeds, fic, threads,
                       retries=retries, pure=False, key=f"vbrain-sweep-task-{k}-{os.urandom(4).hex()}")
        futures[fut] = k
    errors = []
    try:
        for fut in as_completed(list(futures)):
            k = futures[fut]
            if fut.status == "error":
                errors.append((k, fut.exception()))
                bar.update(1)
                continue
            s, sec = fut.result()
            _finish(k, s, sec, chunks, scores, store, bar)
            fut.release()
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return sorted(errors, key=lambda e: e[0])


# -- cohorts -----------------------------------------------------------------------------------
def _dump_plain(value: Any, k: int) -> bytes:
    """npz bytes of a plain-data result: its JSON tree, with arrays stored beside it."""
    import io

    arrays: dict[str, np.ndarray] = {}

    def encode(v: Any) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, float, np.integer, np.floating, np.bool_)):
            return v.item() if isinstance(v, np.generic) else v
        if isinstance(v, np.ndarray) and v.dtype.kind in "biufcUS":
            key = f"a{len(arrays)}"
            arrays[key] = v
            return {"__array__": key}
        if isinstance(v, (list, tuple)):
            return {"__tuple__": [encode(x) for x in v]} if isinstance(v, tuple) else \
                [encode(x) for x in v]
        if isinstance(v, dict) and all(isinstance(x, str) for x in v):
            return {"__dict__": {x: encode(y) for x, y in v.items()}}
        raise TypeError(f"map_cohort(out_dir=...) stores results as JSON + arrays; item {k}'s "
                        f"result holds a {type(v).__name__}. Return plain data (numbers, "
                        "strings, lists, tuples, str-keyed dicts, numpy arrays) or save richer "
                        "objects yourself (e.g. Result.save) and return their paths.")

    tree = json.dumps(encode(value))
    buf = io.BytesIO()
    np.savez(buf, __tree__=np.array(tree), **arrays)
    return buf.getvalue()


def _load_plain(path: Path) -> Any:
    """Read a result written by :func:`_dump_plain` (no pickles: arrays only)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}

    def decode(v: Any) -> Any:
        if isinstance(v, list):
            return [decode(x) for x in v]
        if isinstance(v, dict):
            if "__array__" in v:
                return arrays[v["__array__"]]
            if "__tuple__" in v:
                return tuple(decode(x) for x in v["__tuple__"])
            return {x: decode(y) for x, y in v["__dict__"].items()}
        return v

    return decode(json.loads(str(arrays.pop("__tree__"))))


def map_cohort(func: Callable[[Any], Any], items: Sequence[Any], *, client: Any = None,
               out_dir: Any = None, retries: int = 2, progress: bool | None = None,
               overwrite: bool = False, n_workers: int | None = None,
               processes: bool = True) -> list[Any]:
    """Apply ``func`` to every item (e.g. fit every subject of a cohort) on Dask.

    Parameters
    ----------
    func : callable
        ``func(item) -> result``; importable by the workers (a module-level
        function), its result picklable.
    items : sequence
        One task per item (subject id, paths, targets...).
    client, retries, progress, n_workers, processes
        As in :func:`run_points` (``"sync"`` runs in this process).
    out_dir : path-like, optional
        Each finished result is written to ``item-NNNNNN.npz`` (atomic write;
        JSON structure + arrays, never a pickle, so reading a folder runs no
        code); running again with the same func, items and folder resumes.
        Results must then be plain data: None, bools, numbers, strings,
        lists/tuples/dicts of them, and numpy arrays.
    overwrite : bool, default False
        Replace another cohort's results in ``out_dir``.

    Returns
    -------
    list
        Results in the order of ``items``.
    """
    items = list(items)
    retries = int(check_range("retries", retries, 0))
    results: list[Any] = [None] * len(items)
    todo = list(range(len(items)))
    root = None
    if out_dir is not None:
        root = Path(out_dir)
        root.mkdir(parents=True, exist_ok=True)
        fp = hashlib.sha256((getattr(func, "__module__", "") + "." +
                             getattr(func, "__qualname__", repr(func)) +
                             _digest(items)).encode()).hexdigest()
        manifest = root / "manifest.json"
        if manifest.exists():
            old = json.loads(manifest.read_text()).get("fingerprint")
            if old != fp:
                if not overwrite:
                    raise ValueError(f"{root} holds another cohort's results (other function or "
                                     "items). Use another out_dir, or overwrite=True.")
                for f in root.glob("item-*.npz"):
                    f.unlink()
        _atomic_write(manifest, json.dumps({"fingerprint": fp, "n_items": len(items)}).encode())
        todo = []
        for k in range(len(items)):
            p = root / f"item-{k:06d}.npz"
            if p.exists():
                results[k] = _load_plain(p)
            else:
                todo.append(k)

    def finish(k: int, value: Any) -> None:
        results[k] = value
        if root is not None:
            _atomic_write(root / f"item-{k:06d}.npz", _dump_plain(value, k))

    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc="cohort", unit="item",
               leave=False, disable=False if progress else (True if progress is False else None))
    owned, c = False, None
    try:
        with bar:
            if client == "sync":
                for k in todo:
                    finish(k, func(items[k]))
                    bar.update(1)
                return results
            from dask.distributed import as_completed

            c, owned = get_client(client, n_workers=n_workers, processes=processes)
            futures = {c.submit(func, items[k], retries=retries, pure=False): k for k in todo}
            errors = []
            for fut in as_completed(list(futures)):
                k = futures[fut]
                if fut.status == "error":
                    errors.append((k, fut.exception()))
                else:
                    finish(k, fut.result())
                bar.update(1)
            if errors:
                k, err = min(errors, key=lambda e: e[0])
                raise RuntimeError(f"{len(errors)} of {len(items)} cohort tasks failed after "
                                   f"{retries} retries (first: item {k}: {err!r}).") from err
            return results
    finally:
        if owned:
            c.close()
