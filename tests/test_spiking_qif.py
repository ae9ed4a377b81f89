"""QIF population (10,000 neurons, all-to-all, Lorentzian excitabilities) against the
Montbrio-Pazo-Roxin mean field (vbrain.models.MontbrioPazoRoxin's dfun): steady states
and the response to a step of current."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import vbrain.spiking as sp
from vbrain.models import MontbrioPazoRoxin
from vbrain.models.montbrio import _mpr_dfun

N, DT = 10_000, 0.05
TAU, ETA, DELTA, J, I_STEP = 10.0, -5.0, 1.0, 15.0, 3.0
T1, T2 = 150.0, 150.0      # ms before and after the step


def _mean_field(I_of_t, y0, t_eval):
    m = MontbrioPazoRoxin(tau=TAU, eta=ETA, Delta=DELTA, J=J)
    p = np.array([[m.get_params()[k]] for k in MontbrioPazoRoxin.parameters])
    i_row = list(MontbrioPazoRoxin.parameters).index("I")

    def f(t, y):
        p[i_row, 0] = I_of_t(t)
        dx = np.zeros((2, 1))
        _mpr_dfun(y.reshape(2, 1), np.zeros((2, 1)), p, dx, 0)
        return dx[:, 0]

    return solve_ivp(f, (t_eval[0], t_eval[-1]), y0, t_eval=t_eval, rtol=1e-10, atol=1e-12,
                     max_step=0.1)


def _finite_n_steady_state(eta_j, I):
    """Asynchronous state of the N-neuron network: each neuron sees a constant input."""
    def rate(r):
        c = eta_j + J * TAU * r + I
        return np.sum(np.sqrt(np.clip(c, 0, None))) / (np.pi * TAU * eta_j.size) - r
    r = brentq(rate, 0.0, 10.0)
    c = eta_j + J * TAU * r + I
    return r, np.sum(-np.sqrt(np.clip(-c, 0, None))) / eta_j.size


@pytest.fixture(scope="module")
def run():
    net = sp.Network(dt=DT, seed=1)
    net.add_population("Q", "qif", N, params={"tau": TAU, "eta": ETA, "Delta": DELTA,
                                              "V_m": -2.0}, record=False)
    net.connect("Q", "Q", rule="all_to_all", weight=J / N, delay=DT)
    net.add_input("I", "Q", "current")
    n1, n2 = round(T1 / DT), round(T2 / DT)
    a = net.advance(n1, {"I": np.zeros(n1)})
    b = net.advance(n2, {"I": np.full(n2, I_STEP)})
    r = np.r_[a["counts"]["Q"], b["counts"]["Q"]] / (N * DT)       # kHz
    V = np.r_[a["v_mean"]["Q"], b["v_mean"]["Q"]]
    return net, r, V


def _window(x, t0, t1):
    return x[round(t0 / DT):round(t1 / DT)].mean()


def test_steady_states_match_mean_field(run):
    net, r, V = run
    eta_j = net._bias
    t = np.array([0.0, 1000.0])
    for I, (t0, t1) in ((0.0, (T1 - 60, T1)), (I_STEP, (T1 + T2 - 60, T1 + T2))):
        mf = _mean_field(lambda _t, I=I: I, [0.01, -2.0], t).y[:, -1]
        r_n, v_n = _finite_n_steady_state(eta_j, I)
        r_sim, v_sim = _window(r, t0, t1), _window(V, t0, t1)
        # the network against its own finite-N asynchronous state: statistical error only
        assert r_sim == pytest.approx(r_n, rel=0.03)
        assert v_sim == pytest.approx(v_n, abs=0.03)
        # and against the N -> infinity mean field, which adds the Lorentzian tail that
        # 10,000 quantiles cannot hold (about 4 % of the low rate, 0.3 % of the high one)
        assert r_sim == pytest.approx(mf[0], rel=0.08 if I == 0 else 0.02)
        assert v_sim == pytest.approx(mf[1], abs=0.06)
    assert _window(r, T1 + T2 - 60, T1 + T2) > 10 * _window(r, T1 - 60, T1)


def test_step_response_matches_mean_field(run):
    _, r, V = run
    # the mean field from its low steady state, stepped at T1
    y0 = _mean_field(lambda _t: 0.0, [0.01, -2.0], np.array([0.0, 1000.0])).y[:, -1]
    edges = np.arange(T1, T1 + 60.0 + 1e-9, 0.5)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mf = _mean_field(lambda _t: I_STEP, y0, np.r_[T1, centres])
    k = round(0.5 / DT)
    seg = slice(round(T1 / DT), round(T1 / DT) + k * centres.size)
    r_bins = r[seg].reshape(-1, k).mean(axis=1)
    v_bins = V[seg].reshape(-1, k).mean(axis=1)
    r_mf, v_mf = mf.y[0, 1:], mf.y[1, 1:]
    # the transient overshoots and rings (a focus) before settling
    assert r_mf.max() > 1.3 * r_mf[-1]
    # the network follows it burst by burst; its sharpest burst comes about one bin
    # later and a little lower (finite V_peak and N), so compare shape, height, timing
    assert np.corrcoef(r_bins, r_mf)[0, 1] > 0.9
    assert np.corrcoef(v_bins, v_mf)[0, 1] > 0.85
    assert r_bins.mean() == pytest.approx(r_mf.mean(), rel=0.03)
    assert r_bins.max() == pytest.approx(r_mf.max(), rel=0.10)
    assert abs(centres[np.argmax(r_bins)] - centres[np.argmax(r_mf)]) <= 1.5
    assert np.sqrt(np.mean((r_bins - r_mf) ** 2)) < 0.12 * r_mf.max()
