"""Brunel (2000) network in NEST 3 (run in NEST's environment): timings and statistics as JSON.

The same network as ``vbrain.spiking.brunel.brunel2000`` (NEST's
``brunel_delta_nest`` example with C_m 250 pF and V_m starting at 0): n_e
excitatory + n_e/4 inhibitory ``iaf_psc_delta`` neurons, fixed in-degree
C_E = n_e/10, C_I = n_e/40, J = 0.1 mV, g = 5, delay 1.5 ms, one Poisson
generator of rate C_E * nu_ext (nu_ext = 2 nu_thr) onto every neuron, dt 0.1 ms,
one thread.

Printed (one JSON line): build time (create + connect, process time), simulation
time (process time of ``Simulate``), excitatory/inhibitory rates (Hz) and the mean
ISI CV of the excitatory neurons (neurons with >= 3 spikes).

Usage::

    /tmp/peers/nest/bin/python benchmarks/peers/brunel_nest.py [--n-e 8000]
        [--duration 1000] [--seed 1] [--out tests/data/brunel_nest.json]

``--out`` also writes the JSON to a file: that is how ``tests/data/brunel_nest.json``
was made (the reference numbers of ``tests/test_spiking_brunel.py``).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def isi_cv(times, ids):
    import numpy as np

    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    cvs = []
    for n in np.unique(i):
        ti = t[i == n]
        if ti.size >= 3:
            isi = np.diff(ti)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-e", type=int, default=8000)
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--first", type=float, default=300.0,
                    help="also report rates and CV over the first FIRST ms")
    args = ap.parse_args(argv)

    import nest
    import numpy as np

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    t0 = time.process_time()
    w0 = time.perf_counter()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1, "rng_seed": args.seed,
                          "print_time": False})
    n_e = args.n_e
    n_i = n_e // 4
    c_e, c_i = n_e // 10, n_i // 10
    J, g, eta, delay = 0.1, 5.0, 2.0, 1.5
    params = {"tau_m": 20.0, "C_m": 250.0, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0,
              "t_ref": 2.0, "V_m": 0.0}
    nu_thr = params["V_th"] / (J * c_e * params["tau_m"])
    p_rate = 1000.0 * eta * nu_thr * c_e
    E = nest.Create("iaf_psc_delta", n_e, params=params)
    I = nest.Create("iaf_psc_delta", n_i, params=params)
    noise = nest.Create("poisson_generator", params={"rate": p_rate})
    rec = nest.Create("spike_recorder")
    nest.CopyModel("static_synapse", "exc", {"weight": J, "delay": delay})
    nest.CopyModel("static_synapse", "inh", {"weight": -g * J, "delay": delay})
    nest.Connect(noise, E + I, syn_spec="exc")
    nest.Connect(E, E + I, {"rule": "fixed_indegree", "indegree": c_e}, "exc")
    nest.Connect(I, E + I, {"rule": "fixed_indegree", "indegree": c_i}, "inh")
    nest.Connect(E + I, rec)
    nest.Prepare()
    build = time.process_time() - t0
    build_wall = time.perf_counter() - w0
    t0 = time.process_time()
    w0 = time.perf_counter()
    nest.Run(args.duration)
    sim = time.process_time() - t0
    sim_wall = time.perf_counter() - w0
    nest.Cleanup()
    ev = rec.get("events")
    senders = np.asarray(ev["senders"])
    times = np.asarray(ev["times"], dtype=float)
    e_first = E.tolist()[0]
    is_e = senders < e_first + n_e
    res = {
        "tool": "nest", "version": nest.__version__, "n_e": n_e, "duration_ms": args.duration,
        "seed": args.seed, "build_s": build, "sim_s": sim, "build_wall_s": build_wall,
        "sim_wall_s": sim_wall,
        "rate_e_hz": float(is_e.sum() / n_e / (args.duration / 1000.0)),
        "rate_i_hz": float((~is_e).sum() / n_i / (args.duration / 1000.0)),
        "cv_e": isi_cv(times[is_e], senders[is_e]),
        "first_ms": args.first,
    }
    early = times <= args.first
    res["rate_e_hz_first"] = float((is_e & early).sum() / n_e / (args.first / 1000.0))
    res["rate_i_hz_first"] = float((~is_e & early).sum() / n_i / (args.first / 1000.0))
    res["cv_e_first"] = isi_cv(times[is_e & early], senders[is_e & early])
    line = json.dumps(res)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
