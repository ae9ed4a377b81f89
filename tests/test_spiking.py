"""Point-neuron engine: single neurons against analytic results, inputs, connectivity,
reproducibility and the inset contract (advance/add_input/spikes), bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

import vbrain.spiking as sp
from vbrain.spiking.rng import draw_poisson, seed_state

DT = 0.1


def _single(model, params, *, dt=DT, seed=0):
    net = sp.Network(dt=dt, seed=seed)
    net.add_population("n", model, 1, params=params)
    return net


def _kicked(model, params, weight, delay=1.0, dt=DT):
    """One target neuron hit by one spike emitted in the first step (time dt)."""
    net = sp.Network(dt=dt, seed=0)
    # the source starts above threshold: one spike at t = dt, then silent for 10 s
    net.add_population("src", "iaf_psc_delta", 1,
                       params={"V_m": -50.0, "t_ref": 10000.0})
    net.add_population("tgt", model, 1, params=params)
    net.connect("src", "tgt", weight=weight, delay=delay)
    return net


# -- random numbers -------------------------------------------------------------------
@pytest.mark.parametrize("lam", [0.05, 2.0, 9.5, 10.0, 60.0])
def test_poisson_sampler_moments(lam):
    x = draw_poisson(seed_state(np.random.SeedSequence(3)), lam, 200_000)
    se = math.sqrt(lam / x.size)
    assert abs(x.mean() - lam) < 5 * se
    assert abs(x.var() / lam - 1.0) < 0.03


# -- LIF, exact propagation -------------------------------------------------------------
def test_lif_delta_first_spike_and_rate_under_constant_current():
    tau, C, I = 10.0, 250.0, 500.0   # ms, pF, pA: R I = 20 mV above E_L
    E_L, V_th, t_ref = -70.0, -55.0, 2.0  # V_reset = E_L
    net = _single("iaf_psc_delta", {"I_e": I})
    out = net.run(1000.0)
    RI = tau / C * I
    t_first = tau * math.log(RI / (RI - (V_th - E_L)))          # from V = E_L
    k_first = math.ceil(t_first / DT)                             # first grid point above
    times, _ = net.spikes("n")
    assert times[0] == pytest.approx(k_first * DT, abs=1e-9)
    # after each spike: t_ref clamped (20 steps), then the same climb from V_reset = E_L
    isi = round(t_ref / DT) * DT + k_first * DT
    np.testing.assert_allclose(np.diff(times), isi, atol=1e-9)
    assert out["counts"]["n"].sum() == times.size
    # f-I curve of the continuous-time model (to the step grid)
    f_analytic = 1000.0 / (t_ref + t_first)
    assert abs(times.size - f_analytic) <= 1000.0 / isi * 0.05 + 1


def test_lif_delta_subthreshold_current_step_is_exact():
    net = _single("iaf_psc_delta", {"t_ref": 2.0})
    net.add_input("I", "n", "current", weight=2.0)
    out = net.advance(300, {"I": np.full(300, 50.0)})          # 100 pA
    t = DT * np.arange(1, 301)
    expected = -70.0 + 10.0 / 250.0 * 100.0 * (1.0 - np.exp(-t / 10.0))
    np.testing.assert_allclose(out["v_mean"]["n"], expected, rtol=0, atol=1e-11)


def test_psp_delta():
    w, delay = 0.7, 1.0
    net = _kicked("iaf_psc_delta", {}, w, delay)
    v = net.advance(200)["v_mean"]["tgt"]
    t = DT * np.arange(1, 201)
    onset = DT + delay      # spike time + delay
    expected = -70.0 + np.where(t >= onset - 1e-9, w * np.exp(-(t - onset) / 10.0), 0.0)
    np.testing.assert_allclose(v, expected, atol=1e-12)


@pytest.mark.parametrize("model,kernel", [
    ("iaf_psc_exp", lambda s, tau: np.exp(-s / tau)),
    ("iaf_psc_alpha", lambda s, tau: math.e / tau * s * np.exp(-s / tau)),
])
@pytest.mark.parametrize("tau_syn", [2.0, 10.0, 0.5])
def test_psp_shapes_exact(model, kernel, tau_syn):
    w, delay, C, tau_m = 50.0, 1.5, 250.0, 10.0
    net = _kicked(model, {"tau_syn_ex": tau_syn}, w, delay)
    v = net.advance(400)["v_mean"]["tgt"]
    onset = DT + delay
    t = DT * np.arange(1, 401)
    expected = []
    for ti in t:
        if ti <= onset + 1e-9:
            expected.append(-70.0)
            continue
        T = ti - onset
        val = quad(lambda s, T=T: math.exp(-(T - s) / tau_m) * w * kernel(s, tau_syn) / C, 0, T,
                   epsabs=1e-13, epsrel=1e-12)[0]
        expected.append(-70.0 + val)
    np.testing.assert_allclose(v, expected, atol=1e-9)
    assert np.max(v) > -70.0 + 0.05   # a real PSP was produced


def test_inhibitory_weight_goes_to_inhibitory_receptor():
    net = _kicked("iaf_psc_exp", {"tau_syn_in": 5.0, "tau_syn_ex": 0.5}, -50.0)
    net.advance(30)
    assert net.get_state("tgt", "I_syn_ex") == 0.0
    assert net.get_state("tgt", "I_syn_in")[0] < 0.0


# -- conductance-based and nonlinear models against a tight ODE solution -----------------
def test_cond_exp_psp_vs_ode():
    w, delay = 5.0, 1.0
    net = _kicked("iaf_cond_exp", {"V_m": -70.0}, w, delay)
    v = net.advance(300)["v_mean"]["tgt"]
    # NEST's order: the conductance jumps at the end of the arrival step
    onset = DT + delay + DT - DT
    g_l, C, E_L, E_ex, tau = 16.6667, 250.0, -70.0, 0.0, 0.2

    def f(t, y):
        g = w * math.exp(-(t - onset) / tau) if t >= onset else 0.0
        return [(-g_l * (y[0] - E_L) - g * (y[0] - E_ex)) / C]

    t = DT * np.arange(1, 301)
    sol = solve_ivp(f, (onset, t[-1]), [-70.0], t_eval=t[t >= onset], rtol=1e-11, atol=1e-12,
                    max_step=0.01)
    np.testing.assert_allclose(v[t >= onset], sol.y[0], atol=2e-6)
    assert v.max() > -70.0 + 0.1


def test_aeif_spike_times_vs_ode():
    I = 800.0
    net = _single("aeif_cond_exp", {"I_e": I})
    net.run(200.0)
    times, _ = net.spikes("n")
    p = sp.AeifCondExp().params

    def f(t, y):
        V, w = min(y[0], p["V_peak"]), y[1]
        dv = (-p["g_L"] * (V - p["E_L"]) + p["g_L"] * p["Delta_T"]
              * math.exp((V - p["V_th"]) / p["Delta_T"]) - w + I) / p["C_m"]
        return [dv, (p["a"] * (V - p["E_L"]) - w) / p["tau_w"]]

    def peak(t, y):  # -30 mV: from there the upstroke to V_peak takes < 0.01 ms
        return y[0] + 30.0
    peak.terminal = True
    peak.direction = 1
    ref, y, t0 = [], [p["V_m"], 0.0], 0.0
    while t0 < 200.0:
        sol = solve_ivp(f, (t0, 200.0), y, events=peak, rtol=1e-10, atol=1e-10, max_step=0.05)
        if not sol.t_events[0].size:
            break
        t0 = sol.t_events[0][0]
        ref.append(t0)
        y = [p["V_reset"], sol.y_events[0][0][1] + p["b"]]
    assert len(ref) >= 4 and len(times) == len(ref)
    # a spike is reported at the end of the step in which V crossed V_peak
    assert np.all(np.abs(times - np.ceil(np.array(ref) / DT) * DT) < DT + 0.02)
    assert np.all(np.diff(np.diff(times)) >= -DT)   # adaptation: intervals lengthen


def test_hh_first_spike_vs_ode_and_silence():
    net = _single("hh_psc_alpha", {"I_e": 1000.0})
    net.run(50.0)
    times, _ = net.spikes("n")
    p = sp.HHPscAlpha().params

    def rates(V):
        am = 0.1 * (V + 40) / (1 - math.exp(-(V + 40) / 10))
        bm = 4 * math.exp(-(V + 65) / 18)
        ah = 0.07 * math.exp(-(V + 65) / 20)
        bh = 1 / (1 + math.exp(-(V + 35) / 10))
        an = 0.01 * (V + 55) / (1 - math.exp(-(V + 55) / 10))
        bn = 0.125 * math.exp(-(V + 65) / 80)
        return am, bm, ah, bh, an, bn

    def f(t, y):
        V, m, h, n = y
        am, bm, ah, bh, an, bn = rates(V)
        i = (p["g_Na"] * m ** 3 * h * (V - p["E_Na"]) + p["g_K"] * n ** 4 * (V - p["E_K"])
             + p["g_L"] * (V - p["E_L"]))
        return [(-i + 1000.0) / p["C_m"], am * (1 - m) - bm * m, ah * (1 - h) - bh * h,
                an * (1 - n) - bn * n]

    am, bm, ah, bh, an, bn = rates(-65.0)
    y0 = [-65.0, am / (am + bm), ah / (ah + bh), an / (an + bn)]
    t = np.arange(0, 50.0, 0.001)
    sol = solve_ivp(f, (0, 50.0), y0, t_eval=t, rtol=1e-10, atol=1e-10, max_step=0.01)
    V = sol.y[0]
    # first downward step after a peak above 0 mV
    k = np.nonzero((V[1:] < V[:-1]) & (V[1:] >= 0) & (np.r_[0, np.diff(V)][:-1] > 0))[0][0]
    assert abs(times[0] - math.ceil(t[k] / DT) * DT) <= DT + 1e-9
    quiet = _single("hh_psc_alpha", {})
    quiet.run(50.0)
    assert quiet.spikes("n")[0].size == 0


def test_izhikevich_matches_nest_scheme():
    net = _single("izhikevich", {"I_e": 10.0}, dt=0.1)
    out = net.advance(2000)
    v, u, trace, spikes = -65.0, -13.0, [], []
    for k in range(2000):
        v_old, u_old = v, u
        v = v_old + 0.1 * (0.04 * v_old ** 2 + 5 * v_old + 140 - u_old + 10.0)
        u = u_old + 0.1 * 0.02 * (0.2 * v_old - u_old)
        if v >= 30.0:
            v, u = -65.0, u + 8.0
            spikes.append((k + 1) * 0.1)
        trace.append(v)
    np.testing.assert_allclose(out["v_mean"]["n"], trace, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(net.spikes("n")[0], spikes, atol=1e-9)
    assert len(spikes) >= 4


@pytest.mark.parametrize("eta", [0.5, 4.0])
def test_qif_period_matches_theta_neuron(eta):
    tau = 2.0
    net = _single("qif", {"tau": tau, "eta": eta, "Delta": 0.0, "V_m": 0.0}, dt=0.01)
    net.run(500.0)
    times, _ = net.spikes("n")
    period = math.pi * tau / math.sqrt(eta)     # V_peak -> infinity
    assert np.diff(times).mean() == pytest.approx(period, rel=2e-3)


def test_qif_lorentzian_quantiles():
    net = sp.Network(dt=0.1, seed=0)
    net.add_population("q", sp.QIF(eta=-1.0, Delta=0.5), 1001)
    net.build()
    eta = net._bias
    assert np.median(eta) == pytest.approx(-1.0, abs=1e-12)
    q25, q75 = np.percentile(eta, [25, 75])
    assert (q75 - q25) / 2 == pytest.approx(0.5, rel=0.01)


# -- inputs, connectivity ---------------------------------------------------------------
def test_poisson_input_rate_and_fraction():
    net = sp.Network(dt=0.1, seed=4)
    net.add_population("E", "iaf_psc_delta", 1000, params={"V_th": 1e6, "E_L": 0.0,
                                                           "V_m": 0.0, "tau_m": 1e9})
    net.add_input("drive", "E", "poisson", weight=1.0, fraction=0.3)
    net.advance(1000, {"drive": np.full(1000, 200.0)})        # 200 Hz for 100 ms
    v = net.get_state("E")                                     # = event count per neuron
    hit = v > 0
    assert hit.sum() == 300 and np.all(v[~hit] == 0)
    assert abs(v[hit].mean() - 20.0) < 5 * math.sqrt(20.0 / 300)
    assert np.allclose(v, np.round(v))


def test_fixed_indegree_and_probability_counts():
    net = sp.Network(dt=0.1, seed=2)
    net.add_population("A", "iaf_psc_delta", 300)
    net.add_population("B", "iaf_psc_delta", 200)
    net.connect("A", "B", rule="fixed_indegree", indegree=25, weight=0.1,
                allow_multapses=False)
    net.connect("B", "A", rule="fixed_probability", p=0.2, weight=-0.2, delay=2.0)
    net.connect("A", "A", rule="all_to_all", weight={"distribution": "normal", "mean": 0.1,
                                                       "std": 0.01}, allow_autapses=False)
    net.build()
    col, src = net._syn_col, np.repeat(np.arange(500), np.diff(net._syn_ptr))
    # in-degree of every B neuron from A: exactly 25, without multapses
    a_to_b = (src < 300) & (col >= 300) & (col < 500)
    indeg = np.bincount(col[a_to_b] - 300, minlength=200)
    assert np.all(indeg == 25)
    pairs = src[a_to_b] * 1000 + col[a_to_b]
    assert np.unique(pairs).size == pairs.size
    # fixed probability: count within 5 sigma, inhibitory column, delay 20 steps
    b_to_a = src >= 300
    n_exp, sd = 0.2 * 300 * 200, math.sqrt(0.2 * 0.8 * 300 * 200)
    assert abs(b_to_a.sum() - n_exp) < 5 * sd
    assert np.all(col[b_to_a] >= 500) and np.all(net._syn_d[b_to_a] == 20)
    # all-to-all within A without autapses: 300 * 299 synapses, weights ~ N(0.1, 0.01)
    a_to_a = (src < 300) & (col < 300)
    assert a_to_a.sum() == 300 * 299 and not np.any(src[a_to_a] == col[a_to_a])
    assert abs(net._syn_w[a_to_a].std() - 0.01) < 0.001


def test_weight_and_delay_arrays():
    net = sp.Network(dt=0.1, seed=0)
    net.add_population("A", "iaf_psc_delta", 3)
    net.add_population("B", "iaf_psc_delta", 2)
    w = np.arange(6.0).reshape(2, 3) + 1
    d = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    net.connect("A", "B", rule="all_to_all", weight=w, delay=d)
    net.build()
    src = np.repeat(np.arange(5), np.diff(net._syn_ptr))
    for s, c, ww, dd in zip(src, net._syn_col, net._syn_w, net._syn_d):
        assert ww == w[c - 3, s] and dd == round(d[c - 3, s] / 0.1)


def test_dense_all_to_all_equals_explicit_synapses():
    def make(explicit):
        net = sp.Network(dt=0.1, seed=5)
        net.add_population("E", "iaf_psc_exp", 200, params={"V_m": {"distribution": "uniform",
                                                                     "low": -70, "high": -56}})
        w = np.full((200, 200), 20.0) if explicit else 20.0
        net.connect("E", "E", rule="all_to_all", weight=w, delay=1.0)
        net.add_poisson("E", 8000.0, weight=30.0)
        return net
    a, b = make(False), make(True)
    ra, rb = a.run(200.0), b.run(200.0)
    assert a._syn_ptr[-1] == 0 and b._syn_ptr[-1] == 200 * 200
    assert ra["counts"]["E"].sum() > 100
    np.testing.assert_array_equal(ra["counts"]["E"], rb["counts"]["E"])
    np.testing.assert_allclose(ra["v_mean"]["E"], rb["v_mean"]["E"], atol=1e-9)


# -- reproducibility and the inset contract ---------------------------------------------
def _mixed(seed):
    net = sp.Network(dt=0.1, seed=seed)
    net.add_population("E", "iaf_psc_alpha", 400, params={"V_m": {"distribution": "uniform",
                                                                   "low": -70, "high": -55}})
    net.add_population("I", "iaf_cond_exp", 100)
    net.add_population("Q", "qif", 100, params={"tau": 5.0, "eta": 1.0})
    net.connect("E", "E", rule="fixed_indegree", indegree=40, weight=30.0,
                delay={"distribution": "uniform", "low": 0.5, "high": 3.0})
    net.connect("E", "I", rule="fixed_probability", p=0.1, weight=1.0, delay=1.0)
    net.connect("I", "E", rule="fixed_indegree", indegree=20, weight=-60.0, delay=0.8)
    net.connect("Q", "Q", rule="all_to_all", weight=0.05, delay=0.1)
    net.add_poisson("E", 9000.0, weight=40.0)
    net.add_input("stim", "I", "poisson", weight=2.0, fraction=0.5)
    net.add_input("dbs", "E", "current", weight=1.0, fraction=0.25)
    return net


def _drive(n, k0=0):
    t = np.arange(k0, k0 + n)
    return {"stim": 2000.0 * (1 + np.sin(t / 50.0)), "dbs": 100.0 * (t % 100 < 10)}


def test_seed_bit_identical_and_chunking_invariance():
    a = _mixed(7)
    full = a.advance(1500, _drive(1500))
    b = _mixed(7)
    p1 = b.advance(600, _drive(600))
    p2 = b.advance(0, {})
    p3 = b.advance(900, _drive(900, 600))
    assert full["counts"]["E"].sum() > 500 and full["counts"]["I"].sum() > 10
    for key in ("counts", "v_mean"):
        for pop in ("E", "I", "Q"):
            np.testing.assert_array_equal(full[key][pop], np.r_[p1[key][pop], p2[key][pop],
                                                                p3[key][pop]])
    np.testing.assert_array_equal(full["lfp"], np.r_[p1["lfp"], p3["lfp"]])
    for pop in ("E", "I", "Q"):
        for x, y in zip(a.spikes(pop), b.spikes(pop)):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.get_state("E"), b.get_state("E"))
    assert a.time == b.time == pytest.approx(150.0)
    c = _mixed(8)
    other = c.advance(1500, _drive(1500))
    assert not np.array_equal(other["counts"]["E"], full["counts"]["E"])


def test_recorder_growth_keeps_results():
    def make():
        net = sp.Network(dt=0.1, seed=1)
        net.add_population("E", "iaf_psc_delta", 2000, params={"I_e": 1000.0, "V_m": {
            "distribution": "uniform", "low": -70, "high": -55}})
        return net
    a, b = make(), make()
    ra = a.advance(3000)
    rb = [b.advance(n) for n in (1000, 1, 1999)]
    n_spk = a.spikes("E")[0].size
    assert n_spk > 1 << 16          # more than the initial recorder capacity
    assert n_spk == ra["counts"]["E"].sum()
    np.testing.assert_array_equal(ra["counts"]["E"], np.concatenate([r["counts"]["E"]
                                                                      for r in rb]))
    np.testing.assert_array_equal(a.spikes("E")[1], b.spikes("E")[1])


def test_contract_outputs_and_lfp_populations():
    net = _mixed(3)
    assert net.populations == {"E": 400, "I": 100, "Q": 100}
    out = net.advance(500, _drive(500))
    assert set(out) == {"counts", "v_mean", "lfp"}
    assert out["counts"]["E"].dtype == np.int64 and out["counts"]["E"].shape == (500,)
    assert out["v_mean"]["I"].shape == (500,) and out["lfp"].shape == (500,)
    # E and Q project with non-negative weights only: they make the LFP; I does not
    assert list(net._pop_lfp) == [True, False, True]
    assert np.all(out["lfp"] >= 0) and out["lfp"][-100:].mean() > 0
    t, i = net.spikes("E")
    assert np.all(np.diff(t) >= 0) and i.min() >= 0 and i.max() < 400
    assert np.all(np.isclose(t / 0.1, np.round(t / 0.1)))
    np.testing.assert_allclose(net.run(10.0)["v_mean"]["E"].shape, (100,))


# -- bad input ----------------------------------------------------------------------------
def test_errors():
    net = sp.Network(dt=0.1, seed=0)
    with pytest.raises(ValueError, match="model must be one of .*Did you mean 'iaf_psc_exp'"):
        net.add_population("E", "iaf_psc_ex", 10)
    with pytest.raises(TypeError, match="has no parameter 'tau'. Did you mean 'tau_m'"):
        net.add_population("E", "iaf_psc_delta", 10, params={"tau": 10.0})
    with pytest.raises(ValueError, match="n must be a positive integer"):
        net.add_population("E", "iaf_psc_delta", 0)
    with pytest.raises(ValueError, match="tau_m must be > 0"):
        sp.IafPscDelta(tau_m=-1.0)
    with pytest.raises(TypeError, match="C_m must be a number"):
        sp.IafPscDelta(C_m=np.ones(3))
    net.add_population("E", "iaf_psc_delta", 10)
    with pytest.raises(ValueError, match="already exists"):
        net.add_population("E", "iaf_psc_delta", 10)
    with pytest.raises(ValueError, match="target 'X' is not a population"):
        net.connect("E", "X")
    with pytest.raises(ValueError, match="rule must be one of"):
        net.connect("E", "E", rule="fixed_in_degree")
    with pytest.raises(TypeError, match="needs indegree"):
        net.connect("E", "E", rule="fixed_indegree")
    with pytest.raises(ValueError, match="kind must be one of"):
        net.add_input("a", "E", "spikes")
    with pytest.raises(ValueError, match="compartment"):
        net.add_input("a", "E", "current", compartment="soma")
    with pytest.raises(ValueError, match="fraction must be > 0.0"):
        net.add_input("a", "E", "current", fraction=0.0)
    with pytest.raises(ValueError, match="'distribution'\\] must be one of"):
        sp.Network(seed=0).add_population("E", "iaf_psc_delta", 3, params={
            "V_m": {"distribution": "gauss"}})
    with pytest.raises(ValueError, match=r"I_e must be a scalar.*shape \(3,\).*\(2,\)"):
        n3 = sp.Network(seed=0)
        n3.add_population("E", "iaf_psc_delta", 3, params={"I_e": [1.0, 2.0]})
        n3.build()
    bad = sp.Network(dt=0.1, seed=0)
    bad.add_population("E", "iaf_psc_delta", 5)
    bad.connect("E", "E", rule="fixed_indegree", indegree=2, delay=0.04)
    with pytest.raises(ValueError, match="must be >= dt"):
        bad.build()
    net.add_input("stim", "E", "poisson")
    net.advance(1)
    with pytest.raises(RuntimeError, match="before the network is built"):
        net.add_input("late", "E", "current")
    with pytest.raises(ValueError, match="not declared with add_input.*Did you mean 'stim'"):
        net.advance(3, {"stimm": np.zeros(3)})
    with pytest.raises(ValueError, match=r"must have shape \(3,\)"):
        net.advance(3, {"stim": np.zeros(4)})
    with pytest.raises(ValueError, match="must be >= 0 Hz"):
        net.advance(3, {"stim": -np.ones(3)})
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer"):
        net.advance(2.5)
    with pytest.raises(ValueError, match="dt must be > 0"):
        sp.Network(dt=0.0)
