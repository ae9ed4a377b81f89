r"""Reduced sets of FitzHugh-Nagumo and Hindmarsh-Rose neurons (Stefanescu & Jirsa 2008,
2011), TVB's ``ReducedSetFitzHughNagumo`` and ``ReducedSetHindmarshRose``.

Each region is a globally coupled population of excitatory neurons (``nv`` of
them, variables :math:`\xi, \eta, \ldots`) and inhibitory neurons (``nu``,
variables :math:`\alpha, \beta, \ldots`) whose excitability (the input current
:math:`Z`, resp. :math:`Z'`) is spread as a normal distribution
:math:`\mathcal N(\mu, \sigma^2)`. Projecting the population onto a few modes
of that distribution leaves a low-dimensional system: three modes per
population, :math:`i = 0, 1, 2`.

Equations
---------
``ReducedSetFitzHughNagumo`` (the article's "StefanescuJirsa2D"), for mode
:math:`i`, with :math:`(\xi A)_i = \sum_k \xi_k A_{ki}`:

.. math::

    \dot\xi_i &= \tau\left(\xi_i - e_i \xi_i^3 / 3 - \eta_i\right)
                + K_{11}\left[(\xi A)_i - \xi_i\right] - K_{12}\left[(\alpha B)_i - \xi_i\right]
                + \tau\,(IE_i + c_0) \\
    \dot\eta_i &= (\xi_i - b\,\eta_i + m_i) / \tau \\
    \dot\alpha_i &= \tau\left(\alpha_i - f_i \alpha_i^3 / 3 - \beta_i\right)
                + K_{21}\left[(\xi C)_i - \alpha_i\right] + \tau\,(II_i + c_0) \\
    \dot\beta_i &= (\alpha_i - b\,\beta_i + n_i) / \tau

``ReducedSetHindmarshRose`` ("StefanescuJirsa3D"):

.. math::

    \dot\xi_i &= \eta_i - a_i \xi_i^3 + b_i \xi_i^2 - \tau_i
                + K_{11}\left[(\xi A)_i - \xi_i\right] - K_{12}\left[(\alpha B)_i - \xi_i\right]
                + IE_i + c_0 \\
    \dot\eta_i &= c_i - d_i \xi_i^2 - \eta_i \\
    \dot\tau_i &= r s \xi_i - r \tau_i - m_i \\
    \dot\alpha_i &= \beta_i - e_i \alpha_i^3 + f_i \alpha_i^2 - \gamma_i
                + K_{21}\left[(\xi C)_i - \alpha_i\right] + II_i + c_0 \\
    \dot\beta_i &= h_i - p_i \alpha_i^2 - \beta_i \\
    \dot\gamma_i &= r s \alpha_i - r \gamma_i - n_i

(TVB's docstring writes :math:`-\tau_i` in :math:`\dot\eta_i`; its code, reproduced
here, has :math:`-\eta_i`.) All variables and parameters are dimensionless;
as in TVB the model's time unit is integrated as ms. :math:`c_0` is the
long-range input summed over the three excitatory modes (below).

Derived quantities (TVB's ``update_derived_parameters``)
--------------------------------------------------------
The excitabilities are the quantiles :math:`Z_j = \mu + \sigma\,\Phi^{-1}(j / (n_v + 1))`,
:math:`j = 1..n_v` (likewise :math:`Z'_j` for the ``nu`` inhibitory neurons), with
:math:`g` the normal density. Mode :math:`V_i` is 1 on the i-th third of the
sorted excitatory population and 0 elsewhere, scaled to
:math:`\int V_i^2\,dZ = 1` (:math:`U_i` likewise); every integral is the
trapezoidal rule over the quantiles. Then

.. math::

    A_{ki} = \textstyle\int V_i\,dZ \int g V_k\,dZ, \quad
    B_{ki} = \int V_k\,dZ \int g U_i\,dZ', \quad
    C_{ki} = \int U_i\,dZ' \int g V_k\,dZ, \quad
    IE_i = \int Z V_i\,dZ, \quad II_i = \int Z' U_i\,dZ'

and, for the FitzHugh-Nagumo set, :math:`e_i = \int V_i^4`, :math:`f_i = \int U_i^4`,
:math:`m_i = a \int V_i`, :math:`n_i = a \int U_i`; for the Hindmarsh-Rose set,
:math:`a_i = a \int V_i^4`, :math:`b_i = b \int V_i^3`, :math:`c_i = c \int V_i`,
:math:`d_i = d \int V_i^3`, :math:`e_i = a \int U_i^4`, :math:`f_i = b \int U_i^3`,
:math:`h_i = c \int U_i`, :math:`p_i = d \int U_i^3`, :math:`m_i = r s x_o \int V_i`,
:math:`n_i = r s x_o \int U_i` (:math:`d_i, p_i` with TVB's default correction of
the article's typo, :math:`d \int V_i`). These are the model's ``derived`` rows,
computed once per distinct (``nv``, ``nu``, ``mu``, ``sigma``) and recomputed per
sweep member: row ``Aik_jk`` (FitzHugh-Nagumo) or ``A_ik_jk`` (Hindmarsh-Rose)
holds TVB's ``Aik[j, k]``, row ``e_i_2`` TVB's ``e_i[0, 2]``, and so on.

Modes as state variables
------------------------
TVB's state is (variable, node, mode); here every (variable, mode) pair is a
state variable, in TVB's variable order with the mode innermost:
``xi_0, xi_1, xi_2, eta_0, ..., beta_2`` (12, FitzHugh-Nagumo) and
``xi_0, ..., tau_0, ..., gamma_2`` (18, Hindmarsh-Rose), so TVB's
``x.transpose(0, 2, 1).reshape(n_sv * 3, n_nodes)`` is vbrain's state. The number
of modes is fixed at 3 (TVB's ``number_of_modes``).

Coupling: TVB's ``cvar`` is (xi, alpha) and it computes the delayed coupling of
each mode separately; here the coupling variables are the six
``xi_0, xi_1, xi_2, alpha_0, alpha_1, alpha_2`` and the model sums the three xi
rows, :math:`c_0 = c_{\xi_0} + c_{\xi_1} + c_{\xi_2}`, which drives every mode of
both populations (so a Linear coupling's offset ``b`` counts three times, as in
TVB). The alpha coupling is computed but unused, as in TVB. A stimulus drives
the coupling variables (TVB's ``stvar``), the same value on every mode.
``eeg_signal`` is :math:`\xi_0 + \xi_1 + \xi_2` (TVB's projection monitors sum
the first variable of interest over modes); ``bold_variable`` is ``xi_0``.

Differences from TVB 2.10: ``nv`` and ``nu`` are parameters (float, positive
multiples of 3, possibly per region) rather than class attributes; TVB's
FitzHugh-Nagumo set normalises the inhibitory modes with ``nv`` (so it fails
unless ``nu == nv``; here ``nu`` is used, the same numbers when they are equal);
for some counts (6, 18, 27, 102, ...) TVB's ``arange`` of quantile levels gets
one point too many and fails, while here the intended ``n`` levels are used.
TVB's local coupling term (surfaces) is dropped.

References
----------
Stefanescu RA, Jirsa VK (2008). A low dimensional description of globally
coupled heterogeneous neural networks of excitatory and inhibitory neurons.
PLoS Comput Biol 4:e1000219.

Stefanescu RA, Jirsa VK (2011). Reduced representations of heterogeneous
mixed neural networks with synaptic coupling. Phys Rev E 83:026204.

Jirsa VK, Stefanescu RA (2011). Neural population modes capture biologically
realistic large scale network dynamics. Bull Math Biol 73:325-343.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import ndtri

from .base import Model, Parameter, StateVariable

#: modes per population (TVB's ``number_of_modes``; fixed)
N_MODES = 3
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# -- derived quantities -------------------------------------------------------
def _trapz(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Trapezoidal rule along the last axis (scipy's ``trapezoid``, same operations)."""
    return np.sum((x[1:] - x[:-1]) * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)


def _population(n: int, mu: float, sigma: float) -> tuple[np.ndarray, ...]:
    """Excitabilities (n,), their normal density (n,) and the normalised modes (3, n)."""
    step = 1.0 / (n + 1)
    # TVB's levels; floating-point arange can add an (n+1)-th near 1, dropped
    z = ndtri(np.arange(step, 1.0, step)[:n]) * sigma + mu
    u = (z - mu) / sigma
    g = np.exp(-u ** 2 / 2.0) / _SQRT_2PI / sigma
    per = n // N_MODES
    modes = np.zeros((N_MODES, n))
    for i in range(N_MODES):
        modes[i, i * per:(i + 1) * per] = 1.0
    modes = modes / np.sqrt(_trapz(modes * modes, z))[:, None]
    return z, g, modes


def _integrals(nv: float, nu: float, mu: float, sigma: float) -> dict[str, np.ndarray]:
    """The mode integrals of one population, each (3,): e = excitatory, i = inhibitory."""
    zv, gv, V = _population(int(nv), mu, sigma)
    zu, gu, U = _population(int(nu), mu, sigma)
    return {
        "int_e": _trapz(V, zv), "int_i": _trapz(U, zu),
        "g_e": _trapz(gv * V, zv), "g_i": _trapz(gu * U, zu),
        "cube_e": _trapz(V * V ** 2, zv), "cube_i": _trapz(U * U ** 2, zu),
        "quart_e": _trapz(V * V ** 3, zv), "quart_i": _trapz(U * U ** 3, zu),
        "z_e": _trapz(zv * V, zv), "z_i": _trapz(zu * U, zu),
    }


def _check_population(model: str, name: str, value) -> None:
    """nv / nu: positive multiples of the number of modes; sigma: positive."""
    v = np.asarray(value, dtype=np.float64).ravel()
    if name == "sigma":
        if np.any(v <= 0):
            raise ValueError(f"{model}.sigma (the spread of the excitabilities) must be > 0, "
                             f"got {v[np.argmax(v <= 0)]:g}.")
        return
    bad = (v <= 0) | (v != np.round(v)) | (np.round(v) % N_MODES != 0)
    if np.any(bad):
        raise ValueError(
            f"{model}.{name} (neurons per population) must be a positive multiple of the "
            f"number of modes ({N_MODES}), got {v[np.argmax(bad)]:g}; e.g. 1500 (TVB's default).")


def _mode_integrals(model: str, rows: dict) -> dict[str, np.ndarray]:
    """Each mode integral as an array (3, *S), computed once per distinct (nv, nu, mu, sigma)."""
    for name in ("nv", "nu", "sigma"):
        _check_population(model, name, rows[name])
    shape = np.shape(rows["mu"])
    keys = np.stack([np.broadcast_to(np.asarray(rows[n], dtype=np.float64), shape).ravel()
                     for n in ("nv", "nu", "mu", "sigma")])
    distinct, inverse = np.unique(keys, axis=1, return_inverse=True)
    per = [_integrals(*col) for col in distinct.T]
    out = {name: np.stack([d[name] for d in per], axis=1)[:, inverse.ravel()]
           .reshape((N_MODES,) + shape) for name in per[0]}
    return out


def _coupling_matrices(q: dict[str, np.ndarray], names=("Aik", "Bik", "Cik")) -> dict:
    """TVB's A[j, k] = int V_k * int g V_j, B[j, k] = int V_j * int g U_k,
    C[j, k] = int U_k * int g V_j, as rows ``<name>_jk``."""
    a, b, c = names
    out = {}
    for j in range(N_MODES):
        for k in range(N_MODES):
            out[f"{a}_{j}{k}"] = q["int_e"][k] * q["g_e"][j]
            out[f"{b}_{j}{k}"] = q["int_e"][j] * q["g_i"][k]
            out[f"{c}_{j}{k}"] = q["int_i"][k] * q["g_e"][j]
    return out


def _mode_rows(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    return {f"{name}_{i}": values[i] for i in range(N_MODES)}


def _matrix_names(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{j}{k}" for j in range(N_MODES) for k in range(N_MODES))


def _mode_states(specs) -> tuple[StateVariable, ...]:
    """One state variable per (variable, mode), mode innermost."""
    return tuple(StateVariable(f"{name}_{i}", "1", rng, doc=f"{doc}, mode {i}")
                 for name, rng, doc in specs for i in range(N_MODES))


def _modes(*names: str) -> tuple[str, ...]:
    """``name_0, name_1, name_2`` for each name, mode innermost."""
    return tuple(f"{n}_{i}" for n in names for i in range(N_MODES))


class _ReducedSet:
    """Checks shared by the two reduced sets (nv, nu, sigma at set time)."""

    def set_params(self, **params):
        for name in ("nv", "nu", "sigma"):
            if name in params:
                try:
                    np.asarray(params[name], dtype=np.float64)
                except (TypeError, ValueError):
                    continue  # the base class reports it
                _check_population(type(self).__name__, name, params[name])
        return super().set_params(**params)


_POPULATION_PARAMETERS = {
    "nv": Parameter(1500.0, "1", "excitatory neurons per region (a multiple of 3; TVB's nv)",
                    (300.0, 6000.0)),
    "nu": Parameter(1500.0, "1", "inhibitory neurons per region (a multiple of 3; TVB's nu)",
                    (300.0, 6000.0)),
}


# -- FitzHugh-Nagumo set -------------------------------------------------------
@njit(inline="always")
def _dot3(x0, x1, x2, a0, a1, a2):  # pragma: no cover - compiled
    return x0 * a0 + x1 * a1 + x2 * a2


@njit(inline="always")
def _fhn_xi(xi, eta, e, IE, xA, aB, tau, K11, K12, c0):  # pragma: no cover - compiled
    return (tau * (xi - e * (xi * xi * xi) / 3.0 - eta) + K11 * (xA - xi) - K12 * (aB - xi)
            + tau * (IE + c0))


@njit(inline="always")
def _fhn_alpha(alpha, beta, f, II, xC, tau, K21, c0):  # pragma: no cover - compiled
    return tau * (alpha - f * (alpha * alpha * alpha) / 3.0 - beta) + K21 * (xC - alpha) \
        + tau * (II + c0)


@njit(cache=True)
def _rs_fhn_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    tau, b, K11, K12, K21 = p[0, k], p[2, k], p[3, k], p[4, k], p[5, k]
    xi0, xi1, xi2 = x[0, k], x[1, k], x[2, k]
    eta0, eta1, eta2 = x[3, k], x[4, k], x[5, k]
    al0, al1, al2 = x[6, k], x[7, k], x[8, k]
    be0, be1, be2 = x[9, k], x[10, k], x[11, k]
    c0 = c[0, k] + c[1, k] + c[2, k]
    # rows 10-18 Aik, 19-27 Bik, 28-36 Cik (TVB's [j, k] at 3 j + k); column i: i, i+3, i+6
    xA0 = _dot3(xi0, xi1, xi2, p[10, k], p[13, k], p[16, k])
    xA1 = _dot3(xi0, xi1, xi2, p[11, k], p[14, k], p[17, k])
    xA2 = _dot3(xi0, xi1, xi2, p[12, k], p[15, k], p[18, k])
    aB0 = _dot3(al0, al1, al2, p[19, k], p[22, k], p[25, k])
    aB1 = _dot3(al0, al1, al2, p[20, k], p[23, k], p[26, k])
    aB2 = _dot3(al0, al1, al2, p[21, k], p[24, k], p[27, k])
    xC0 = _dot3(xi0, xi1, xi2, p[28, k], p[31, k], p[34, k])
    xC1 = _dot3(xi0, xi1, xi2, p[29, k], p[32, k], p[35, k])
    xC2 = _dot3(xi0, xi1, xi2, p[30, k], p[33, k], p[36, k])
    # rows 37-39 e_i, 40-42 f_i, 43-45 IE_i, 46-48 II_i, 49-51 m_i, 52-54 n_i
    dx[0, k] = _fhn_xi(xi0, eta0, p[37, k], p[43, k], xA0, aB0, tau, K11, K12, c0)
    dx[1, k] = _fhn_xi(xi1, eta1, p[38, k], p[44, k], xA1, aB1, tau, K11, K12, c0)
    dx[2, k] = _fhn_xi(xi2, eta2, p[39, k], p[45, k], xA2, aB2, tau, K11, K12, c0)
    dx[3, k] = (xi0 - b * eta0 + p[49, k]) / tau
    dx[4, k] = (xi1 - b * eta1 + p[50, k]) / tau
    dx[5, k] = (xi2 - b * eta2 + p[51, k]) / tau
    dx[6, k] = _fhn_alpha(al0, be0, p[40, k], p[46, k], xC0, tau, K21, c0)
    dx[7, k] = _fhn_alpha(al1, be1, p[41, k], p[47, k], xC1, tau, K21, c0)
    dx[8, k] = _fhn_alpha(al2, be2, p[42, k], p[48, k], xC2, tau, K21, c0)
    dx[9, k] = (al0 - b * be0 + p[52, k]) / tau
    dx[10, k] = (al1 - b * be1 + p[53, k]) / tau
    dx[11, k] = (al2 - b * be2 + p[54, k]) / tau


class ReducedSetFitzHughNagumo(_ReducedSet, Model):
    """Reduced set of FitzHugh-Nagumo neurons, 3 modes per population, TVB's defaults.

    State variables ``xi_i, eta_i`` (excitatory) and ``alpha_i, beta_i``
    (inhibitory), mode ``i`` = 0, 1, 2 innermost; see the module docstring.
    """

    state_variables = _mode_states((
        ("xi", (-4.0, 4.0), "excitatory fast (membrane-potential-like) variable"),
        ("eta", (-3.0, 3.0), "excitatory slow recovery variable"),
        ("alpha", (-4.0, 4.0), "inhibitory fast variable"),
        ("beta", (-3.0, 3.0), "inhibitory slow recovery variable"),
    ))
    parameters = {
        "tau": Parameter(3.0, "1", "time-scale separation of fast and slow variables",
                         (1.5, 4.5)),
        "a": Parameter(0.45, "1", "offset of the slow nullcline", (0.0, 1.0)),
        "b": Parameter(0.9, "1", "self-decay of the slow variables", (0.0, 1.0)),
        "K11": Parameter(0.5, "1", "internal coupling, excitatory to excitatory", (0.0, 1.0)),
        "K12": Parameter(0.15, "1", "internal coupling, inhibitory to excitatory", (0.0, 1.0)),
        "K21": Parameter(0.15, "1", "internal coupling, excitatory to inhibitory", (0.0, 1.0)),
        "sigma": Parameter(0.35, "1", "standard deviation of the excitabilities", (0.0, 1.0)),
        "mu": Parameter(0.0, "1", "mean of the excitabilities", (0.0, 1.0)),
        **_POPULATION_PARAMETERS,
    }
    derived = (_matrix_names("Aik") + _matrix_names("Bik") + _matrix_names("Cik")
               + _modes("e_i", "f_i", "IE_i", "II_i", "m_i", "n_i"))
    coupling_variables = _modes("xi", "alpha")
    variables_of_interest = _modes("xi", "alpha")
    bold_variable = "xi_0"
    eeg_signal = {"xi_0": 1.0, "xi_1": 1.0, "xi_2": 1.0}
    dfun = staticmethod(_rs_fhn_dfun)

    @classmethod
    def derive(cls, rows):
        q = _mode_integrals(cls.__name__, rows)
        out = _coupling_matrices(q)
        out.update(_mode_rows("e_i", q["quart_e"]))
        out.update(_mode_rows("f_i", q["quart_i"]))
        out.update(_mode_rows("IE_i", q["z_e"]))
        out.update(_mode_rows("II_i", q["z_i"]))
        out.update(_mode_rows("m_i", rows["a"] * q["int_e"]))
        out.update(_mode_rows("n_i", rows["a"] * q["int_i"]))
        return out


# -- Hindmarsh-Rose set ---------------------------------------------------------
@njit(inline="always")
def _hr_xi(xi, eta, tau, a, b, IE, xA, aB, K11, K12, c0):  # pragma: no cover - compiled
    return (eta - a * (xi * xi * xi) + b * (xi * xi) - tau + K11 * (xA - xi)
            - K12 * (aB - xi) + IE + c0)


@njit(inline="always")
def _hr_alpha(alpha, beta, gamma, e, f, II, xC, K21, c0):  # pragma: no cover - compiled
    return beta - e * (alpha * alpha * alpha) + f * (alpha * alpha) - gamma \
        + K21 * (xC - alpha) + II + c0


@njit(cache=True)
def _rs_hr_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    r, s, K11, K12, K21 = p[0, k], p[5, k], p[7, k], p[8, k], p[9, k]
    xi0, xi1, xi2 = x[0, k], x[1, k], x[2, k]
    eta0, eta1, eta2 = x[3, k], x[4, k], x[5, k]
    ta0, ta1, ta2 = x[6, k], x[7, k], x[8, k]
    al0, al1, al2 = x[9, k], x[10, k], x[11, k]
    be0, be1, be2 = x[12, k], x[13, k], x[14, k]
    ga0, ga1, ga2 = x[15, k], x[16, k], x[17, k]
    c0 = c[0, k] + c[1, k] + c[2, k]
    rs = r * s
    # rows 14-22 A_ik, 23-31 B_ik, 32-40 C_ik (TVB's [j, k] at 3 j + k)
    xA0 = _dot3(xi0, xi1, xi2, p[14, k], p[17, k], p[20, k])
    xA1 = _dot3(xi0, xi1, xi2, p[15, k], p[18, k], p[21, k])
    xA2 = _dot3(xi0, xi1, xi2, p[16, k], p[19, k], p[22, k])
    aB0 = _dot3(al0, al1, al2, p[23, k], p[26, k], p[29, k])
    aB1 = _dot3(al0, al1, al2, p[24, k], p[27, k], p[30, k])
    aB2 = _dot3(al0, al1, al2, p[25, k], p[28, k], p[31, k])
    xC0 = _dot3(xi0, xi1, xi2, p[32, k], p[35, k], p[38, k])
    xC1 = _dot3(xi0, xi1, xi2, p[33, k], p[36, k], p[39, k])
    xC2 = _dot3(xi0, xi1, xi2, p[34, k], p[37, k], p[40, k])
    # rows 41 a_i, 44 b_i, 47 c_i, 50 d_i, 53 e_i, 56 f_i, 59 h_i, 62 p_i, 65 IE_i, 68 II_i,
    # 71 m_i, 74 n_i (three each)
    dx[0, k] = _hr_xi(xi0, eta0, ta0, p[41, k], p[44, k], p[65, k], xA0, aB0, K11, K12, c0)
    dx[1, k] = _hr_xi(xi1, eta1, ta1, p[42, k], p[45, k], p[66, k], xA1, aB1, K11, K12, c0)
    dx[2, k] = _hr_xi(xi2, eta2, ta2, p[43, k], p[46, k], p[67, k], xA2, aB2, K11, K12, c0)
    dx[3, k] = p[47, k] - p[50, k] * (xi0 * xi0) - eta0
    dx[4, k] = p[48, k] - p[51, k] * (xi1 * xi1) - eta1
    dx[5, k] = p[49, k] - p[52, k] * (xi2 * xi2) - eta2
    dx[6, k] = rs * xi0 - r * ta0 - p[71, k]
    dx[7, k] = rs * xi1 - r * ta1 - p[72, k]
    dx[8, k] = rs * xi2 - r * ta2 - p[73, k]
    dx[9, k] = _hr_alpha(al0, be0, ga0, p[53, k], p[56, k], p[68, k], xC0, K21, c0)
    dx[10, k] = _hr_alpha(al1, be1, ga1, p[54, k], p[57, k], p[69, k], xC1, K21, c0)
    dx[11, k] = _hr_alpha(al2, be2, ga2, p[55, k], p[58, k], p[70, k], xC2, K21, c0)
    dx[12, k] = p[59, k] - p[62, k] * (al0 * al0) - be0
    dx[13, k] = p[60, k] - p[63, k] * (al1 * al1) - be1
    dx[14, k] = p[61, k] - p[64, k] * (al2 * al2) - be2
    dx[15, k] = rs * al0 - r * ga0 - p[74, k]
    dx[16, k] = rs * al1 - r * ga1 - p[75, k]
    dx[17, k] = rs * al2 - r * ga2 - p[76, k]


class ReducedSetHindmarshRose(_ReducedSet, Model):
    """Reduced set of Hindmarsh-Rose neurons, 3 modes per population, TVB's defaults.

    State variables ``xi_i, eta_i, tau_i`` (excitatory) and ``alpha_i, beta_i,
    gamma_i`` (inhibitory), mode ``i`` = 0, 1, 2 innermost; see the module
    docstring.
    """

    state_variables = _mode_states((
        ("xi", (-4.0, 4.0), "excitatory membrane potential"),
        ("eta", (-25.0, 20.0), "excitatory recovery (spiking) variable"),
        ("tau", (2.0, 10.0), "excitatory slow adaptation (bursting) variable"),
        ("alpha", (-4.0, 4.0), "inhibitory membrane potential"),
        ("beta", (-20.0, 20.0), "inhibitory recovery variable"),
        ("gamma", (2.0, 10.0), "inhibitory slow adaptation variable"),
    ))
    parameters = {
        "r": Parameter(0.006, "1", "adaptation rate (slow time scale)", (0.0, 0.1)),
        "a": Parameter(1.0, "1", "cubic term of the fast nullcline (Hindmarsh-Rose a)",
                       (0.0, 1.0)),
        "b": Parameter(3.0, "1", "quadratic term of the fast nullcline (Hindmarsh-Rose b)",
                       (0.0, 3.0)),
        "c": Parameter(1.0, "1", "offset of the recovery variable (Hindmarsh-Rose c)",
                       (0.0, 1.0)),
        "d": Parameter(5.0, "1", "quadratic term of the recovery variable (Hindmarsh-Rose d)",
                       (2.5, 7.5)),
        "s": Parameter(4.0, "1", "adaptation gain (feedback)", (2.0, 6.0)),
        "xo": Parameter(-1.6, "1", "leftmost equilibrium of x (adaptation reference)",
                        (-2.4, -0.8)),
        "K11": Parameter(0.5, "1", "internal coupling, excitatory to excitatory", (0.0, 1.0)),
        "K12": Parameter(0.1, "1", "internal coupling, inhibitory to excitatory", (0.0, 1.0)),
        "K21": Parameter(0.15, "1", "internal coupling, excitatory to inhibitory", (0.0, 1.0)),
        "sigma": Parameter(0.3, "1", "standard deviation of the excitabilities", (0.0, 1.0)),
        "mu": Parameter(3.3, "1", "mean of the excitabilities", (1.1, 3.3)),
        **_POPULATION_PARAMETERS,
    }
    derived = (_matrix_names("A_ik") + _matrix_names("B_ik") + _matrix_names("C_ik")
               + _modes("a_i", "b_i", "c_i", "d_i", "e_i", "f_i", "h_i", "p_i",
                               "IE_i", "II_i", "m_i", "n_i"))
    coupling_variables = _modes("xi", "alpha")
    variables_of_interest = _modes("xi", "eta", "tau")
    bold_variable = "xi_0"
    eeg_signal = {"xi_0": 1.0, "xi_1": 1.0, "xi_2": 1.0}
    dfun = staticmethod(_rs_hr_dfun)

    @classmethod
    def derive(cls, rows):
        q = _mode_integrals(cls.__name__, rows)
        out = _coupling_matrices(q, ("A_ik", "B_ik", "C_ik"))
        a, b, c, d = rows["a"], rows["b"], rows["c"], rows["d"]
        rsx = rows["r"] * rows["s"] * rows["xo"]
        out.update(_mode_rows("a_i", a * q["quart_e"]))
        out.update(_mode_rows("b_i", b * q["cube_e"]))
        out.update(_mode_rows("c_i", c * q["int_e"]))
        out.update(_mode_rows("d_i", d * q["cube_e"]))
        out.update(_mode_rows("e_i", a * q["quart_i"]))
        out.update(_mode_rows("f_i", b * q["cube_i"]))
        out.update(_mode_rows("h_i", c * q["int_i"]))
        out.update(_mode_rows("p_i", d * q["cube_i"]))
        out.update(_mode_rows("IE_i", q["z_e"]))
        out.update(_mode_rows("II_i", q["z_i"]))
        out.update(_mode_rows("m_i", rsx * q["int_e"]))
        out.update(_mode_rows("n_i", rsx * q["int_i"]))
        return out
