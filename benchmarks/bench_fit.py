"""A 64-point global-coupling fit of BOLD FC: vbrain's batched grid search vs neurolib's exploration.

What is measured
----------------
The fitting step of issue 6: score 64 values of the global coupling by the
correlation between the FC of 60 s (simulated) of BOLD and a target matrix,
on tvb-data's 76-region connectome (speed 4 mm/ms, dt 0.1 ms, additive noise,
BOLD every 2 s, 10 s transient dropped before FC).

- **vbrain**: ``vbrain.fit.grid_search(sim, 60_000, FCCorrelation(target,
  monitor="bold", transient=10_000), coupling__a=np.linspace(...,64))``:
  one batched sweep of 64 members (the compiled loop advances them together),
  split over the machine's cores by ``threads=None``, with the Balloon-Windkessel
  BOLD monitor integrated in the loop and the FC scored for all 64 members.
  After an untimed warm-up (kernel load). Optionally (``--dask``) the same
  grid through ``client="local"`` (a LocalCluster of single-threaded worker
  processes, start-up included).
- **neurolib** (``benchmarks/peers/neurolib_explore.py``, in its own venv):
  ``BoxSearch`` over ``K_gl`` with an evaluation function that runs the model
  with BOLD (``chunkwise=True, bold=True``), computes the BOLD FC and its
  correlation with the same target and stores them with ``saveToPypet``;
  pypet runs the points on all cores. Timed: construction + ``run()`` +
  ``loadResults()`` (the numba JIT is warmed up in the parent first).

Models: ``g2d`` (default): vbrain ``Generic2dOscillator`` vs neurolib
``FHNModel`` (2 state variables each, additive linear coupling); ``rwwei``:
vbrain ``ReducedWongWangExcInh`` vs neurolib ``WWModel`` (the same Deco et
al. 2014 model). neurolib integrates with forward Euler; vbrain runs Euler
too (``--scheme euler``, default: the same scheme, the same cost per step)
and, for reference, its default stochastic Heun (``--scheme heun``: two
model evaluations per step).

Printed: wall time of each, ns per region-step (wall / (64 x steps x 76)),
and the ratio neurolib / vbrain against the target (>= 10x).

Run::

    python3 -m venv /tmp/peers/neurolib-explore            # once: pypet needs numpy < 2
    /tmp/peers/neurolib-explore/bin/pip install neurolib==0.6.2 "numpy<2"
    python benchmarks/bench_fit.py                         # ~6-10 min on 2 cores
    python benchmarks/bench_fit.py --quick                 # 8 points x 10 s, < 1 min
    python benchmarks/bench_fit.py --model rwwei --scheme euler heun --dask --json out.json

neurolib's interpreter: ``--neurolib-python``, else ``$NEUROLIB_EXPLORE_PYTHON``,
else ``$PEERS/neurolib-explore/bin/python`` (``PEERS=/tmp/peers``); when it is
missing or cannot import pypet, the peer is skipped with the reason.
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")})

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vbrain as vb
from vbrain.fit import FCCorrelation, grid_search

HERE = Path(__file__).parent
#: vbrain model, its coupling range, neurolib model key, its K_gl range
WORKLOADS = {
    "g2d": (lambda: vb.models.Generic2dOscillator(), (0.0, 0.03), "fhn", (0.0, 0.03)),
    "rwwei": (lambda: vb.models.ReducedWongWangExcInh(G=2.0), (0.0, 0.15), "ww", (0.0, 0.3)),
}


def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(WORKLOADS), default="g2d")
    ap.add_argument("--points", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60_000.0, help="simulated ms per point")
    ap.add_argument("--transient", type=float, default=10_000.0, help="ms dropped before FC")
    ap.add_argument("--scheme", nargs="+", default=["euler"], choices=["euler", "heun"],
                    help="vbrain integrator(s) to time")
    ap.add_argument("--dask", action="store_true", help="also time client='local' (processes)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--neurolib-python", default=None)
    ap.add_argument("--quick", action="store_true", help="8 points x 10 s (smoke run)")
    ap.add_argument("--json", default=None, help="write every number to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.duration, args.transient = 8, 10_000.0, 2000.0
    return args


def neurolib_python(args) -> str | None:
    """The neurolib-explore interpreter, or None."""
    peers = os.environ.get("PEERS", "/tmp/peers")
    for cand in (args.neurolib_python, os.environ.get("NEUROLIB_EXPLORE_PYTHON"),
                 f"{peers}/neurolib-explore/bin/python"):
        if cand and Path(cand).exists():
            return cand
    return None


def time_vbrain(args, conn, scheme: str, client=None) -> dict:
    """Wall time of the 64-point grid search (after a warm-up)."""
    make_model, (lo, hi), *_ = WORKLOADS[args.model]
    sim = vb.Simulation(conn, make_model(), vb.coupling.Linear(), speed=4.0, dt=0.1,
                        integrator=scheme, noise=vb.noise.Additive(1e-6), seed=1,
                        monitors=[vb.monitors.Bold(tr=2000.0)])
    obj = FCCorrelation(conn.weights, monitor="bold", transient=args.transient)
    grid = np.linspace(lo, hi, args.points)
    # warm-up: load the kernels the timed search uses (its thread groups have the same sizes)
    sim.sweep(50.0, coupling__a=grid, threads=None, progress=False)
    t0 = time.perf_counter()
    scores = grid_search(sim, args.duration, obj, coupling__a=grid, threads=None,
                         client=client, progress=False)
    wall = time.perf_counter() - t0
    return {"scheme": scheme, "client": str(client), "wall_s": wall,
            "ns_per_region_step": wall / (args.points * args.duration / 0.1 * conn.n_regions)
            * 1e9, "best_a": float(grid[int(np.nanargmax(scores.values))]),
            "nan_points": int(np.sum(~np.isfinite(scores.values)))}


def time_neurolib(args, conn, python: str) -> dict:
    """Run the peer script; return its JSON (or the reason it failed)."""
    *_, key, (klo, khi) = WORKLOADS[args.model]
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "conn.npz"
        np.savez(npz, weights=conn.weights, lengths=conn.lengths)
        cmd = [python, str(HERE / "peers" / "neurolib_explore.py"), "--model", key,
               "--connectome", str(npz), "--points", str(args.points),
               "--kmin", str(klo), "--kmax", str(khi), "--duration", str(args.duration),
               "--transient", str(args.transient), "--ncores", str(os.cpu_count() or 1)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def main(argv=None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    conn = vb.Connectome.load("atlases:default")
    steps = args.duration / 0.1
    print(f"{args.points}-point coupling grid, {args.duration / 1000:g} s BOLD each, "
          f"{conn.n_regions} regions, dt 0.1 ms, {os.cpu_count()} cores; model {args.model}")
    out = {"args": vars(args), "load_before": os.getloadavg(), "vbrain": [], "neurolib": None}
    for scheme in args.scheme:
        r = time_vbrain(args, conn, scheme)
        out["vbrain"].append(r)
        print(f"  vbrain grid_search ({scheme}, threads): {r['wall_s']:8.1f} s  "
              f"{r['ns_per_region_step']:6.1f} ns/region-step")
    if args.dask:
        r = time_vbrain(args, conn, args.scheme[0], client="local")
        out["vbrain"].append(r)
        print(f"  vbrain grid_search ({args.scheme[0]}, Dask LocalCluster, processes): "
              f"{r['wall_s']:8.1f} s  {r['ns_per_region_step']:6.1f} ns/region-step")
    if not args.skip_peers:
        py = neurolib_python(args)
        if py is None:
            print("  neurolib: skipped (no interpreter: make /tmp/peers/neurolib-explore, see "
                  "the docstring; pypet needs numpy < 2)")
        else:
            nl = time_neurolib(args, conn, py)
            out["neurolib"] = nl
            if "error" in nl:
                print(f"  neurolib: failed: {nl['error']}")
            else:
                ns = nl["total_s"] / (args.points * steps * conn.n_regions) * 1e9
                print(f"  neurolib BoxSearch ({nl['model']}, Euler, {nl['ncores']} processes): "
                      f"{nl['total_s']:8.1f} s  {ns:6.1f} ns/region-step "
                      f"(run {nl['run_s']:.1f} s, init {nl['init_s']:.2f} s, "
                      f"load {nl['load_s']:.2f} s; {nl['nan_points']} NaN points)")
                for r in out["vbrain"]:
                    ratio = nl["total_s"] / r["wall_s"]
                    r["ratio_vs_neurolib"] = ratio
                    flag = "meets" if ratio >= 10 else "BELOW"
                    print(f"  ratio neurolib / vbrain ({r['scheme']}, {r['client']}): "
                          f"{ratio:5.1f}x  ({flag} the 10x target)")
    out["load_after"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
