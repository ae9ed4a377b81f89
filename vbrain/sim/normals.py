"""Standard normal draws for the noise: a numpy Generator's uniforms through Box-Muller.

numpy's ``standard_normal`` (a ziggurat, branching per sample) costs ~10 ns
a draw on the development VM, as much as a whole deterministic region-step of
the engine. Uniforms cost ~2 ns, and the Box-Muller transform
(:func:`vbrain.models.vmath.box_muller`) vectorises, so a draw costs half as
much (4.7 vs 9.4 ns measured).

Each row of ``m`` draws (one step's variables x regions) takes ``2 * ceil(m / 2)``
uniforms in order, whatever the chunk, so a seed gives the same draws however
a run is chunked.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..models.vmath import box_muller


@njit(cache=True, error_model="numpy", nogil=True)
def _transform(uniforms, out):  # pragma: no cover - compiled
    """out[t, :h] and out[t, h:] from the uniform pairs (1 - uniforms[t, j], uniforms[t, h + j])."""
    m = out.shape[1]
    h = (m + 1) // 2
    for t in range(out.shape[0]):
        first = out[t, :h]
        second = out[t, h:]
        u = uniforms[t]
        for j in range(m - h):
            a, b = box_muller(1.0 - u[j], u[h + j])  # 1 - u in (0, 1]: its log is finite
            first[j] = a
            second[j] = b
        if m - h < h:  # m odd: the last pair gives one draw
            first[h - 1] = box_muller(1.0 - u[h - 1], u[2 * h - 1])[0]


def standard_normals(gen: np.random.Generator, n_rows: int, row: int,
                     out: np.ndarray | None = None) -> np.ndarray:
    """(n_rows, row) independent standard normal draws from ``gen``.

    Parameters
    ----------
    gen : numpy.random.Generator
    n_rows, row : int
        Rows (steps) and draws per row.
    out : array (n_rows, row), optional
        Written in place when given.
    """
    uniforms = gen.random((n_rows, 2 * ((row + 1) // 2)))
    if out is None:
        out = np.empty((n_rows, row))
    _transform(uniforms, out)
    return out
