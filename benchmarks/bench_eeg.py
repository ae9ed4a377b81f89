"""Cost of simulated EEG: a 64-channel EEG monitor on top of the core workload.

What is measured
----------------
Workload: tvb-data's 76-region connectome, ReducedWongWang (a = 0.1, Linear
coupling), speed 4 mm/ms, dt 0.1 ms, deterministic Heun, 60 s simulated
(600 000 steps), one thread. Three configurations, each a warm-up run and then
the median of ``--repeat`` timed ``Simulation.run`` calls:

1. ``TemporalAverage(1.0)`` only (the baseline);
2. ``TemporalAverage(1.0)`` + ``EEG(biosemi64 sphere lead field, period=1.0)``;
3. ``EEG`` only.

Printed: wall times, the EEG monitor's overhead over the baseline (absolute
and relative), ns per region-step, and the one-off cost of building the lead
field with MNE (``LeadField.sphere``).

How to run
----------
::

    python benchmarks/bench_eeg.py                  # ~1-2 min on 2 cores
    python benchmarks/bench_eeg.py --duration 5000  # quicker
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")})

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import vbrain as vb  # noqa: E402
from vbrain.forward.leadfield import LeadField  # noqa: E402


def _timed(sim: vb.Simulation, duration: float, repeat: int) -> list[float]:
    sim.run(min(duration, 1000.0), progress=False)  # warm-up: compile, caches
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sim.run(duration, progress=False)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=60_000.0, help="simulated ms")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--montage", default="biosemi64")
    args = ap.parse_args(argv)

    conn = vb.Connectome.load("atlases:default")
    t0 = time.perf_counter()
    LeadField.sphere(conn, args.montage)  # first call: MNE imports and JIT
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    lf = LeadField.sphere(conn, args.montage)
    t_lf = time.perf_counter() - t0

    def sim(monitors):
        return vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             speed=4.0, dt=0.1, integrator="heun", seed=1, monitors=monitors)

    configs = {
        "tavg only": [vb.monitors.TemporalAverage(1.0)],
        "tavg + EEG": [vb.monitors.TemporalAverage(1.0), vb.monitors.EEG(lf, period=1.0)],
        "EEG only": [vb.monitors.EEG(lf, period=1.0)],
    }
    n_steps = int(round(args.duration / 0.1))
    times = {name: _timed(sim(mons), args.duration, args.repeat) for name, mons in configs.items()}

    print(f"vbrain EEG monitor benchmark: {conn.n_regions} regions, ReducedWongWang, Heun, "
          f"dt 0.1 ms, {args.duration / 1000:g} s simulated ({n_steps} steps), "
          f"{lf.n_sensors}-channel {args.montage} sphere lead field")
    print(f"lead field (LeadField.sphere): {t_lf * 1e3:.0f} ms (first call in the process "
          f"{t_first:.2f} s)")
    print(f"{'configuration':<14} {'median s':>9} {'min s':>7} {'ns/region-step':>15}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<14} {med:>9.3f} {min(ts):>7.3f} "
              f"{med / (n_steps * conn.n_regions) * 1e9:>15.1f}")
    base = statistics.median(times["tavg only"])
    with_eeg = statistics.median(times["tavg + EEG"])
    print(f"EEG monitor overhead: {with_eeg - base:+.3f} s ({(with_eeg / base - 1) * 100:+.1f} %) "
          f"for {n_steps // 10} samples x {lf.n_sensors} channels")


if __name__ == "__main__":
    main()
