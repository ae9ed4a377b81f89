"""The noise's standard normal draws: Box-Muller on counter-based SplitMix64 uniforms."""

from __future__ import annotations

import numpy as np
from scipy import stats

import vbrain as vb
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
    from numba import njit

    first = njit(lambda key, n: splitmix64(key, n))
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    got = [int(first(np.uint64(1234567), np.uint64(n))) for n in range(5)]
    assert got == expected
    np.testing.assert_array_equal(_splitmix64_numpy(1234567, np.arange(5)),
                                  np.array(expected, dtype=np.uint64))


def test_draws_are_box_muller_on_the_counter_uniforms():
    """Each step's pairs: uniforms 2(t h + j) and +1, cosine to draw j, sine to h + j."""
    key = noise_key(7)
    for row in (152, 151, 1):  # even, odd (the last pair gives one draw), one
        first_step, n_steps = 1000, 40
        z = standard_normals(key, first_step, n_steps, row)
        h = (row + 1) // 2
        t = np.arange(first_step, first_step + n_steps)[:, None]
        n = 2 * (t * h + np.arange(h)[None, :])
        u1 = (_splitmix64_numpy(key, n) >> np.uint64(11)) * 2.0**-53
        u2 = (_splitmix64_numpy(key, n + 1) >> np.uint64(11)) * 2.0**-53
        radius = np.sqrt(-2.0 * np.log(1.0 - u1))
        expected = np.concatenate([radius * np.cos(2 * np.pi * u2),
                                   (radius * np.sin(2 * np.pi * u2))[:, :row - h]], axis=1)
        np.testing.assert_allclose(z, expected, rtol=0, atol=1e-14)


def test_draws_are_independent_standard_normals():
    z = standard_normals(noise_key(2026), 0, 20_000, 152)
    x = z.ravel()
    assert abs(x.mean()) < 3e-3 and abs(x.var() - 1.0) < 3e-3
    assert abs(stats.skew(x)) < 5e-3 and abs(stats.kurtosis(x)) < 1e-2
    assert stats.kstest(x, "norm").pvalue > 0.01
    assert abs(np.mean(np.abs(x) > 3.0) - 2.0 * stats.norm.sf(3.0)) < 3e-4
    first, second = z[:, :76].ravel(), z[:, 76:].ravel()  # the two draws of each pair
    assert abs(np.corrcoef(first, second)[0, 1]) < 3e-3
    assert abs(np.corrcoef(first**2, second**2)[0, 1]) < 3e-3
    assert abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.03  # step to step
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.03  # neighbouring regions
    other = standard_normals(noise_key(2027), 0, 20_000, 152)  # the next seed
    assert abs(np.corrcoef(x, other.ravel())[0, 1]) < 3e-3


def test_steps_are_the_same_whatever_the_split():
    """What makes a seeded run independent of its chunk size (and resumable)."""
    key = noise_key(5)
    for row in (152, 3):
        whole = standard_normals(key, 0, 10, row)
        parts = [standard_normals(key, s, n, row) for s, n in ((0, 3), (3, 1), (4, 6))]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_seeds_give_their_own_keys():
    assert noise_key(1) == noise_key(1)
    assert len({int(noise_key(s)) for s in range(100)}) == 100
    assert noise_key(None) != noise_key(None)  # fresh entropy


def test_the_loop_adds_these_draws():
    """A run's increments are sqrt(2 D dt) times standard_normals of its seed, member by
    member: recovered exactly from an Euler-Maruyama trajectory of the linear model."""
    n, dt, nsig, gamma = 3, 0.1, 0.02, -0.5
    conn = vb.Connectome(weights=np.zeros((n, n)), lengths=np.zeros((n, n)),
                         labels=[f"r{i}" for i in range(n)])
    sim = vb.Simulation(conn, vb.models.Linear(gamma=gamma), vb.coupling.Linear(a=0.0),
                        dt=dt, integrator="euler", noise=vb.noise.Additive(nsig), seed=11,
                        monitors=[vb.monitors.Raw()], initial_history=np.zeros((1, n)))
    res = sim.sweep(5.0, seeds=[11, 12, 11], chunk_steps=7, progress=False)
    x = res["raw"].values[:, 0]  # (time, region, batch)
    x = np.concatenate([np.zeros((1, n, 3)), x])
    z = (x[1:] - (1.0 + dt * gamma) * x[:-1]) / np.sqrt(2.0 * nsig * dt)
    for b, seed in enumerate([11, 12, 11]):
        np.testing.assert_allclose(z[..., b], standard_normals(noise_key(seed), 0, 50, n),
                                   rtol=0, atol=1e-9)
