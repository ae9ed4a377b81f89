"""Time a neurolib parameter exploration (``BoxSearch``) of the global coupling; print one JSON line.

Called by ``benchmarks/bench_fit.py`` with a neurolib interpreter (it imports
only neurolib and numpy, never vbrain). neurolib's exploration runs on pypet,
which needs ``numpy < 2`` (``np.string_``), so it needs its own venv::

    python3 -m venv /tmp/peers/neurolib-explore
    /tmp/peers/neurolib-explore/bin/pip install neurolib==0.6.2 "numpy<2"

What runs is neurolib's documented fitting workflow: a ``ParameterSpace`` over
``K_gl``, a ``BoxSearch`` with an evaluation function that simulates the model
with BOLD (``model.run(chunkwise=True, bold=True)``: BOLD needs chunkwise
integration), computes the FC of the BOLD signal after the transient and its
Pearson correlation with a target matrix, and stores the score and the FC with
``saveToPypet``; pypet spreads the points over ``ncores`` processes. Timed:
the search's construction (pypet environment), ``run()`` and
``loadResults()``, each apart. One short run in the parent process first
compiles neurolib's numba kernels (the forked pypet workers inherit them).

Models (see ``benchmarks/peers/neurolib_run.py``): ``fhn`` = ``FHNModel`` with
additive coupling (vbrain's stand-in: Generic2dOscillator); ``ww`` =
``WWModel`` (the Deco et al. 2014 E-I model, vbrain's ReducedWongWangExcInh).
neurolib integrates with forward Euler.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from importlib import metadata

import numpy as np

MODELS = {"fhn": ("neurolib.models.fhn", "FHNModel"), "ww": ("neurolib.models.ww", "WWModel")}


def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--connectome", required=True,
                    help=".npz with 'weights' (target, source) and 'lengths' (mm)")
    ap.add_argument("--points", type=int, default=64, help="grid points of K_gl")
    ap.add_argument("--kmin", type=float, default=0.0)
    ap.add_argument("--kmax", type=float, default=0.03)
    ap.add_argument("--duration", type=float, default=60_000.0, help="simulated ms per point")
    ap.add_argument("--transient", type=float, default=10_000.0, help="ms dropped before FC")
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--speed", type=float, default=4.0, help="mm/ms (= signalV in m/s)")
    ap.add_argument("--sigma-ou", type=float, default=0.01, help="OU noise of the inputs")
    ap.add_argument("--ncores", type=int, default=os.cpu_count() or 1)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    """Run the exploration; print a JSON line with the timings."""
    args = parse_args(argv)
    logging.disable(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    import importlib

    t_import = time.perf_counter()
    module, cls_name = MODELS[args.model]
    cls = getattr(importlib.import_module(module), cls_name)
    from neurolib.optimize.exploration import BoxSearch
    from neurolib.utils.parameterSpace import ParameterSpace

    t_import = time.perf_counter() - t_import
    data = np.load(args.connectome)
    weights, lengths = data["weights"], data["lengths"]
    n = weights.shape[0]
    target = weights.copy()  # FC is scored against the structure (a stand-in target)
    iu = np.triu_indices(n, 1)

    def make(duration):
        model = cls(Cmat=weights, Dmat=lengths, seed=1)
        p = model.params
        p["dt"], p["signalV"], p["duration"] = args.dt, args.speed, duration
        p["sigma_ou"] = args.sigma_ou
        if "coupling" in p:
            p["coupling"] = "additive"
        return model

    t0 = time.perf_counter()
    warm = make(4000.0)
    warm.run(chunkwise=True, bold=True)
    t_warm = time.perf_counter() - t0

    model = make(args.duration)
    n_skip = round(args.transient / 2000.0)  # neurolib's BOLD is sampled every 2 s

    def evaluate(traj):
        m = search.getModelFromTraj(traj)
        m.run(chunkwise=True, bold=True)
        bold = m.BOLD.BOLD[:, n_skip:]
        ok = bold.shape[1] >= 3 and np.all(np.isfinite(bold))
        fc = np.corrcoef(bold) if ok else np.full((n, n), np.nan)
        score = float(np.corrcoef(fc[iu], target[iu])[0, 1]) if ok else float("nan")
        search.saveToPypet({"fc_corr": score, "fc": fc}, traj)

    workdir = tempfile.mkdtemp(prefix="neurolib_explore_")
    os.chdir(workdir)  # neurolib writes ./data/hdf/<file>
    space = ParameterSpace({"K_gl": np.linspace(args.kmin, args.kmax, args.points)})
    t0 = time.perf_counter()
    search = BoxSearch(model=model, parameterSpace=space, evalFunction=evaluate,
                       filename="bench.hdf", ncores=args.ncores)
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    search.run()
    t_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    search.loadResults()
    t_load = time.perf_counter() - t0
    scores = [float(search.results[i]["fc_corr"]) for i in range(args.points)]
    print(json.dumps({
        "tool": "neurolib", "version": metadata.version("neurolib"),
        "pypet": metadata.version("pypet"), "numpy": np.__version__,
        "python": sys.version.split()[0], "model": cls_name, "n_regions": n,
        "points": args.points, "duration_ms": args.duration, "dt": args.dt,
        "integrator": "Euler", "ncores": args.ncores, "import_s": t_import,
        "warmup_s": t_warm, "init_s": t_init, "run_s": t_run, "load_s": t_load,
        "total_s": t_init + t_run + t_load, "scores": scores,
        "nan_points": int(np.sum(~np.isfinite(scores))),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
