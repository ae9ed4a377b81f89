r"""Additive white noise, as TVB's ``Additive`` noise.

The increment added per step to state variable :math:`v` is

.. math:: \Delta W_v = \sqrt{2 D_v \, \Delta t}\; \xi, \qquad \xi \sim \mathcal N(0, 1)

with :math:`D_v` = ``nsig[v]`` (units of the variable squared per ms) and
:math:`\Delta t` the step in ms. Euler-Maruyama adds it once; stochastic Heun
adds the same draw to the predictor and to the corrector (TVB's scheme).
"""

from __future__ import annotations

import numpy as np

from ._check import check_array


class Additive:
    """Additive Gaussian white noise with per-variable intensity.

    Parameters
    ----------
    nsig : float or array of shape (n_state,) or (n_state, n_regions)
        Noise intensity :math:`D` per state variable (and region), in
        (unit of the variable)^2 / ms. Zero switches noise off for a variable.
    """

    def __init__(self, nsig: float | np.ndarray = 1.0) -> None:
        self.nsig = check_array("nsig", nsig, nonnegative=True)
        if self.nsig.ndim > 2:
            raise ValueError(
                f"nsig must be a scalar, (n_state,) or (n_state, n_regions), got shape "
                f"{self.nsig.shape}."
            )

    def amplitude(self, n_state: int, n_regions: int, dt: float) -> np.ndarray:
        """Per-step standard deviation sqrt(2 D dt), shape (n_state, n_regions)."""
        nsig = self.nsig
        if nsig.ndim == 1 and nsig.shape[0] != n_state:
            raise ValueError(
                f"nsig has {nsig.shape[0]} values, but the model has {n_state} state variables."
            )
        if nsig.ndim == 2 and nsig.shape != (n_state, n_regions):
            raise ValueError(
                f"nsig must be ({n_state}, {n_regions}) (state variables, regions), "
                f"got {nsig.shape}."
            )
        full = np.broadcast_to(nsig.reshape(nsig.shape + (1,) * (2 - nsig.ndim))
                               if nsig.ndim < 2 else nsig, (n_state, n_regions))
        return np.sqrt(2.0 * full * dt)

    def __repr__(self) -> str:
        return f"Additive(nsig={self.nsig.tolist()})"
