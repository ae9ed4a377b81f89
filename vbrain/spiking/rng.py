"""Random numbers for the compiled spiking loop.

The loop keeps its random stream in a small ``uint64`` array (xoshiro256+,
Blackman and Vigna 2021) so the stream's state lives with the network: a run
split into several ``advance()`` calls draws exactly the same numbers as one
long call. (numba's own ``np.random`` state cannot be saved and restored.)
Inner loops copy the four state words into local variables, where they stay in
registers, and write them back at the end.

Poisson counts are drawn per neuron and step, so the sampler dominates the cost
of a Poisson-driven network. For a mean below 10 the count comes from inversion
against a table of the cumulative distribution in 32-bit fixed point (one
64-bit draw gives two counts; eight branch-free comparisons cover all counts
below 8, a loop the rare rest). The table error is below 2**-32 per value. For
means >= 10 Hörmann's transformed rejection with squeeze (PTRS) is used.

References
----------
Blackman D, Vigna S (2021). Scrambled linear pseudorandom number generators.
ACM Trans Math Softw 47:36.
Hörmann W (1993). The transformed rejection method for generating Poisson
random variables. Insurance Math Econom 12:39-45.
"""

from __future__ import annotations

import math

import numpy as np
from numba import int64, njit, uint64

#: length of a Poisson inversion table (the last entry is a sentinel)
TABLE_SIZE = 64
#: means from here on use PTRS instead of the table
PTRS_FROM = 10.0
_TWO32 = 4294967296.0
_M53 = 1.0 / 9007199254740992.0  # 2**-53


def seed_state(seed_seq: np.random.SeedSequence) -> np.ndarray:
    """Four nonzero ``uint64`` words of xoshiro256+ state from a seed sequence."""
    state = seed_seq.generate_state(4, np.uint64)
    if not np.any(state):  # the all-zero state is the generator's only fixed point
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state


@njit(inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always")
def next_u64(s0, s1, s2, s3):
    """One xoshiro256+ output and the advanced state: ``(r, s0, s1, s2, s3)``."""
    result = s0 + s3
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(inline="always")
def to_unit(r):
    """The top 53 bits of ``r`` as a double in [0, 1)."""
    # via int64: the unsigned-to-double conversion is several times slower on x86
    return float(int64(r >> uint64(11))) * _M53


@njit(inline="always")
def uniform(s):
    """A double in [0, 1) from the state array ``s`` (advanced in place)."""
    r, s[0], s[1], s[2], s[3] = next_u64(s[0], s[1], s[2], s[3])
    return to_unit(r)


@njit(inline="always")
def fill_table(thr, lam):
    """Write the 32-bit fixed-point Poisson CDF of mean ``lam`` (< 10) into ``thr``."""
    n = thr.shape[0]
    p = math.exp(-lam)
    c = p
    for k in range(n - 1):
        v = c * _TWO32
        thr[k] = uint64(v) if v < _TWO32 else uint64(4294967296)
        p *= lam / (k + 1)
        c += p
    thr[n - 1] = uint64(4294967296)  # sentinel: every 32-bit value stops here


@njit(inline="always")
def count_from_table(u, thr):
    """Poisson count for the 32-bit uniform ``u`` given the table ``thr``."""
    k = (int64(u >= thr[0]) + int64(u >= thr[1]) + int64(u >= thr[2]) + int64(u >= thr[3])
         + int64(u >= thr[4]) + int64(u >= thr[5]) + int64(u >= thr[6]) + int64(u >= thr[7]))
    if k == 8:
        while u >= thr[k]:
            k += 1
    return k


@njit
def poisson_ptrs(s, lam):
    """Poisson count of mean ``lam`` (>= 10) by transformed rejection (PTRS)."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(s) - 0.5
        v = uniform(s)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return int64(k)


@njit(cache=True)
def draw_uniform(s, n):
    """``n`` uniforms in [0, 1) from state ``s`` (for tests)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(s)
    return out


@njit(cache=True)
def draw_poisson(s, lam, n):
    """``n`` Poisson counts of mean ``lam`` the way the loop draws them (for tests)."""
    out = np.zeros(n, np.int64)
    if lam <= 0.0:
        return out
    if lam >= PTRS_FROM:
        for i in range(n):
            out[i] = poisson_ptrs(s, lam)
        return out
    thr = np.empty(TABLE_SIZE, np.uint64)
    fill_table(thr, lam)
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    for i in range(0, n, 2):
        r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        out[i] = count_from_table(r >> uint64(32), thr)
        if i + 1 < n:
            out[i + 1] = count_from_table(r & uint64(0xFFFFFFFF), thr)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return out
