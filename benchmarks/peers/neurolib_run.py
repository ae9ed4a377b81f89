"""Time one neurolib simulation; run with neurolib's Python, print one JSON line.

Called by ``benchmarks/bench_core.py`` in the neurolib virtual environment
(it imports only neurolib and numpy, never vbrain). It can also be run by
hand::

    /tmp/peers/neurolib/bin/python benchmarks/peers/neurolib_run.py --model fhn \
        --connectome conn76.npz --coupling 0.0152 --duration 10000

neurolib has neither TVB's Generic2dOscillator nor the one-population reduced
Wong-Wang model, so the closest models stand in:

- ``fhn``: ``FHNModel`` (FitzHugh-Nagumo, 2 state variables per region, like
  the generic 2D oscillator), with ``coupling="additive"`` (a linear sum
  ``K_gl * sum_j C_ij x_j(t - D_ij / signalV)``, as TVB's Linear coupling);
- ``ww``: ``WWModel``, the two-population excitatory-inhibitory Wong-Wang
  model of Deco et al. (2014) (TVB's/vbrain's ``ReducedWongWangExcInh``,
  2 state variables per region, twice the work of the one-population model).

neurolib integrates with forward Euler (one model evaluation per step,
against Heun's two) and always draws its Ornstein-Uhlenbeck noise inputs
(``2 * N * n_steps`` normal numbers in NumPy before the compiled loop) even
with ``sigma_ou = 0``; both are part of what a neurolib user waits for, so
``Model.run()`` is timed as a whole. neurolib zeroes the diagonal of ``Cmat``.

``Cmat`` is the connectome's weight matrix, ``Dmat`` its tract lengths in mm,
and ``signalV`` the conduction speed in m/s (numerically equal to mm/ms), so
the delays are the same ``round(length / speed / dt)`` steps as in vbrain.
One short untimed run first compiles neurolib's numba kernel (no disk cache).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from importlib import metadata

import numpy as np

#: neurolib model per key, with its initial-value parameter names
MODELS = {
    "fhn": ("neurolib.models.fhn", "FHNModel", ("xs_init", "ys_init")),
    "ww": ("neurolib.models.ww", "WWModel", ("ses_init", "sis_init")),
}


def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--connectome", required=True,
                    help=".npz with 'weights' (target, source) and 'lengths' (mm)")
    ap.add_argument("--coupling", type=float, required=True, help="K_gl")
    ap.add_argument("--duration", type=float, default=10_000.0, help="simulated ms")
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--speed", type=float, default=4.0, help="mm/ms (= signalV in m/s)")
    ap.add_argument("--initial", type=float, nargs=2, default=(0.5, 0.5),
                    help="constant initial value of the two state variables")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs")
    ap.add_argument("--warmup", type=float, default=20.0, help="untimed warm-up run, ms")
    return ap.parse_args(argv)


def make_model(args, cls, init_names, weights, lengths):
    """A neurolib model with the benchmark's connectome, speed, dt and coupling."""
    model = cls(Cmat=weights, Dmat=lengths, seed=1)
    n = weights.shape[0]
    p = model.params
    p["dt"] = args.dt
    p["signalV"] = args.speed
    p["K_gl"] = args.coupling
    p["sigma_ou"] = 0.0
    if "coupling" in p:
        p["coupling"] = "additive"
    for name, value in zip(init_names, args.initial):
        p[name] = np.full((n, 1), value)
    return model


def main(argv=None) -> int:
    """Warm up, run the timed simulations, print the JSON result."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    data = np.load(args.connectome)
    weights, lengths = data["weights"], data["lengths"]

    t0 = time.perf_counter()
    import importlib

    module, cls_name, init_names = MODELS[args.model]
    cls = getattr(importlib.import_module(module), cls_name)
    t_import = time.perf_counter() - t0

    model = make_model(args, cls, init_names, weights, lengths)
    model.params["duration"] = args.warmup
    t0 = time.perf_counter()
    model.run()
    t_warmup = time.perf_counter() - t0

    wall, cpu = [], []
    for _ in range(args.repeat):
        model = make_model(args, cls, init_names, weights, lengths)
        model.params["duration"] = args.duration
        c0, t0 = time.process_time(), time.perf_counter()
        model.run()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)

    out = {
        "tool": "neurolib",
        "version": metadata.version("neurolib"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "model": cls_name,
        "n_regions": int(weights.shape[0]),
        "n_steps": int(round(args.duration / args.dt)),
        "dt": args.dt,
        "speed": args.speed,
        "integrator": "Euler",
        "import_s": t_import,
        "warmup_s": t_warmup,
        "wall_s": wall,
        "cpu_s": cpu,
        "finite": bool(np.all(np.isfinite(model.output))),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
