"""Overhead of the BOLD monitors on the core workload.

What is measured
----------------
The 76-region ReducedWongWang workload (tvb-data's ``connectivity_76``,
Linear coupling a = 0.1, speed 4 mm/ms, dt 0.1 ms, stochastic Heun with
additive noise 1e-5, seed 1), 60 s simulated, one thread. Three monitor
sets, each run ``--repeat`` times after a warm-up (compiles), interleaved so
drifting machine load hits all of them alike:

- ``tavg``: ``TemporalAverage(1.0)`` only (the reference);
- ``tavg+bold``: plus ``Bold(tr=2000)`` (Balloon-Windkessel, RK4 every 4 ms);
- ``tavg+bold_1ms``: plus ``Bold(tr=2000, period=1.0)`` (finer hemodynamic step);
- ``tavg+bold_hrf``: plus ``BoldHRF(tr=2000)`` (TVB's 4 ms stock + 20 s kernel).

Printed: the median wall time of each, the overhead over ``tavg`` in percent
(the project target: BOLD plus a 64-channel EEG monitor add at most 30 %),
and the time spent inside each BOLD monitor's ``consume`` (median over
repeats), which is the monitor's own cost free of run-to-run noise.

Run: ``python benchmarks/bench_bold.py [--duration MS] [--repeat N] [--json OUT]``.
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")})

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import vbrain as vb  # noqa: E402


class Timed:
    """Wrap a monitor; accumulate the wall time of its ``consume`` calls."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.seconds = 0.0
        consume = monitor.consume

        def timed(trace, first_step):
            t0 = time.perf_counter()
            out = consume(trace, first_step)
            self.seconds += time.perf_counter() - t0
            return out

        monitor.consume = timed


def monitor_sets():
    return {
        "tavg": lambda: [vb.monitors.TemporalAverage(1.0)],
        "tavg+bold": lambda: [vb.monitors.TemporalAverage(1.0), vb.monitors.Bold(tr=2000.0)],
        "tavg+bold_1ms": lambda: [vb.monitors.TemporalAverage(1.0),
                                  vb.monitors.Bold(tr=2000.0, period=1.0)],
        "tavg+bold_hrf": lambda: [vb.monitors.TemporalAverage(1.0),
                                  vb.monitors.BoldHRF(tr=2000.0)],
    }


def run_once(conn, make, duration):
    monitors = make()
    timers = [Timed(m) for m in monitors[1:]]
    sim = vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1), dt=0.1,
                        speed=4.0, integrator="heun", noise=vb.noise.Additive(1e-5), seed=1,
                        monitors=monitors)
    t0 = time.perf_counter()
    res = sim.run(duration, progress=False)
    wall = time.perf_counter() - t0
    return wall, sum(t.seconds for t in timers), res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60_000.0, help="simulated ms")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args(argv)

    conn = vb.Connectome.load("atlases:default")
    sets = monitor_sets()
    for make in sets.values():  # warm-up: compile kernels and monitors
        run_once(conn, make, 100.0)
    walls = {k: [] for k in sets}
    inside = {k: [] for k in sets}
    for _ in range(args.repeat):
        for key, make in sets.items():
            wall, mon, res = run_once(conn, make, args.duration)
            walls[key].append(wall)
            inside[key].append(mon)
    n_steps = int(round(args.duration / 0.1))
    base = statistics.median(walls["tavg"])
    print(f"ReducedWongWang, 76 regions, Heun dt 0.1 ms, {args.duration / 1000:g} s simulated, "
          f"{args.repeat} repeats (median)")
    print(f"{'monitors':<16}{'wall s':>9}{'ns/region-step':>16}{'overhead':>10}{'in monitor':>12}")
    summary = {}
    for key in sets:
        wall = statistics.median(walls[key])
        mon = statistics.median(inside[key])
        over = (wall / base - 1.0) * 100.0
        summary[key] = {"wall_s": walls[key], "monitor_s": inside[key], "overhead_pct": over,
                        "monitor_pct": mon / base * 100.0}
        extra = "" if key == "tavg" else f"{mon:9.3f} s ({mon / base * 100:.1f} %)"
        print(f"{key:<16}{wall:9.2f}{wall / (n_steps * conn.n_regions) * 1e9:16.0f}"
              f"{over:9.1f}%  {extra}")
    print("target: BOLD + 64-channel EEG <= +30 % over tavg (this measures the BOLD part)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"duration_ms": args.duration, "repeat": args.repeat,
                       "load_avg": os.getloadavg(), "results": summary}, f, indent=2)


if __name__ == "__main__":
    main()
