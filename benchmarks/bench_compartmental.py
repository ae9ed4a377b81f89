"""Compartmental engine vs NEURON 9: 100 ball-and-stick cells, 1 s at dt 0.025 ms.

Same model on both sides: hh soma (L = diam = 12.6157 um), passive dendrite
(200 x 1 um, ``--nseg`` segments, g_pas 0.001 S/cm2, e_pas -65 mV), Ra 100 Ohm cm;
one ExpSyn (tau 2 ms, e 0 mV) at dend(0.5) per cell driven by its own Poisson train
(``--rate`` Hz, weight 0.012 uS), the same spike times on both sides; spikes detected
at soma(0.5) with threshold 10 mV. Single thread each. NEURON runs in its own venv
through ``benchmarks/peers/ballstick_neuron.py bench`` (``pc.psolve``, fixed step).

Prints both run times, wall clock and process CPU time (the latter is robust to other
load on a shared machine), after building and, for vbrain, after a warm-up call that
compiles or loads the cached kernel; the ratios; and the spike counts of both.

Usage::

    python benchmarks/bench_compartmental.py [--neuron /tmp/peers/neuron/bin/python]
        [--cells 100] [--duration 1000] [--nseg 5] [--rate 150]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from vbrain.spiking import Cell, CellNetwork

HERE = Path(__file__).resolve().parent
DT = 0.025


def inputs(n_cells: int, duration: float, rate: float, seed: int = 7):
    rng = np.random.default_rng(seed)
    times, cells = [], []
    for c in range(n_cells):
        k = rng.poisson(rate * duration * 1e-3)
        t = np.sort(rng.uniform(0.5, duration, k))
        # keep clear of delivery edges (t = (k + 1/2) dt) so both sides queue alike
        frac = (t / DT) % 1.0
        t = np.round(t + np.where(np.abs(frac - 0.5) < 0.05, 0.1 * DT, 0.0), 6)
        times.append(t)
        cells.append(np.full(k, c))
    return np.concatenate(times), np.concatenate(cells)


def run_vbrain(args, times, cells):
    cell = Cell.ball_and_stick(dend_nseg=args.nseg)
    cell.add_synapse("syn", "dend(0.5)", "exp", tau=2.0, e=0.0)

    def make():
        net = CellNetwork(dt=DT, seed=1)
        net.add_population("bs", cell, args.cells)
        net.add_spike_train("bs", times, cells, weight=0.012)
        net.build()
        return net

    make().advance(10)  # compile or load the cached kernel
    t0 = time.perf_counter()
    net = make()
    t_build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    out = net.advance(round(args.duration / DT))
    t_run, c_run = time.perf_counter() - t0, time.process_time() - c0
    return t_build, t_run, c_run, int(out["counts"]["bs"].sum()), net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neuron", default=os.environ.get("VBRAIN_NEURON_PYTHON",
                                                       "/tmp/peers/neuron/bin/python"))
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--nseg", type=int, default=5)
    ap.add_argument("--rate", type=float, default=150.0)
    args = ap.parse_args()
    times, cells = inputs(args.cells, args.duration, args.rate)
    print(f"{args.cells} ball-and-stick cells (dend nseg {args.nseg}), {args.duration:g} ms "
          f"at dt {DT} ms, {len(times)} input events")
    t_build, t_run, c_run, n_spk, net = run_vbrain(args, times, cells)
    print(f"vbrain : run {t_run:.3f} s wall, {c_run:.3f} s CPU (build {t_build:.3f} s), "
          f"{n_spk} spikes")
    if not Path(args.neuron).exists():
        print(f"NEURON : skipped ({args.neuron} not found; set --neuron or "
              "VBRAIN_NEURON_PYTHON)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "inputs.npz"
        np.savez(npz, times=times, cells=cells, n_cells=args.cells, tstop=args.duration,
                 dend_nseg=args.nseg, tau=2.0, weight=0.012)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run([args.neuron, str(HERE / "peers" / "ballstick_neuron.py"),
                               "bench", str(npz)], capture_output=True, text=True, env=env,
                              check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"NEURON : run {res['run_s']:.3f} s wall, {res['run_cpu_s']:.3f} s CPU "
          f"(build {res['build_s']:.3f} s), {res['spikes']} spikes")
    mine = np.bincount(net.spikes("bs")[1], minlength=args.cells)
    same = int(np.sum(mine == np.asarray(res["counts"])))
    print(f"ratio vbrain/NEURON run time: {t_run / res['run_s']:.2f} wall, "
          f"{c_run / res['run_cpu_s']:.2f} CPU (< 1: vbrain faster); "
          f"cells with equal spike counts: {same}/{args.cells}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
