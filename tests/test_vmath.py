"""The vectorising exp used by the models: accuracy against numpy, special values, same bits
in SIMD and scalar code."""

from __future__ import annotations

import numpy as np
from numba import njit

from vbrain.models.vmath import exp


@njit
def _exp_loop(x, out):  # pragma: no cover - compiled (a loop LLVM vectorises)
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit
def _exp_one(x):  # pragma: no cover - compiled (one value: scalar code)
    return exp(x)


def _exp(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _exp_loop(x, out)
    return out


def test_exp_within_one_ulp_of_numpy_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-745.2, 709.8, 400_000), rng.uniform(-3.0, 3.0, 200_000),
                        rng.uniform(-1e-6, 1e-6, 10_000), np.arange(-745, 710, 0.5)])
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x)
    ours = _exp(x)
    normal = (ref >= np.finfo(float).tiny) & np.isfinite(ref)
    ulps = np.abs(ours[normal] - ref[normal]) / np.spacing(ref[normal])
    assert ulps.max() <= 1.0
    assert ulps.mean() < 0.2
    subnormal = (ref > 0) & (ref < np.finfo(float).tiny)  # results below 2.2e-308 round once, like numpy's
    assert subnormal.sum() > 100
    assert np.max(np.abs(ours[subnormal] - ref[subnormal])) <= 5e-324


def test_exp_special_values():
    x = np.array([0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 709.78, 709.79, 1e308, -745.13,
                  -745.14, -1e308])
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x)
    ours = _exp(x)
    exact = ~np.isfinite(ref) | (ref == 0) | (np.abs(x) == 0)
    np.testing.assert_array_equal(ours[exact], ref[exact])  # 1, inf, 0 and nan as numpy's
    np.testing.assert_array_max_ulp(ours[~exact], ref[~exact], maxulp=1)


def test_exp_gives_the_same_bits_in_simd_and_scalar_code():
    """What makes a batch member equal its single run with models that use it."""
    x = np.random.default_rng(1).uniform(-50.0, 50.0, 203)  # 203: a vector body and a remainder
    looped = _exp(x)
    one_by_one = np.array([_exp_one(v) for v in x])
    np.testing.assert_array_equal(looped.view(np.int64), one_by_one.view(np.int64))


@njit
def _exp_of(x):  # pragma: no cover - compiled
    return exp(x)


def test_exp_takes_float32_and_integers_computing_in_float64():
    assert _exp_of(np.float32(0.5)) == _exp_one(0.5)
    assert _exp_of(2) == _exp_one(2.0)
    assert abs(_exp_of(-3) - np.exp(-3.0)) <= np.spacing(np.exp(-3.0))
