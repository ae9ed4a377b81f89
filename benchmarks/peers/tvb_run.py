"""Time one tvb-library simulation; run with TVB's Python, print one JSON line.

Called by ``benchmarks/bench_core.py`` in the TVB virtual environment (it
imports only tvb-library, tvb-data and numpy, never vbrain). It can also be run
by hand::

    /tmp/peers/tvb/bin/python benchmarks/peers/tvb_run.py --model Generic2dOscillator \
        --coupling 0.0152 --duration 10000 --out /tmp/tvb_g2d.npz

What it does:

1. loads tvb-data's ``connectivity_76.zip`` (or ``--connectivity``) and sets
   the conduction speed;
2. runs one short untimed simulation (warm-up: numba compiles the model's
   ``guvectorize`` kernel, caches are filled);
3. for each repeat, builds a fresh simulator with the same constant initial
   history, times ``configure()`` and, separately, ``run()``: only ``run()``
   counts as simulation time;
4. prints a JSON object (timings, versions, the connectivity's checksum-like
   sums) as the last line of stdout and, with ``--out``, saves the
   temporally averaged output and the final state of the last repeat to an
   ``.npz`` file for the agreement check.

The simulator is configured with default model parameters, Linear coupling
(or ``--coupling-class``)
``a * sum_j w_ij x_j(t - d_ij)``, deterministic Heun, no noise and a
TemporalAverage monitor recording every state variable.
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


def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="TVB model class, e.g. Generic2dOscillator")
    ap.add_argument("--coupling", type=float, required=True, help="coupling a")
    ap.add_argument("--coupling-class", default="Linear",
                    help="TVB coupling class taking a (Linear with b = 0, Kuramoto, ...)")
    ap.add_argument("--duration", type=float, default=10_000.0, help="simulated ms")
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--speed", type=float, default=4.0, help="mm/ms")
    ap.add_argument("--period", type=float, default=1.0, help="TemporalAverage period, ms")
    ap.add_argument("--initial", default="{}",
                    help='JSON {"state variable": value}: constant initial history')
    ap.add_argument("--connectivity", default="connectivity_76.zip",
                    help="a tvb-data connectivity file name (or path)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs")
    ap.add_argument("--warmup", type=float, default=20.0, help="untimed warm-up run, ms")
    ap.add_argument("--out", default=None, help="save tavg + final state here (.npz)")
    ap.add_argument("--nsig", type=float, default=0.0,
                    help="additive noise D for every state variable (HeunStochastic when > 0)")
    return ap.parse_args(argv)


def _monitors_every_variable(mcls):
    """TVB's model class, or a subclass whose ``variables_of_interest`` may name every state
    variable where TVB's choices leave some out (EpileptorCodim3SlowMod's omit uA, uB)."""
    from tvb.basic.neotraits.api import List

    trait, names = mcls.variables_of_interest, tuple(mcls().state_variables)
    if set(names) <= set(trait.element_choices or names):
        return mcls
    voi = List(of=str, label=trait.label, choices=names, default=trait.default, doc=trait.doc)
    return type(mcls.__name__, (mcls,), {"variables_of_interest": voi})


def build(args, duration):
    """A configured-ready (not yet configured) simulator and its connectivity."""
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    conn = Connectivity.from_file(args.connectivity)
    conn.speed = np.array([args.speed])
    model = _monitors_every_variable(getattr(models, args.model))()
    names = tuple(model.state_variables)
    model.variables_of_interest = names
    # TVB's delay steps: rint(length / speed / dt); the history holds horizon = max + 1 rows
    horizon = int(np.rint(conn.tract_lengths / args.speed / args.dt).max()) + 1
    values = json.loads(args.initial)
    # multi-mode models: "<name>_<mode>" (vbrain's names) or "<name>" for every mode
    modes = model.number_of_modes
    ic = np.empty((horizon, len(names), conn.weights.shape[0], modes))
    for i, name in enumerate(names):
        default = values.get(name, float(np.mean(model.state_variable_range[name])))
        for m in range(modes):
            ic[:, i, :, m] = values.get(f"{name}_{m}", default) if modes > 1 else default
    sim = simulator.Simulator(
        connectivity=conn,
        model=model,
        coupling=(coupling.Linear(a=np.array([args.coupling]), b=np.array([0.0]))
                  if args.coupling_class == "Linear"
                  else getattr(coupling, args.coupling_class)(a=np.array([args.coupling]))),
        integrator=(integrators.HeunStochastic(dt=args.dt, noise=noise.Additive(
                        nsig=np.array([args.nsig]), noise_seed=42))
                    if args.nsig > 0 else integrators.HeunDeterministic(dt=args.dt)),
        monitors=(monitors.TemporalAverage(period=args.period),),
        initial_conditions=ic,
        simulation_length=duration,
    )
    return sim, conn


def main(argv=None) -> int:
    """Run the warm-up and the timed runs; print the JSON result."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)

    t0 = time.perf_counter()
    import tvb.simulator.lab  # noqa: F401  (import cost, reported separately)
    t_import = time.perf_counter() - t0

    sim, _ = build(args, args.warmup)
    t0 = time.perf_counter()
    sim.configure()
    sim.run()
    t_warmup = time.perf_counter() - t0

    wall, cpu, configure = [], [], []
    for _ in range(args.repeat):
        sim, conn = build(args, args.duration)
        t0 = time.perf_counter()
        sim.configure()
        configure.append(time.perf_counter() - t0)
        c0, t0 = time.process_time(), time.perf_counter()
        (t_avg, y_avg), = sim.run()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)

    n_steps = int(round(args.duration / args.dt))
    if args.out:
        # (time, sv, node, mode) -> (time, sv * mode, node), vbrain's order (mode innermost)
        final = np.asarray(sim.current_state)
        tavg = y_avg.transpose(0, 1, 3, 2).reshape(len(y_avg), -1, y_avg.shape[2])
        np.savez(args.out, tavg=tavg, tavg_time=t_avg,
                 final_state=final.transpose(0, 2, 1).reshape(-1, final.shape[1]),
                 state_variables=np.array(sim.model.state_variables))
    out = {
        "tool": "tvb-library",
        "version": metadata.version("tvb-library"),
        "tvb_data": metadata.version("tvb-data"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "model": args.model,
        "n_regions": int(conn.weights.shape[0]),
        "weights_sum": float(conn.weights.sum()),
        "weights_nnz": int(np.count_nonzero(conn.weights)),
        "n_steps": n_steps,
        "dt": args.dt,
        "speed": args.speed,
        "integrator": "HeunStochastic" if args.nsig > 0 else "HeunDeterministic",
        "nsig": args.nsig,
        "monitor": f"TemporalAverage({args.period})",
        "import_s": t_import,
        "warmup_s": t_warmup,
        "configure_s": configure,
        "wall_s": wall,
        "cpu_s": cpu,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
