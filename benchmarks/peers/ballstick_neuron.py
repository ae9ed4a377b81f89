"""NEURON 9 side of the compartmental-engine checks (run with NEURON's python).

Two modes:

``fixture``  runs the reference cases (ball-and-stick cells: hh soma, passive or hh
            dendrite; current steps, ExpSyn / Exp2Syn input from given spike times, a
            two-cell NetCon connection) and writes ``tests/data/neuron_ballstick.json``
            with each case's definition, NEURON's spike times and the soma voltage.
``bench``   times 100 ball-and-stick cells for 1 s at dt 0.025 ms (each cell an ExpSyn
            on its dendrite driven by its own Poisson train, read from an .npz written
            by ``benchmarks/bench_compartmental.py``), single thread, and prints JSON.

Usage::

    /tmp/peers/neuron/bin/python benchmarks/peers/ballstick_neuron.py fixture [out.json]
    /tmp/peers/neuron/bin/python benchmarks/peers/ballstick_neuron.py bench inputs.npz

The case definitions here are the single source of truth: tests rebuild the same
models in vbrain from the JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from neuron import h

h.load_file("stdrun.hoc")

DT = 0.025

# Reference cases. Times in ms, currents nA, conductances uS, lengths um.
CASES = [
    # five 1-ms current pulses into the soma (the passive dendrite's shunt stops
    # repetitive firing under a steady current in this cell)
    {"name": "iclamp_soma_pas_dend", "dend_hh": False, "dend_nseg": 5, "tstop": 100.0,
     "iclamp": [{"cell": 0, "loc": ["soma", 0.5], "delay": 5.0 + 18.0 * k, "dur": 1.0,
                 "amp": 0.5} for k in range(5)]},
    # a steady current at the dendrite's far end (a zero-area node), active dendrite
    {"name": "iclamp_dend_end_hh_dend", "dend_hh": True, "dend_nseg": 11, "tstop": 100.0,
     "iclamp": [{"cell": 0, "loc": ["dend", 1.0], "delay": 10.0, "dur": 70.0, "amp": 0.2}]},
    {"name": "expsyn_train", "dend_hh": False, "dend_nseg": 7, "tstop": 200.0,
     "synapse": {"kind": "exp", "loc": ["dend", 0.5], "tau": 2.0, "e": 0.0},
     "train": {"cell": 0, "weight": 0.012, "seed": 3, "rate": 150.0}},
    # cell 0 fires on current pulses; its spikes reach cell 1's Exp2Syn through a NetCon
    {"name": "exp2syn_two_cells", "dend_hh": False, "dend_nseg": 5, "tstop": 150.0,
     "n_cells": 2,
     "synapse": {"kind": "exp2", "loc": ["dend", 0.8], "tau1": 0.5, "tau2": 5.0, "e": 0.0},
     "iclamp": [{"cell": 0, "loc": ["soma", 0.5], "delay": 5.0 + 25.0 * k, "dur": 1.0,
                 "amp": 0.5} for k in range(5)],
     "netcon": {"pre": 0, "post": 1, "delay": 2.0, "weight": 0.04, "threshold": 10.0}},
]


def train_times(spec: dict, tstop: float) -> np.ndarray:
    """The case's input spike times: a seeded Poisson train kept off half-step edges."""
    rng = np.random.default_rng(spec["seed"])
    n = rng.poisson(spec["rate"] * tstop * 1e-3)
    t = np.sort(rng.uniform(1.0, tstop - 1.0, n))
    # NEURON delivers an event at the first step start t_k with t <= t_k + dt/2; keep
    # times a safe distance from those edges so accumulated-t round-off cannot matter
    frac = (t / DT) % 1.0
    t = t + np.where(np.abs(frac - 0.5) < 0.05, 0.1 * DT, 0.0)
    return np.round(t, 6)


def make_cell(i: int, dend_hh: bool, dend_nseg: int):
    soma = h.Section(name=f"soma_{i}")
    dend = h.Section(name=f"dend_{i}")
    dend.connect(soma(1))
    soma.L = soma.diam = 12.6157
    dend.L = 200.0
    dend.diam = 1.0
    dend.nseg = dend_nseg
    for sec in (soma, dend):
        sec.Ra = 100.0
        sec.cm = 1.0
    soma.insert("hh")
    if dend_hh:
        dend.insert("hh")
    else:
        dend.insert("pas")
        for seg in dend:
            seg.pas.g = 0.001
            seg.pas.e = -65.0
    return {"soma": soma, "dend": dend}


def run_case(case: dict) -> dict:
    h.dt = DT
    h.celsius = 6.3
    n = case.get("n_cells", 1)
    cells = [make_cell(i, case["dend_hh"], case["dend_nseg"]) for i in range(n)]
    keep = []
    for ic in case.get("iclamp", []):
        sec, x = ic["loc"]
        stim = h.IClamp(cells[ic["cell"]][sec](x))
        stim.delay, stim.dur, stim.amp = ic["delay"], ic["dur"], ic["amp"]
        keep.append(stim)
    syns = []
    if "synapse" in case:
        s = case["synapse"]
        for c in cells:
            sec, x = s["loc"]
            if s["kind"] == "exp":
                syn = h.ExpSyn(c[sec](x))
                syn.tau = s["tau"]
            else:
                syn = h.Exp2Syn(c[sec](x))
                syn.tau1, syn.tau2 = s["tau1"], s["tau2"]
            syn.e = s["e"]
            syns.append(syn)
    events = []
    if "train" in case:
        tr = case["train"]
        times = train_times(tr, case["tstop"])
        case["train"]["times"] = times.tolist()
        nc = h.NetCon(None, syns[tr["cell"]])
        nc.weight[0] = tr["weight"]
        keep.append(nc)
        events.append((nc, times))
    if "netcon" in case:
        c = case["netcon"]
        pre = cells[c["pre"]]["soma"]
        nc = h.NetCon(pre(0.5)._ref_v, syns[c["post"]], sec=pre)
        nc.threshold, nc.delay, nc.weight[0] = c["threshold"], c["delay"], c["weight"]
        keep.append(nc)
    rec_t = []
    rec_id = []
    for i, c in enumerate(cells):
        t = h.Vector()
        nc = h.NetCon(c["soma"](0.5)._ref_v, None, sec=c["soma"])
        nc.threshold = 10.0
        nc.record(t)
        keep.append(nc)
        rec_t.append(t)
        rec_id.append(i)
    vs = [h.Vector().record(c["soma"](0.5)._ref_v) for c in cells]

    def queue():
        for nc, times in events:
            for t in times:
                nc.event(float(t))

    fih = h.FInitializeHandler(queue)  # noqa: F841  (kept alive through the run)
    h.finitialize(-65.0)
    h.continuerun(case["tstop"])
    return {
        "spikes": [list(np.asarray(t)) for t in rec_t],
        # soma voltage every 4 steps (0.1 ms), from t = 0
        "v_soma": [list(np.round(np.asarray(v)[::4], 9)) for v in vs],
    }


def fixture(out: Path) -> None:
    import neuron

    res = []
    for case in CASES:
        case = json.loads(json.dumps(case))
        r = run_case(case)
        res.append({"case": case, **r})
        print(case["name"], [len(s) for s in r["spikes"]], "spikes", file=sys.stderr)
    meta = {"neuron_version": neuron.__version__, "dt": DT, "celsius": 6.3, "v_init": -65.0,
            "secondorder": int(h.secondorder), "usetable_hh": int(h.usetable_hh),
            "made_by": "benchmarks/peers/ballstick_neuron.py fixture"}
    out.write_text(json.dumps({"meta": meta, "cases": res}, indent=1))


def bench(npz: Path) -> None:
    """100 ball-and-stick cells, ExpSyn on dend(0.5) driven by given spike times."""
    data = np.load(npz)
    n = int(data["n_cells"])
    tstop = float(data["tstop"])
    h.dt = DT
    h.celsius = 6.3
    pc = h.ParallelContext()
    pc.nthread(1)
    t0 = time.perf_counter()
    cells = [make_cell(i, False, int(data["dend_nseg"])) for i in range(n)]
    syns, ncs, spk = [], [], []
    for i, c in enumerate(cells):
        syn = h.ExpSyn(c["dend"](0.5))
        syn.tau = float(data["tau"])
        syn.e = 0.0
        syns.append(syn)
        nc = h.NetCon(None, syn)
        nc.weight[0] = float(data["weight"])
        ncs.append(nc)
        t = h.Vector()
        det = h.NetCon(c["soma"](0.5)._ref_v, None, sec=c["soma"])
        det.threshold = 10.0
        det.record(t)
        ncs.append(det)
        spk.append(t)
    times, cell_of = data["times"], data["cells"]

    def queue():
        for t, c in zip(times, cell_of):
            ncs[2 * int(c)].event(float(t))

    fih = h.FInitializeHandler(queue)  # noqa: F841
    t_build = time.perf_counter() - t0
    pc.set_maxstep(10.0)  # psolve needs a min delay; no cell-to-cell NetCon here
    h.finitialize(-65.0)
    t0, c0 = time.perf_counter(), time.process_time()
    pc.psolve(tstop)
    t_run, c_run = time.perf_counter() - t0, time.process_time() - c0
    counts = [len(s) for s in spk]
    print(json.dumps({"build_s": t_build, "run_s": t_run, "run_cpu_s": c_run, "spikes": int(sum(counts)),
                      "counts": counts}))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "fixture"
    if mode == "fixture":
        default = Path(__file__).resolve().parents[2] / "tests" / "data" / "neuron_ballstick.json"
        fixture(Path(sys.argv[2]) if len(sys.argv) > 2 else default)
    elif mode == "bench":
        bench(Path(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}; use 'fixture' or 'bench'")
