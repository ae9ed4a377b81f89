"""Standard normal draws for the noise, made inside the compiled loop.

The draws are counter-based: draw ``d`` of step ``t`` for a seed is a pure
function of (the seed's key, t, d), so the loop makes each step's draws where
it uses them, in SIMD across regions, and a seeded run gives the same draws
however it is chunked, resumed or batched, with no generator state to carry.

Uniforms: output ``n`` of the SplitMix64 generator (Steele, Lea & Flood 2014;
Vigna's ``splitmix64.c``) seeded with the key, ``mix64(key + (n + 1) * gamma)``,
its top 53 bits scaled to [0, 1). Normals: Box-Muller pairs
(:func:`vbrain.models.vmath.box_muller`). Step ``t`` has ``m`` draws
(variables x regions, variable-major); pair ``j < h = ceil(m / 2)`` takes the
uniforms ``n = 2 (t h + j)`` and ``n + 1`` and gives draw ``j`` (cosine) and
draw ``h + j`` (sine; for odd ``m`` the last pair gives one draw).

In the loop a draw costs ~2.5 ns (the Box-Muller transform; a uniform 0.3 ns),
against ~4.9 ns for numpy Generator uniforms through the same transform and
~9 ns for numpy's ``standard_normal``, and no draws go through memory.

References
----------
Steele GL, Lea D, Flood CH (2014). Fast splittable pseudorandom number
generators. OOPSLA 2014, 453-472.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, uint64

from ..models.vmath import box_muller

_GAMMA = uint64(0x9E3779B97F4A7C15)  # the golden ratio's odd 64-bit gamma
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_M53 = 1.0 / 9007199254740992.0  # 2**-53


def noise_key(seed: Any) -> np.uint64:
    """The 64-bit key of a seed's noise (its own stream of the seed's SeedSequence;
    a fresh random key for ``None``)."""
    return np.random.SeedSequence(seed).spawn(2)[1].generate_state(1, np.uint64)[0]


@njit(inline="always")
def splitmix64(key, n):  # pragma: no cover - compiled
    """Output ``n`` (from 0) of SplitMix64 seeded with ``key``; both uint64."""
    z = key + (n + uint64(1)) * _GAMMA
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(inline="always")
def uniform(key, n):  # pragma: no cover - compiled
    """Uniform in [0, 1) from output ``n`` of the key's stream (its top 53 bits)."""
    return np.float64(splitmix64(key, n) >> uint64(11)) * _M53


@njit(inline="always")
def fill_normals(key, t, out):  # pragma: no cover - compiled
    """``out[:]`` = the standard normal draws of step ``t`` (uint64) for ``key``."""
    m = out.shape[0]
    h = (m + 1) // 2
    first = out[:h]
    second = out[h:]
    base = t * uint64(2 * h)
    for j in range(m - h):
        n = base + uint64(2 * j)
        # 1 - u in (0, 1]: its logarithm is finite
        a, b = box_muller(1.0 - uniform(key, n), uniform(key, n + uint64(1)))
        first[j] = a
        second[j] = b
    if m - h < h:  # m odd: the last pair gives one draw
        n = base + uint64(2 * (h - 1))
        first[h - 1] = box_muller(1.0 - uniform(key, n), uniform(key, n + uint64(1)))[0]


@njit(cache=True, error_model="numpy", nogil=True)
def _fill_steps(key, first_step, out):  # pragma: no cover - compiled
    for s in range(out.shape[0]):
        fill_normals(key, uint64(first_step + s), out[s])


def standard_normals(key: int, first_step: int, n_steps: int, row: int) -> np.ndarray:
    """(n_steps, row) standard normal draws of steps ``first_step...`` for ``key``.

    The draws the compiled loop makes for a run with ``row`` = n_state x n_regions
    (for tests and for anyone who needs a run's noise outside the loop).
    """
    out = np.empty((n_steps, row))
    _fill_steps(np.uint64(key), int(first_step), out)
    return out
