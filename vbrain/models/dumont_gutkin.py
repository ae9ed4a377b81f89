r"""Excitatory-inhibitory QIF mean field with synaptic dynamics (Dumont & Gutkin 2019),
TVB's ``DumontGutkin``.

Two Montbrio-Pazo-Roxin populations, excitatory (e) and inhibitory (i), each
with a firing rate :math:`r` and mean potential :math:`V`, coupled by four
first-order synaptic variables :math:`s_{xy}` (onto x from y):

.. math::

    \dot r_x &= \frac{1}{\tau_x}\left(\frac{\Delta_x}{\pi\tau_x} + 2 V_x r_x\right) \\
    \dot V_x &= \frac{1}{\tau_x}\left(V_x^2 + \eta_x - \pi^2\tau_x^2 r_x^2
               + \tau_x s_{xe} - \tau_x s_{xi} + I_x\right) \\
    \dot s_{ee} &= (-s_{ee} + J_{ee} r_e + c_0) / \tau_s \qquad
    \dot s_{ei} = (-s_{ei} + J_{ei} r_i) / \tau_s \\
    \dot s_{ie} &= (-s_{ie} + J_{ie} r_e + \Gamma c_0) / \tau_s \qquad
    \dot s_{ii} = (-s_{ii} + J_{ii} r_i) / \tau_s

for x = e, i. Time in ms; rates in kHz; the rest dimensionless; :math:`r_e, r_i
\geq 0`. Coupling: TVB's ``cvar`` is (r_e, V_e, r_i, V_i); the network input
from the excitatory rates, :math:`c_0`, drives :math:`s_{ee}` and, scaled by
:math:`\Gamma`, :math:`s_{ie}`.

References
----------
Dumont G, Gutkin B (2019). Macroscopic phase resetting-curves determine
oscillatory coherence and signal transfer in inter-coupled neural circuits.
PLoS Comput Biol 15:e1007019.
"""

import math

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _dumont_gutkin_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    I_e, Delta_e, eta_e, tau_e = p[0, k], p[1, k], p[2, k], p[3, k]
    I_i, Delta_i, eta_i, tau_i = p[4, k], p[5, k], p[6, k], p[7, k]
    tau_s, J_ee, J_ei, J_ie, J_ii, Gamma = p[8, k], p[9, k], p[10, k], p[11, k], p[12, k], p[13, k]
    r_e, V_e, s_ee, s_ei = x[0, k], x[1, k], x[2, k], x[3, k]
    r_i, V_i, s_ie, s_ii = x[4, k], x[5, k], x[6, k], x[7, k]
    c0 = c[0, k]
    pi2 = math.pi * math.pi
    dx[0, k] = (Delta_e / (math.pi * tau_e) + 2.0 * V_e * r_e) / tau_e
    dx[1, k] = (V_e * V_e + eta_e - tau_e * tau_e * pi2 * r_e * r_e + tau_e * s_ee
                - tau_e * s_ei + I_e) / tau_e
    dx[2, k] = (-s_ee + J_ee * r_e + c0) / tau_s
    dx[3, k] = (-s_ei + J_ei * r_i) / tau_s
    dx[4, k] = (Delta_i / (math.pi * tau_i) + 2.0 * V_i * r_i) / tau_i
    dx[5, k] = (V_i * V_i + eta_i - tau_i * tau_i * pi2 * r_i * r_i + tau_i * s_ie
                - tau_i * s_ii + I_i) / tau_i
    dx[6, k] = (-s_ie + J_ie * r_e + Gamma * c0) / tau_s
    dx[7, k] = (-s_ii + J_ii * r_i) / tau_s


class DumontGutkin(Model):
    """Dumont-Gutkin E-I QIF mean field with synaptic dynamics, TVB's defaults."""

    state_variables = (
        StateVariable("r_e", "kHz", (0.0, 2.0), (0.0, None), doc="excitatory firing rate"),
        StateVariable("V_e", "1", (-2.0, 1.5), doc="excitatory mean membrane potential"),
        StateVariable("s_ee", "1", (-1.0, 1.0), doc="synaptic input onto e from e"),
        StateVariable("s_ei", "1", (-1.0, 1.0), doc="synaptic input onto e from i"),
        StateVariable("r_i", "kHz", (0.0, 2.0), (0.0, None), doc="inhibitory firing rate"),
        StateVariable("V_i", "1", (-2.0, 1.5), doc="inhibitory mean membrane potential"),
        StateVariable("s_ie", "1", (-1.0, 1.0), doc="synaptic input onto i from e"),
        StateVariable("s_ii", "1", (-1.0, 1.0), doc="synaptic input onto i from i"),
    )
    parameters = {
        "I_e": Parameter(0.0, "1", "external current to e", (-10.0, 10.0)),
        "Delta_e": Parameter(1.0, "1", "half-width of e's excitability distribution", (0.0, 10.0)),
        "eta_e": Parameter(-5.0, "1", "mean excitability of e", (-10.0, 10.0)),
        "tau_e": Parameter(10.0, "ms", "membrane time of e", (0.0, 15.0)),
        "I_i": Parameter(0.0, "1", "external current to i", (-10.0, 10.0)),
        "Delta_i": Parameter(1.0, "1", "half-width of i's excitability distribution", (0.0, 10.0)),
        "eta_i": Parameter(-5.0, "1", "mean excitability of i", (-10.0, 10.0)),
        "tau_i": Parameter(10.0, "ms", "membrane time of i", (0.0, 15.0)),
        "tau_s": Parameter(1.0, "ms", "synaptic time constant", (0.0, 15.0)),
        "J_ee": Parameter(0.0, "1", "synaptic weight e -> e", (-25.0, 25.0)),
        "J_ei": Parameter(10.0, "1", "synaptic weight i -> e", (-25.0, 25.0)),
        "J_ie": Parameter(0.0, "1", "synaptic weight e -> i", (-25.0, 25.0)),
        "J_ii": Parameter(15.0, "1", "synaptic weight i -> i", (-25.0, 25.0)),
        "Gamma": Parameter(5.0, "1", "ratio of the network input onto i to that onto e",
                           (0.0, 10.0)),
    }
    coupling_variables = ("r_e", "V_e", "r_i", "V_i")
    variables_of_interest = ("r_e", "V_e", "s_ee", "s_ei", "r_i", "V_i", "s_ie", "s_ii")
    bold_variable = "r_e"
    dfun = staticmethod(_dumont_gutkin_dfun)
