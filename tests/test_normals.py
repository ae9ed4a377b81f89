"""The noise's standard normal draws: Box-Muller on counter-based SplitMix64 uniforms."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from numba import njit
from scipy import stats

import vbrain as vb
from vbrain.models.base import Model, Parameter, StateVariable
from vbrain.sim.normals import noise_key, splitmix64, standard_normals

_GAMMA, _M1, _M2 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                    np.uint64(0x94D049BB133111EB))


def _splitmix64_numpy(key: int, n: np.ndarray) -> np.ndarray:
    """SplitMix64 in numpy's wrapping uint64 arithmetic (a second implementation)."""
    z = np.uint64(key) + (n.astype(np.uint64) + np.uint64(1)) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def test_splitmix64_known_answers():
    """The published SplitMix64 sequence for seed 1234567 (Vigna's splitmix64.c)."""
    first = njit(lambda key, n: splitmix64(key, n))
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    got = [int(first(np.uint64(1234567), np.uint64(n))) for n in range(5)]
    assert got == expected
    np.testing.assert_array_equal(_splitmix64_numpy(1234567, np.arange(5)),
                                  np.array(expected, dtype=np.uint64))


def test_draws_are_box_muller_on_the_counter_uniforms():
    """Variable v of step t, regions padded to an even count P: pair k takes uniforms
    (t n_state + v) P + 2k and +1, its cosine to region 2k, its sine to 2k + 1."""
    key = noise_key(7)
    for n_state, n in ((2, 76), (1, 151), (3, 1)):  # even, odd (a lone last draw), one
        first_step, n_steps = 1000, 40
        z = standard_normals(key, first_step, n_steps, n_state, n)
        assert z.shape == (n_steps, n_state, n)
        p = n + n % 2
        t = np.arange(first_step, first_step + n_steps)[:, None, None]
        v = np.arange(n_state)[None, :, None]
        c = (t * n_state + v) * p + 2 * np.arange(p // 2)[None, None, :]
        u1 = (_splitmix64_numpy(key, c) >> np.uint64(11)) * 2.0**-53
        u2 = (_splitmix64_numpy(key, c + 1) >> np.uint64(11)) * 2.0**-53
        radius = np.sqrt(-2.0 * np.log(1.0 - u1))
        expected = np.empty((n_steps, n_state, p))
        expected[..., 0::2] = radius * np.cos(2 * np.pi * u2)
        expected[..., 1::2] = radius * np.sin(2 * np.pi * u2)
        np.testing.assert_allclose(z, expected[..., :n], rtol=0, atol=1e-14)


def test_draws_are_independent_standard_normals():
    z = standard_normals(noise_key(2026), 0, 20_000, 2, 76)
    x = z.ravel()
    assert abs(x.mean()) < 3e-3 and abs(x.var() - 1.0) < 3e-3
    assert abs(stats.skew(x)) < 5e-3 and abs(stats.kurtosis(x)) < 1e-2
    assert stats.kstest(x, "norm").pvalue > 0.01
    assert abs(np.mean(np.abs(x) > 3.0) - 2.0 * stats.norm.sf(3.0)) < 3e-4
    first, second = z[:, 0, 0::2].ravel(), z[:, 0, 1::2].ravel()  # the two draws of each pair
    assert abs(np.corrcoef(first, second)[0, 1]) < 3e-3
    assert abs(np.corrcoef(first**2, second**2)[0, 1]) < 3e-3
    assert abs(np.corrcoef(z[:-1, 0, 0], z[1:, 0, 0])[0, 1]) < 0.03  # step to step
    assert abs(np.corrcoef(z[:, 0, 0], z[:, 0, 1])[0, 1]) < 0.03  # neighbouring regions
    assert abs(np.corrcoef(z[:, 0].ravel(), z[:, 1].ravel())[0, 1]) < 3e-3  # variables
    other = standard_normals(noise_key(2027), 0, 20_000, 2, 76)  # the next seed
    assert abs(np.corrcoef(x, other.ravel())[0, 1]) < 3e-3


def test_steps_are_the_same_whatever_the_split():
    """What makes a seeded run independent of its chunk size (and resumable)."""
    key = noise_key(5)
    for n_state, n in ((2, 76), (3, 1)):
        whole = standard_normals(key, 0, 10, n_state, n)
        parts = [standard_normals(key, s, k, n_state, n) for s, k in ((0, 3), (3, 1), (4, 6))]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_seeds_give_their_own_keys():
    assert noise_key(1) == noise_key(1)
    assert len({int(noise_key(s)) for s in range(100)}) == 100
    assert noise_key(None) != noise_key(None)  # fresh entropy


@njit(cache=True)
def _two_linear_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    dx[0, k] = p[0, k] * x[0, k] + c[0, k]
    dx[1, k] = p[0, k] * x[1, k]


class _TwoLinear(Model):
    """Two independent damped variables (noise recoverable from each)."""

    state_variables = (StateVariable("x", "1", (-1.0, 1.0)), StateVariable("y", "1", (-1.0, 1.0)))
    parameters = {"gamma": Parameter(-0.5, "1/ms", "damping rate", (-100.0, 0.0))}
    coupling_variables = ("x",)
    dfun = staticmethod(_two_linear_dfun)


def _increments(nsig, seeds, gamma=-0.5, dt=0.1, n=3, ntau=0.0, duration=5.0, chunk_steps=7):
    """The draws a sweep's loop added per member: recovered from Euler-Maruyama runs of
    linear variables, (time, variable, region, member) (coloured noise: its eta)."""
    conn = vb.Connectome(weights=np.zeros((n, n)), lengths=np.zeros((n, n)),
                         labels=[f"r{i}" for i in range(n)])
    model = _TwoLinear(gamma=gamma)
    sim = vb.Simulation(conn, model, vb.coupling.Linear(a=0.0), dt=dt, integrator="euler",
                        noise=vb.noise.Additive(np.asarray(nsig, dtype=float), ntau), seed=11,
                        monitors=[vb.monitors.Raw()],
                        initial_history=np.zeros((1, len(model.state_variables), n)))
    x = sim.sweep(duration, seeds=seeds, chunk_steps=chunk_steps, progress=False)["raw"].values
    x = np.concatenate([np.zeros((1,) + x.shape[1:]), x])
    amp = sim.noise.amplitude(2, n, dt)[None, :, :1, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x[1:] - (1.0 + dt * gamma) * x[:-1]) / amp


def test_the_loop_adds_these_draws():
    """A run's increments are sqrt(2 D dt) times standard_normals of its seed, member by
    member (3 members, 2 seeds, 7-step chunks)."""
    z = _increments([0.02, 0.03], [11, 12, 11])
    for b, seed in enumerate([11, 12, 11]):
        np.testing.assert_allclose(z[..., b], standard_normals(noise_key(seed), 0, 50, 2, 3),
                                   rtol=0, atol=1e-9)


def test_variables_without_noise_are_skipped():
    """Noise on y alone: x stays exactly 0 and y gets the same draws as with noise on both."""
    z = _increments([0.0, 0.03], [11])
    assert np.all(np.isnan(z[:, 0]))  # 0 / 0: x never moved
    expected = standard_normals(noise_key(11), 0, 50, 2, 3)[:, 1]
    np.testing.assert_allclose(z[:, 1, :, 0], expected, rtol=0, atol=1e-9)


def test_member_without_noise_on_a_variable_equals_its_single_run():
    """A sweep where one member has no noise on x and another has: the first member still
    equals its single run (x drawn for the batch, scaled by 0 for it; y's draws alike)."""
    n = 3
    conn = vb.Connectome(weights=np.zeros((n, n)), lengths=np.zeros((n, n)),
                         labels=[f"r{i}" for i in range(n)])

    def sim(nsig):
        return vb.Simulation(conn, _TwoLinear(), vb.coupling.Linear(a=0.0), dt=0.1,
                             integrator="heun", noise=vb.noise.Additive(np.array(nsig)), seed=4,
                             monitors=[vb.monitors.Raw()],
                             initial_history=np.zeros((1, 2, n)))

    swept = sim([0.0, 0.03]).sweep(3.0, noise__nsig=[[0.0, 0.03], [0.02, 0.03]],
                                   progress=False)["raw"].values
    single = sim([0.0, 0.03]).run(3.0, progress=False)["raw"].values
    assert np.all(single[:, 0] == 0.0) and np.any(single[:, 1] != 0.0)
    assert np.array_equal(swept[..., 0], single)
    assert np.any(swept[:, 0, :, 1] != 0.0)


def _eta(seed, n_steps, ntau, dt=0.1, n_state=2, n=3):
    """Coloured noise's eta_1 .. eta_n of a seed, by its definition (vbrain.noise)."""
    E = np.exp(-dt / ntau)
    key = noise_key(seed)
    eta = standard_normals(key ^ vb.noise.ETA_KEY, 0, 1, n_state, n)[0]
    z = standard_normals(key, 0, n_steps, n_state, n)
    out = np.empty_like(z)
    for t in range(n_steps):
        eta = E * eta + np.sqrt(1.0 - E * E) * z[t]
        out[t] = eta
    return out


def test_coloured_noise_is_its_definition():
    """ntau > 0: each increment is sqrt(2 D) dt / sqrt(ntau) times eta_n, eta_n = E eta_{n-1}
    + sqrt(1 - E^2) z_n with the seed's draws z_n and eta_0 (3 members, 2 seeds, 7-step
    chunks, so eta crosses chunk boundaries)."""
    z = _increments([0.02, 0.03], [11, 12, 11], ntau=3.0)
    for b, seed in enumerate([11, 12, 11]):
        np.testing.assert_allclose(z[..., b], _eta(seed, 50, 3.0), rtol=0, atol=1e-9)


def test_coloured_noise_statistics():
    """eta is a unit-variance AR(1) sequence with lag-1 correlation exp(-dt / ntau)."""
    eta = _increments([0.02, 0.0], [5], ntau=2.0, duration=2000.0, chunk_steps=997)[:, 0, :, 0]
    E = np.exp(-0.1 / 2.0)
    assert abs(eta.var() - 1.0) < 0.1  # ~3000 independent samples
    lag1 = np.mean([np.corrcoef(eta[:-1, i], eta[1:, i])[0, 1] for i in range(3)])
    assert abs(lag1 - E) < 0.01
    lag20 = np.mean([np.corrcoef(eta[:-20, i], eta[20:, i])[0, 1] for i in range(3)])
    assert abs(lag20 - E**20) < 0.08


class _StopAt(vb.monitors.TemporalAverage):
    """Sends SIGINT once the run passes ``at_step`` (an interruption between chunks)."""

    name = "stop"

    def __init__(self, at_step):
        super().__init__(1.0, variables=["r"])
        self.at_step, self.sent = at_step, False

    def consume(self, trace, first_step):
        if not self.sent and first_step + trace.shape[0] > self.at_step:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().consume(trace, first_step)


def test_coloured_noise_resumes_exactly(tmp_path):
    """Interrupted and resumed, a coloured-noise run continues its eta (checkpointed)."""
    conn = vb.Connectome.load("atlases:default")

    def sim(at_step):
        return vb.Simulation(conn, vb.models.MontbrioPazoRoxin(), vb.coupling.Linear(a=0.01),
                             noise=vb.noise.Additive([1e-3, 1e-2], ntau=5.0), seed=3,
                             monitors=[vb.monitors.Raw(), _StopAt(at_step)])

    reference = sim(10**9).run(40.0, chunk_steps=30, out=tmp_path / "ref.nc")
    out = tmp_path / "run.nc"
    with pytest.raises(vb.SimulationInterrupted):
        sim(150).run(40.0, chunk_steps=50, out=out)
    resumed = sim(10**9).run(40.0, chunk_steps=70, out=out, resume=True)
    assert resumed.status == "complete"
    np.testing.assert_array_equal(resumed.raw.values, reference.raw.values)


def test_multiplicative_noise_is_its_definition():
    """Multiplicative(nsig, a, b): each Euler-Maruyama increment is sqrt(2 D dt) z (a x + b),
    x at the step's start, z the seed's draws (TVB's g(x) = sqrt(2 D) (a x + b))."""
    n, dt, gamma, a, b = 3, 0.1, -0.5, 0.5, 1.0
    conn = vb.Connectome(weights=np.zeros((n, n)), lengths=np.zeros((n, n)))
    sim = vb.Simulation(conn, _TwoLinear(gamma=gamma), vb.coupling.Linear(a=0.0), dt=dt,
                        integrator="euler", seed=4,
                        noise=vb.noise.Multiplicative([0.02, 0.03], a=a, b=b),
                        monitors=[vb.monitors.Raw()], initial_history=np.zeros((1, 2, n)))
    x = sim.run(5.0, chunk_steps=7, progress=False).raw.values
    x = np.concatenate([np.zeros((1, 2, n)), x])
    amp = np.sqrt(2.0 * np.array([0.02, 0.03]) * dt)[None, :, None]
    z = (x[1:] - (1.0 + dt * gamma) * x[:-1]) / (amp * (a * x[:-1] + b))
    np.testing.assert_allclose(z, standard_normals(noise_key(4), 0, 50, 2, n), rtol=0, atol=1e-9)
    swept = sim.sweep(5.0, noise__nsig=[[0.02, 0.03], [0.01, 0.03]], progress=False)
    np.testing.assert_array_equal(swept.raw.values[..., 0], x[1:])  # a sweep keeps the kind
