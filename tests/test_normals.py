"""The noise's standard normal draws: Box-Muller on a numpy Generator's uniforms."""

from __future__ import annotations

import numpy as np
from scipy import stats

from vbrain.sim.normals import _transform, standard_normals


def test_transform_is_box_muller_to_roundoff():
    """The vectorised log and sin/cos against numpy's on the same uniforms."""
    for row in (152, 151, 1):  # even, odd (the last pair gives one draw), one
        u = np.random.default_rng(row).random((500, 2 * ((row + 1) // 2)))
        out = np.empty((500, row))
        _transform(u, out)
        h = (row + 1) // 2
        radius = np.sqrt(-2.0 * np.log(1.0 - u[:, :h]))
        angle = 2.0 * np.pi * u[:, h:]
        expected = np.concatenate([radius * np.cos(angle), (radius * np.sin(angle))[:, :row - h]],
                                  axis=1)
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-14)


def test_draws_are_independent_standard_normals():
    z = standard_normals(np.random.default_rng(2026), 20_000, 152)
    x = z.ravel()
    assert abs(x.mean()) < 3e-3 and abs(x.var() - 1.0) < 3e-3
    assert abs(stats.skew(x)) < 5e-3 and abs(stats.kurtosis(x)) < 1e-2
    assert stats.kstest(x, "norm").pvalue > 0.01
    assert abs(np.mean(np.abs(x) > 3.0) - 2.0 * stats.norm.sf(3.0)) < 3e-4
    first, second = z[:, :76].ravel(), z[:, 76:].ravel()  # the two draws of each pair
    assert abs(np.corrcoef(first, second)[0, 1]) < 3e-3
    assert abs(np.corrcoef(first**2, second**2)[0, 1]) < 3e-3
    assert abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.03  # step to step


def test_rows_come_from_the_stream_in_order_whatever_the_split():
    """What makes a seeded run independent of its chunk size."""
    for row in (152, 3):
        whole = standard_normals(np.random.default_rng(5), 10, row)
        gen = np.random.default_rng(5)
        parts = [standard_normals(gen, n, row) for n in (3, 1, 6)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
