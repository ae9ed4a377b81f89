"""PreSigmoidal coupling and the Hopfield threshold modes (TVB's boolean switches).

``data/tvb_presigmoidal.npz`` holds tvb-library 2.10's ``PreSigmoidal.__call__`` on
self-coupled networks (made by ``data/make_tvb_presigmoidal.py``, which also checks
that on other networks TVB sums over the targets; see the class docstring). The
dfun of both Hopfield modes is compared with TVB's in test_models.py, whole runs in
test_tvb_trajectories.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.coupling import PreSigmoidal
from vbrain.models import Hopfield, HopfieldDynamic
from vbrain.monitors import AfferentCoupling, Raw

DATA = Path(__file__).parent / "data"
TVB_CASES = ["static", "static_global", "dynamic"]


@pytest.fixture(scope="module")
def tvb():
    with np.load(DATA / "tvb_presigmoidal.npz") as f:
        return {k: f[k] for k in f.files}


def _coupling_at(cpl: PreSigmoidal, w, d, buf, step) -> np.ndarray:
    """vbrain's pre, the delayed weighted sum of its definition and post, on TVB's history
    ring ``buf`` (n_time, n_cvar, n) at TVB's ``step`` (current state: row step - 1)."""
    n_time, n_cvar, n = buf.shape
    cvar = tuple(range(n_cvar))
    p = cpl.parameter_array(n)
    h = np.zeros((n_time, n_cvar, n))
    for r in range(n_time):
        for k in range(n):
            cpl.pre(buf[r], cvar, p, h[r], k)
    rows = (step - 1 - d) % n_time  # [i, j]: the row holding x_j(t - d_ij)
    s = np.einsum("ij,ijq->qi", w, h[rows, :, np.arange(n)[None, :]])
    c = np.zeros((n_cvar, n))
    x = buf[(step - 1) % n_time]
    for k in range(n):
        cpl.post(s, x, cvar, w.sum(axis=1), p, c, k)
    return c


@pytest.mark.parametrize("case", TVB_CASES)
def test_matches_tvb_call_on_self_coupled_network(tvb, case):
    """Diagonal weights, self-delays of 0-4 steps (0 in the dynamic mode, whose c_1 TVB
    reads from the diagonal of the delayed state): TVB's numbers to roundoff."""
    get = {k.removeprefix(f"{case}__"): v for k, v in tvb.items() if k.startswith(f"{case}__")}
    params = {k.removeprefix("param__"): v for k, v in get.items() if k.startswith("param__")}
    w, d, buf, out = get["weights"], get["delays"], get["buffer"], get["out"]
    assert np.count_nonzero(w - np.diag(np.diag(w))) == 0 and np.all(np.diag(w) > 0)
    cpl = PreSigmoidal(**params)
    if case == "static":
        assert np.ndim(cpl.theta) == 1 and np.ptp(np.diag(d)) > 0  # per-source theta, delays
    c = _coupling_at(cpl, w, d, buf, int(get["step"]))
    assert c.shape == out.shape
    np.testing.assert_allclose(c, out, rtol=1e-12, atol=1e-14)


def _network():
    """Three regions, asymmetric weights with a self-connection; delays 0-5 steps at 0.1 ms."""
    w = np.array([[0.4, 0.8, 0.0], [0.5, 0.0, 1.2], [0.3, 0.0, 0.0]])
    lengths = np.array([[0.0, 1.2, 1.0], [1.2, 0.0, 2.0], [1.0, 2.0, 0.0]])
    return vb.Connectome(w, lengths)


def _sig(cpl, u, i):
    H, Q, G = (np.broadcast_to(getattr(cpl, k), 3)[i] for k in "HQG")
    return H * (Q + np.tanh(G * u))


@pytest.mark.parametrize("dynamic", [0, 1])
def test_simulated_coupling_is_its_definition(dynamic):
    """In a run (delays, history, chunks): c_i(t_n) from the recorded states, per-region
    parameters taken at the source in the sum and at the node itself in c_1."""
    conn = _network()
    d = conn.delay_steps(4.0, 0.1)
    horizon = int(d.max()) + 1
    rng = np.random.default_rng(3)
    model = HopfieldDynamic(dynamic=dynamic, tauT=np.array([2.0, 3.0, 4.0]))
    cpl = PreSigmoidal(H=np.array([0.6, 0.9, 1.3]), Q=0.8, G=np.array([2.0, 3.0, 1.5]),
                       P=np.array([1.1, 0.7, 1.4]), theta=np.array([0.2, -0.1, 0.4]),
                       dynamic=dynamic)
    hist = rng.uniform(-1.0, 1.0, (horizon, 2, 3))
    sim = vb.Simulation(conn, model, cpl, speed=4.0, dt=0.1, initial_history=hist,
                        monitors=[Raw(variables=["x", "theta"]), AfferentCoupling()])
    res = sim.run(3.0, chunk_steps=7, progress=False)
    X = np.concatenate([hist, res.raw.values])  # row m + horizon - 1: t = m dt
    P = np.broadcast_to(cpl.P, 3)
    n_steps = 30
    expected = np.zeros((n_steps, 2, 3))
    for n in range(1, n_steps + 1):
        for i in range(3):
            for q in range(2):
                total = 0.0
                for j in range(3):
                    r = n - d[i, j] + horizon - 1
                    thr = X[r, 1, j] if dynamic and q == 0 else cpl.theta[j]
                    total += conn.weights[i, j] * _sig(cpl, P[j] * X[r, q, j] - thr, j)
                expected[n - 1, q, i] = total
            if dynamic:  # the node's own current output
                r = n + horizon - 1
                expected[n - 1, 1, i] = _sig(cpl, P[i] * X[r, 0, i] - X[r, 1, i], i)
    np.testing.assert_allclose(res.coupling.values, expected, rtol=1e-13, atol=1e-15)


def test_static_coupling_works_with_one_coupling_variable():
    """dynamic=0 with the static-threshold Hopfield (cvar x): c_0 = sum_j w_ij S(P x_j - theta)."""
    conn = _network()
    hist = np.zeros((6, 2, 3))
    hist[:, 0] = np.array([0.3, -0.2, 0.9])  # constant: x_j(t_1 - d_ij) = x_j(0) unless d_ij = 0
    sim = vb.Simulation(conn, Hopfield(), PreSigmoidal(dynamic=0, G=2.0, theta=0.1), speed=4.0,
                        dt=0.1, initial_history=hist, monitors=[Raw(), AfferentCoupling()])
    res = sim.run(0.1, progress=False)
    d = conn.delay_steps(4.0, 0.1)
    x = np.where(d == 0, res.raw.values[0, 0][None, :], hist[-1, 0][None, :])  # [i, j]
    S = 0.5 * (1.0 + np.tanh(2.0 * (x - 0.1)))
    np.testing.assert_allclose(res.coupling.values[0, 0], (conn.weights * S).sum(axis=1),
                               rtol=1e-14)


def test_unsupported_modes_raise():
    with pytest.raises(ValueError, match="mean over all regions"):
        PreSigmoidal(globalT=True)  # dynamic by default, as in TVB
    with pytest.raises(ValueError, match=r"theta=theta\[0\]"):
        PreSigmoidal(dynamic=False, globalT=True, theta=np.array([0.1, 0.2]))
    cpl = PreSigmoidal(dynamic=False, globalT=True, theta=0.3)  # theta[0] = theta: supported
    with pytest.raises(ValueError, match=r"theta=theta\[0\]"):
        cpl.set_params(theta=np.array([0.1, 0.2]))
    assert cpl.theta == 0.3  # a refused value is not kept
    for bad in (0.5, [1, 0], "yes"):
        with pytest.raises(ValueError, match="switch"):
            PreSigmoidal(dynamic=bad)
    with pytest.raises(ValueError, match="exactly 2 coupling variables"):
        vb.Simulation(_network(), Hopfield(), PreSigmoidal(), speed=4.0, dt=0.1).run(1.0)


def test_reads_target_only_when_dynamic():
    assert PreSigmoidal().reads_target
    assert not PreSigmoidal(dynamic=False).reads_target


def test_hopfield_modes():
    """Hopfield (cvar x) refuses the dynamic threshold; HopfieldDynamic with dynamic=0 runs
    TVB's static equations (the x derivative in both rows), ignoring c_1."""
    with pytest.raises(ValueError, match="HopfieldDynamic"):
        Hopfield(dynamic=1)
    with pytest.raises(ValueError, match="HopfieldDynamic"):
        Hopfield().set_params(dynamic=np.array([0.0, 1.0]))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 2.0, (2, 8))
    c = rng.uniform(0.0, 1.0, (2, 8))
    static = Hopfield(taux=1.7).evaluate(x, c[:1])
    np.testing.assert_array_equal(static[0], static[1])
    np.testing.assert_array_equal(HopfieldDynamic(dynamic=0, taux=1.7).evaluate(x, c), static)
    dyn = HopfieldDynamic(taux=1.7, tauT=4.0).evaluate(x, c)
    np.testing.assert_array_equal(dyn[0], static[0])
    np.testing.assert_allclose(dyn[1], (c[1] - x[1]) / 4.0, rtol=1e-15)
    assert HopfieldDynamic.stimulus_variables == ("x",)
