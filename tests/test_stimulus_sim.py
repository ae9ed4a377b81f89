"""Stimuli inside simulations: analytic responses of a linear node, closed loops doing their job."""

from __future__ import annotations

import numpy as np
import pytest

import vbrain as vb
from vbrain.stimulus import (
    ClosedLoop,
    Labels,
    NoiseWaveform,
    PhaseLocked,
    Pulse,
    PulseTrain,
    Ramp,
    RegionWeights,
    Sinusoid,
    Stimulus,
    ThresholdTrigger,
)

GAMMA = -0.5  # 1/ms: the linear node relaxes with a 2 ms time constant
DT = 0.01  # ms


@pytest.fixture(scope="module")
def tiny():
    """Three regions with non-zero weights and delays; the tests switch the coupling off."""
    w = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]])
    lengths = np.where(w > 0, 10.0, 0.0)
    return vb.Connectome(w, lengths, ["a", "b", "c"])


def linear_run(conn, stimuli, scheme="euler", duration=20.0):
    """Raw x (time, region) of Linear(gamma) nodes from rest, coupling off."""
    sim = vb.Simulation(conn, vb.models.Linear(gamma=GAMMA), vb.coupling.Linear(a=0.0, b=0.0),
                        dt=DT, integrator=scheme, initial_history=np.zeros((1, 3)),
                        monitors=[vb.monitors.Raw()], stimuli=stimuli)
    res = sim.run(duration, progress=False)
    return res.raw.time.values, res.raw.values[:, 0, :]


def discrete_response(inputs, scheme):
    """The scheme's exact recursion x_{n+1} = a x_n + b I_n for dx/dt = gamma x + I(t_n)."""
    h = GAMMA * DT
    a = {"euler": 1 + h, "heun": 1 + h + h * h / 2,
         "rk4": 1 + h + h * h / 2 + h ** 3 / 6 + h ** 4 / 24}[scheme]
    b = DT * (1 + h / 2) if scheme == "heun" else DT  # Heun adds dt I to predictor and corrector
    x, out = 0.0, np.empty(inputs.size)
    for n, i in enumerate(inputs):
        x = a * x + b * i
        out[n] = x
    return out


# --- (a) a linear node against its analytic response -------------------------------------------
@pytest.mark.parametrize("scheme", ["euler", "heun", "rk4"])
def test_step_response_follows_the_scheme_and_the_analytic_solution(tiny, scheme):
    amp, onset = 2.0, 1.0
    stim = Stimulus(Ramp(onset, 1e6, amp, amp), RegionWeights([1.0, 0.5, 0.0]))
    t, x = linear_run(tiny, [stim], scheme)
    n = np.arange(t.size)
    inputs = np.where(n * DT >= onset - 1e-9, amp, 0.0)
    np.testing.assert_allclose(x[:, 0], discrete_response(inputs, scheme), rtol=1e-10, atol=1e-13)
    # the continuous step response, within the O(gamma dt) of holding I over each step
    exact = np.where(t > onset, amp / -GAMMA * (1 - np.exp(GAMMA * (t - onset))), 0.0)
    late = t > onset + 1.0
    np.testing.assert_allclose(x[late, 0], exact[late], rtol=abs(GAMMA) * DT)
    np.testing.assert_allclose(x[:, 1], 0.5 * x[:, 0], rtol=1e-12)  # spatial weights, linearity
    assert not x[:, 2].any()  # no stimulus, no coupling: stays at rest
    assert not x[t <= onset, 0].any()


def test_impulse_response_is_the_analytic_decay(tiny):
    """A one-step pulse of charge q gives x = q exp(gamma (t - t0)) after it (RK4: to 1e-8)."""
    q, t0 = 0.3, 2.0
    pulse = Stimulus(Pulse(time=t0, width=DT, amplitude=q / DT), Labels("b"))
    t, x = linear_run(tiny, [pulse], "rk4")
    after = t >= t0 + DT - 1e-9
    np.testing.assert_allclose(x[after, 1], q * np.exp(GAMMA * (t[after] - t0 - DT)), rtol=1e-8)
    assert not x[~after].any() and not x[:, [0, 2]].any()


def test_stimuli_add_up_and_do_not_depend_on_chunking(tiny):
    s1 = Stimulus(PulseTrain(130.0, 0.1, 5.0, biphasic=True, interphase_gap=0.05), Labels("a"))
    s2 = Stimulus(Sinusoid(40.0, 1.0, onset=3.0) + 0.5 * Ramp(0.0, 8.0, 0.0, 1.0),
                  RegionWeights({"a": 1.0, "c": -2.0}))
    s3 = Stimulus(NoiseWaveform(3.0, seed=4, onset=5.0), Labels(["b", "c"]))
    _, both = linear_run(tiny, [s1, s2, s3], "heun")
    parts = sum(linear_run(tiny, [s], "heun")[1] for s in (s1, s2, s3))
    np.testing.assert_allclose(both, parts, rtol=1e-9, atol=1e-12)
    sim = vb.Simulation(tiny, vb.models.Linear(gamma=GAMMA), vb.coupling.Linear(a=0.0), dt=DT,
                        integrator="heun", initial_history=np.zeros((1, 3)),
                        monitors=[vb.monitors.Raw()], stimuli=[s1, s2, s3])
    chunked = sim.run(20.0, chunk_steps=37, progress=False).raw.values[:, 0, :]
    np.testing.assert_array_equal(chunked, both)


# --- (b) closed loops ------------------------------------------------------------------------------
def gated_run(seed=None, nsig=0.0, controlled=True):
    """Region a is driven at 20 Hz from 500 to 1000 ms; a beta trigger reading it gates a
    constant input into region b (x_b -> 1 / 0.05 = 20 while on)."""
    conn = vb.Connectome(np.zeros((2, 2)), np.zeros((2, 2)), ["a", "b"])
    beta = Stimulus(Sinusoid(20.0, 1.0, onset=500.0, stop=1000.0), Labels("a"))
    box = Stimulus(Ramp(0.0, 1e6, 1.0, 1.0), Labels("b"))
    trigger = ThresholdTrigger(1.0, band=(13.0, 30.0), region=0, window=200.0)
    loop = ClosedLoop(box, trigger, interval=10.0, monitor="subsample")
    sim = vb.Simulation(conn, vb.models.Linear(gamma=-0.05), vb.coupling.Linear(a=0.0), dt=0.1,
                        initial_history=np.zeros((1, 2)), monitors=[vb.monitors.SubSample(1.0)],
                        noise=vb.noise.Additive(nsig) if nsig else None, seed=seed,
                        stimuli=[beta, loop] if controlled else [beta])
    out = sim.run(1500.0, progress=False).subsample
    return out.time.values, out.values[:, 0, :]


def test_threshold_trigger_loop_stimulates_only_during_beta():
    t, x = gated_run()
    b = x[:, 1]
    assert not b[t <= 500].any()  # no beta, no stimulation (gain 0 from the start)
    assert b[(t > 500) & (t <= 710)].max() > 0  # switched on within a 200 ms window
    assert b[(t >= 750) & (t <= 1000)].min() > 19.0  # held on while beta lasts
    assert b[t >= 1300].max() < 1.0  # off within a window after beta stops
    rising = t[1:][np.diff(b) > 0]
    assert 500 < rising.min() < 710 and 1000 < rising.max() < 1210
    _, open_loop = gated_run(controlled=False)
    assert not open_loop[:, 1].any()
    np.testing.assert_array_equal(open_loop[:, 0], x[:, 0])  # the loop only touches b


def test_threshold_trigger_loop_is_reproducible_by_seed():
    t, x1 = gated_run(seed=3, nsig=1e-4)
    _, x2 = gated_run(seed=3, nsig=1e-4)
    np.testing.assert_array_equal(x1, x2)
    _, x3 = gated_run(seed=4, nsig=1e-4)
    assert not np.array_equal(x1, x3)
    for x in (x1, x3):  # noise does not change the decisions' outcome
        assert x[(t >= 750) & (t <= 1000), 1].min() > 18.0
        assert abs(x[(t > 100) & (t <= 500), 1]).max() < 1.0


def phase_locked_run(target, seed=1):
    """A noisy Stuart-Landau oscillator (10 Hz, radius 0.07) kicked by a -0.002 box on x
    whenever a phase-locked controller expects ``target`` in the next 5 ms; mean radius after
    1.5 s."""
    a, f = 0.005, 10.0
    conn = vb.Connectome(np.zeros((1, 1)), np.zeros((1, 1)), ["osc"])
    stimuli = []
    if target is not None:
        box = Stimulus(Ramp(0.0, 1e6, -0.002, -0.002), Labels("osc"), variable="x")
        stimuli = [ClosedLoop(box, PhaseLocked(f, target, region=0), 5.0, "subsample")]
    sim = vb.Simulation(conn, vb.models.SupHopf(a=a, omega=2 * np.pi * f / 1000),
                        vb.coupling.Linear(a=0.0), dt=0.1,
                        initial_history=np.array([[np.sqrt(a)], [0.0]]),
                        monitors=[vb.monitors.SubSample(1.0, variables=["x", "y"])],
                        noise=vb.noise.Additive(np.array([1e-8, 1e-8])), seed=seed,
                        stimuli=stimuli)
    out = sim.run(3000.0, progress=False).subsample
    radius = np.hypot(out.values[:, 0, 0], out.values[:, 1, 0])
    return radius[out.time.values > 1500].mean(), out.values


def test_phase_locked_loop_suppresses_at_the_peak_and_amplifies_at_the_trough():
    """A negative kick on x at x's peak points inwards (smaller oscillation), at its trough
    outwards (larger); at the zero crossings it is tangential (about no change)."""
    free, _ = phase_locked_run(None)
    assert free == pytest.approx(np.sqrt(0.005), rel=0.02)
    peak, at_peak = phase_locked_run(0.0)
    trough, _ = phase_locked_run(np.pi)
    rising, _ = phase_locked_run(-np.pi / 2)
    assert peak < 0.88 * free
    assert trough > 1.06 * free
    assert abs(rising / free - 1) < abs(peak / free - 1) / 2
    _, again = phase_locked_run(0.0)
    np.testing.assert_array_equal(again, at_peak)  # reproducible by seed
    other, other_values = phase_locked_run(0.0, seed=2)
    assert not np.array_equal(other_values, at_peak) and other < 0.88 * free
