"""Codimension-3 Epileptor (Saggio et al. 2017): the path's derived rows, every branch of the
resting state against a complex-arithmetic reference, parameter checks and sweeps.

TVB parity (dfun and trajectories) is in tests/test_models.py and
tests/test_tvb_trajectories.py; here are the invariants behind it.
"""

from __future__ import annotations

import cmath

import numpy as np
import pytest
from numba import njit

import vbrain as vb
from vbrain.models import EpileptorCodim3, EpileptorCodim3SlowMod
from vbrain.models.epileptor_codim3 import _atan_unit, _resting_x


@njit
def _atan_all(t):  # pragma: no cover - compiled
    out = np.empty_like(t)
    for i in range(t.size):
        out[i] = _atan_unit(t[i])
    return out


@njit
def _resting_x_all(mu1, mu2, N):  # pragma: no cover - compiled
    out = np.empty_like(mu1)
    for i in range(mu1.size):
        out[i] = _resting_x(mu1[i], mu2[i], N)
    return out


def _point(params: dict, suffix: str) -> np.ndarray:
    return np.array([params[f"mu2_{suffix}"], -params[f"mu1_{suffix}"], params[f"nu_{suffix}"]])


def _reference(state, coupling, E, F, p) -> np.ndarray:
    """dx, dy, dz from the equations, x_s with numpy's complex arithmetic (E, F: (3, n))."""
    x, y, z = state
    R = p["R"]
    mu2 = R * (E[0] * np.cos(z) + F[0] * np.sin(z))
    mu1 = -R * (E[1] * np.cos(z) + F[1] * np.sin(z))
    nu = R * (E[2] * np.cos(z) + F[2] * np.sin(z))
    root = np.sqrt(mu1**2 / 4.0 - mu2**3 / 27.0 + 0j)
    rp, rm = (mu1 / 2.0 + root) ** (1.0 / 3.0), (mu1 / 2.0 - root) ** (1.0 / 3.0)
    w = 1j * np.sqrt(3.0)
    xs = {1: rp + rm, 2: -(1 - w) / 2 * rp - (1 + w) / 2 * rm,
          3: -(1 + w) / 2 * rp - (1 - w) / 2 * rm}[p["N"]].real
    tail = 0.1 * (z - 0.5) ** 7 if p["modification"] else 0.0
    return np.array([
        -y,
        x**3 - mu2 * x - mu1 - y * (nu + p["b"] * x + x**2),
        -p["c"] * (np.sqrt((x - xs) ** 2 + y**2) - p["dstar"] + tail + p["Ks"] * coupling[0]),
    ])


def _unit_vectors(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.cross(np.cross(a, b), a)
    return a / np.linalg.norm(a), f / np.linalg.norm(f)


def test_arctangent_to_rounding():
    t = np.r_[np.linspace(0.0, 1.0, 200_001), np.geomspace(2.3e-308, 1e-3, 2000)]
    a = _atan_all(t)
    assert a[0] == 0.0 and a[200_000] == np.pi / 4
    np.testing.assert_allclose(a, np.arctan(t), rtol=6e-16, atol=0)  # 4 units in the last place


def _python_resting_x(mu1: float, mu2: float, N: int) -> float:
    """TVB's x_s with Python's complex arithmetic (as numba's, which TVB compiles)."""
    root = cmath.sqrt(mu1**2 / 4.0 - mu2**3 / 27.0 + 0j)
    rp, rm = (mu1 / 2.0 + root) ** (1.0 / 3.0), (mu1 / 2.0 - root) ** (1.0 / 3.0)
    w = 1j * 3 ** 0.5
    return {1: rp + rm, 2: -(1 - w) / 2 * rp - (1 + w) / 2 * rm,
            3: -(1 + w) / 2 * rp - (1 - w) / 2 * rm}[N].real


@pytest.mark.parametrize("N", [1, 2, 3])
def test_resting_state_as_python_complex_power(N):
    rng = np.random.default_rng(5)
    # random points, then zero radicands and discriminants, signed zeros
    mu1 = np.r_[rng.uniform(-1.0, 1.0, 3000), 0.0, 0.0, 0.2, -0.2, 0.0, -0.0, 1e-9]
    mu2 = np.r_[rng.uniform(-1.0, 1.0, 3000), 0.0, 0.3, 0.0, 0.0, -0.3, 0.3, 1e-6]
    expected = [_python_resting_x(a, b, N) for a, b in zip(mu1, mu2)]
    np.testing.assert_allclose(_resting_x_all(mu1, mu2, float(N)), expected, rtol=1e-14,
                               atol=1e-15)


@pytest.mark.parametrize("N", [1, 2, 3])
@pytest.mark.parametrize("modification", [0.0, 1.0])
def test_every_branch_matches_complex_reference(N, modification):
    rng = np.random.default_rng(N)
    n = 400
    model = EpileptorCodim3(N=N, modification=modification, Ks=0.7, b=-1.0,
                            R=rng.uniform(0.3, 0.6, n))
    p = model.get_params()
    E, F = _unit_vectors(_point(p, "start"), _point(p, "stop"))
    state = np.array([rng.uniform(-1.0, 1.0, n), rng.uniform(-0.5, 0.5, n),
                      rng.uniform(-np.pi, np.pi, n)])
    coupling = rng.uniform(-1.0, 1.0, (1, n))
    # every case of Cardano's formula occurs: three real roots, one with both radicands
    # positive, one with a negative radicand (its principal cube root is complex)
    R = p["R"]
    mu2 = R * (E[0] * np.cos(state[2]) + F[0] * np.sin(state[2]))
    mu1 = -R * (E[1] * np.cos(state[2]) + F[1] * np.sin(state[2]))
    disc = mu1**2 / 4 - mu2**3 / 27
    low = mu1 / 2 - np.sqrt(np.abs(disc))
    assert (disc < 0).sum() > 10 and ((disc >= 0) & (low > 0)).sum() > 10
    assert ((disc >= 0) & (low < 0)).sum() > 10
    expected = _reference(state, coupling, E[:, None], F[:, None], p)
    np.testing.assert_allclose(model.evaluate(state, coupling), expected, rtol=1e-11,
                               atol=1e-14)


def test_branches_differ_and_modification_matters():
    rng = np.random.default_rng(0)
    state = np.array([rng.uniform(-1, 1, 50), rng.uniform(-1, 1, 50), rng.uniform(-0.2, 0.4, 50)])
    dz = {(N, m): EpileptorCodim3(N=N, modification=m).evaluate(state)[2]
          for N in (1, 2, 3) for m in (0.0, 1.0)}
    assert len({np.round(v, 12).tobytes() for v in dz.values()}) == 6


def test_derived_rows_are_the_great_circle_through_start_and_stop():
    start, stop = np.array([0.3, 0.02, 0.2]), np.array([0.25, 0.1, 0.3])
    model = EpileptorCodim3(mu2_start=start[0], mu1_start=-start[1], nu_start=start[2],
                            mu2_stop=stop[0], mu1_stop=-stop[1], nu_stop=stop[2], R=0.7)
    p = model.parameter_array(2)
    assert p.shape == (13 + 6, 2)
    E, F = p[13:16, 0], p[16:19, 0]
    np.testing.assert_allclose([E @ E, F @ F, E @ F], [1.0, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(E, start / np.linalg.norm(start), rtol=1e-15)
    # z = 0 is the start point's direction, z = angle(start, stop) the stop point's
    theta = np.arccos(start @ stop / np.linalg.norm(start) / np.linalg.norm(stop))
    np.testing.assert_allclose(E * np.cos(theta) + F * np.sin(theta),
                               stop / np.linalg.norm(stop), atol=1e-15)


def test_derived_rows_per_region_and_slowmod_circles():
    # each region follows its own path (TVB: region 0's, for every region)
    mu1 = np.array([-0.07465, -0.1, 0.05])
    both = EpileptorCodim3(mu1_stop=mu1).parameter_array(3)
    for i, v in enumerate(mu1):
        single = EpileptorCodim3(mu1_stop=v).parameter_array(1)[:, 0]
        np.testing.assert_array_equal(both[:, i], single)
    assert np.ptp(both[16:19], axis=1).max() > 0.01
    model = EpileptorCodim3SlowMod()
    p, q = model.parameter_array(1)[:, 0], model.get_params()
    for (a, b), rows in ((("Ain", "Aend"), slice(21, 27)), (("Bin", "Bend"), slice(27, 33))):
        E, F = _unit_vectors(_point(q, a), _point(q, b))
        np.testing.assert_allclose(p[rows], np.r_[E, F], rtol=1e-14, atol=1e-16)


def test_slowmod_at_fixed_end_points_is_codim3():
    """uA = uB = 0, no drift: the path from Ain to Bin; uA = angle(Ain, Aend): from Aend."""
    slow = EpileptorCodim3SlowMod(cA=0.0, cB=0.0, Ks=0.4, N=2)
    q = slow.get_params()
    kw = {"c": q["c"], "Ks": 0.4, "N": 2}
    rng = np.random.default_rng(1)
    xyz = np.array([rng.uniform(-1, 1, 30), rng.uniform(-1, 1, 30), rng.uniform(-0.5, 0.6, 30)])
    c = rng.uniform(-1, 1, (1, 30))
    ain, aend = _point(q, "Ain"), _point(q, "Aend")
    angle = np.arccos(ain @ aend / np.linalg.norm(ain) / np.linalg.norm(aend))
    for uA, start in ((0.0, "Ain"), (angle, "Aend")):
        flat = EpileptorCodim3(
            mu1_start=q[f"mu1_{start}"], mu2_start=q[f"mu2_{start}"], nu_start=q[f"nu_{start}"],
            mu1_stop=q["mu1_Bin"], mu2_stop=q["mu2_Bin"], nu_stop=q["nu_Bin"], **kw)
        state = np.r_[xyz, np.full((1, 30), uA), np.zeros((1, 30))]
        dx = slow.evaluate(state, c)
        np.testing.assert_allclose(dx[:3], flat.evaluate(xyz, c), rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(dx[3:], 0.0)
    assert np.all(EpileptorCodim3SlowMod().evaluate(np.r_[xyz, np.zeros((2, 30))], c)[3:]
                  == np.array([[1e-4], [1.2e-4]]))


def test_branch_and_path_errors():
    with pytest.raises(ValueError, match=r"EpileptorCodim3\.N is the branch.*1, 2 or 3.*\[4\.0\]"):
        EpileptorCodim3(N=4)
    with pytest.raises(ValueError, match=r"EpileptorCodim3SlowMod\.N .*\[0\.0, 2\.5\]"):
        EpileptorCodim3SlowMod().set_params(N=np.array([1.0, 0.0, 2.5]))
    bad = EpileptorCodim3(mu1_stop=2 * -0.02285, mu2_stop=2 * 0.3448, nu_stop=2 * 0.2014)
    with pytest.raises(ValueError, match=r"\*_start and \*_stop .*one line through the origin"):
        bad.evaluate(np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"\*_Bin and \*_Bend"):
        EpileptorCodim3SlowMod(mu1_Bend=0.0, mu2_Bend=0.0, nu_Bend=0.0).parameter_array(2)


@pytest.fixture(scope="module")
def conn():
    return vb.Connectome.load("atlases:default").subset(list(range(10)))


@pytest.mark.parametrize("cls, name, values", [
    (EpileptorCodim3, "mu1_stop", [-0.07465, -0.1]),
    (EpileptorCodim3SlowMod, "nu_Aend", [-0.3878, -0.2]),
])
def test_sweep_over_an_end_point_equals_single_runs(conn, cls, name, values):
    model = cls(c=0.01, Ks=-0.5)
    sim = vb.Simulation(conn, model, vb.coupling.Difference(a=0.05), speed=4.0, dt=0.1,
                        integrator="heun", monitors=[vb.monitors.Raw()], seed=2)
    batch = sim.sweep(60.0, threads=1, progress=False, **{f"model__{name}": values})
    batch = batch["raw"].values
    singles = [sim.set_params(**{f"model__{name}": v}).run(60.0, progress=False)["raw"].values
               for v in values]
    for b in range(2):
        np.testing.assert_array_equal(batch[..., b], singles[b])
    assert np.abs(singles[0] - singles[1]).max() > 1e-6  # the end point changes the run
    with pytest.raises(ValueError, match="N is the branch"):
        sim.sweep(1.0, threads=1, progress=False, model__N=[1.0, 4.0])
