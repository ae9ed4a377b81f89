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
    # a branched cell from 3-D points (tapered sections; children at x = 0, 0.5 and 1 of
    # the soma and at a dendrite's end; the sections of tests/data/branched_cell.swc as
    # vbrain reads them), hh everywhere; spikes detected at the soma and the axon's end
    {"name": "branched_3d_hh", "tstop": 60.0, "Ra": 100.0,
     "detect": [["soma", 0.5], ["axon[0]", 1.0]],
     "iclamp": [{"loc": ["soma", 0.5], "delay": 2.0 + 15.0 * k, "dur": 1.0, "amp": 1.5}
                for k in range(4)],
     "sections": [
         {"name": "soma", "parent": None, "parent_x": 1.0, "nseg": 1,
          "points": [[0.0, -8.0, 0.0, 16.0], [0.0, 0.0, 0.0, 16.0], [0.0, 8.0, 0.0, 16.0]]},
         {"name": "dend[0]", "parent": 0, "parent_x": 0.0, "nseg": 5,
          "points": [[0.0, -8.0, 0.0, 3.0], [0.0, -10.0, 0.0, 3.0], [0.0, -40.0, 0.0, 2.4]]},
         {"name": "axon[0]", "parent": 0, "parent_x": 0.5, "nseg": 9,
          "points": [[0.0, 0.0, 0.0, 1.0], [8.0, 0.0, 0.0, 1.0], [60.0, 0.0, 0.0, 1.0],
                     [200.0, 0.0, 0.0, 0.8]]},
         {"name": "apic[0]", "parent": 0, "parent_x": 1.0, "nseg": 5,
          "points": [[0.0, 8.0, 0.0, 4.0], [0.0, 10.0, 0.0, 4.0], [0.0, 60.0, 0.0, 3.2],
                     [0.0, 120.0, 5.0, 2.4]]},
         {"name": "dend[1]", "parent": 1, "parent_x": 1.0, "nseg": 3,
          "points": [[0.0, -40.0, 0.0, 2.0], [10.0, -70.0, 0.0, 2.0], [20.0, -100.0, 0.0, 1.6]]},
         {"name": "dend[2]", "parent": 1, "parent_x": 1.0, "nseg": 3,
          "points": [[0.0, -40.0, 0.0, 2.0], [-10.0, -70.0, 0.0, 2.0],
                     [-25.0, -110.0, 0.0, 1.4]]},
     ]},
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


def run_branched(case: dict) -> dict:
    """A cell from 3-D points (pt3dadd), hh everywhere, current pulses at the soma."""
    h.dt = DT
    h.celsius = 6.3
    secs = []
    for spec in case["sections"]:
        sec = h.Section(name=spec["name"])
        h.pt3dclear(sec=sec)
        for x, y, z, d in spec["points"]:
            h.pt3dadd(x, y, z, d, sec=sec)
        sec.nseg = spec["nseg"]
        sec.Ra = case["Ra"]
        sec.cm = 1.0
        sec.insert("hh")
        if spec["parent"] is not None:
            sec.connect(secs[spec["parent"]](spec["parent_x"]), 0)
        secs.append(sec)
    by_name = {s["name"]: sec for s, sec in zip(case["sections"], secs)}
    keep = []
    for ic in case["iclamp"]:
        stim = h.IClamp(by_name[ic["loc"][0]](ic["loc"][1]))
        stim.delay, stim.dur, stim.amp = ic["delay"], ic["dur"], ic["amp"]
        keep.append(stim)
    rec_t, vs = [], []
    for name, x in case["detect"]:
        t = h.Vector()
        nc = h.NetCon(by_name[name](x)._ref_v, None, sec=by_name[name])
        nc.threshold = 10.0
        nc.record(t)
        keep.append(nc)
        rec_t.append(t)
        vs.append(h.Vector().record(by_name[name](x)._ref_v))
    h.finitialize(-65.0)
    h.continuerun(case["tstop"])
    return {"spikes": [list(np.asarray(t)) for t in rec_t],
            "v_soma": [list(np.round(np.asarray(v)[::4], 9)) for v in vs]}


def run_case(case: dict) -> dict:
    if "sections" in case:
        return run_branched(case)
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
