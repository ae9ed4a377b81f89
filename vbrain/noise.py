r"""Additive and multiplicative noise, as TVB's ``Additive`` and ``Multiplicative``: white,
or coloured with ``ntau``.

The increment added per step to state variable :math:`v` is

.. math:: \Delta W_v = \sqrt{2 D_v \, \Delta t}\; \xi_n, \qquad \xi_n \sim \mathcal N(0, 1)

with :math:`D_v` = ``nsig[v]`` (units of the variable squared per ms) and
:math:`\Delta t` the step in ms. Euler-Maruyama adds it once; stochastic Heun
adds the same draw to the predictor and to the corrector (TVB's scheme).

With a correlation time :math:`\tau_n` = ``ntau`` > 0 ms the noise is
exponentially correlated (TVB's coloured noise, the integral algorithm of Fox
et al. 1988): per variable and region an Ornstein-Uhlenbeck sequence of unit
variance, :math:`\eta_n = E\,\eta_{n-1} + \sqrt{1 - E^2}\,\xi_n` with
:math:`E = e^{-\Delta t / \tau_n}`, gives the increment

.. math:: \Delta W_v = \sqrt{2 D_v}\; \frac{\Delta t}{\sqrt{\tau_n}}\; \eta_n,

and :math:`\eta_0 \sim \mathcal N(0, 1)` (drawn from the seed, like the
:math:`\xi_n`: :func:`vbrain.sim.normals.standard_normals` with the key
``noise_key(seed) ^ ETA_KEY`` at step 0).

``Multiplicative`` scales the increment by a linear function of the variable
at the start of the step, TVB's default ``b`` equation:
:math:`\Delta W_v (a\,x_v + b)`, i.e. TVB's :math:`g(x) = \sqrt{2 D}\,(a x + b)`
(Kloeden & Platen 1995, eq. 4.6), the same product in both stages of stochastic Heun.

References
----------
Kloeden PE, Platen E (1995). Numerical Solution of Stochastic Differential
Equations. Springer.

Fox RF, Gatland IR, Roy R, Vemuri G (1988). Fast, accurate algorithm for
numerical simulation of exponentially correlated colored noise. Phys Rev A
38:5938-5940.
"""

from __future__ import annotations

import copy

import numpy as np

from ._check import check_array, check_range

#: XORed into a seed's noise key to draw the initial coloured-noise state eta_0
ETA_KEY = np.uint64(0xD1B54A32D192ED03)


class Additive:
    """Additive Gaussian noise with per-variable intensity, white or coloured.

    Parameters
    ----------
    nsig : float or array of shape (n_state,) or (n_state, n_regions)
        Noise intensity :math:`D` per state variable (and region), in
        (unit of the variable)^2 / ms. Zero switches noise off for a variable.
    ntau : float, default 0
        Correlation time in ms of exponentially correlated (coloured) noise, as
        TVB's ``ntau``; 0 for white noise.
    """

    def __init__(self, nsig: float | np.ndarray = 1.0, ntau: float = 0.0) -> None:
        self.ntau = float(check_range("ntau", ntau, 0.0))
        self.nsig = check_array("nsig", nsig, nonnegative=True)
        if self.nsig.ndim > 2:
            raise ValueError(
                f"nsig must be a scalar, (n_state,) or (n_state, n_regions), got shape "
                f"{self.nsig.shape}."
            )

    def amplitude(self, n_state: int, n_regions: int, dt: float) -> np.ndarray:
        """The factor of each step's draw (white: sqrt(2 D dt), the increment's standard
        deviation; coloured: sqrt(2 D) dt / sqrt(ntau), of eta), (n_state, n_regions)."""
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
        if self.ntau > 0.0:
            return np.sqrt(2.0 * full) * dt / np.sqrt(self.ntau)
        return np.sqrt(2.0 * full * dt)

    def with_nsig(self, nsig: float | np.ndarray) -> Additive:
        """The same noise with another intensity (a fitted or swept ``nsig``)."""
        out = copy.copy(self)
        out.nsig = check_array("nsig", nsig, nonnegative=True)
        return out

    def decay(self, dt: float) -> np.ndarray:
        """Coloured noise's (E, sqrt(1 - E^2)), E = exp(-dt / ntau); white noise: (0, 1)."""
        if self.ntau == 0.0:
            return np.array([0.0, 1.0])
        E = np.exp(-dt / self.ntau)
        return np.array([E, np.sqrt(1.0 - E * E)])

    def __repr__(self) -> str:
        if self.ntau > 0.0:
            return f"Additive(nsig={self.nsig.tolist()}, ntau={self.ntau})"
        return f"Additive(nsig={self.nsig.tolist()})"


class Multiplicative(Additive):
    """Multiplicative Gaussian noise: the additive increment times (a x + b), as TVB's
    ``Multiplicative`` with its default linear ``b`` equation.

    Parameters
    ----------
    nsig : float or array of shape (n_state,) or (n_state, n_regions)
        Noise intensity :math:`D` per state variable (and region), per ms (in
        (unit of the variable)^2 / ms when multiplied by the squared factor's unit).
    a, b : float, default 1 and 0
        The factor :math:`a x + b` (x the variable at the start of the step).
    ntau : float, default 0
        Correlation time in ms (coloured noise, as :class:`Additive`).
    """

    def __init__(self, nsig: float | np.ndarray = 1.0, a: float = 1.0, b: float = 0.0,
                 ntau: float = 0.0) -> None:
        super().__init__(nsig, ntau)
        self.a = check_range("a", a)
        self.b = check_range("b", b)

    def __repr__(self) -> str:
        tau = f", ntau={self.ntau}" if self.ntau > 0.0 else ""
        return f"Multiplicative(nsig={self.nsig.tolist()}, a={self.a}, b={self.b}{tau})"
