"""BOLD monitors: step response, agreement with neurolib, scipy and TVB, chunk and batch invariance."""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import vbrain as vb
from vbrain.models import Model, Parameter, StateVariable
from vbrain.monitors import Bold, BoldHRF, RunInfo

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_bold_fixture import drive_neurolib, drive_tvb  # noqa: E402

sys.path.pop(0)


def drive(monitor, x, dt, *, chunk=None, model=None, name="S"):
    """Feed a drive x (n_steps, n_regions[, n_batch]) to a monitor as the engine would.

    Returns (times, samples (n_samples, n_regions, n_batch)).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[..., None]
    n, n_reg, nb = x.shape
    info = RunInfo(dt, (name,), ("1",), vb.models.ReducedWongWang() if model is None else model,
                   tuple(f"r{i}" for i in range(n_reg)), nb)
    monitor.setup(info)
    trace = np.ascontiguousarray(x.reshape(n, 1, n_reg, nb))
    chunk = n if chunk is None else chunk
    times, samples = [], []
    for start in range(0, n, chunk):
        t, y = monitor.consume(trace[start:start + chunk], start)
        times.append(t)
        samples.append(y)
    return np.concatenate(times), np.concatenate(samples)[:, 0]


def step_drive(dt, duration, onset, width, amplitude=1.0, n_regions=1):
    """1 on (onset, onset + width] ms, sampled at the ends of the steps."""
    t = (np.arange(int(round(duration / dt))) + 1) * dt
    on = (t > onset + 1e-9) & (t <= onset + width + 1e-9)
    return np.repeat((amplitude * on)[:, None], n_regions, axis=1).astype(np.float64)


# --- the physiology: a 1 s step -------------------------------------------------
@pytest.mark.parametrize("coefficients, lo, hi", [("stephan2007", 4000.0, 6000.0),
                                                  ("friston2003", 3000.0, 4000.0)])
def test_step_response_peaks_then_undershoots(coefficients, lo, hi):
    """1 s of drive from t = 2 s: peak lo-hi ms after onset, then a negative undershoot."""
    x = step_drive(0.1, 30_000.0, 2000.0, 1000.0)
    t, y = drive(Bold(tr=100.0, coefficients=coefficients), x, 0.1)
    y = y[:, 0, 0]
    assert np.all(y[t <= 2000.0] == 0.0)  # at rest before the onset
    peak = int(np.argmax(y))
    assert lo <= t[peak] - 2000.0 <= hi, t[peak]
    assert 0.005 < y[peak] < 0.05  # a 0.5-5 % signal change
    trough = peak + int(np.argmin(y[peak:]))
    assert y[trough] < -0.05 * y[peak]  # post-stimulus undershoot
    assert 6000.0 < t[trough] - 2000.0 < 15000.0
    assert abs(y[-1]) < 0.2 * abs(y[trough])  # and back towards rest


@njit(cache=True)
def _step_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    dx[0, k] = 1.0
    target = p[0, k] if p[1, k] < x[0, k] <= p[2, k] else 0.0
    dx[1, k] = (target - x[1, k]) / p[3, k]


@njit(cache=True)
def _decay_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    dx[0, k] = p[0, k] * x[0, k]


class BoldStepDrive(Model):
    """Test model: a clock and a variable following a step of ``amp`` on (on, off] ms."""

    state_variables = (StateVariable("clock", "ms", (0.0, 0.0)),
                       StateVariable("x", "1", (0.0, 0.0)))
    parameters = {"amp": Parameter(1.0, "1", "step height"),
                  "on": Parameter(2000.0, "ms", "onset"),
                  "off": Parameter(3000.0, "ms", "offset"),
                  "tau": Parameter(10.0, "ms", "time constant of x")}
    coupling_variables = ("x",)
    bold_variable = "x"
    dfun = staticmethod(_step_dfun)


def test_step_response_through_a_simulation():
    """Bold and BoldHRF inside Simulation: labelled output, equal to the monitor fed the raw trace."""
    conn = vb.Connectome(np.zeros((2, 2)), np.zeros((2, 2)), labels=["A", "B"])
    model = BoldStepDrive(amp=np.array([1.0, 0.5]))
    sim = vb.Simulation(conn, model, vb.coupling.Linear(a=0.0), dt=0.1, integrator="euler",
                        initial_history=np.zeros((2, 2)),
                        monitors=[Bold(tr=500.0), BoldHRF(tr=500.0), vb.monitors.Raw()])
    res = sim.run(25_000.0, chunk_steps=4321, progress=False)
    bold = res["bold"]
    assert bold.dims == ("time", "variable", "region")
    assert list(bold["region"].values) == ["A", "B"] and list(bold["variable"].values) == ["bold"]
    assert bold.attrs["units"] == "1" and bold.attrs["driven_by"] == "x"
    np.testing.assert_allclose(bold.time, 500.0 * np.arange(1, 51))
    y = bold.values[:, 0, 0]
    peak = int(np.argmax(y))
    assert 4000.0 <= bold.time.values[peak] - 2000.0 <= 6000.0
    assert y[peak + int(np.argmin(y[peak:]))] < -0.05 * y[peak]
    # region B (half the drive) responds with a bit more than half: the BOLD nonlinearity saturates
    ratio = bold.values[peak, 0, 1] / y[peak]
    assert 0.5 < ratio < 0.6
    # the same numbers as the monitors fed the recorded trace directly
    x = res["raw"].values[:, 1]  # (time, region)
    for mon, key in ((Bold(tr=500.0), "bold"), (BoldHRF(tr=500.0), "bold_hrf")):
        t, direct = drive(mon, x, 0.1, model=BoldStepDrive(), name="x")
        np.testing.assert_array_equal(t, res[key].time.values)
        np.testing.assert_array_equal(direct[..., 0], res[key].values[:, 0])
    # a sweep: each batch member equals its single run
    sim.monitors = (Bold(tr=500.0), BoldHRF(tr=500.0))
    sweep = sim.sweep(25_000.0, model__amp=[0.5, 2.0], chunk_steps=10_000, progress=False)
    sim.model = BoldStepDrive(amp=2.0)
    single = sim.run(25_000.0, progress=False)
    for key in ("bold", "bold_hrf"):
        np.testing.assert_array_equal(sweep[key].values[..., 1], single[key].values)


# --- agreement with independent implementations ----------------------------------
def test_matches_neurolib_balloon_windkessel():
    """neurolib 0.6.2 (Euler, dt 0.1 ms, Friston 2003 set) to 1e-3 of the peak."""
    ref = np.load(DATA / "bold_neurolib_step.npz")
    t, y = drive(Bold(tr=100.0, coefficients="friston2003"), drive_neurolib(), 0.1)
    np.testing.assert_allclose(t, ref["t_ms"])
    scale = np.abs(ref["bold"]).max()
    err = np.abs(y[..., 0] - ref["bold"]).max() / scale
    assert err < 1e-3, err  # measured 3.3e-5: neurolib's first-order Euler error


def _balloon_rhs(t, y, x, p):
    s, f, v, q = y
    ds = x - p["kappa"] * s - p["gamma"] * (f - 1.0)
    tau = p["tau"] / 1000.0
    dv = (f - v ** (1.0 / p["alpha"])) / tau
    dq = (f * (1.0 - (1.0 - p["rho"]) ** (1.0 / f)) / p["rho"]
          - v ** (1.0 / p["alpha"]) * q / v) / tau
    return [ds, s, dv, dq]


@pytest.mark.parametrize("coefficients", ["stephan2007", "friston2003"])
def test_matches_scipy_solve_ivp(coefficients):
    """The same ODEs solved by DOP853 at rtol 1e-12, for a strong and a weak step: 1e-6."""
    from scipy.integrate import solve_ivp

    dt, duration = 0.1, 24_000.0
    x = np.concatenate([step_drive(dt, duration, 1000.0, 2000.0, 3.0),
                        step_drive(dt, duration, 1500.0, 500.0, 0.2)], axis=1)
    mon = Bold(tr=200.0, coefficients=coefficients)
    t, y = drive(mon, x, dt)
    p, (k1, k2, k3) = mon.params_, mon.k_
    for r, (on, width, amp) in enumerate([(1000.0, 2000.0, 3.0), (1500.0, 500.0, 0.2)]):
        state, expected = [0.0, 1.0, 1.0, 1.0], []
        pieces = [(0.0, on, 0.0), (on, on + width, amp), (on + width, duration, 0.0)]
        for a, b, u in pieces:
            keep = t[(t > a) & (t <= b)] / 1000.0
            sol = solve_ivp(_balloon_rhs, (a / 1000.0, b / 1000.0), state, args=(u, p),
                            method="DOP853", rtol=1e-12, atol=1e-14, t_eval=keep)
            state = solve_ivp(_balloon_rhs, (a / 1000.0, b / 1000.0), state, args=(u, p),
                              method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
            _, _, v, q = sol.y
            expected.append(p["V0"] * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v)))
        expected = np.concatenate(expected)
        err = np.abs(y[:, r, 0] - expected).max() / np.abs(expected).max()
        assert err < 1e-6, (r, err)


@pytest.mark.parametrize("period", [1.0, 4.0])
def test_matches_tvb_balloon_model(period):
    """tvb-library 2.10's Balloon-Windkessel analyser (its own constants, Heun at 1 ms): 1e-5.

    TVB writes the balloon with time constants, kappa = 1 / tau_s and gamma = 1 / tau_f,
    and its revised coefficients from epsilon, TE, nu_0 and r_0 as "stephan2007" does.
    """
    ref = np.load(DATA / "bold_tvb_balloon.npz")
    dt = float(ref["dt_ms"])
    mon = Bold(tr=100.0, period=period, kappa=1.0 / float(ref["tau_s"]),
               gamma=1.0 / float(ref["tau_f"]), tau=1000.0 * float(ref["tau_o"]),
               alpha=float(ref["alpha"]), rho=float(ref["E0"]), V0=float(ref["V0"]),
               epsilon=float(ref["epsilon"]), TE=1000.0 * float(ref["TE"]),
               nu0=float(ref["nu_0"]), r0=float(ref["r_0"]))
    t, y = drive(mon, drive_tvb(dt), dt)
    np.testing.assert_allclose(t, ref["t_ms"])
    expected = ref["bold"]
    err = np.abs(y[..., 0] - expected).max(axis=0) / np.abs(expected).max(axis=0)
    assert err.max() < 1e-5, err


@pytest.mark.parametrize("hrf", ["volterra", "gamma", "double_exponential", "mixture_of_gammas"])
def test_bold_hrf_matches_tvb_monitor(hrf):
    """tvb-library 2.10 monitors.Bold, each kernel, step + sinusoid, dt 0.5 ms: 1e-10."""
    ref = np.load(DATA / "bold_tvb_hrf.npz")
    t, y = drive(BoldHRF(tr=float(ref["tr_ms"]), hrf=hrf), drive_tvb(), float(ref["dt_ms"]))
    np.testing.assert_allclose(t, ref[f"t_{hrf}"])
    expected = ref[f"bold_{hrf}"]
    assert np.abs(y[..., 0] - expected).max() / np.abs(expected).max() < 1e-10


def test_bold_hrf_semantics_with_a_delta_kernel():
    """TVB's indexing: the sample at a TR weighs the window *before* the newest by G(0)."""
    dt, period = 0.5, 4.0
    x = np.arange(1, 8001, dtype=np.float64)[:, None] * 0.01  # a ramp
    mon = BoldHRF(tr=500.0, hrf=lambda t_ms: (t_ms == 0.0).astype(float), period=period,
                  length=100.0)
    t, y = drive(mon, x, dt)
    n_sub = int(period / dt)
    means = x[:, 0].reshape(-1, n_sub).mean(axis=1)  # window means, window w ends at (w+1)*4 ms
    newest = (t / period).astype(int) - 1
    np.testing.assert_allclose(y[:, 0, 0], means[newest - 1], rtol=1e-13)
    assert mon.attrs()["units"] == "a.u."


# --- invariance ---------------------------------------------------------------------
def _noisy_drive(n, n_regions, n_batch=1, seed=0):
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.02, (n, n_regions, n_batch)), axis=0)
    return 0.5 + 0.3 * np.tanh(walk)


@pytest.mark.parametrize("make", [lambda: Bold(tr=300.0),
                                  lambda: Bold(tr=300.0, coefficients="friston2003", period=0.1),
                                  lambda: BoldHRF(tr=300.0, length=5000.0),
                                  lambda: BoldHRF(tr=300.0, hrf="gamma", period=0.3)])
def test_chunk_size_does_not_change_output(make):
    x = _noisy_drive(60_000, 3, 2)
    t_ref, ref = drive(make(), x, 0.1)
    assert len(t_ref) == 20 and np.all(np.isfinite(ref))
    for chunk in (1, 7, 2999, 10_001):
        t, y = drive(make(), x[:6000] if chunk == 1 else x, 0.1, chunk=chunk)
        n = len(t)
        np.testing.assert_array_equal(t, t_ref[:n])
        np.testing.assert_array_equal(y, ref[:n])


@pytest.mark.parametrize("make", [lambda: Bold(tr=200.0), lambda: BoldHRF(tr=200.0, length=4000.0)])
def test_batch_members_equal_single_runs(make):
    x = _noisy_drive(30_000, 5, 3, seed=1)
    _, batch = drive(make(), x, 0.1, chunk=4096)
    for b in range(3):
        _, single = drive(make(), x[..., b], 0.1, chunk=1000)
        np.testing.assert_array_equal(batch[..., b], single[..., 0])


def test_balloon_node_does_not_depend_on_how_many_nodes_share_the_call(caplog):
    """37 nodes (SIMD body and padding), some driven below the floors of f and v: each equals
    its run alone, bit for bit."""
    x = _noisy_drive(20_000, 37, seed=2)[..., 0] * np.linspace(-6.0, 3.0, 37)
    with caplog.at_level(logging.WARNING, logger="vbrain.monitors.bold"):
        _, together = drive(Bold(tr=100.0), x, 0.1, chunk=7000)
    assert any("too negative" in r.getMessage() for r in caplog.records)  # f fell below 0
    assert np.isfinite(together).all()
    for k in range(37):
        _, alone = drive(Bold(tr=100.0), x[:, k:k + 1], 0.1)
        np.testing.assert_array_equal(together[:, k], alone[:, 0])


@pytest.mark.parametrize("make", [lambda: Bold(tr=200.0), lambda: BoldHRF(tr=200.0, length=2000.0)])
def test_checkpointed_state_resumes_exactly(make):
    x = _noisy_drive(20_000, 2)
    _, full = drive(make(), x, 0.1)
    first = make()
    _, y1 = drive(first, x[:12_345], 0.1)
    second = make()
    drive(second, x[:1], 0.1)  # set up for the same run, then overwrite its state
    second.set_state(first.get_state())
    _, y2 = second.consume(x[12_345:].reshape(-1, 1, 2, 1), 12_345)
    np.testing.assert_array_equal(np.concatenate([y1, y2[:, 0]]), full)


# --- parameters and errors ------------------------------------------------------------
def test_coefficient_sets_and_parameters():
    mon = Bold(tr=2000.0)
    k1, k2, k3 = mon.output_coefficients()
    assert k1 == pytest.approx(4.3 * 40.3 * 0.34 * 0.04) and k2 == pytest.approx(0.34)
    assert k3 == 0.0 and mon.hemodynamic_parameters()["tau"] == 2000.0
    classic = Bold(coefficients="friston2003")
    assert classic.output_coefficients() == pytest.approx((2.38, 2.0, 0.48))
    assert classic.hemodynamic_parameters()["tau"] == 980.0
    assert Bold(coefficients="friston2003", tau=1500.0).hemodynamic_parameters()["tau"] == 1500.0
    assert Bold(coefficients=(1.0, 2.0, 3.0)).output_coefficients() == (1.0, 2.0, 3.0)
    # epsilon enters the revised coefficients only
    assert Bold(epsilon=0.5).output_coefficients()[2] == 0.5


def test_default_period_divides_the_tr():
    mon = Bold(tr=2000.0)
    drive(mon, np.zeros((10, 1)), 0.1)
    assert mon.n_sub_ == 40 and mon.tr_windows_ == 500  # 4 ms
    mon = Bold(tr=2100.0)
    drive(mon, np.zeros((10, 1)), 0.3)  # TR = 7000 steps; 4 ms ~ 13 steps, the largest divisor <= 13
    assert mon.n_sub_ == 10 and mon.tr_windows_ == 700


def test_negative_drive_warns_and_stays_finite(caplog):
    x = np.full((100_000, 1), -2.0)
    with caplog.at_level(logging.WARNING, logger="vbrain.monitors.bold"):
        _, y = drive(Bold(tr=1000.0), x, 0.1, chunk=20_000)
    assert np.all(np.isfinite(y))
    assert sum("too negative" in r.getMessage() for r in caplog.records) == 1


class _NoBold(Model):
    state_variables = (StateVariable("x", "1", (0.0, 1.0)),)
    parameters = {"g": Parameter(-1.0, "1/ms", "rate")}
    coupling_variables = ("x",)
    dfun = staticmethod(_decay_dfun)


@pytest.mark.parametrize("make, dt, match", [
    (lambda: Bold(variable="V"), 0.1, r"unknown variable 'V'"),
    (lambda: Bold(tr=2000.05), 0.1, r"tr period must be a positive multiple of dt"),
    (lambda: Bold(tr=2000.0, period=3.0), 0.1, r"tr must be a multiple of period"),
    (lambda: Bold(period=0.15), 0.1, r"Bold period must be a positive multiple of dt"),
    (lambda: Bold(coefficients="stephan"), 0.1, r"Did you mean 'stephan2007'"),
    (lambda: Bold(coefficients=(1.0, 2.0)), 0.1, r"3 finite numbers"),
    (lambda: Bold(rho=1.5), 0.1, r"Bold rho must be < 1"),
    (lambda: Bold(tau=0.0), 0.1, r"Bold tau must be > 0"),
    (lambda: BoldHRF(hrf="gama"), 0.1, r"Did you mean 'gamma'"),
    (lambda: BoldHRF(hrf_params={"tau_z": 1.0}), 0.1, r"no parameter 'tau_z'.*Did you mean 'tau_s'"),
    (lambda: BoldHRF(hrf=lambda t: np.ones(3)), 0.1, r"must return 5000 finite values"),
    (lambda: BoldHRF(tr=2000.0, period=3.0), 0.1, r"tr must be a multiple of period"),
])
def test_errors(make, dt, match):
    with pytest.raises((ValueError, TypeError), match=match):
        drive(make(), np.zeros((10, 1)), dt)


def test_model_without_bold_variable_needs_variable():
    with pytest.raises(ValueError, match=r"declares no bold_variable; pass variable="):
        drive(Bold(), np.zeros((10, 1)), 0.1, model=_NoBold(), name="x")
    mon = Bold(tr=1.0, variable="x")
    t, y = drive(mon, np.ones((20, 1)), 0.1, model=_NoBold(), name="x")
    assert len(t) == 2 and y[-1, 0, 0] != 0.0 and mon.attrs()["driven_by"] == "x"


def test_repr_and_attrs():
    assert repr(Bold(tr=1000.0)) == "Bold(tr=1000.0, variable=None, coefficients='stephan2007', period=None)"
    mon = BoldHRF(tr=1000.0, hrf="gamma")
    assert "hrf='gamma'" in repr(mon)
    drive(mon, np.zeros((10, 1)), 0.5)
    assert mon.space()[0] == ("variable", ["bold"], {"unit": ["a.u."]})
    assert math.isclose(mon.attrs()["hrf_length_ms"], 20000.0)
