"""Whole trajectories against neurolib, the second peer.

Each ``data/neurolibtraj_<case>.npz`` is a deterministic neurolib 0.6 run (its
``FHNModel`` or ``WWModel``, forward Euler, on tvb-data's 76-region connectome),
made by ``data/make_neurolib_trajectories.py`` (see there for the settings).
vbrain runs the same case with :class:`vbrain.models.FitzHughNagumo` or
:class:`vbrain.models.ReducedWongWangExcInh` (TVB's parameters and units: the
same model as neurolib's in kHz and ms, with ``G = 1``; neurolib 0.6.2 runs its
inhibitory pool with the excitatory time constant, see ``simulation``), neurolib's diffusive
coupling as ``Difference`` and its additive coupling as ``Linear``, from the
same constant initial history; every stored sample must agree to
1e-11 of each variable's largest |value| (both engines work in float64 and sum
the delayed inputs in different orders: measured 1.4e-16..1.4e-13).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.models import FitzHughNagumo, ReducedWongWangExcInh

DATA = Path(__file__).parent / "data"
CASES = sorted(p.stem.removeprefix("neurolibtraj_") for p in DATA.glob("neurolibtraj_*.npz"))
RTOL = 1e-11


def load(case: str) -> dict:
    with np.load(DATA / f"neurolibtraj_{case}.npz") as f:
        ref = {k: f[k] for k in f.files}
    ref["meta"] = json.loads(str(ref["meta"]))
    return ref


def simulation(ref: dict, conn: vb.Connectome) -> vb.Simulation:
    meta = ref["meta"]
    K = float(ref["K_gl"])
    coupling = {"diffusive": vb.coupling.Difference(a=K),
                "additive": vb.coupling.Linear(a=K, b=0.0)}[meta["coupling"]]
    speed, dt = float(ref["speed"]), float(ref["dt"])
    horizon = int(conn.delay_steps(speed, dt).max()) + 1
    history = np.broadcast_to(ref["init"], (horizon, *ref["init"].shape))
    if meta["model"] == "fhn":
        model = FitzHughNagumo(**meta["neurolib_params"])
    else:  # neurolib's input J_NMDA K_gl sum_j C_ij S_j is G J_N c with G = 1, c = K sum_j ...
        # neurolib 0.6.2 reads the inhibitory time constant from params["tau_exc"]
        # (ww/timeIntegration.py): its WWModel runs with tau_inh = tau_exc = 100 ms
        model = ReducedWongWangExcInh(G=1.0, tau_i=ReducedWongWangExcInh().tau_e)
    return vb.Simulation(conn, model, coupling, speed=speed, dt=dt, integrator="euler",
                         initial_history=history, monitors=[vb.monitors.Raw()])


@pytest.mark.parametrize("case", CASES)
def test_matches_neurolib_trajectory(case):
    ref = load(case)
    tvb76 = vb.Connectome.load("atlases:default")
    # the connectome neurolib ran on; it zeroes the weights' diagonal (tvb-data's has
    # self-connections, of length 0)
    assert tvb76.weights.sum() == pytest.approx(float(ref["weights_sum"]), rel=1e-12)
    assert tvb76.lengths.sum() == pytest.approx(float(ref["lengths_sum"]), rel=1e-12)
    weights = tvb76.weights.copy()
    np.fill_diagonal(weights, 0.0)
    conn = vb.Connectome(weights, tvb76.lengths, tvb76.labels)
    sim = simulation(ref, conn)
    raw = sim.run(float(ref["t"][-1]), progress=False)["raw"]
    steps = np.rint(ref["t"] / sim.dt).astype(int)
    np.testing.assert_allclose(raw.time.values[steps - 1], ref["t"], rtol=0, atol=1e-9)
    y = raw.values[steps - 1]
    err = np.abs(y - ref["y"]).max(axis=(0, 2)) / np.abs(ref["y"]).max(axis=(0, 2))
    assert err.max() < RTOL, err
    # the runs go somewhere: the regions do not sit at their initial values
    assert np.ptp(ref["y"][:, 0], axis=0).min() > 0.01


def test_cases_cover_models_and_couplings():
    metas = [load(c)["meta"] for c in CASES]
    assert {(m["model"], m["coupling"]) for m in metas} == {
        ("fhn", "diffusive"), ("fhn", "additive"), ("ww", "additive")}
