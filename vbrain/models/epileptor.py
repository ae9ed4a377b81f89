r"""Epileptor (Jirsa et al. 2014), TVB's 6-variable ``Epileptor``, its 2-D reduction and
its resting-state extension.

.. math::

    \dot x_1 &= t_t\,\big(y_1 - z + I_{ext} + K_{vf} c_0 + f_1(x_1, x_2, z)\,x_1\big) \\
    \dot y_1 &= t_t\,(c - d x_1^2 - y_1) \\
    \dot z   &= t_t\,r\,\big(h(x_1, z) - z + K_s c_0\big) \\
    \dot x_2 &= t_t\,\big(-y_2 + x_2 - x_2^3 + I_{ext2} + b_b g - 0.3 (z - 3.5) + K_f c_1\big) \\
    \dot y_2 &= t_t\,\big(-y_2 + f_2(x_2)\big) / \tau \\
    \dot g   &= -0.01\,t_t\,(g - 0.1 x_1)

with the piecewise terms

.. math::

    f_1 &= \begin{cases} -a x_1^2 + b x_1 & x_1 < 0 \\
                         \mathrm{slope} - x_2 + 0.6 (z - 4)^2 & x_1 \ge 0 \end{cases} \qquad
    f_2 = \begin{cases} 0 & x_2 < -0.25 \\ a_a (x_2 + 0.25) & x_2 \ge -0.25 \end{cases} \\
    h &= \begin{cases} x_0 + 3 / (1 + e^{-(x_1 + 0.5)/0.1}) & \text{modification} \\
                       4 (x_1 - x_0) - 0.1 z^7 [z < 0] & \text{otherwise} \end{cases}

All variables and parameters are dimensionless; the model's time unit is
arbitrary and, as in TVB, integrated as ms (``tt`` rescales time, ``r`` is
the slow time scale :math:`1/\tau_0`). ``s`` (the "4" of :math:`h`) does not
enter TVB's dfun, which hard-codes 4; kept for parity. ``modification`` is a
boolean in TVB; here a float (0 = False).

Coupling: TVB's ``cvar`` is (x1, x2): :math:`c_0` comes from :math:`x_1`
(fast coupling ``Kvf`` and permittivity coupling ``Ks``, usually with TVB's
``Difference`` coupling) and :math:`c_1` from :math:`x_2` (``Kf``). TVB adds
local coupling to ``Iext``; dropped here.

Monitored signals: TVB's default ``variables_of_interest`` is
``("x2 - x1", "z")``, an expression; here ``("x1", "x2", "z")`` so that the
LFP-like :math:`x_2 - x_1` can be formed. ``bold_variable`` is :math:`x_1`
(the fast population; the LFP is :math:`x_2 - x_1`, not a state variable).

``Epileptor2D`` (Proix et al. 2014, 2017; TVB's ``Epileptor2D``) keeps the
slow time scale of population 1, as in the Virtual Epileptic Patient:

.. math::

    \dot x_1 &= t_t\,\big(c - z + I_{ext} + K_{vf} c_0 - f(x_1, z)\,x_1\big) \\
    \dot z   &= t_t\,r\,\big(h(x_1, z) - z + K_s c_0\big)

with :math:`f = a x_1^2 + (d - b) x_1` for :math:`x_1 < 0`, else
:math:`-\mathrm{slope} - 0.6 (z - 4)^2 + d x_1`, and :math:`h` as above.
Coupling: TVB's ``cvar`` is x1 alone.

``EpileptorRestingState`` (Courtiol et al. 2020; TVB's ``EpileptorRestingState``)
adds to the 6-variable Epileptor (without ``modification``: :math:`h` is the
linear form) a Generic2dOscillator near its Hopf bifurcation,
:math:`(x_{rs}, y_{rs})`, for the regional resting-state rhythm:

.. math::

    \dot x_{rs} &= d_{rs}\tau_{rs}\,(\alpha_{rs} y_{rs} - f_{rs} x_{rs}^3 + e_{rs} x_{rs}^2
                   + \gamma_{rs} I_{rs} + \gamma_{rs} K_{rs} c_2) \\
    \dot y_{rs} &= d_{rs}\,(a_{rs} + b_{rs} x_{rs} - \beta_{rs} y_{rs}) / \tau_{rs}

Coupling: TVB's ``cvar`` is (x1, x2, x_rs): :math:`c_0` (``Kvf``, ``Ks``),
:math:`c_1` (``Kf``) as in the Epileptor, :math:`c_2` (``K_rs``) into
:math:`x_{rs}`. TVB's default ``variables_of_interest`` is ``("x2 - x1", "z",
"x_rs")``; here ``("x1", "x2", "z", "x_rs")``. ``s`` and ``p`` do not enter
the dfun (TVB parity).

References
----------
Courtiol J, Guye M, Bartolomei F, Petkoski S, Jirsa VK (2020). Dynamical
mechanisms of interictal resting-state functional connectivity in epilepsy.
J Neurosci 40:5572-5588.

Jirsa VK, Stacey WC, Quilichini PP, Ivanov AI, Bernard C (2014). On the nature
of seizure dynamics. Brain 137:2210-2230.

Proix T, Bartolomei F, Chauvel P, Bernard C, Jirsa VK (2014). Permittivity
coupling across brain regions determines seizure recruitment in partial
epilepsy. J Neurosci 34:15009-15021.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp


@njit(inline="always")
def _epileptor6(x, dx, k, c0, c1, a, b, cc, d, r, x0, Iext, slope, Iext2, tau, aa, bb, Kvf, Kf,
                Ks, tt, modification):  # pragma: no cover - compiled
    """The six Epileptor equations into dx[0:6, k] (shared with EpileptorRestingState)."""
    x1, y1, z, x2, y2, g = x[0, k], x[1, k], x[2, k], x[3, k], x[4, k], x[5, k]
    # population 1
    if x1 < 0.0:
        f1 = -a * x1 * x1 + b * x1
    else:
        f1 = slope - x2 + 0.6 * (z - 4.0) * (z - 4.0)
    dx[0, k] = tt * (y1 - z + Iext + Kvf * c0 + f1 * x1)
    dx[1, k] = tt * (cc - d * x1 * x1 - y1)
    # energy (slow permittivity variable)
    if modification != 0.0:
        h = x0 + 3.0 / (1.0 + exp(-(x1 + 0.5) / 0.1))
    else:
        h = 4.0 * (x1 - x0)
        if z < 0.0:
            z2 = z * z
            h -= 0.1 * (z2 * z2 * z2 * z)  # z**7 would be a call per node: no SIMD
    dx[2, k] = tt * (r * (h - z + Ks * c0))
    # population 2
    dx[3, k] = tt * (-y2 + x2 - x2 * x2 * x2 + Iext2 + bb * g - 0.3 * (z - 3.5) + Kf * c1)
    f2 = 0.0 if x2 < -0.25 else aa * (x2 + 0.25)
    dx[4, k] = tt * ((-y2 + f2) / tau)
    # low-pass filter
    dx[5, k] = tt * (-0.01 * (g - 0.1 * x1))


@njit(cache=True)
def _epileptor_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    a, b, cc, d, r = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    x0, Iext, slope, Iext2, tau = p[6, k], p[7, k], p[8, k], p[9, k], p[10, k]
    aa, bb, Kvf, Kf, Ks, tt, modification = p[11, k], p[12, k], p[13, k], p[14, k], p[15, k], p[16, k], p[17, k]
    _epileptor6(x, dx, k, c[0, k], c[1, k], a, b, cc, d, r, x0, Iext, slope, Iext2, tau, aa, bb,
                Kvf, Kf, Ks, tt, modification)


class Epileptor(Model):
    """Epileptor (6 variables) with TVB's defaults (interictal, x0 = -1.6)."""

    state_variables = (
        StateVariable("x1", "1", (-2.0, 1.0), doc="fast population 1, membrane-potential-like"),
        StateVariable("y1", "1", (-20.0, 2.0), doc="fast population 1, recovery"),
        StateVariable("z", "1", (2.0, 5.0), doc="slow permittivity (energy) variable"),
        StateVariable("x2", "1", (-2.0, 0.0), doc="population 2 (spike-wave events)"),
        StateVariable("y2", "1", (0.0, 2.0), doc="population 2, recovery"),
        StateVariable("g", "1", (-1.0, 1.0), doc="low-pass filter of x1 coupling into population 2"),
    )
    parameters = {
        "a": Parameter(1.0, "1", "cubic coefficient in dx1/dt"),
        "b": Parameter(3.0, "1", "squared coefficient in dx1/dt"),
        "c": Parameter(1.0, "1", "additive coefficient in dy1/dt (y0 of Jirsa 2014)"),
        "d": Parameter(5.0, "1", "squared coefficient in dy1/dt"),
        "r": Parameter(0.00035, "1", "slow time scale of z (1/tau0 of Jirsa 2014)", (0.0, 0.001)),
        "s": Parameter(4.0, "1", "linear coefficient of z (unused by dfun, which uses 4; TVB parity)"),
        "x0": Parameter(-1.6, "1", "epileptogenicity", (-3.0, -1.0)),
        "Iext": Parameter(3.1, "1", "external input to population 1", (1.5, 5.0)),
        "slope": Parameter(0.0, "1", "linear coefficient in dx1/dt (x1 >= 0 branch)", (-16.0, 6.0)),
        "Iext2": Parameter(0.45, "1", "external input to population 2", (0.0, 1.0)),
        "tau": Parameter(10.0, "1", "time-scale factor of y2"),
        "aa": Parameter(6.0, "1", "linear coefficient in dy2/dt"),
        "bb": Parameter(2.0, "1", "weight of the low-pass filtered g in dx2/dt"),
        "Kvf": Parameter(0.0, "1", "very fast coupling scale (c0 into x1)", (0.0, 4.0)),
        "Kf": Parameter(0.0, "1", "fast coupling scale (c1 into x2)", (0.0, 4.0)),
        "Ks": Parameter(0.0, "1", "permittivity coupling scale (c0 into z)", (-4.0, 4.0)),
        "tt": Parameter(1.0, "1", "time scaling of the whole system", (0.001, 10.0)),
        "modification": Parameter(0.0, "bool", "nonzero: nonlinear (sigmoidal) influence of x1 on z", (0.0, 1.0)),
    }
    coupling_variables = ("x1", "x2")
    variables_of_interest = ("x1", "x2", "z")
    bold_variable = "x1"
    eeg_signal = {"x2": 1.0, "x1": -1.0}  # the LFP-like x2 - x1 (TVB's default voi)
    dfun = staticmethod(_epileptor_dfun)


@njit(cache=True)
def _epileptor2d_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    a, b, cc, d, r = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    x0, Iext, slope, Kvf, Ks, tt, modification = (p[5, k], p[6, k], p[7, k], p[8, k], p[9, k],
                                                   p[10, k], p[11, k])
    x1, z = x[0, k], x[1, k]
    c0 = c[0, k]
    if x1 < 0.0:
        f = a * x1 * x1 + (d - b) * x1
    else:
        f = -slope - 0.6 * (z - 4.0) * (z - 4.0) + d * x1
    dx[0, k] = tt * (cc - z + Iext + Kvf * c0 - f * x1)
    if modification != 0.0:
        h = x0 + 3.0 / (1.0 + exp(-(x1 + 0.5) / 0.1))
    else:
        h = 4.0 * (x1 - x0)
        if z < 0.0:
            z2 = z * z
            h -= 0.1 * (z2 * z2 * z2 * z)  # z**7 would be a call per node: no SIMD
    dx[1, k] = tt * (r * (h - z + Ks * c0))


class Epileptor2D(Model):
    """Two-dimensional Epileptor (x1, z) with TVB's defaults (interictal, x0 = -1.6)."""

    state_variables = (
        StateVariable("x1", "1", (-2.0, 1.0), doc="fast population, membrane-potential-like"),
        StateVariable("z", "1", (2.0, 5.0), doc="slow permittivity (energy) variable"),
    )
    parameters = {
        "a": Parameter(1.0, "1", "cubic coefficient in dx1/dt"),
        "b": Parameter(3.0, "1", "squared coefficient in dx1/dt"),
        "c": Parameter(1.0, "1", "additive coefficient (y0 of Jirsa 2014)"),
        "d": Parameter(5.0, "1", "squared coefficient of the fast recovery"),
        "r": Parameter(0.00035, "1", "slow time scale of z (1/tau0 of Jirsa 2014)", (0.0, 0.001)),
        "x0": Parameter(-1.6, "1", "epileptogenicity", (-3.0, -1.0)),
        "Iext": Parameter(3.1, "1", "external input", (1.5, 5.0)),
        "slope": Parameter(0.0, "1", "linear coefficient in dx1/dt (x1 >= 0 branch)", (-16.0, 6.0)),
        "Kvf": Parameter(0.0, "1", "very fast coupling scale (c0 into x1)", (0.0, 4.0)),
        "Ks": Parameter(0.0, "1", "permittivity coupling scale (c0 into z)", (-4.0, 4.0)),
        "tt": Parameter(1.0, "1", "time scaling of the whole system", (0.001, 1.0)),
        "modification": Parameter(0.0, "bool", "nonzero: nonlinear (sigmoidal) influence of x1 on z", (0.0, 1.0)),
    }
    coupling_variables = ("x1",)
    variables_of_interest = ("x1",)
    bold_variable = "x1"
    dfun = staticmethod(_epileptor2d_dfun)


@njit(cache=True)
def _epileptor_rs_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    a, b, cc, d, r = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    x0, Iext, slope, Iext2, tau = p[6, k], p[7, k], p[8, k], p[9, k], p[10, k]
    aa, bb, Kvf, Kf, Ks, tt = p[11, k], p[12, k], p[13, k], p[14, k], p[15, k], p[16, k]
    tau_rs, I_rs, a_rs, b_rs, d_rs = p[17, k], p[18, k], p[19, k], p[20, k], p[21, k]
    e_rs, f_rs, alpha_rs, beta_rs, gamma_rs, K_rs = (p[22, k], p[23, k], p[24, k], p[25, k],
                                                     p[26, k], p[27, k])
    _epileptor6(x, dx, k, c[0, k], c[1, k], a, b, cc, d, r, x0, Iext, slope, Iext2, tau, aa, bb,
                Kvf, Kf, Ks, tt, 0.0)  # TVB's resting-state Epileptor: no modification
    x_rs, y_rs = x[6, k], x[7, k]
    dx[6, k] = d_rs * tau_rs * (alpha_rs * y_rs - f_rs * x_rs * x_rs * x_rs + e_rs * x_rs * x_rs
                                + gamma_rs * I_rs + gamma_rs * K_rs * c[2, k])
    dx[7, k] = d_rs * (a_rs + b_rs * x_rs - beta_rs * y_rs) / tau_rs


class EpileptorRestingState(Model):
    """Epileptor with a resting-state oscillator (Courtiol et al. 2020), TVB's defaults."""

    state_variables = (
        StateVariable("x1", "1", (-1.8, -1.4), doc="fast population 1, membrane-potential-like"),
        StateVariable("y1", "1", (-15.0, -10.0), doc="fast population 1, recovery"),
        StateVariable("z", "1", (3.6, 4.0), doc="slow permittivity (energy) variable"),
        StateVariable("x2", "1", (-1.1, -0.9), doc="population 2 (spike-wave events)"),
        StateVariable("y2", "1", (0.001, 0.01), doc="population 2, recovery"),
        StateVariable("g", "1", (-1.0, 1.0), doc="low-pass filter of x1 coupling into population 2"),
        StateVariable("x_rs", "1", (-2.0, 4.0), doc="resting-state oscillator, fast variable"),
        StateVariable("y_rs", "1", (-6.0, 6.0), doc="resting-state oscillator, slow variable"),
    )
    parameters = {
        **{k: v for k, v in Epileptor.parameters.items() if k != "modification"},
        "tau_rs": Parameter(1.0, "1", "time scaling of the resting-state oscillator", (1.0, 5.0)),
        "I_rs": Parameter(0.0, "1", "external input to the resting-state oscillator", (-5.0, 5.0)),
        "a_rs": Parameter(-2.0, "1", "constant term of the y_rs nullcline", (-5.0, 5.0)),
        "b_rs": Parameter(-10.0, "1", "linear term of the y_rs nullcline", (-20.0, 15.0)),
        "d_rs": Parameter(0.02, "1", "rate constant of the resting-state oscillator",
                          (0.0001, 1.0)),
        "e_rs": Parameter(3.0, "1", "quadratic term of the x_rs nullcline", (-5.0, 5.0)),
        "f_rs": Parameter(1.0, "1", "cubic term of the x_rs nullcline", (-5.0, 5.0)),
        "alpha_rs": Parameter(1.0, "1", "y_rs into dx_rs/dt", (-5.0, 5.0)),
        "beta_rs": Parameter(1.0, "1", "y_rs decay in dy_rs/dt", (-5.0, 5.0)),
        "gamma_rs": Parameter(1.0, "1", "input scaling of the resting-state oscillator",
                              (-1.0, 1.0)),
        "K_rs": Parameter(1.0, "1", "coupling scale into x_rs (c2)", (0.0, 10.0)),
        "p": Parameter(0.0, "1", "linear coefficient (unused by dfun; TVB parity)", (-1.0, 1.0)),
    }
    coupling_variables = ("x1", "x2", "x_rs")
    variables_of_interest = ("x1", "x2", "z", "x_rs")
    bold_variable = "x1"
    eeg_signal = {"x2": 1.0, "x1": -1.0}  # the LFP-like x2 - x1
    dfun = staticmethod(_epileptor_rs_dfun)
