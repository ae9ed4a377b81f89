"""Measure vbrain's start-up in a fresh process; print one JSON line.

Run by ``bench_core.py`` (section "compile") twice with the same, initially
empty, kernel cache (``VBRAIN_CACHE_DIR``) and numba cache
(``NUMBA_CACHE_DIR``): the first process compiles everything, the second
loads the compiled kernels from disk. Each reports

- ``import_s``: ``import vbrain``;
- ``load_s``: ``Connectome.load("atlases:default")``;
- ``first_run_s``: building the simulation and running ``--duration`` ms
  (includes compiling, or loading, the time loop and the monitors);
- ``second_run_s``: the same run again in the same process (no compile),
  so ``first_run_s - second_run_s`` is the compile/load cost.

Usage::

    VBRAIN_CACHE_DIR=/tmp/k NUMBA_CACHE_DIR=/tmp/n python benchmarks/startup_probe.py \
        --model Generic2dOscillator
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None) -> int:
    """Time import, connectome load and two short runs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="Generic2dOscillator", help="vbrain.models class")
    ap.add_argument("--coupling", type=float, default=0.0152, help="Linear coupling a")
    ap.add_argument("--duration", type=float, default=1.0, help="simulated ms")
    ap.add_argument("--initial", default=None,
                    help='JSON {"state variable": value}: constant initial history (default: '
                         "the model's random one; some models diverge from it at dt 0.1)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    import vbrain as vb

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn = vb.Connectome.load("atlases:default")
    t_load = time.perf_counter() - t0

    def once() -> float:
        t = time.perf_counter()
        model = getattr(vb.models, args.model)()
        init = None
        if args.initial is not None:
            values = json.loads(args.initial)
            init = [[values[name]] * conn.n_regions for name in model.state_names()]
        sim = vb.Simulation(conn, model,
                            vb.coupling.Linear(a=args.coupling), speed=4.0, dt=0.1,
                            integrator="heun", seed=1, initial_history=init,
                            monitors=[vb.monitors.TemporalAverage(1.0)])
        sim.run(args.duration, progress=False)
        return time.perf_counter() - t

    first = once()
    second = once()
    print(json.dumps({"model": args.model, "import_s": t_import, "load_s": t_load,
                      "first_run_s": first, "second_run_s": second}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
