"""Standard normal draws for the noise, made inside the compiled loop.

The draws are counter-based: draw ``d`` of step ``t`` for a seed is a pure
function of (the seed's key, t, d), so the loop makes each step's draws where
it uses them, in SIMD across regions, and a seeded run gives the same draws
however it is chunked, resumed or batched, with no generator state to carry.

Uniforms: output ``n`` of the SplitMix64 generator (Steele, Lea & Flood 2014;
Vigna's ``splitmix64.c``) seeded with the key, ``mix64(key + (n + 1) * gamma)``,
its top 53 bits scaled to [0, 1). Normals: Box-Muller pairs
(:func:`vbrain.models.vmath.box_muller`). Step ``t`` of a model with ``n_state``
variables draws ``n_regions`` per variable ``v``, padded to an even count ``P``;
pair ``k`` takes the uniforms ``n = (t n_state + v) P + 2 k`` and ``n + 1`` and
gives region ``2k`` its cosine and region ``2k + 1`` its sine (for an odd
region count the last sine is not used). A variable's draws do not depend on
the others', so the loop skips variables without noise (TVB's scripts often
give noise to one variable of six), and consecutive variables with noise are
one SIMD loop.

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
def fill_normals(key, t, active, out):  # pragma: no cover - compiled
    """Step ``t``'s (uint64) draws for ``key`` into ``out`` (n_state, P), P even: row ``v``
    for every variable with ``active[v]``; the other rows are left as they are."""
    n_state, n_pad = out.shape
    flat = out.reshape(-1)
    base = t * uint64(n_state * n_pad)
    v = 0
    while v < n_state:
        if not active[v]:
            v += 1
            continue
        w = v + 1
        while w < n_state and active[w]:
            w += 1
        # variables v..w-1 are one run of pairs, counters affine in the pair (a view and
        # a loop from 0: LLVM sees non-negative indices and vectorises)
        block = flat[v * n_pad:w * n_pad]
        first = base + uint64(v * n_pad)
        for k in range((w - v) * n_pad // 2):
            n = first + uint64(2 * k)
            # 1 - u in (0, 1]: its logarithm is finite
            a, b = box_muller(1.0 - uniform(key, n), uniform(key, n + uint64(1)))
            block[2 * k] = a
            block[2 * k + 1] = b
        v = w


@njit(cache=True, error_model="numpy", nogil=True)
def _fill_steps(key, first_step, out):  # pragma: no cover - compiled
    active = np.ones(out.shape[1], dtype=np.bool_)
    for s in range(out.shape[0]):
        fill_normals(key, uint64(first_step + s), active, out[s])


def standard_normals(key: int, first_step: int, n_steps: int, n_state: int,
                     n_regions: int) -> np.ndarray:
    """(n_steps, n_state, n_regions) standard normal draws of steps ``first_step...``.

    The draws the compiled loop makes for ``key`` (every variable; the loop skips
    those without noise), for tests and for anyone who needs a run's noise
    outside the loop.
    """
    out = np.empty((n_steps, n_state, n_regions + n_regions % 2))
    _fill_steps(np.uint64(key), int(first_step), out)
    return out[..., :n_regions]
