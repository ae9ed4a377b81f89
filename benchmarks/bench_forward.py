"""Cost of the forward models together: BOLD + 64-channel EEG inside the loop.

What is measured
----------------
The core workload (tvb-data's 76-region connectome, ReducedWongWang with
Linear coupling a = 0.1, speed 4 mm/ms, dt 0.1 ms, deterministic Heun, one
thread), 60 s simulated, with

1. ``TemporalAverage(1.0)`` only (the baseline), and
2. ``TemporalAverage(1.0)`` + ``Bold(tr=2000)`` + ``EEG`` (biosemi64, MNE
   sphere lead field, 1 ms sampling).

Each configuration runs once untimed (compilation), then ``--repeat`` times,
interleaved so that drifts of the machine's speed hit both alike; the median
and the added cost in percent are printed (issue target: at most 30 %).

How to run
----------
::

    python benchmarks/bench_forward.py             # ~1-2 min on 2 cores
    python benchmarks/bench_forward.py --duration 10000 --repeat 3
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS")})

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import vbrain as vb  # noqa: E402
from vbrain.forward import LeadField  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60_000.0, help="simulated ms")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    conn = vb.Connectome.load("atlases:default")
    leadfield = LeadField.sphere(conn, montage="biosemi64")

    def simulation(forward: bool) -> vb.Simulation:
        monitors = [vb.monitors.TemporalAverage(1.0)]
        if forward:
            monitors += [vb.monitors.Bold(tr=2000.0), vb.monitors.EEG(leadfield, period=1.0)]
        return vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             speed=4.0, dt=0.1, integrator="heun", seed=1, monitors=monitors)

    sims = {"tavg only": simulation(False), "tavg + BOLD + EEG(64)": simulation(True)}
    times: dict[str, list[float]] = {name: [] for name in sims}
    for sim in sims.values():
        sim.run(100.0, progress=False)
    for _ in range(args.repeat):
        for name, sim in sims.items():
            t0 = time.perf_counter()
            sim.run(args.duration, progress=False)
            times[name].append(time.perf_counter() - t0)

    n_steps = args.duration / 0.1
    base = statistics.median(times["tavg only"])
    print(f"Forward-model cost: 76 regions, ReducedWongWang, Heun, {args.duration / 1000:g} s "
          f"simulated, median of {args.repeat}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<24} {med:7.3f} s  {med / (n_steps * conn.n_regions) * 1e9:6.1f} "
              f"ns/region-step  (+{100 * (med / base - 1):5.1f} %)")
    added = statistics.median(times["tavg + BOLD + EEG(64)"]) / base - 1
    print(f"BOLD + 64-channel EEG add {100 * added:.1f} % (target <= 30 %): "
          f"{'ok' if added <= 0.30 else 'MISSED'}")


if __name__ == "__main__":
    main()
