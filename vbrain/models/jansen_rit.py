r"""Jansen-Rit cortical column (Jansen & Rit 1995), TVB's ``JansenRit``, and its
predecessor by Zetterberg et al. (1978), TVB's ``ZetterbergJansen``.

Three populations (pyramidal cells, excitatory and inhibitory interneurons)
as second-order synaptic kernels:

.. math::

    \dot y_0 &= y_3, \qquad \dot y_1 = y_4, \qquad \dot y_2 = y_5 \\
    \dot y_3 &= A a\,\mathrm{S}(y_1 - y_2) - 2 a y_3 - a^2 y_0 \\
    \dot y_4 &= A a\,\big(\mu + \alpha_2 J\,\mathrm{S}(\alpha_1 J y_0) + c_0\big) - 2 a y_4 - a^2 y_1 \\
    \dot y_5 &= B b\,\alpha_4 J\,\mathrm{S}(\alpha_3 J y_0) - 2 b y_5 - b^2 y_2 \\
    \mathrm{S}(v) &= \frac{2\nu_{max}}{1 + \exp(r (v_0 - v))}

with :math:`\alpha_k` = ``a_k``. Time in ms, potentials :math:`y_{0..2}` in mV,
:math:`y_{3..5}` in mV/ms; firing rates (:math:`\nu_{max}`, :math:`\mu`,
:math:`p_{min}`, :math:`p_{max}`) in **kHz** (1/ms), as in TVB.

Coupling: TVB's ``cvar`` is (y1, y2), i.e. the coupling function sees
:math:`y_1 - y_2` (TVB's ``SigmoidalJansenRit`` takes ``x[0] - x[1]``); the
dfun reads only the first coupling row, :math:`c_0`, which enters the
excitatory-interneuron input to pyramidal cells (:math:`\dot y_4`).
``p_min`` and ``p_max`` do not enter the dfun (TVB parity; they bound a
stochastic input :math:`p(t)` that TVB leaves to the user). TVB's local-
coupling term is dropped.

BOLD: ``bold_variable`` is :math:`y_1`, the excitatory postsynaptic potential
on pyramidal cells (TVB's EEG signal is :math:`y_1 - y_2`, which is not a
single state variable; :math:`y_1` is the synaptic-input term that dominates it).

``ZetterbergJansen``: three populations (spiny stellate, pyramidal,
inhibitory) with second-order kernels of rates :math:`k_e, k_i`, gains
:math:`H_e, H_i`, extrinsic inputs :math:`U, P, Q` and the network input
:math:`u = \mathrm{S}(c_0)` (the coupling of :math:`v_6` through the sigmoid):

.. math::

    \ddot v_1 &= H_e k_e (\gamma_1 \mathrm{S}(v_2 - v_3) + \gamma_{1T}(U + u))
                 - 2 k_e \dot v_1 - k_e^2 v_1 \\
    \ddot v_2 &= H_e k_e (\gamma_2 \mathrm{S}(v_1) + \gamma_{2T}(P + u))
                 - 2 k_e \dot v_2 - k_e^2 v_2 \\
    \ddot v_3 &= H_i k_i \gamma_4 \mathrm{S}(v_4 - v_5) - 2 k_i \dot v_3 - k_i^2 v_3 \\
    \ddot v_4 &= H_e k_e (\gamma_3 \mathrm{S}(v_2 - v_3) + \gamma_{3T}(Q + u))
                 - 2 k_e \dot v_4 - k_e^2 v_4 \\
    \ddot v_5 &= H_i k_i \gamma_5 \mathrm{S}(v_4 - v_5) - 2 k_i \dot v_5 - k_e^2 v_5 \\
    \dot v_6 &= \dot v_2 - \dot v_3, \qquad \dot v_7 = \dot v_4 - \dot v_5

with :math:`\mathrm{S}(v) = 2 e_0 / (1 + \exp(\rho_1 (\rho_2 - v)))` and
:math:`y_k = \dot v_k`. The :math:`k_e^2` in the :math:`v_5` equation is TVB's
(kept for parity). Time in ms, potentials in mV, rates in kHz. Coupling:
TVB's ``cvar`` is :math:`v_6` (the pyramidal membrane potential).

References
----------
Zetterberg LH, Kristiansson L, Mossberg K (1978). Performance of a model for a
local neuron population. Biol Cybern 31:15-26.

Jansen BH, Rit VG (1995). Electroencephalogram and visual evoked potential
generation in a mathematical model of coupled cortical columns.
Biol Cybern 73:357-366.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp


@njit(cache=True)
def _jr_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    A, B, a, b, v0, nu_max, r, J = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k], p[7, k]
    a_1, a_2, a_3, a_4, mu = p[8, k], p[9, k], p[10, k], p[11, k], p[14, k]
    y0, y1, y2, y3, y4, y5 = x[0, k], x[1, k], x[2, k], x[3, k], x[4, k], x[5, k]
    s_pyr = 2.0 * nu_max / (1.0 + exp(r * (v0 - (y1 - y2))))
    s_exc = 2.0 * nu_max / (1.0 + exp(r * (v0 - a_1 * J * y0)))
    s_inh = 2.0 * nu_max / (1.0 + exp(r * (v0 - a_3 * J * y0)))
    dx[0, k] = y3
    dx[1, k] = y4
    dx[2, k] = y5
    dx[3, k] = A * a * s_pyr - 2.0 * a * y3 - a * a * y0
    dx[4, k] = A * a * (mu + a_2 * J * s_exc + c[0, k]) - 2.0 * a * y4 - a * a * y1
    dx[5, k] = B * b * (a_4 * J * s_inh) - 2.0 * b * y5 - b * b * y2


class JansenRit(Model):
    """Jansen-Rit neural mass with TVB's defaults (alpha-band regime)."""

    state_variables = (
        StateVariable("y0", "mV", (-1.0, 1.0), doc="PSP of pyramidal output onto interneurons"),
        StateVariable("y1", "mV", (-500.0, 500.0), doc="excitatory PSP onto pyramidal cells"),
        StateVariable("y2", "mV", (-50.0, 50.0), doc="inhibitory PSP onto pyramidal cells"),
        StateVariable("y3", "mV/ms", (-6.0, 6.0), doc="time derivative of y0"),
        StateVariable("y4", "mV/ms", (-20.0, 20.0), doc="time derivative of y1"),
        StateVariable("y5", "mV/ms", (-500.0, 500.0), doc="time derivative of y2"),
    )
    parameters = {
        "A": Parameter(3.25, "mV", "maximum EPSP amplitude", (2.6, 9.75)),
        "B": Parameter(22.0, "mV", "maximum IPSP amplitude", (17.6, 110.0)),
        "a": Parameter(0.1, "1/ms", "inverse excitatory synaptic time constant", (0.05, 0.15)),
        "b": Parameter(0.05, "1/ms", "inverse inhibitory synaptic time constant", (0.025, 0.075)),
        "v0": Parameter(5.52, "mV", "sigmoid threshold (50% firing)", (3.12, 6.0)),
        "nu_max": Parameter(0.0025, "kHz", "half the maximum firing rate of the sigmoid", (0.00125, 0.00375)),
        "r": Parameter(0.56, "1/mV", "sigmoid steepness", (0.28, 0.84)),
        "J": Parameter(135.0, "1", "average number of synapses between populations", (65.0, 1350.0)),
        "a_1": Parameter(1.0, "1", "connectivity fraction, pyramidal -> excitatory interneurons", (0.5, 1.5)),
        "a_2": Parameter(0.8, "1", "connectivity fraction, excitatory interneurons -> pyramidal", (0.4, 1.2)),
        "a_3": Parameter(0.25, "1", "connectivity fraction, pyramidal -> inhibitory interneurons", (0.125, 0.375)),
        "a_4": Parameter(0.25, "1", "connectivity fraction, inhibitory interneurons -> pyramidal", (0.125, 0.375)),
        "p_min": Parameter(0.12, "kHz", "minimum input firing rate (unused by dfun; TVB parity)", (0.0, 0.12)),
        "p_max": Parameter(0.32, "kHz", "maximum input firing rate (unused by dfun; TVB parity)", (0.0, 0.32)),
        "mu": Parameter(0.22, "kHz", "mean input firing rate", (0.0, 0.22)),
    }
    coupling_variables = ("y1", "y2")
    variables_of_interest = ("y0", "y1", "y2", "y3")
    bold_variable = "y1"
    eeg_signal = {"y1": 1.0, "y2": -1.0}  # pyramidal PSP y1 - y2 (mV), as Jansen & Rit 1995
    dfun = staticmethod(_jr_dfun)


@njit(inline="always")
def _zj_sigma(v, e0, rho_1, rho_2):  # pragma: no cover - compiled
    return 2.0 * e0 / (1.0 + exp(rho_1 * (rho_2 - v)))


@njit(cache=True)
def _zj_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    He, Hi, ke, ki, e0, rho_2, rho_1 = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k]
    g1, g2, g3, g4, g5 = p[7, k], p[8, k], p[9, k], p[10, k], p[11, k]
    g1T, g2T, g3T, P, U, Q = p[12, k], p[13, k], p[14, k], p[15, k], p[16, k], p[17, k]
    v1, y1, v2, y2, v3, y3 = x[0, k], x[1, k], x[2, k], x[3, k], x[4, k], x[5, k]
    v4, y4, v5, y5 = x[6, k], x[7, k], x[8, k], x[9, k]
    Heke, Hiki, keke, kiki = He * ke, Hi * ki, ke * ke, ki * ki
    u = _zj_sigma(c[0, k], e0, rho_1, rho_2)
    s_23 = _zj_sigma(v2 - v3, e0, rho_1, rho_2)
    s_45 = _zj_sigma(v4 - v5, e0, rho_1, rho_2)
    dx[0, k] = y1
    dx[1, k] = Heke * (g1 * s_23 + g1T * (U + u)) - 2.0 * ke * y1 - keke * v1
    dx[2, k] = y2
    dx[3, k] = (Heke * (g2 * _zj_sigma(v1, e0, rho_1, rho_2) + g2T * (P + u)) - 2.0 * ke * y2
                - keke * v2)
    dx[4, k] = y3
    dx[5, k] = Hiki * (g4 * s_45) - 2.0 * ki * y3 - kiki * v3
    dx[6, k] = y4
    dx[7, k] = Heke * (g3 * s_23 + g3T * (Q + u)) - 2.0 * ke * y4 - keke * v4
    dx[8, k] = y5
    dx[9, k] = Hiki * (g5 * s_45) - 2.0 * ki * y5 - keke * v5  # keke: TVB's
    dx[10, k] = y2 - y3
    dx[11, k] = y4 - y5


class ZetterbergJansen(Model):
    """Zetterberg-Jansen neural mass (12 variables) with TVB's defaults."""

    state_variables = (
        StateVariable("v1", "mV", (-100.0, 100.0), doc="spiny stellate membrane potential"),
        StateVariable("y1", "mV/ms", (-500.0, 500.0), doc="its derivative"),
        StateVariable("v2", "mV", (-100.0, 50.0), doc="excitatory PSP on pyramidal cells"),
        StateVariable("y2", "mV/ms", (-100.0, 6.0), doc="its derivative"),
        StateVariable("v3", "mV", (-100.0, 6.0), doc="inhibitory PSP on pyramidal cells"),
        StateVariable("y3", "mV/ms", (-100.0, 6.0), doc="its derivative"),
        StateVariable("v4", "mV", (-100.0, 20.0), doc="excitatory PSP on inhibitory cells"),
        StateVariable("y4", "mV/ms", (-100.0, 20.0), doc="its derivative"),
        StateVariable("v5", "mV", (-100.0, 20.0), doc="inhibitory PSP on inhibitory cells"),
        StateVariable("y5", "mV/ms", (-500.0, 500.0), doc="its derivative"),
        StateVariable("v6", "mV", (-100.0, 20.0), doc="pyramidal membrane potential v2 - v3"),
        StateVariable("v7", "mV", (-100.0, 20.0), doc="inhibitory membrane potential v4 - v5"),
    )
    parameters = {
        "He": Parameter(3.25, "mV", "maximum EPSP amplitude", (2.6, 9.75)),
        "Hi": Parameter(22.0, "mV", "maximum IPSP amplitude", (17.6, 110.0)),
        "ke": Parameter(0.1, "1/ms", "excitatory kernel rate", (0.05, 0.15)),
        "ki": Parameter(0.05, "1/ms", "inhibitory kernel rate", (0.025, 0.075)),
        "e0": Parameter(0.0025, "kHz", "half of the maximum firing rate", (0.00125, 0.00375)),
        "rho_2": Parameter(6.0, "mV", "firing threshold", (3.12, 10.0)),
        "rho_1": Parameter(0.56, "1/mV", "steepness of the sigmoid", (0.28, 0.84)),
        "gamma_1": Parameter(135.0, "1", "synapses pyramidal -> stellate", (65.0, 1350.0)),
        "gamma_2": Parameter(108.0, "1", "synapses stellate -> pyramidal", (0.0, 200.0)),
        "gamma_3": Parameter(33.75, "1", "synapses pyramidal -> interneurons", (0.0, 200.0)),
        "gamma_4": Parameter(33.75, "1", "synapses interneurons -> pyramidal", (0.0, 200.0)),
        "gamma_5": Parameter(15.0, "1", "synapses interneurons -> interneurons", (0.0, 100.0)),
        "gamma_1T": Parameter(1.0, "1", "extrinsic input gain to the stellate cells", (0.0, 1000.0)),
        "gamma_2T": Parameter(1.0, "1", "extrinsic input gain to the pyramidal cells",
                              (0.0, 1000.0)),
        "gamma_3T": Parameter(1.0, "1", "extrinsic input gain to the interneurons", (0.0, 1000.0)),
        "P": Parameter(0.12, "kHz", "extrinsic input rate to the pyramidal cells", (0.0, 0.35)),
        "U": Parameter(0.12, "kHz", "extrinsic input rate to the stellate cells", (0.0, 0.35)),
        "Q": Parameter(0.12, "kHz", "extrinsic input rate to the interneurons", (0.0, 0.35)),
    }
    coupling_variables = ("v6",)
    variables_of_interest = ("v6", "v7", "v2", "v3", "v4", "v5")
    bold_variable = "v6"
    dfun = staticmethod(_zj_dfun)
