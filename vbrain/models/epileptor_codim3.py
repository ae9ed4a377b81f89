r"""Codimension-3 Epileptor (Saggio et al. 2017), TVB's ``EpileptorCodim3`` and
``EpileptorCodim3SlowMod``.

A planar fast subsystem, the unfolding of the degenerate Takens-Bogdanov singularity
of codimension 3, is steered by a slow variable :math:`z` along a path in its
parameter space :math:`(\mu_2, -\mu_1, \nu)`, giving hysteresis-loop bursters
(classes c0, c0', c2s, c3s, c4s, c10s, c11s, c2b, c4b, c8b, c14b, c16b of Saggio et
al.'s Table 2; TVB's defaults are class c2s, saddle-node onset and saddle-homoclinic
offset):

.. math::

    \dot x &= -y \\
    \dot y &= x^3 - \mu_2 x - \mu_1 - y\,(\nu + b x + x^2) \\
    \dot z &= -c\,\big(\sqrt{(x - x_s)^2 + y^2} - d^* + m\,0.1\,(z - 0.5)^7
              + K_s c_0\big)

The path is an arc of the great circle of the sphere of radius :math:`R` through the
points :math:`A` (bursting offset, ``*_start``) and :math:`B` (bursting onset,
``*_stop``), parametrised by the angle :math:`z` (paper Eq. 7):

.. math::

    (\mu_2, -\mu_1, \nu) &= R\,(E \cos z + F \sin z), \qquad
    A = (\mu_{2,start}, -\mu_{1,start}, \nu_{start}), \quad
    B = (\mu_{2,stop}, -\mu_{1,stop}, \nu_{stop}) \\
    E &= A / \lVert A \rVert, \qquad
    F = ((A \times B) \times A) / \lVert (A \times B) \times A \rVert

:math:`E` and :math:`F` are TVB's ``update_derived_parameters``: here the ``derived``
rows ``E0 ... F2``, recomputed per member when a sweep changes an end point. The
term :math:`m\,0.1\,(z - 0.5)^7` (``modification``, TVB's default True) keeps
:math:`z` bounded when :math:`d^* < 0`.

:math:`x_s` is the resting state, a root of :math:`x^3 - \mu_2 x - \mu_1 = 0`, taken
as TVB takes it: Cardano's formula with principal complex cube roots
:math:`r_\pm = w_\pm^{1/3}` of :math:`w_\pm = \mu_1/2 \pm \sqrt{\mu_1^2/4 - \mu_2^3/27}`
(complex square root), then the real part of branch ``N``:

.. math::

    x_s = \mathrm{Re}\begin{cases}
        r_+ + r_- & N = 1 \\
        -\tfrac12 (1 - i\sqrt3)\, r_+ - \tfrac12 (1 + i\sqrt3)\, r_- & N = 2 \\
        -\tfrac12 (1 + i\sqrt3)\, r_+ - \tfrac12 (1 - i\sqrt3)\, r_- & N = 3
    \end{cases}

(with three real roots these are the three equilibria; with one, a negative
:math:`w_\pm` contributes the real part of its principal root, not its real cube
root, as in TVB). It is evaluated in real arithmetic that vectorises across nodes
(vmath's ``exp``, ``log``, ``sin``, ``cos`` and a Taylor-series arctangent in place of
complex powers), within ~1e-15 of Python's complex power, which TVB's compiled dfun uses.

``EpileptorCodim3SlowMod`` lets the end points themselves drift, ultra-slowly, along
great circles of the same sphere (paper p. 21), switching the burster's class:

.. math::

    A &= R\,(G \cos u_A + H \sin u_A), \qquad B = R\,(L \cos u_B + M \sin u_B) \\
    \dot u_A &= c_A, \qquad \dot u_B = c_B

with :math:`G, H` built from ``Ain`` and ``Aend`` and :math:`L, M` from ``Bin`` and
``Bend`` as :math:`E, F` from :math:`A, B` above (the ``derived`` rows ``G0 ... M2``);
:math:`E` and :math:`F` are then recomputed from :math:`A` and :math:`B` at every
evaluation.

Units: :math:`x`, :math:`y`, the unfolding parameters, :math:`b`, :math:`R`,
:math:`d^*` and :math:`K_s` are dimensionless; :math:`z`, :math:`u_A`, :math:`u_B` are
angles (rad). The model's time unit is arbitrary and, as in TVB, integrated as ms, so
:math:`c`, :math:`c_A`, :math:`c_B` are in rad/ms.

Coupling: TVB's ``cvar`` is :math:`x`; :math:`c_0` enters only :math:`\dot z`, through
the slow permittivity coupling :math:`K_s` (default 0: uncoupled), usually with TVB's
``Difference`` coupling.

Differences from TVB (tvb-library 2.10):

- ``N`` (an integer in TVB) and ``modification`` (a boolean) are floats here;
  ``modification`` is on when nonzero. ``N`` must be 1, 2 or 3: other values raise
  ``ValueError`` (TVB's compiled dfun silently uses :math:`x_s = 0` for them).
- TVB's ``update_derived_parameters`` reads only the first value of each end point
  (``mu1_start[0]`` ...), so every region follows region 0's path; here each region
  follows its own path. The two agree whenever the end points are the same at every
  region.
- End points on one line through the origin (or at it) define no great circle: the
  derived rows raise ``ValueError`` where TVB would produce NaN.

References
----------
Saggio ML, Spiegler A, Bernard C, Jirsa VK (2017). Fast-slow bursters in the unfolding
of a high codimension singularity and the ultra-slow transitions of classes. J Math
Neurosci 7:7. doi:10.1186/s13408-017-0050-8.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import cos, exp, log, sin

_HALF_SQRT3 = 0.5 * 3.0 ** 0.5  # the imaginary part of -(1 -+ i sqrt 3) / 2
# the principal cube root of a negative real w is |w|^(1/3) (cos, sin)(pi / 3), the phase
# rounded as Python's complex power rounds it: atan2(0, -1) * (1 / 3)
_COS_THIRD_PI = math.cos(math.pi * (1.0 / 3.0))
_SIN_THIRD_PI = math.sin(math.pi * (1.0 / 3.0))
_TAN_EIGHTH_PI = 2.0 ** 0.5 - 1.0


def _great_circle(a0, a1, a2, b0, b1, b2):
    """Unit vectors ``E = A / |A|`` and ``F = ((A x B) x A) / |(A x B) x A|`` of the
    great circle from A towards B, componentwise (floats or numpy arrays)."""
    na = np.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
    c0, c1, c2 = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0  # A x B
    f0, f1, f2 = c1 * a2 - c2 * a1, c2 * a0 - c0 * a2, c0 * a1 - c1 * a0  # (A x B) x A
    nf = np.sqrt(f0 * f0 + f1 * f1 + f2 * f2)
    return a0 / na, a1 / na, a2 / na, f0 / nf, f1 / nf, f2 / nf


_great_circle_nb = njit(inline="always")(_great_circle)


@njit(inline="always")
def _atan_unit(t):  # pragma: no cover - compiled
    """atan(t) for 0 <= t <= 1 in plain arithmetic that vectorises (within 4 units in the
    last place of numpy's for normal t).

    t > tan(pi/8) is reduced by atan t = pi/4 + atan((t - 1) / (t + 1)), then the angle
    halved once, atan u = 2 atan(u / (1 + sqrt(1 + u^2))), to |v| <= tan(pi/16), where the
    Taylor series to v^21 is exact to 2e-17 relative.
    """
    big = t > _TAN_EIGHTH_PI
    u = (t - 1.0) / (t + 1.0) if big else t
    v = u / (1.0 + math.sqrt(1.0 + u * u))
    z = v * v
    p = 1.0 / 21.0
    p = p * z - 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z - 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z - 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z - 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z - 1.0 / 3.0
    a = 2.0 * (v + v * (z * p))
    return a + 0.25 * math.pi if big else a


@njit(inline="always")
def _cbrt(a):  # pragma: no cover - compiled
    """a^(1/3) for a >= 0 (0 at 0), vectorisable."""
    return exp(log(a) * (1.0 / 3.0))


@njit(inline="always")
def _resting_x(mu1, mu2, N):  # pragma: no cover - compiled
    """x_s: the real part of Cardano's root of branch N with principal cube roots (those of
    Python's complex power, in arithmetic that vectorises)."""
    half = mu1 / 2.0
    disc = mu1 * mu1 / 4.0 - mu2 * mu2 * mu2 / 27.0
    if disc >= 0.0:  # w+- = half +- sqrt(disc) real: root r (1, 0), or r (cos, sin)(pi/3) if < 0
        s = math.sqrt(disc)
        wp, wm = half + s, half - s
        rp, rm = _cbrt(abs(wp)), _cbrt(abs(wm))
        p1, q1 = (rp, 0.0) if wp >= 0.0 else (rp * _COS_THIRD_PI, rp * _SIN_THIRD_PI)
        p2, q2 = (rm, 0.0) if wm >= 0.0 else (rm * _COS_THIRD_PI, rm * _SIN_THIRD_PI)
    else:  # w+- = half +- i s, complex conjugates: so are their principal roots
        s = math.sqrt(-disc)
        a = abs(half)
        # atan2(s, half) in (0, pi), from atan of a ratio in [0, 1]
        phi = _atan_unit(s / a) if a > s else 0.5 * math.pi - _atan_unit(a / s)
        phase = (math.pi - phi if half < 0.0 else phi) * (1.0 / 3.0)
        r = _cbrt(math.sqrt(half * half + s * s))
        p1, q1 = r * cos(phase), r * sin(phase)
        p2, q2 = p1, -q1
    if N == 2.0:
        return (-0.5 * p1 - _HALF_SQRT3 * q1) - (0.5 * p2 - _HALF_SQRT3 * q2)
    if N == 3.0:
        return (-0.5 * p1 + _HALF_SQRT3 * q1) - (0.5 * p2 + _HALF_SQRT3 * q2)
    return p1 + p2


@njit(inline="always")
def _codim3_xyz(x, dx, k, c0, e0, e1, e2, f0, f1, f2, b, R, c, dstar, Ks, N,
                modification):  # pragma: no cover - compiled
    """dx, dy, dz of node k on the great circle (E, F) of radius R (both models)."""
    xx, yy, z = x[0, k], x[1, k], x[2, k]
    cz, sz = cos(z), sin(z)
    mu2 = R * (e0 * cz + f0 * sz)
    mu1 = -R * (e1 * cz + f1 * sz)
    nu = R * (e2 * cz + f2 * sz)
    xs = _resting_x(mu1, mu2, N)
    dx[0, k] = -yy
    dx[1, k] = xx * xx * xx - mu2 * xx - mu1 - yy * (nu + b * xx + xx * xx)
    w = z - 0.5
    w2 = w * w
    # w^7 as numba's integer power forms it, (w w^2) w^4; written out, the loop vectorises
    tail = 0.1 * ((w * w2) * (w2 * w2)) if modification != 0.0 else 0.0
    dx[2, k] = -c * (math.sqrt((xx - xs) * (xx - xs) + yy * yy) - dstar + tail + Ks * c0)


@njit(cache=True)
def _codim3_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    b, R, cc, dstar, Ks, N, modification = (p[6, k], p[7, k], p[8, k], p[9, k], p[10, k],
                                            p[11, k], p[12, k])
    e0, e1, e2, f0, f1, f2 = p[13, k], p[14, k], p[15, k], p[16, k], p[17, k], p[18, k]
    _codim3_xyz(x, dx, k, c[0, k], e0, e1, e2, f0, f1, f2, b, R, cc, dstar, Ks, N,
                modification)


@njit(cache=True)
def _codim3_slowmod_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    b, R, cc, cA, cB, dstar, Ks, N, modification = (p[12, k], p[13, k], p[14, k], p[15, k],
                                                    p[16, k], p[17, k], p[18, k], p[19, k],
                                                    p[20, k])
    g0, g1, g2, h0, h1, h2 = p[21, k], p[22, k], p[23, k], p[24, k], p[25, k], p[26, k]
    l0, l1, l2, m0, m1, m2 = p[27, k], p[28, k], p[29, k], p[30, k], p[31, k], p[32, k]
    uA, uB = x[3, k], x[4, k]
    ca, sa, cb, sb = cos(uA), sin(uA), cos(uB), sin(uB)
    e0, e1, e2, f0, f1, f2 = _great_circle_nb(
        R * (g0 * ca + h0 * sa), R * (g1 * ca + h1 * sa), R * (g2 * ca + h2 * sa),
        R * (l0 * cb + m0 * sb), R * (l1 * cb + m1 * sb), R * (l2 * cb + m2 * sb))
    _codim3_xyz(x, dx, k, c[0, k], e0, e1, e2, f0, f1, f2, b, R, cc, dstar, Ks, N,
                modification)
    dx[3, k] = cA
    dx[4, k] = cB


def _check_branch(model: str, N: Any) -> None:
    N = np.asarray(N, dtype=np.float64)
    if not np.all(np.isin(N, (1.0, 2.0, 3.0))):
        bad = np.unique(N[~np.isin(N, (1.0, 2.0, 3.0))])
        raise ValueError(f"{model}.N is the branch of the resting state: 1, 2 or 3, but got "
                         f"{bad.tolist()}.")


def _unit_vectors(model: str, names: tuple[str, str], start, stop) -> tuple:
    """E, F of the great circle from the point ``start`` towards ``stop`` (3-tuples of
    rows); ValueError where they do not define one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _great_circle(*start, *stop)
    if not all(np.all(np.isfinite(v)) for v in out):
        raise ValueError(
            f"{model}: the points {names[0]} and {names[1]} (as (mu2, -mu1, nu)) must not lie "
            "on one line through the origin: no great circle passes through them. Move one "
            "of them."
        )
    return out


def _point(rows: dict, suffix: str) -> tuple:
    """The unfolding point (mu2, -mu1, nu) of parameters ``*_<suffix>``."""
    return rows[f"mu2_{suffix}"], -rows[f"mu1_{suffix}"], rows[f"nu_{suffix}"]


def _point_parameters(suffix: str, where: str, values: tuple) -> dict[str, Parameter]:
    mu1, mu2, nu = values
    return {
        f"mu1_{suffix}": Parameter(mu1, "1", f"unfolding parameter mu1 {where}", (-1.0, 1.0)),
        f"mu2_{suffix}": Parameter(mu2, "1", f"unfolding parameter mu2 {where}", (-1.0, 1.0)),
        f"nu_{suffix}": Parameter(nu, "1", f"unfolding parameter nu {where}", (-1.0, 1.0)),
    }


_FAST_SLOW = {
    "b": Parameter(1.0, "1", "unfolding type of the degenerate Takens-Bogdanov "
                   "singularity (1: focus)"),
    "R": Parameter(0.4, "1", "radius of the sphere in the unfolding", (0.0, 2.5)),
}
_CONTROL = {
    "dstar": Parameter(0.3, "1", "threshold for the inversion of the slow variable",
                       (-0.1, 0.5)),
    "Ks": Parameter(0.0, "1", "slow permittivity coupling strength (c0 into z)"),
    "N": Parameter(1.0, "1", "branch of the resting state x_s: 1, 2 or 3"),
    "modification": Parameter(1.0, "bool", "nonzero: add 0.1 (z - 0.5)^7 to the slow "
                              "equation, stabilising it for dstar < 0", (0.0, 1.0)),
}
_XY = (
    StateVariable("x", "1", (0.4, 0.6), doc="fast variable (activity)"),
    StateVariable("y", "1", (-0.1, 0.1), doc="fast variable (recovery)"),
)


class EpileptorCodim3(Model):
    """Codimension-3 Epileptor (Saggio et al. 2017), TVB's defaults (class c2s)."""

    state_variables = _XY + (
        StateVariable("z", "rad", (0.0, 0.15), doc="slow variable: angle along the path"),
    )
    parameters = {
        **_point_parameters("start", "at the bursting offset (z = 0)",
                            (-0.02285, 0.3448, 0.2014)),
        **_point_parameters("stop", "at the bursting onset", (-0.07465, 0.3351, 0.2053)),
        **_FAST_SLOW,
        "c": Parameter(0.001, "rad/ms", "speed of the slow variable", (0.0, 0.01)),
        **_CONTROL,
    }
    derived = ("E0", "E1", "E2", "F0", "F1", "F2")
    coupling_variables = ("x",)
    variables_of_interest = ("x", "z")
    bold_variable = "x"
    dfun = staticmethod(_codim3_dfun)

    def set_params(self, **params: Any) -> EpileptorCodim3:
        _check_branch(type(self).__name__, params.get("N", 1.0))
        return super().set_params(**params)

    @classmethod
    def derive(cls, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """E, F of the path from the start to the stop point (TVB's derived parameters)."""
        _check_branch(cls.__name__, rows["N"])
        values = _unit_vectors(cls.__name__, ("*_start", "*_stop"), _point(rows, "start"),
                               _point(rows, "stop"))
        return dict(zip(cls.derived, values))


class EpileptorCodim3SlowMod(Model):
    """Codimension-3 Epileptor with ultra-slow drift of its burster class, TVB's defaults.

    Saggio et al. (2017), p. 21: the offset and onset points move along great circles.
    """

    state_variables = _XY + (
        StateVariable("z", "rad", (0.0, 0.1), doc="slow variable: angle along the path"),
        StateVariable("uA", "rad", (0.0, 0.0), doc="ultra-slow angle of the offset point A"),
        StateVariable("uB", "rad", (0.0, 0.0), doc="ultra-slow angle of the onset point B"),
    )
    parameters = {
        **_point_parameters("Ain", "at the initial offset point (uA = 0)",
                            (0.05494, 0.2731, 0.287)),
        **_point_parameters("Bin", "at the initial onset point (uB = 0)",
                            (-0.0461, 0.243, 0.3144)),
        **_point_parameters("Aend", "towards which the offset point moves",
                            (0.06485, 0.07337, -0.3878)),
        **_point_parameters("Bend", "towards which the onset point moves",
                            (0.03676, -0.02792, -0.3973)),
        **_FAST_SLOW,
        "c": Parameter(0.002, "rad/ms", "speed of the slow variable", (0.0, 0.01)),
        "cA": Parameter(0.0001, "rad/ms", "speed of the ultra-slow drift of the offset point",
                        (0.0, 0.001)),
        "cB": Parameter(0.00012, "rad/ms", "speed of the ultra-slow drift of the onset point",
                        (0.0, 0.001)),
        **_CONTROL,
    }
    derived = ("G0", "G1", "G2", "H0", "H1", "H2", "L0", "L1", "L2", "M0", "M1", "M2")
    coupling_variables = ("x",)
    variables_of_interest = ("x", "z")
    bold_variable = "x"
    dfun = staticmethod(_codim3_slowmod_dfun)

    def set_params(self, **params: Any) -> EpileptorCodim3SlowMod:
        _check_branch(type(self).__name__, params.get("N", 1.0))
        return super().set_params(**params)

    @classmethod
    def derive(cls, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """G, H (the offset point's circle) and L, M (the onset point's), TVB's derived
        parameters."""
        _check_branch(cls.__name__, rows["N"])
        gh = _unit_vectors(cls.__name__, ("*_Ain", "*_Aend"), _point(rows, "Ain"),
                           _point(rows, "Aend"))
        lm = _unit_vectors(cls.__name__, ("*_Bin", "*_Bend"), _point(rows, "Bin"),
                           _point(rows, "Bend"))
        return dict(zip(cls.derived, gh + lm))
