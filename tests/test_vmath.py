"""The vectorising exp, log, tanh, sin and cos used by the models, couplings and monitors:
accuracy against numpy, special values, same bits in SIMD and scalar code."""

from __future__ import annotations

import numpy as np
from numba import njit

from vbrain.models.vmath import cos, exp, log, sin, tanh


@njit
def _exp_log_loop(x, out):  # pragma: no cover - compiled (loops LLVM vectorises)
    for i in range(x.shape[0]):
        out[0, i] = exp(x[i])
    for i in range(x.shape[0]):
        out[1, i] = log(x[i])


@njit
def _exp_log_one(x):  # pragma: no cover - compiled (one value: scalar code)
    return exp(x), log(x)


def _exp_log(x: np.ndarray) -> np.ndarray:
    out = np.empty((2, x.shape[0]))
    _exp_log_loop(x, out)
    return out


def _exp(x: np.ndarray) -> np.ndarray:
    return _exp_log(x)[0]


def _log(x: np.ndarray) -> np.ndarray:
    return _exp_log(x)[1]


def _exp_one(x: float) -> float:
    return _exp_log_one(x)[0]


def _log_one(x: float) -> float:
    return _exp_log_one(x)[1]


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


def test_log_within_one_ulp_of_numpy_from_subnormals_to_the_largest_double():
    rng = np.random.default_rng(5)
    x = np.concatenate([2.0 ** rng.uniform(-1074.0, 1024.0, 400_000),  # subnormals included
                        rng.uniform(0.5, 2.0, 200_000), 1.0 + rng.uniform(-1e-6, 1e-6, 10_000),
                        rng.uniform(0.0, 1e-307, 10_000), np.arange(1.0, 5000.0),
                        [5e-324, 1e-323, 2.225073858507201e-308, 2.2250738585072014e-308,
                         np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0), 1.7976931348623157e308]])
    x = x[(x > 0) & np.isfinite(x)]
    assert (x < np.finfo(float).tiny).sum() > 1000
    ref = np.log(x)
    ours = _log(x)
    ulps = np.abs(ours - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 1.0  # measured 0.83 ulp of the exact value (long double reference)
    assert ulps.mean() < 0.1
    assert _log(np.array([1.0]))[0] == 0.0


def test_log_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -5e-324, 1.0, 2.0, np.e])
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.log(x)
    ours = _log(x)
    np.testing.assert_array_equal(ours[:5], ref[:5])  # -inf, -inf, inf, nan, nan
    assert np.isnan(ours[5:7]).all()
    np.testing.assert_array_max_ulp(ours[7:], ref[7:], maxulp=1)


def test_log_gives_the_same_bits_in_simd_and_scalar_code():
    rng = np.random.default_rng(6)
    x = np.concatenate([2.0 ** rng.uniform(-1074.0, 1024.0, 200), [0.0, -1.0, np.inf]])  # 203
    looped = _log(x)
    one_by_one = np.array([_log_one(v) for v in x])
    np.testing.assert_array_equal(looped.view(np.int64), one_by_one.view(np.int64))


@njit
def _tanh_sin_cos(x, out):  # pragma: no cover - compiled (a loop LLVM vectorises)
    for i in range(x.shape[0]):
        out[0, i] = tanh(x[i])
        out[1, i] = sin(x[i])
        out[2, i] = cos(x[i])


@njit
def _tanh_sin_cos_one(x):  # pragma: no cover - compiled (one value: scalar code)
    return tanh(x), sin(x), cos(x)


def _three(x: np.ndarray) -> np.ndarray:
    out = np.empty((3, x.size))
    _tanh_sin_cos(x, out)
    return out


def test_tanh_within_three_ulp_of_numpy():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-1e-8, 1e-8, 10_000), rng.uniform(-0.4, 0.4, 100_000),
                        rng.uniform(-25.0, 25.0, 200_000), np.geomspace(1e-300, 1e3, 2000)])
    ours, ref = _three(x)[0], np.tanh(x)
    assert (np.abs(ours - ref) / np.spacing(np.abs(ref))).max() <= 3.0
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 19.1, 1e300, -1e300])
    ours = _three(special)[0]
    np.testing.assert_array_equal(ours, np.tanh(special))
    assert np.signbit(ours[1]) and not np.signbit(ours[0])


def test_sin_cos_match_numpy_for_growing_phases():
    """Kuramoto phases grow without bound: 1e-16 absolute up to 1.6e6 rad, ulp(x) beyond."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-4.0, 4.0, 100_000), rng.uniform(-1.6e6, 1.6e6, 200_000),
                        np.arange(-64, 65) * np.pi / 4])  # quadrant edges
    ours = _three(x)
    assert np.abs(ours[1] - np.sin(x)).max() <= 2.3e-16
    assert np.abs(ours[2] - np.cos(x)).max() <= 2.3e-16
    huge = rng.uniform(-1e12, 1e12, 10_000)
    ours = _three(huge)
    assert np.all(np.abs(ours[1] - np.sin(huge)) <= np.spacing(np.abs(huge)))
    assert np.all(np.abs(ours[2] - np.cos(huge)) <= np.spacing(np.abs(huge)))
    tiny = np.array([0.0, -0.0, 1e-300, -5e-324])
    ours = _three(tiny)
    np.testing.assert_array_equal(ours[1], tiny)  # sin x = x, signed zeros kept
    assert np.signbit(ours[1, 1])
    np.testing.assert_array_equal(ours[2], 1.0)
    with np.errstate(invalid="ignore"):
        assert np.isnan(_three(np.array([np.inf, -np.inf, np.nan]))[1:]).all()


def test_tanh_sin_cos_give_the_same_bits_in_simd_and_scalar_code():
    x = np.random.default_rng(4).uniform(-40.0, 40.0, 203)
    looped = _three(x)
    one_by_one = np.array([_tanh_sin_cos_one(v) for v in x]).T
    np.testing.assert_array_equal(looped.view(np.int64), one_by_one.view(np.int64))
