r"""Potassium ion-exchange mean field (Bandyopadhyay, Rabuffo et al. 2023), TVB's ``KIonEx``.

The mean field of all-to-all coupled Hodgkin-Huxley-type neurons whose
excitability follows slow intra- and extracellular potassium (Depannemaecker
et al. 2022): a firing-rate variable :math:`x` (the population rate is
:math:`r = R_- x / \pi`), the mean membrane potential :math:`V`, the potassium
gating :math:`n`, the intracellular potassium change :math:`\Delta K_i` and the
extracellular potassium buffered by the bath, :math:`K_g`. With
:math:`(R, c) = (R_-, c_-)` for :math:`V \le V^\star` and :math:`(R_+, c_+)`
above (two parabolas meeting at :math:`V^\star`):

.. math::

    \dot x &= \Delta + 2 R (V - c)\,x - J r x \\
    \dot V &= -\frac{1}{C_m}(I_{Na} + I_K + I_{Cl} + I_{pump}) - R x^2 + \eta
              + \frac{R_-}{\pi} c_0 (E - V) \\
    \dot n &= (n_\infty(V) - n) / \tau_n \\
    \dot{\Delta K_i} &= -\frac{\gamma}{\omega_i} (I_K - 2 I_{pump}) \\
    \dot K_g &= \epsilon\,(K_{bath} - K_o)

with the concentrations (:math:`\beta = \omega_i / \omega_o`)

.. math::

    K_i = K_{i0} + \Delta K_i, \quad Na_i = Na_{i0} - \Delta K_i, \quad
    Na_o = Na_{o0} + \beta \Delta K_i, \quad K_o = K_{o0} - \beta \Delta K_i + K_g

and the currents (Nernst factor 26.64 mV)

.. math::

    I_K &= (g_{Kl} + g_K n)(V - 26.64 \ln(K_o / K_i)) \\
    I_{Na} &= (g_{Nal} + g_{Na}\, m_\infty(V)\, h(n))(V - 26.64 \ln(Na_o / Na_i)) \\
    I_{Cl} &= g_{Cl} (V + 26.64 \ln(Cl_{o0} / Cl_{i0})) \\
    I_{pump} &= \rho\, \sigma\big((Na_i - C_{nap}) / \Delta C_{nap}\big)\,
                \sigma\big((K_o - C_{kp}) / \Delta C_{kp}\big)

where :math:`\sigma(u) = 1 / (1 + e^{-u})`, :math:`m_\infty(V) = \sigma((V - C_{mna}) /
\Delta C_{mna})`, :math:`n_\infty(V) = \sigma((V - C_{nk}) / \Delta C_{nk})` and
:math:`h(n) = 1.1 - \sigma(8 (n - 0.4))`. The constants are TVB's (those of
Depannemaecker et al. 2022): :math:`C_{nap} = 21`, :math:`\Delta C_{nap} = 2`,
:math:`C_{kp} = 5.5`, :math:`\Delta C_{kp} = 1` (mM); :math:`C_{mna} = -24`,
:math:`\Delta C_{mna} = 12`, :math:`C_{nk} = -19`, :math:`\Delta C_{nk} = 18` (mV);
:math:`g_{Cl} = 7.5`, :math:`g_{Na} = 40`, :math:`g_K = 22`, :math:`g_{Nal} = 0.02`,
:math:`g_{Kl} = 0.12` (nS); :math:`\rho = 250` (pA); :math:`\omega_i = 2160`,
:math:`\omega_o = 720` (um^3); :math:`Na_{i0} = 16`, :math:`Na_{o0} = 138`,
:math:`K_{i0} = 130`, :math:`K_{o0} = 4.8`, :math:`Cl_{i0} = 5`,
:math:`Cl_{o0} = 112` (mM).

Time in ms, potentials in mV, concentrations in mM (mol/m^3). As in TVB, the
currents' units are those of the single-neuron model (conductances in nS,
``Cm`` "nF") integrated with time in ms; the parameter units below are those
that make each equation consistent with V in mV and t in ms.

TVB parity (tvb-library 2.10 ``KIonEx.dfun``), where the code differs from its
docstring: the network input enters :math:`\dot V` as
:math:`(R_-/\pi)\, c_0 (E - V)` in both branches (always :math:`R_-`), and
there is no local :math:`J r (E - V)` term in :math:`\dot V`; the rate
:math:`r = R_- x / \pi` uses :math:`R_-` in both branches. Coupling: TVB's
``cvar`` is x; its ``stvar`` (the variable a stimulus drives) is V.
Bounds: x, n >= 0; V >= -500 mV; DKi, Kg >= -100 mM (TVB's).

References
----------
Bandyopadhyay A, Rabuffo G, Calabrese C, Gudibanda K, Depannemaecker D, Ivanov A,
et al. (2023). Mean-field approximation of network of biophysical neurons driven
by conductance-based ion exchange. bioRxiv, doi:10.1101/2021.10.29.466427.

Depannemaecker D, Ivanov A, Lillo D, Spek L, Bernard C, Jirsa V (2022). A unified
physiological framework of transitions between seizures, sustained ictal
activity and depolarization block at the single neuron level. J Comput Neurosci
50:33-49.
"""

import math

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp, log

# Depannemaecker et al. (2022) constants, as in TVB's KIonEx.dfun
_C_NAP, _DC_NAP = 21.0, 2.0  # mM: pump's Na_i half-activation, slope
_C_KP, _DC_KP = 5.5, 1.0  # mM: pump's K_o half-activation, slope
_C_MNA, _DC_MNA = -24.0, 12.0  # mV: m_inf half-activation, slope
_C_NK, _DC_NK = -19.0, 18.0  # mV: n_inf half-activation, slope
_G_CL, _G_NA, _G_K, _G_NAL, _G_KL = 7.5, 40.0, 22.0, 0.02, 0.12  # nS
_RHO = 250.0  # pA: maximal Na/K pump current
_W_I, _W_O = 2160.0, 720.0  # um^3: intra-, extracellular volume
_NA_I0, _NA_O0, _K_I0, _K_O0, _CL_I0, _CL_O0 = 16.0, 138.0, 130.0, 4.8, 5.0, 112.0  # mM
_NERNST = 26.64  # mV
_BETA = _W_I / _W_O


@njit(cache=True)
def _kionex_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    E, K_bath, J, eta, Delta = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    c_minus, R_minus, c_plus, R_plus, Vstar = p[5, k], p[6, k], p[7, k], p[8, k], p[9, k]
    Cm, tau_n, gamma, epsilon = p[10, k], p[11, k], p[12, k], p[13, k]
    X, V, n, DKi, Kg = x[0, k], x[1, k], x[2, k], x[3, k], x[4, k]
    # concentrations
    K_i = _K_I0 + DKi
    Na_i = _NA_I0 - DKi
    Na_o = _NA_O0 + _BETA * DKi
    K_o = _K_O0 - _BETA * DKi + Kg
    # currents
    m_inf = 1.0 / (1.0 + exp((_C_MNA - V) / _DC_MNA))
    n_inf = 1.0 / (1.0 + exp((_C_NK - V) / _DC_NK))
    h = 1.1 - 1.0 / (1.0 + exp(-8.0 * (n - 0.4)))
    I_K = (_G_KL + _G_K * n) * (V - _NERNST * log(K_o / K_i))
    I_Na = (_G_NAL + _G_NA * m_inf * h) * (V - _NERNST * log(Na_o / Na_i))
    I_Cl = _G_CL * (V + _NERNST * log(_CL_O0 / _CL_I0))
    I_pump = _RHO * (1.0 / (1.0 + exp((_C_NAP - Na_i) / _DC_NAP))) \
        * (1.0 / (1.0 + exp((_C_KP - K_o) / _DC_KP)))
    # the two parabolas of the QIF-like mean field
    if V <= Vstar:
        R, cc = R_minus, c_minus
    else:
        R, cc = R_plus, c_plus
    r = R_minus * X / math.pi
    dx[0, k] = Delta + 2.0 * R * (V - cc) * X - J * r * X
    dx[1, k] = ((-1.0 / Cm) * (I_Na + I_K + I_Cl + I_pump) - R * X * X + eta
                + (R_minus / math.pi) * c[0, k] * (E - V))
    dx[2, k] = (n_inf - n) / tau_n
    dx[3, k] = -(gamma / _W_I) * (I_K - 2.0 * I_pump)
    dx[4, k] = epsilon * (K_bath - K_o)


class KIonEx(Model):
    """Potassium ion-exchange mean field (TVB's ``KIonEx``), TVB's defaults."""

    state_variables = (
        StateVariable("x", "mV", (0.0, 1.0), (0.0, None),
                      doc="firing-rate variable (rate r = R_minus x / pi)"),
        StateVariable("V", "mV", (-90.0, 10.0), (-500.0, None), doc="mean membrane potential"),
        StateVariable("n", "1", (0.0, 1.0), (0.0, None), doc="potassium gating variable"),
        StateVariable("DKi", "mM", (-10.0, 0.0), (-100.0, None),
                      doc="change of intracellular potassium concentration"),
        StateVariable("Kg", "mM", (-20.0, -5.0), (-100.0, None),
                      doc="extracellular potassium buffered by the bath"),
    )
    parameters = {
        "E": Parameter(0.0, "mV", "synaptic reversal potential", (-80.0, 0.0)),
        "K_bath": Parameter(5.5, "mM", "potassium concentration of the bath", (3.0, 40.0)),
        "J": Parameter(0.1, "1", "mean synaptic weight", (0.001, 40.0)),
        "eta": Parameter(0.0, "mV/ms", "mean of the heterogeneous input", (-10.0, 10.0)),
        "Delta": Parameter(1.0, "mV/ms", "half-width (HWHM) of the heterogeneous input",
                           (0.0, 10.0)),
        "c_minus": Parameter(-40.0, "mV", "centre of the left parabola", (-100.0, -10.0)),
        "R_minus": Parameter(0.5, "1/(mV ms)", "curvature of the left parabola", (0.0001, 5.0)),
        "c_plus": Parameter(-20.0, "mV", "centre of the right parabola", (-80.0, 0.0)),
        "R_plus": Parameter(-0.5, "1/(mV ms)", "curvature of the right parabola",
                            (-5.0, -0.0001)),
        "Vstar": Parameter(-31.0, "mV", "potential where the two parabolas meet",
                           (-55.0, -15.0)),
        "Cm": Parameter(1.0, "nF", "membrane capacitance", (0.5, 1.5)),
        "tau_n": Parameter(4.0, "ms", "time constant of the gating variable n", (2.0, 6.0)),
        "gamma": Parameter(0.04, "mol/C", "current to concentration conversion factor",
                           (0.02, 0.06)),
        "epsilon": Parameter(0.001, "1/ms", "potassium diffusion rate to the bath",
                             (0.0005, 0.0015)),
    }
    coupling_variables = ("x",)
    stimulus_variables = ("V",)  # TVB's stvar
    variables_of_interest = ("x", "V", "n", "DKi", "Kg")
    bold_variable = "x"
    dfun = staticmethod(_kionex_dfun)
