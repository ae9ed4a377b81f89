r"""Feedback inhibition control (FIC) for the Deco et al. (2014) E-I mean field.

Deco et al. (2014) adjust the local inhibitory weight :math:`J_i` of every
region so that, at the network's steady state, each excitatory pool fires at
about 3 Hz whatever its long-range input. Their procedure simulates the
network, raises :math:`J_i` where the excitatory rate is above target, lowers
it where it is below, and repeats until every region is on target. This
module computes the point that procedure converges to directly from the
steady-state equations of :class:`~vbrain.models.ReducedWongWangExcInh`,
without a time simulation.

Equations (TVB's units: time in ms, currents in nA, rates in Hz). With the
network input :math:`c = a\,W S_e` (``a`` = ``global_coupling``, the scale of
a linear coupling; ``weights[i, j]`` from region j to region i) the
fixed point :math:`\dot S_e = \dot S_i = 0` of

.. math::

    I_e &= w_p J_N S_e - J_i S_i + W_e I_o + G J_N c + I_{ext},
        \qquad r_e = H_e(I_e) \\
    I_i &= J_N S_e - S_i + W_i I_o + \lambda G J_N c,
        \qquad r_i = H_i(I_i) \\
    0 &= -S_e/\tau_e + (1 - S_e)\,\gamma_e r_e, \qquad 0 = -S_i/\tau_i + \gamma_i r_i \\
    H_{e,i}(I) &= \frac{a_{e,i} I - b_{e,i}}{1 - \exp(-d_{e,i}(a_{e,i} I - b_{e,i}))}

(``a`` in 1/nC, ``b`` in Hz, ``d`` in s, so :math:`r` is in Hz;
:math:`\gamma_e = 0.641 \cdot 10^{-3}` and :math:`\gamma_i = 10^{-3}` turn Hz
into 1/ms), with every :math:`r_{e,k} = r^*` (the target) fixes, region by region:

1. :math:`S_e^* = \gamma_e \tau_e r^* / (1 + \gamma_e \tau_e r^*)` (the same in
   every region with the same kinetics), hence the network input
   :math:`c^* = a\,W S_e^*`;
2. :math:`I_e^* = H_e^{-1}(r^*)` (``H`` is increasing; solved by bisection);
3. :math:`S_i^*`, the unique root of
   :math:`S_i = \tau_i \gamma_i H_i(J_N S_e^* - S_i + W_i I_o + \lambda G J_N c^*)`
   (the right side decreases in :math:`S_i`; bisection);
4. :math:`J_i = (w_p J_N S_e^* + W_e I_o + G J_N c^* + I_{ext} - I_e^*) / S_i^*`.

Because steps 1-3 have unique solutions, this :math:`J_i` is the only one
for which all regions sit at :math:`r^*` in a steady state, i.e. the fixed
point of Deco's iterative up/down rule. The function then checks that the
steady state is linearly stable (eigenvalues of the 2N x 2N Jacobian), so
that the deterministic network actually settles there, and warns otherwise
(coupling too strong for FIC to hold the network in the low-rate state;
with TVB's defaults and weights scaled to a maximum in-strength of 1 this
happens from ``G * a`` of about 1.3 (all-to-all) to 2.4 (sparse random weights)).

References
----------
Deco G, Ponce-Alvarez A, Hagmann P, Romani GL, Mantini D, Corbetta M (2014).
How local excitation-inhibition ratio impacts the whole brain dynamics.
J Neurosci 34(23):7886-7898.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from .._check import check_array, check_range, validate_type
from .wong_wang_exc_inh import ReducedWongWangExcInh

logger = logging.getLogger(__name__)


def _rate(y: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Wong-Wang transfer y / (1 - exp(-d y)) (Hz when y in Hz, d in s)."""
    y, d = np.broadcast_arrays(np.asarray(y, float), np.asarray(d, float))
    dy = d * y
    out = np.empty_like(y)
    zero = dy == 0.0
    out[zero] = 1.0 / d[zero]
    out[~zero] = y[~zero] / -np.expm1(-dy[~zero])
    return out


def _rate_slope(y: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Derivative of :func:`_rate` with respect to y."""
    y, d = np.broadcast_arrays(np.asarray(y, float), np.asarray(d, float))
    dy = d * y
    out = np.empty_like(y)
    small = np.abs(dy) < 1e-6
    out[small] = 0.5 + dy[small] / 6.0  # series around the removable singularity
    e = -np.expm1(-dy[~small])  # 1 - exp(-dy)
    out[~small] = (e - dy[~small] * (1.0 - e)) / (e * e)
    return out


def _bisect(f, lo: np.ndarray, hi: np.ndarray, max_iter: int) -> np.ndarray:
    """Vectorized bisection for increasing f with f(lo) <= 0 <= f(hi)."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0.0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


def _inverse_rate(r: float, d: np.ndarray, max_iter: int) -> np.ndarray:
    """y with _rate(y, d) == r (> 0), elementwise in d."""
    hi = np.full_like(d, r, dtype=float)  # _rate(y) > y for y > 0
    lo = -np.ones_like(hi)
    for _ in range(64):  # extend down until _rate(lo) < r
        below = _rate(lo, d) < r
        if np.all(below):
            break
        lo = np.where(below, lo, 2.0 * lo)
    return _bisect(lambda y: _rate(y, d) - r, lo, hi, max_iter)


def tune_fic(
    model: ReducedWongWangExcInh,
    connectome_weights: np.ndarray,
    global_coupling: float,
    *,
    target_rate: float = 3.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    check_stability: bool = True,
) -> np.ndarray:
    r"""Per-region inhibitory weights :math:`J_i` that clamp excitatory rates at a target.

    Feedback inhibition control of Deco et al. (2014); see the module
    docstring for the equations.

    Parameters
    ----------
    model : ReducedWongWangExcInh or DecoBalancedExcInh
        The region model; its parameters (scalars or per-region arrays) are
        used, except ``J_i``, which is what is computed (with
        ``DecoBalancedExcInh``, its regional gain ``M_i`` too).
    connectome_weights : array, shape (n_regions, n_regions)
        Structural weights, ``weights[i, j]`` from region j to region i.
    global_coupling : float
        Scale ``a`` of the linear long-range coupling ``c = a * W @ S_e``
        (dimensionless). The model multiplies ``c`` by its own ``G`` and
        ``J_N``: the effective global coupling of Deco et al. is ``model.G * a``.
    target_rate : float, default 3.0
        Excitatory firing rate to reach in every region (Hz).
    max_iter : int, default 200
        Maximum number of bisection steps of the two root searches.
    tol : float, default 1e-6
        Largest accepted deviation of the steady-state excitatory rates from
        ``target_rate`` (Hz), checked on the result.
    check_stability : bool, default True
        Warn (RuntimeWarning) when the tuned steady state is linearly
        unstable. Costs an eigendecomposition of a (2N, 2N) matrix.

    Returns
    -------
    J_i : array, shape (n_regions,)
        Local feedback-inhibition weights (nA); use them as
        ``model.set_params(J_i=J_i)``.

    Raises
    ------
    ValueError
        If the target cannot be reached with non-negative inhibition in some
        region (its excitation alone is below target), or on bad input.
    RuntimeError
        If the root searches did not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from vbrain.models import ReducedWongWangExcInh, tune_fic
    >>> W = np.ones((4, 4)) - np.eye(4)
    >>> model = ReducedWongWangExcInh(G=1.0)
    >>> J = tune_fic(model, W, global_coupling=0.2)
    >>> J.round(3)
    array([1.384, 1.384, 1.384, 1.384])
    >>> model.set_params(J_i=J)  # doctest: +ELLIPSIS
    ReducedWongWangExcInh(...)
    """
    validate_type("model", model, ReducedWongWangExcInh)
    W = check_array("connectome_weights", connectome_weights, shape=(None, None))
    n = W.shape[0]
    if W.shape[1] != n:
        raise ValueError(f"connectome_weights must be square (n_regions, n_regions), got {W.shape}.")
    a = check_range("global_coupling", global_coupling, 0.0)
    target = check_range("target_rate", target_rate, 0.0, low_inclusive=False)
    array = model.parameter_array(n)
    p = {k: array[r] for k, r in model.parameter_rows().items()}
    M = p.get("M_i", 1.0)  # DecoBalancedExcInh's regional gain: H(M (a I - b))

    # 1. excitatory gating and network input at the target state
    ge_tau = p["gamma_e"] * p["tau_e"]
    S_e = ge_tau * target / (1.0 + ge_tau * target)
    c = a * (W @ S_e)
    net = p["G"] * p["J_N"] * c
    # 2. excitatory input current giving the target rate
    I_e = (_inverse_rate(target, p["d_e"], max_iter) / M + p["b_e"]) / p["a_e"]
    # 3. inhibitory steady state: S_i - tau_i gamma_i H_i(I_i(S_i)) = 0, increasing in S_i
    gi_tau = p["gamma_i"] * p["tau_i"]
    I_i0 = p["J_N"] * S_e + p["W_i"] * p["I_o"] + p["lamda"] * net

    def f_inh(S_i):
        return S_i - gi_tau * _rate(M * (p["a_i"] * (I_i0 - S_i) - p["b_i"]), p["d_i"])

    S_i = _bisect(f_inh, np.zeros(n), gi_tau * _rate(M * (p["a_i"] * I_i0 - p["b_i"]), p["d_i"]),
                  max_iter)
    # 4. inhibitory weight closing the excitatory balance
    J_i = (p["w_p"] * p["J_N"] * S_e + p["W_e"] * p["I_o"] + net + p["I_ext"] - I_e) / S_i
    if np.any(J_i < 0):
        bad = np.flatnonzero(J_i < 0)
        raise ValueError(
            f"tune_fic: {bad.size} region(s) (first: {bad[0]}) fire below {target} Hz even "
            "without inhibition (J_i would be negative). Raise I_o or the coupling, or "
            "lower target_rate."
        )

    # check the result on the full steady-state equations
    I_e_chk = p["w_p"] * p["J_N"] * S_e - J_i * S_i + p["W_e"] * p["I_o"] + net + p["I_ext"]
    r_e = _rate(M * (p["a_e"] * I_e_chk - p["b_e"]), p["d_e"])
    r_i = _rate(M * (p["a_i"] * (I_i0 - S_i) - p["b_i"]), p["d_i"])
    err = np.max(np.abs(r_e - target))
    res_i = np.max(np.abs(-S_i / p["tau_i"] + p["gamma_i"] * r_i))
    if err > tol or res_i > tol * np.max(p["gamma_i"]):
        raise RuntimeError(
            f"tune_fic did not converge: max |r_e - target| = {err:.3g} Hz (tol {tol:g}); "
            f"increase max_iter (now {max_iter})."
        )
    logger.debug("tune_fic: J_i in [%g, %g], S_i in [%g, %g]", J_i.min(), J_i.max(), S_i.min(), S_i.max())

    if check_stability:
        lam = _max_real_eigenvalue(p, W, a, S_e, S_i, J_i, I_e_chk, I_i0 - S_i, r_e)
        if lam >= 0.0:
            warnings.warn(
                f"tune_fic: the tuned steady state is unstable (largest eigenvalue real part "
                f"{lam:.3g} /ms); the network will not settle at {target} Hz. Lower the "
                "global coupling.",
                RuntimeWarning,
                stacklevel=2,
            )
    return J_i


def _max_real_eigenvalue(p, W, a, S_e, S_i, J_i, I_e, I_i, r_e) -> float:
    """Largest real part of the eigenvalues of the network Jacobian at (S_e, S_i)."""
    n = W.shape[0]
    dHe = p["a_e"] * _rate_slope(p["a_e"] * I_e - p["b_e"], p["d_e"])  # Hz/nA
    dHi = p["a_i"] * _rate_slope(p["a_i"] * I_i - p["b_i"], p["d_i"])
    ge = (1.0 - S_e) * p["gamma_e"] * dHe  # d(dS_e/dt)/dI_e
    gi = p["gamma_i"] * dHi
    dnet = (p["G"] * p["J_N"] * a)[:, None] * W  # d(net input)/dS_e
    jac = np.zeros((2 * n, 2 * n))
    eye = np.eye(n)
    jac[:n, :n] = (-1.0 / p["tau_e"] - p["gamma_e"] * r_e)[:, None] * eye + ge[:, None] * (
        (p["w_p"] * p["J_N"])[:, None] * eye + dnet
    )
    jac[:n, n:] = np.diag(-ge * J_i)
    jac[n:, :n] = gi[:, None] * (p["J_N"][:, None] * eye + p["lamda"][:, None] * dnet)
    jac[n:, n:] = np.diag(-1.0 / p["tau_i"] - gi)
    return float(np.max(np.linalg.eigvals(jac).real))
