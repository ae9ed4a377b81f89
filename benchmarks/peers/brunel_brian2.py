"""Brunel (2000) network in Brian2 cpp_standalone (run in Brian2's environment), as JSON.

The same network as ``vbrain.spiking.brunel.brunel2000`` and
``brunel_nest.py``: n_e + n_e/4 LIF neurons with delta synapses (tau_m 20 ms,
V_th 20 mV, V_reset 10 mV, E_L 0, t_ref 2 ms, V starting at 0; input arriving
during the refractory period is discarded, as NEST's ``iaf_psc_delta``), fixed
in-degree C_E = n_e/10, C_I = n_e/40 (drawn with numpy, passed as index arrays),
J = 0.1 mV, g = 5, delay 1.5 ms, external input ``PoissonInput`` of C_E sources
at nu_ext = 2 nu_thr, dt 0.1 ms, one thread.

Printed (one JSON line): the time to build (code generation + C++ compilation
+ network construction in the binary: total ``device.build`` time minus the
simulation), the simulation time (Brian2's own ``device._last_run_time``, wall
time of the run loop inside the binary), rates (Hz) and the mean excitatory ISI
CV (neurons with >= 3 spikes).

Usage::

    /tmp/peers/brian2/bin/python benchmarks/peers/brunel_brian2.py [--n-e 8000]
        [--duration 1000] [--seed 1] [--out tests/data/brunel_brian2.json]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
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

    import brian2 as b2
    import numpy as np

    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.logging.console_log_level = "ERROR"
    b2.seed(args.seed)
    b2.defaultclock.dt = 0.1 * b2.ms
    n_e = args.n_e
    n_i = n_e // 4
    n = n_e + n_i
    c_e, c_i = n_e // 10, n_i // 10
    J, g, eta, delay = 0.1, 5.0, 2.0, 1.5
    tau_m, v_th = 20.0, 20.0
    nu_thr = v_th / (J * c_e * tau_m)  # kHz
    nu_ext = eta * nu_thr

    ns = {"tau": tau_m * b2.ms, "E_L": 0.0 * b2.mV}
    G = b2.NeuronGroup(n, "dv/dt = -(v - E_L) / tau : volt (unless refractory)",
                       threshold="v >= 20*mV", reset="v = 10*mV", refractory=2.0 * b2.ms,
                       method="exact", namespace=ns)
    G.v = 0.0 * b2.mV
    rng = np.random.default_rng(args.seed)
    tgt = np.repeat(np.arange(n), c_e)
    src_e = rng.integers(0, n_e, size=n * c_e)
    src_i = rng.integers(0, n_i, size=n * c_i) + n_e
    tgt_i = np.repeat(np.arange(n), c_i)
    S_e = b2.Synapses(G, G, on_pre="v_post += 0.1*mV * int(not_refractory_post)",
                      delay=delay * b2.ms)
    S_e.connect(i=src_e, j=tgt)
    S_i = b2.Synapses(G, G, on_pre=f"v_post += {-g * J}*mV * int(not_refractory_post)",
                      delay=delay * b2.ms)
    S_i.connect(i=src_i, j=tgt_i)
    P = b2.PoissonInput(G, "v", c_e, nu_ext * b2.kHz, weight="0.1*mV * int(not_refractory)")
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, S_e, S_i, P, mon)
    net.run(args.duration * b2.ms)
    workdir = tempfile.mkdtemp(prefix="brunel_brian2_")
    try:
        w0 = time.perf_counter()
        b2.device.build(directory=workdir, compile=True, run=True, debug=False)
        total = time.perf_counter() - w0
        sim = float(b2.device._last_run_time)
        ids = np.asarray(mon.i[:])
        times = np.asarray(mon.t[:] / b2.ms)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    is_e = ids < n_e
    res = {
        "tool": "brian2-cpp_standalone", "version": b2.__version__, "n_e": n_e,
        "duration_ms": args.duration, "seed": args.seed, "build_s": total - sim,
        "sim_s": sim, "sim_wall_s": sim,
        "rate_e_hz": float(is_e.sum() / n_e / (args.duration / 1000.0)),
        "rate_i_hz": float((~is_e).sum() / n_i / (args.duration / 1000.0)),
        "cv_e": isi_cv(times[is_e], ids[is_e]),
        "first_ms": args.first,
    }
    early = times <= args.first
    res["rate_e_hz_first"] = float((is_e & early).sum() / n_e / (args.first / 1000.0))
    res["rate_i_hz_first"] = float((~is_e & early).sum() / n_i / (args.first / 1000.0))
    res["cv_e_first"] = isi_cv(times[is_e & early], ids[is_e & early])
    line = json.dumps(res)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
