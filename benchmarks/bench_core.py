"""Core engine benchmark: vbrain side by side with tvb-library and neurolib.

What is measured
----------------
Workload (the same for every tool): tvb-data's 76-region connectome
(``connectivity_76.zip``), conduction speed 4 mm/ms, dt 0.1 ms, deterministic
integration, 10 s simulated, Linear coupling, a 1 ms temporal average of all
state variables, a constant initial history. Everything runs on one thread
(``OMP/NUMBA/MKL/OPENBLAS/NUMEXPR_NUM_THREADS=1`` here and in every
subprocess).

1. **Per model** (``--models``): ``g2d`` (Generic2dOscillator, coupling
   a = 0.0152) and ``rww`` (ReducedWongWang, a = 0.1), the issue's workload,
   plus ``rwwei`` (ReducedWongWangExcInh, a = 0.1), the model neurolib's
   ``WWModel`` implements, for a like-for-like neurolib comparison:

   - vbrain, Heun: warm-up run, then the median of ``--repeat`` timed
     ``Simulation.run`` calls (result building included, as a user waits
     for it), half before and half after the peers' runs. Also vbrain with
     Euler, for reference against neurolib.
   - tvb-library 2.10 (in its own venv, ``peers/tvb_run.py``): same model
     with TVB's defaults, Linear coupling, ``HeunDeterministic``,
     ``TemporalAverage(1.0)``. One short warm-up simulation; only
     ``Simulator.run`` is timed (``configure`` is reported apart).
   - neurolib 0.6.2 (``peers/neurolib_run.py``): it has neither the generic
     2D oscillator nor the one-population Wong-Wang model, so ``FHNModel``
     (FitzHugh-Nagumo, additive coupling) stands in for G2D and ``WWModel``
     (the 2-population E-I Wong-Wang model of Deco et al. 2014) for RWW.
     neurolib integrates with Euler. One warm-up run (numba JIT) first.

   Printed: median wall time and ns per region-step (wall / (n_steps *
   n_regions); also for the best repeat) for each tool, the ratios
   TVB/vbrain and neurolib/vbrain (of the medians) against the targets
   (>= 20x TVB, >= 4x neurolib), and how closely vbrain and TVB
   agree on the same workload (final state and averaged trace, max absolute
   difference relative to the largest magnitude; TVB keeps its delay history
   in float32, so expect ~1e-7).

2. **Batch**: ``Simulation.sweep`` over 32 values of the coupling ``a``
   (the median of ``--sweep-repeat`` sweeps after an untimed one of the same
   size) against single runs timed just before and after it (target: sweep
   <= 8x a single run); also with one thread.

3. **Noise** (not a stated workload): the first model with additive noise
   (D = ``NSIG`` on every variable, stochastic Heun): deterministic and noisy
   single runs, a 32-point sweep with a seed per member, and TVB's
   HeunStochastic on the same settings.

4. **Scaling**: vbrain at 76 and 192 regions (tvb-data) and on synthetic
   brain-sized connectomes of ~300 and ~1000 regions (see
   :func:`synthetic_connectome`); the simulated time shrinks with N so each
   run takes a few seconds. Printed: ns per region-step, time per step and
   per non-zero connection.

5. **Compile**: a fresh process with empty kernel and numba caches (first
   call compiles), then a second process with the same caches (start-up
   with cached compiles): import, connectome load, first and second 1 ms run.

How to run
----------
::

    bash /work/shared/peers/setup.sh tvb neurolib      # peers in /tmp/peers (once)
    python benchmarks/bench_core.py                    # everything, ~4-6 min on 2 cores
    python benchmarks/bench_core.py --quick            # 1 s simulated: smoke run
    python benchmarks/bench_core.py --models g2d --skip-peers --json out.json

Peers are found through ``--tvb-python`` / ``--neurolib-python``, else the
``TVB_PYTHON`` / ``NEUROLIB_PYTHON`` environment variables, else
``$PEERS/<name>/bin/python`` (``PEERS`` defaults to ``/tmp/peers``); a peer
whose interpreter is missing is skipped with a note. Timings on a shared
machine are noisy: the JSON output keeps every repeat and the load average.
"""

from __future__ import annotations

import os

#: one thread everywhere (set before numpy/numba are imported)
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS",
                               "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
os.environ.update(THREAD_ENV)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import vbrain as vb  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_TVB = 20.0  # vbrain at least this many times faster than tvb-library
TARGET_NEUROLIB = 4.0  # ... and than neurolib
TARGET_SWEEP = 8.0  # a 32-point sweep costs at most this many single runs
NSIG = 1e-4  # the noise section's additive noise intensity, every state variable
N_SWEEP = 32
DT, SPEED, PERIOD = 0.1, 4.0, 1.0  # ms, mm/ms, temporal average window (ms)


@dataclass(frozen=True)
class Workload:
    """One model, as each tool spells it."""

    key: str
    vbrain_model: str  # class in vbrain.models
    coupling: float  # Linear coupling a (vbrain and TVB)
    initial: dict  # constant initial history per state variable
    sweep_range: tuple  # coupling a values swept (32 points, inclusive)
    tvb_model: str  # class in tvb.simulator.models
    neurolib_model: str | None = None  # key in peers/neurolib_run.py (None: no counterpart)
    neurolib_label: str = ""
    neurolib_coupling: float = 0.0  # neurolib K_gl (same network input as above)
    neurolib_initial: tuple = ()
    coupling_class: str = "Linear"  # vbrain and TVB coupling taking ``coupling`` as a


WORKLOADS = {
    "g2d": Workload(
        "g2d", "Generic2dOscillator", 0.0152, {"V": 0.5, "W": 0.5}, (0.0, 0.0304),
        "Generic2dOscillator",
        "fhn", "FHNModel (FitzHugh-Nagumo, additive coupling; stands in for G2D)", 0.0152,
        (0.5, 0.5)),
    "rww": Workload(
        "rww", "ReducedWongWang", 0.1, {"S": 0.5}, (0.0, 0.2),
        "ReducedWongWang",
        "ww", "WWModel (2-population E-I Wong-Wang, Deco 2014; stands in for RWW)", 0.1,
        (0.5, 0.5)),
    # the like-for-like model for neurolib's WWModel (vbrain's G = 2 multiplies a)
    "rwwei": Workload(
        "rwwei", "ReducedWongWangExcInh", 0.1, {"S_e": 0.5, "S_i": 0.5}, (0.0, 0.2),
        "ReducedWongWangExcInh",
        "ww", "WWModel (2-population E-I Wong-Wang, Deco 2014: the same model)", 0.2,
        (0.5, 0.5)),
}
# the other models TVB has, against TVB only (neurolib has none of them); Linear coupling
# (Kuramoto's own for Kuramoto: a linear sum of phases grows without bound),
# TVB's default parameters, a constant initial state inside each model's range
for _w in (
    Workload("jr", "JansenRit", 1e-4, {"y0": 0.0, "y1": 15.0, "y2": 10.0, "y3": 0.0, "y4": 0.0,
                                        "y5": 0.0}, (0.0, 2e-4), "JansenRit"),
    Workload("wc", "WilsonCowan", 0.005, {"E": 0.1, "I": 0.1}, (0.0, 0.01), "WilsonCowan"),
    Workload("mpr", "MontbrioPazoRoxin", 0.01, {"r": 0.1, "V": -2.0}, (0.0, 0.02),
             "MontbrioPazoRoxin"),
    Workload("kuramoto", "Kuramoto", 0.003, {"theta": 0.0}, (0.0, 0.006), "Kuramoto",
             coupling_class="Kuramoto"),
    Workload("suphopf", "SupHopf", 0.01, {"x": 0.1, "y": 0.1}, (0.0, 0.02), "SupHopf"),
    Workload("epileptor", "Epileptor", 0.001, {"x1": -1.5, "y1": -10.0, "z": 3.2, "x2": -1.0,
                                                "y2": 0.0, "g": -0.1}, (0.0, 0.002),
             "Epileptor"),
    Workload("lb", "LarterBreakspear", 0.0128, {"V": 0.0, "W": 0.1, "Z": 0.0}, (0.0, 0.0256),
             "LarterBreakspear"),
    Workload("epileptor2d", "Epileptor2D", 0.001, {"x1": -1.5, "z": 3.2}, (0.0, 0.002),
             "Epileptor2D", coupling_class="Difference"),
    Workload("epileptor_rs", "EpileptorRestingState", 0.001,
             {"x1": -1.5, "y1": -10.0, "z": 3.8, "x2": -1.0, "y2": 0.005, "g": 0.0, "x_rs": 0.5,
              "y_rs": 0.5}, (0.0, 0.002), "EpileptorRestingState", coupling_class="Difference"),
    Workload("deco", "DecoBalancedExcInh", 0.1, {"S_e": 0.5, "S_i": 0.5}, (0.0, 0.2),
             "DecoBalancedExcInh"),
    Workload("zj", "ZetterbergJansen", 0.01, {n: 0.0 for n in (
        "v1", "y1", "v2", "y2", "v3", "y3", "v4", "y4", "v5", "y5", "v6", "v7")}, (0.0, 0.02),
        "ZetterbergJansen"),
    Workload("cb2d", "CoombesByrne2D", 0.001, {"r": 0.5, "V": -1.0}, (0.0, 0.002),
             "CoombesByrne2D"),
    Workload("dg", "DumontGutkin", 0.001, {"r_e": 0.1, "V_e": -2.0, "s_ee": 0.0, "s_ei": 0.0,
                                            "r_i": 0.1, "V_i": -2.0, "s_ie": 0.0, "s_ii": 0.0},
             (0.0, 0.002), "DumontGutkin"),
    # Saggio's codimension-3 Epileptor (c2s bursting) and its slowly modulated variant;
    # TVB's default Ks = 0 leaves the coupling out of the dynamics
    Workload("codim3", "EpileptorCodim3", 0.001, {"x": 0.5, "y": 0.0, "z": 0.05}, (0.0, 0.002),
             "EpileptorCodim3", coupling_class="Difference"),
    Workload("codim3slow", "EpileptorCodim3SlowMod", 0.001,
             {"x": 0.5, "y": 0.0, "z": 0.05, "uA": 0.0, "uB": 0.0}, (0.0, 0.002),
             "EpileptorCodim3SlowMod", coupling_class="Difference"),
    # Stefanescu-Jirsa reduced sets, 3 modes: vbrain's variables <name>_<mode> (tvb_run.py
    # reads the same keys); the three modes start apart
    Workload("rsfhn", "ReducedSetFitzHughNagumo", 0.002,
             {f"{v}_{i}": x for v, xs in (("xi", (-0.5, 0.0, 0.5)), ("eta", (0.0,) * 3),
                                          ("alpha", (-0.5, 0.0, 0.5)), ("beta", (0.0,) * 3))
              for i, x in enumerate(xs)}, (0.0, 0.004), "ReducedSetFitzHughNagumo"),
    Workload("rshr", "ReducedSetHindmarshRose", 0.002,
             {f"{v}_{i}": x for v, xs in (("xi", (-0.5, 0.0, 0.5)), ("eta", (-3.0,) * 3),
                                          ("tau", (3.0,) * 3), ("alpha", (-0.5, 0.0, 0.5)),
                                          ("beta", (-3.0,) * 3), ("gamma", (3.0,) * 3))
              for i, x in enumerate(xs)}, (0.0, 0.004), "ReducedSetHindmarshRose"),
    # Zerlaut's AdEx mean fields (E, I in kHz; c_0 in kHz through K_ext_e synapses)
    Workload("zerlaut1", "ZerlautAdaptationFirstOrder", 0.01,
             {"E": 0.01, "I": 0.01, "W_e": 0.0, "W_i": 0.0, "ou_drift": 0.0}, (0.0, 0.02),
             "ZerlautAdaptationFirstOrder"),
    Workload("zerlaut2", "ZerlautAdaptationSecondOrder", 0.01,
             {"E": 0.01, "I": 0.01, "C_ee": 0.0, "C_ei": 0.0, "C_ii": 0.0, "W_e": 0.0,
              "W_i": 0.0, "ou_drift": 0.0}, (0.0, 0.02), "ZerlautAdaptationSecondOrder"),
):
    WORKLOADS[_w.key] = _w


# --------------------------------------------------------------------- helpers
def vbrain_simulation(conn, w: Workload, *, integrator="heun", monitors=None, nsig=0.0):
    """The benchmark's vbrain simulation of workload ``w`` on ``conn`` (additive noise of
    intensity ``nsig`` on every state variable when > 0)."""
    model = getattr(vb.models, w.vbrain_model)()
    names = [sv.name for sv in model.state_variables]
    init = np.array([[w.initial[n]] * conn.n_regions for n in names], dtype=float)
    if monitors is None:
        monitors = [vb.monitors.TemporalAverage(PERIOD, variables=names)]
    coupling = getattr(vb.coupling, w.coupling_class)(a=w.coupling)
    return vb.Simulation(conn, model, coupling, speed=SPEED, dt=DT,
                         integrator=integrator, noise=vb.noise.Additive(nsig) if nsig else None,
                         seed=1, monitors=monitors,
                         initial_history=init)


def timed(fn, repeat: int) -> dict:
    """Call ``fn`` ``repeat`` times; wall and CPU seconds of each call."""
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": wall, "cpu_s": cpu, "median_s": statistics.median(wall)}


def ns_per_region_step(seconds: float, n_steps: int, n_regions: int) -> float:
    """Wall time per region and step, in ns."""
    return seconds / (n_steps * n_regions) * 1e9


def peer_python(name: str, option: str | None) -> Path | None:
    """The peer's interpreter: CLI option, $<NAME>_PYTHON, or $PEERS/<name>/bin/python."""
    env = os.environ.get(f"{name.upper()}_PYTHON")
    default = Path(os.environ.get("PEERS", "/tmp/peers")) / name / "bin" / "python"
    path = Path(option or env or default)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def run_json(cmd: list, *, env: dict | None = None, timeout: float = 900.0) -> dict:
    """Run a command printing a JSON line last; return it (or {'error': ...})."""
    full_env = {**os.environ, **THREAD_ENV, **(env or {})}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                              env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    elapsed = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    out = json.loads(lines[-1])
    out["process_s"] = elapsed
    return out


def relative_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a - b|, the same divided by max |b|)."""
    diff = float(np.max(np.abs(a - b)))
    return diff, diff / max(float(np.max(np.abs(b))), 1e-300)


def print_table(headers: list, rows: list) -> None:
    """Print rows as aligned columns (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        parts = [c.rjust(w) if k and _numeric(c) else c.ljust(w) for c, w in zip(r, widths)]
        print("  " + "  ".join(parts).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(v) -> str:
    """A table cell: floats with 3-4 significant digits."""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-2 and v else f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def _numeric(s: str) -> bool:
    try:
        float(s.replace(",", "").rstrip("x"))
        return True
    except ValueError:
        return False


def verdict(ok: bool) -> str:
    """How a target came out."""
    return "ok" if ok else "MISSED"


# ------------------------------------------------------------------ synthetic
def synthetic_connectome(n: int, *, density: float = 0.15, seed: int = 0,
                         semi_axes=(75.0, 65.0, 55.0), length_factor: float = 1.2,
                         space_constant: float = 30.0, in_strength: float = 40.0):
    """A brain-sized sparse random connectome (regions on an ellipsoid surface).

    Regions sit on a Fibonacci lattice over an ellipsoid with the given
    semi-axes (mm; roughly a cortex). Tract lengths are ``length_factor`` x
    the Euclidean distance. ``density`` of the region pairs are connected,
    symmetric, drawn without replacement with probability proportional to
    ``exp(-distance / space_constant)`` (near neighbours favoured); weights
    are lognormal, scaled so the mean in-strength (row sum) is
    ``in_strength`` (tvb-data's 76-region connectome has ~39), which keeps
    the coupled dynamics in the same regime at every N. No self-connections.
    """
    rng = np.random.default_rng(seed)
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    r = np.sqrt(1.0 - z * z)
    centres = np.column_stack([r * np.cos(phi), r * np.sin(phi), z]) * np.asarray(semi_axes)
    dist = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    iu, ju = np.triu_indices(n, k=1)
    p = np.exp(-dist[iu, ju] / space_constant)
    # weighted sampling without replacement (Efraimidis-Spirakis keys)
    keys = np.log(rng.uniform(size=p.size)) / p
    n_pairs = max(1, int(round(density * p.size)))
    chosen = np.argsort(keys)[p.size - n_pairs:]
    weights = np.zeros((n, n))
    weights[iu[chosen], ju[chosen]] = rng.lognormal(0.0, 1.0, chosen.size)
    weights += weights.T
    weights *= in_strength / weights.sum(axis=1).mean()
    return vb.Connectome(weights, length_factor * dist, centres=centres,
                         name=f"synthetic {n} regions, density {density:g}")


# ------------------------------------------------------------------- sections
def bench_model(w: Workload, conn, args, peers: dict, tmp: Path) -> dict:
    """vbrain, TVB and neurolib on the 76-region workload for one model."""
    n_steps = int(round(args.duration / DT))
    n = conn.n_regions
    out: dict = {"model": w.vbrain_model, "n_regions": n, "n_steps": n_steps}
    print(f"\n== {w.vbrain_model}: {n} regions, {n_steps} steps ({args.duration / 1e3:g} s), "
          f"dt {DT} ms, {SPEED} mm/ms, {w.coupling_class} a={w.coupling} ==")

    # vbrain is timed before and after the peers (half the repeats each), so a
    # drift in machine speed during the long peer runs affects both sides alike
    sims = {}
    for integrator in ("heun", "euler"):
        sims[integrator] = vbrain_simulation(conn, w, integrator=integrator)
        sims[integrator].run(10.0, progress=False)  # warm-up: compile or load the kernel

    def time_vbrain(repeat: int) -> None:
        for integrator, sim in sims.items():
            res = timed(lambda: sim.run(args.duration, progress=False), repeat)
            old = tools.setdefault(f"vbrain_{integrator}", {"wall_s": [], "cpu_s": []})
            old["wall_s"] += res["wall_s"]
            old["cpu_s"] += res["cpu_s"]

    tools: dict = {}
    time_vbrain((args.repeat + 1) // 2)

    tvb_npz = tmp / f"tvb_{w.key}.npz"
    if peers.get("tvb"):
        tools["tvb"] = run_json([peers["tvb"], HERE / "peers" / "tvb_run.py",
                                 "--model", w.tvb_model, "--coupling", w.coupling,
                                 "--coupling-class", w.coupling_class,
                                 "--duration", args.duration, "--dt", DT, "--speed", SPEED,
                                 "--period", PERIOD, "--initial", json.dumps(w.initial),
                                 "--repeat", args.peer_repeat, "--out", tvb_npz])
    if peers.get("neurolib") and w.neurolib_model:
        conn_npz = tmp / "conn76.npz"
        np.savez(conn_npz, weights=conn.weights, lengths=conn.lengths)
        tools["neurolib"] = run_json([peers["neurolib"], HERE / "peers" / "neurolib_run.py",
                                      "--model", w.neurolib_model, "--connectome", conn_npz,
                                      "--coupling", w.neurolib_coupling,
                                      "--duration", args.duration, "--dt", DT,
                                      "--speed", SPEED, "--initial", *w.neurolib_initial,
                                      "--repeat", args.peer_repeat])
    time_vbrain(args.repeat // 2)
    for res in tools.values():
        if "wall_s" in res:
            res["median_s"] = statistics.median(res["wall_s"])
            res["ns_per_region_step"] = ns_per_region_step(res["median_s"], n_steps, n)

    base = tools["vbrain_heun"]["ns_per_region_step"]
    labels = {
        "vbrain_heun": (f"vbrain {vb.__version__} (Heun)", w.vbrain_model, None),
        "vbrain_euler": ("vbrain (Euler, reference)", w.vbrain_model, None),
        "tvb": (f"tvb-library {tools.get('tvb', {}).get('version', '')} (Heun)", w.tvb_model,
                TARGET_TVB),
        "neurolib": (f"neurolib {tools.get('neurolib', {}).get('version', '')} (Euler)",
                     w.neurolib_label.split(" (")[0], TARGET_NEUROLIB),
    }
    rows = []
    for key, (label, model, target) in labels.items():
        res = tools.get(key)
        if res is None:
            why = "--skip-peers" if args.skip_peers else "no interpreter"
            rows.append([label.split(" ")[0], model, "-", "-", "-", "-", f"skipped ({why})"])
            continue
        if "error" in res:
            rows.append([label.split(" ")[0], model, "-", "-", "-", "-",
                         "FAILED: " + res["error"]])
            continue
        ratio = res["ns_per_region_step"] / base
        res["ratio_vs_vbrain"] = ratio
        note = "" if target is None else f"target >= {target:g}x: {verdict(ratio >= target)}"
        best = ns_per_region_step(min(res["wall_s"]), n_steps, n)
        rows.append([label, model, res["median_s"], res["ns_per_region_step"], best,
                     f"{ratio:.2f}x", note])
    print_table(["tool", "model", "wall s", "ns/region-step", "(best)", "tool/vbrain", ""],
                rows)
    if "ns_per_region_step" in tools.get("neurolib", {}):
        vs_euler = tools["neurolib"]["ns_per_region_step"] / \
            tools["vbrain_euler"]["ns_per_region_step"]
        tools["neurolib"]["ratio_vs_vbrain_euler"] = vs_euler
        print(f"  neurolib: {w.neurolib_label}. It integrates with forward Euler (1 model "
              f"evaluation per step, Heun 2): {vs_euler:.2f}x vbrain's Euler. Its run() also "
              "draws OU-noise inputs even at sigma 0.")
    if "tvb" in tools and "configure_s" in tools["tvb"]:
        t = tools["tvb"]
        same = bool(np.isclose(t["weights_sum"], conn.weights.sum())
                    and t["weights_nnz"] == np.count_nonzero(conn.weights))
        print(f"  tvb: configure {statistics.median(t['configure_s']):.3f} s (not timed), "
              f"import {t['import_s']:.1f} s; same connectome as vbrain's: {same}")
    out["tools"] = tools

    if tvb_npz.exists():
        out["agreement"] = agreement(w, conn, args.duration, tvb_npz)
    return out


def agreement(w: Workload, conn, duration: float, tvb_npz: Path) -> dict:
    """Compare a vbrain run with TVB's saved output of the same workload.

    TVB counts steps from the end of the initial history (``horizon - 1``),
    so its 1 ms averaging windows end at different steps than vbrain's (and
    its first window is partly empty). The comparison therefore averages
    vbrain's raw states over TVB's windows, skipping incomplete ones.
    """
    names = [sv.name for sv in getattr(vb.models, w.vbrain_model).state_variables]
    sim = vbrain_simulation(conn, w, monitors=[vb.monitors.Raw(variables=names)])
    raw = sim.run(duration, progress=False)["raw"].values  # row r: state after step r + 1
    ref = np.load(tvb_npz)
    f_abs, f_rel = relative_difference(raw[-1], ref["final_state"])
    out = {"final_max_abs": f_abs, "final_rel": f_rel}

    istep = int(round(PERIOD / DT))
    horizon = int(conn.delay_steps(SPEED, DT).max()) + 1
    tvb_steps = np.rint(ref["tavg_time"] / DT + istep / 2).astype(int)
    ends = tvb_steps - (horizon - 1)  # the same windows in vbrain's step count
    full = ends >= istep
    csum = np.concatenate([np.zeros((1,) + raw.shape[1:]), np.cumsum(raw, axis=0)])
    ours = (csum[ends[full]] - csum[ends[full] - istep]) / istep
    t_abs, t_rel = relative_difference(ours, ref["tavg"][full])
    # chaotic regimes amplify TVB's float32 history roundoff: where do the runs part?
    scale = np.abs(ref["tavg"][full]).max()
    apart = np.abs(ours - ref["tavg"][full]).reshape(len(ours), -1).max(axis=1) > 1e-6 * scale
    first = float(ref["tavg_time"][full][apart.argmax()] - (horizon - 1) * DT) if apart.any() \
        else None
    out.update(tavg_max_abs=t_abs, tavg_rel=t_rel, tavg_samples=int(full.sum()),
               apart_after_ms=first)
    print(f"  vbrain vs TVB ({w.vbrain_model}): final state max|diff| {f_abs:.2e} "
          f"(relative {f_rel:.2e}); {int(full.sum())} 1 ms averages: {t_abs:.2e} "
          f"(relative {t_rel:.2e})"
          + ("" if first is None else f"; beyond 1e-6 of max|x| from t = {first:.0f} ms "
             "(float32 roundoff in TVB's history, amplified by the dynamics)"))
    return out


def bench_sweep(w: Workload, conn, args) -> dict:
    """A 32-point coupling sweep against single runs timed just before and after it."""
    sim = vbrain_simulation(conn, w)
    values = np.linspace(*w.sweep_range, N_SWEEP)
    sim.run(10.0, progress=False)  # warm-up (single and batched kernels)
    # a full-size untimed sweep: its output's memory is touched once, as the single
    # run's is by its own repeats (the first touch of fresh pages is slow on VMs)
    sim.sweep(args.duration, coupling__a=values, progress=False)
    n_single = max(1, args.repeat // 2)
    single = timed(lambda: sim.run(args.duration, progress=False), n_single)["wall_s"]
    res = timed(lambda: sim.sweep(args.duration, coupling__a=values, progress=False),
                args.sweep_repeat)
    one_thread = timed(lambda: sim.sweep(args.duration, coupling__a=values, threads=1,
                                         progress=False), args.sweep_repeat)
    single += timed(lambda: sim.run(args.duration, progress=False), n_single)["wall_s"]
    single_s = statistics.median(single)
    n_steps = int(round(args.duration / DT))
    res.update(single_wall_s=single, single_s=single_s, ratio=res["median_s"] / single_s,
               n_batch=N_SWEEP, threads=os.cpu_count(), one_thread_s=one_thread["median_s"],
               ratio_one_thread=one_thread["median_s"] / single_s,
               ns_per_member_region_step=ns_per_region_step(res["median_s"], n_steps,
                                                            N_SWEEP * conn.n_regions))
    return res


def bench_noise(w: Workload, conn, args, peers: dict) -> dict:
    """The workload with additive noise: single runs (vbrain, TVB's HeunStochastic) and a
    32-point sweep with a seed per member (each member its own draws)."""
    det, noisy = vbrain_simulation(conn, w), vbrain_simulation(conn, w, nsig=NSIG)
    values = np.linspace(*w.sweep_range, N_SWEEP)
    seeds = list(range(N_SWEEP))
    for sim in (det, noisy):
        sim.run(10.0, progress=False)
    noisy.sweep(args.duration, coupling__a=values, seeds=seeds, progress=False)  # untimed
    n_steps, n = round(args.duration / DT), conn.n_regions
    out = {"nsig": NSIG}
    for key, fn, members in (
            ("deterministic", lambda: det.run(args.duration, progress=False), 1),
            ("noisy", lambda: noisy.run(args.duration, progress=False), 1),
            ("noisy_sweep", lambda: noisy.sweep(args.duration, coupling__a=values, seeds=seeds,
                                                progress=False), N_SWEEP)):
        res = timed(fn, args.sweep_repeat if members > 1 else args.repeat)
        res["ns_per_region_step"] = ns_per_region_step(res["median_s"], n_steps, members * n)
        out[key] = res
    if peers.get("tvb"):
        res = run_json([peers["tvb"], HERE / "peers" / "tvb_run.py", "--model", w.tvb_model,
                        "--coupling", w.coupling, "--coupling-class", w.coupling_class,
                        "--duration", args.duration, "--dt", DT, "--speed", SPEED,
                        "--period", PERIOD, "--initial", json.dumps(w.initial),
                        "--repeat", args.peer_repeat, "--nsig", NSIG])
        if "wall_s" in res:
            res["median_s"] = statistics.median(res["wall_s"])
            res["ns_per_region_step"] = ns_per_region_step(res["median_s"], n_steps, n)
        out["tvb"] = res
    return out


def bench_scaling(w: Workload, args) -> list:
    """vbrain cost per step against the number of regions (and connections)."""
    cases = [("tvb-data 76", vb.Connectome.load("atlases:tvb76")),
             ("tvb-data 192", vb.Connectome.load("atlases:tvb192"))]
    cases += [(f"synthetic {n}", synthetic_connectome(n, density=args.density))
              for n in args.scaling_sizes]
    out = []
    for name, conn in cases:
        sim = vbrain_simulation(conn, w)
        sim.run(10.0, progress=False)  # warm-up
        pilot = timed(lambda: sim.run(50.0, progress=False), 1)["median_s"] / 500
        # simulated time so the run takes ~scaling_seconds (whole ms, at most the workload's)
        duration = float(np.clip(round(args.scaling_seconds / pilot * DT), 10.0, args.duration))
        n_steps = int(round(duration / DT))
        res = timed(lambda: sim.run(duration, progress=False), args.repeat)
        nnz = int(np.count_nonzero(conn.weights))
        t = res["median_s"]
        out.append({"connectome": name, "n_regions": conn.n_regions, "nnz": nnz,
                    "density": nnz / conn.n_regions ** 2,
                    "max_delay_steps": int(conn.delay_steps(SPEED, DT).max()),
                    "duration_ms": duration, "n_steps": n_steps, **res,
                    "ns_per_region_step": ns_per_region_step(t, n_steps, conn.n_regions),
                    "us_per_step": t / n_steps * 1e6,
                    "ns_per_connection_step": t / n_steps / max(nnz, 1) * 1e9})
    return out


def bench_compile(w: Workload) -> dict:
    """First-call compile time (empty caches) and start-up with cached compiles."""
    with tempfile.TemporaryDirectory(prefix="vbrain-bench-cache-") as d:
        env = {"VBRAIN_CACHE_DIR": str(Path(d) / "kernels"),
               "NUMBA_CACHE_DIR": str(Path(d) / "numba")}
        cmd = [sys.executable, HERE / "startup_probe.py", "--model", w.vbrain_model,
               "--coupling", w.coupling, "--duration", 1.0, "--initial", json.dumps(w.initial)]
        cold = run_json(cmd, env=env)
        warm = run_json(cmd, env=env)
    return {"cold": cold, "warm": warm}


# ----------------------------------------------------------------------- main
def environment() -> dict:
    """Machine, versions and repository state, for the JSON record."""
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    import numba

    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(HERE), *cmd], capture_output=True,
                              text=True).stdout.strip()

    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "numpy": np.__version__, "numba": numba.__version__,
            "vbrain": vb.__version__, "git": git("describe", "--always", "--dirty"),
            "git_modified": git("status", "--porcelain", "--untracked-files=no").splitlines(),
            "loadavg_start": os.getloadavg()}


def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(
        description="vbrain vs tvb-library and neurolib: ns per region-step, sweeps, scaling, "
                    "compile time.", formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["g2d", "rww", "rwwei"],
                    choices=sorted(WORKLOADS),
                    help="workloads: g2d (Generic2dOscillator), rww (ReducedWongWang), rwwei "
                         "(ReducedWongWangExcInh: the model neurolib's WWModel implements), "
                         "and against TVB only: jr, wc, mpr, kuramoto, suphopf, epileptor, lb")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 s simulated, short scaling runs, compile for one model")
    ap.add_argument("--duration", type=float, default=None,
                    help="simulated ms (default 10000; --quick: 1000)")
    ap.add_argument("--repeat", type=int, default=4,
                    help="timed vbrain runs (median), half before and half after the peers")
    ap.add_argument("--peer-repeat", type=int, default=2, help="timed runs per peer (median)")
    ap.add_argument("--sweep-repeat", type=int, default=3,
                    help="timed 32-point sweeps (median), after one untimed full-size sweep")
    ap.add_argument("--skip-peers", action="store_true", help="time vbrain only")
    ap.add_argument("--skip", nargs="+", default=[],
                    choices=["sweep", "noise", "scaling", "compile"],
                    help="sections to leave out")
    ap.add_argument("--tvb-python", default=None, help="TVB venv's python")
    ap.add_argument("--neurolib-python", default=None, help="neurolib venv's python")
    ap.add_argument("--scaling-sizes", type=int, nargs="+", default=[300, 1000],
                    help="synthetic connectome sizes")
    ap.add_argument("--density", type=float, default=0.15,
                    help="synthetic connectomes' fraction of connected pairs")
    ap.add_argument("--scaling-seconds", type=float, default=None,
                    help="target wall time per scaling run (default 4; --quick 0.5)")
    ap.add_argument("--json", default=None, metavar="OUT", help="save all numbers here")
    args = ap.parse_args(argv)
    if args.duration is None:
        args.duration = 1000.0 if args.quick else 10_000.0
    if args.scaling_seconds is None:
        args.scaling_seconds = 0.5 if args.quick else 4.0
    return args


def main(argv=None) -> int:
    """Run the selected sections and print the tables."""
    args = parse_args(argv)
    t_start = time.perf_counter()
    record: dict = {"environment": environment(), "options": vars(args).copy(), "models": {}}
    env = record["environment"]
    print(f"vbrain {env['vbrain']} ({env['git']}), numpy {env['numpy']}, numba {env['numba']}, "
          f"Python {env['python']}; {env['cpu']} x{env['cpu_count']}; single-threaded; "
          f"load average {env['loadavg_start'][0]:.2f}")

    peers = {}
    if not args.skip_peers:
        for name, option in (("tvb", args.tvb_python), ("neurolib", args.neurolib_python)):
            peers[name] = peer_python(name, option)
            if peers[name] is None:
                print(f"{name}: no interpreter found (--{name}-python, "
                      f"{name.upper()}_PYTHON or $PEERS/{name}/bin/python): skipped")
    conn = vb.Connectome.load("atlases:default")
    workloads = [WORKLOADS[k] for k in args.models]

    with tempfile.TemporaryDirectory(prefix="vbrain-bench-") as tmp:
        for w in workloads:
            def one_model(w=w):
                record["models"][w.key] = bench_model(w, conn, args, peers, Path(tmp))

            guarded(record, f"model {w.key}", one_model)
    done = [w for w in workloads if w.key in record["models"]]
    if "sweep" not in args.skip and done:
        guarded(record, "sweep", lambda: section_sweep(record, done, conn, args))
    if "noise" not in args.skip and done:
        guarded(record, "noise", lambda: section_noise(record, done[0], conn, args, peers))
    if "scaling" not in args.skip:
        guarded(record, "scaling", lambda: section_scaling(record, workloads[0], args))
    if "compile" not in args.skip:
        guarded(record, "compile", lambda: section_compile(
            record, workloads[:1] if args.quick else workloads))

    summary(record, workloads)
    record["environment"]["loadavg_end"] = os.getloadavg()
    record["total_s"] = time.perf_counter() - t_start
    print(f"\ntotal {record['total_s']:.0f} s; load average now "
          f"{record['environment']['loadavg_end'][0]:.2f}")
    if args.json:
        record["workloads"] = {w.key: asdict(w) for w in workloads}
        Path(args.json).write_text(json.dumps(record, indent=1, default=str))
        print(f"saved {args.json}")
    return 0


def guarded(record: dict, name: str, fn) -> None:
    """Run one section; on an error, report it and go on with the next section."""
    try:
        fn()
    except Exception as exc:  # a failing section must not lose the others' numbers
        where = traceback.extract_tb(exc.__traceback__)[-1]
        msg = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        record.setdefault("errors", {})[name] = msg
        print(f"\n!! {name} FAILED: {msg}")


def section_sweep(record: dict, workloads: list, conn, args) -> None:
    """Batch section: print and record the sweep/single ratios."""
    print(f"\n== Batch: sweep over {N_SWEEP} coupling values vs one run "
          f"({args.duration / 1e3:g} s simulated, 76 regions) ==")
    rows = []
    for w in workloads:
        r = bench_sweep(w, conn, args)
        record["models"][w.key]["sweep"] = r
        rows.append([w.vbrain_model, r["single_s"], r["median_s"],
                     f"{r['ratio']:.1f}x ({r['threads']} threads)",
                     f"{r['ratio_one_thread']:.1f}x", r["ns_per_member_region_step"],
                     f"target <= {TARGET_SWEEP:g}x: {verdict(r['ratio'] <= TARGET_SWEEP)}"])
    print_table(["model", "single s", f"sweep({N_SWEEP}) s", "sweep/single",
                 "1 thread", "ns/member-region-step", ""], rows)


def section_noise(record: dict, w: Workload, conn, args, peers: dict) -> None:
    """Noise section: the first workload with additive noise."""
    print(f"\n== Noise: {w.vbrain_model}, stochastic Heun, additive noise D = {NSIG:g} on "
          f"every variable ({args.duration / 1e3:g} s) ==")
    r = record["noise"] = bench_noise(w, conn, args, peers)
    base = r["noisy"]["ns_per_region_step"]
    rows = [["vbrain, deterministic", r["deterministic"]["median_s"],
             r["deterministic"]["ns_per_region_step"], ""],
            ["vbrain, noisy", r["noisy"]["median_s"], base, "1.00x"],
            [f"vbrain, {N_SWEEP}-point sweep, a seed each", r["noisy_sweep"]["median_s"],
             r["noisy_sweep"]["ns_per_region_step"],
             f"{r['noisy_sweep']['median_s'] / r['noisy']['median_s']:.1f} single runs"]]
    tvb = r.get("tvb", {})
    if "ns_per_region_step" in tvb:
        rows.append([f"tvb-library {tvb.get('version', '')} (HeunStochastic)", tvb["median_s"],
                     tvb["ns_per_region_step"], f"{tvb['ns_per_region_step'] / base:.1f}x"])
    print_table(["run", "wall s", "ns/(member-)region-step", "vs vbrain noisy"], rows)


def section_scaling(record: dict, w: Workload, args) -> None:
    """Scaling section: cost per step against N."""
    print(f"\n== Scaling: vbrain {w.vbrain_model}, Heun, vs number of regions "
          f"(synthetic: density {args.density:g}, ellipsoid 150x130x110 mm) ==")
    record["scaling"] = bench_scaling(w, args)
    print_table(["connectome", "N", "nnz", "max delay", "simulated ms", "ns/region-step",
                 "us/step", "ns/connection-step"],
                [[s["connectome"], s["n_regions"], s["nnz"], s["max_delay_steps"],
                  s["duration_ms"], s["ns_per_region_step"], s["us_per_step"],
                  s["ns_per_connection_step"]] for s in record["scaling"]])


def section_compile(record: dict, workloads: list) -> None:
    """Compile section: cold and warm start-up per model."""
    print("\n== Compile: a fresh process with empty kernel/numba caches (cold), then a second "
          "process with the same caches (warm); Heun, 1 ms simulated ==")
    rows = []
    record["compile"] = {}
    for w in workloads:
        c = bench_compile(w)
        record["compile"][w.key] = c
        for kind in ("cold", "warm"):
            r = c[kind]
            if "error" in r:
                rows.append([w.vbrain_model, kind, "FAILED: " + r["error"]])
                continue
            r["startup_s"] = r["import_s"] + r["load_s"] + r["first_run_s"]
            r["compile_s"] = r["first_run_s"] - r["second_run_s"]
            rows.append([w.vbrain_model, kind, r["import_s"], r["load_s"], r["first_run_s"],
                         r["second_run_s"], r["compile_s"], r["startup_s"], r["process_s"]])
    print_table(["model", "caches", "import s", "load s", "first run s", "second run s",
                 "compile/load s", "import..1st run s", "process s"], rows)
    print("  compile/load = first run - second run (cold: compiling; warm: loading cached "
          "machine code); process = interpreter start to exit.")


def summary(record: dict, workloads: list) -> None:
    """One line per target."""
    print("\n== Targets ==")
    for w in workloads:
        m = record["models"].get(w.key)
        if m is None:
            error = record.get("errors", {}).get(f"model {w.key}")
            print(f"  {w.vbrain_model}: no result ({error})")
            continue
        for key, target, what in (("tvb", TARGET_TVB, "tvb-library"),
                                  ("neurolib", TARGET_NEUROLIB, "neurolib")):
            r = m["tools"].get(key, {}).get("ratio_vs_vbrain")
            if r is not None:
                print(f"  {w.vbrain_model}: {r:.1f}x faster than {what} "
                      f"(target >= {target:g}x): {verdict(r >= target)}")
        if "sweep" in m:
            r = m["sweep"]["ratio"]
            print(f"  {w.vbrain_model}: {N_SWEEP}-point sweep = {r:.1f} single runs "
                  f"(target <= {TARGET_SWEEP:g}): {verdict(r <= TARGET_SWEEP)}")


if __name__ == "__main__":
    sys.exit(main())
