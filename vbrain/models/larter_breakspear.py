r"""Larter-Breakspear neural mass (Breakspear et al. 2003), TVB's ``LarterBreakspear``.

.. math::

    m_{ion} &= \tfrac12\left(1 + \tanh\frac{V - T_{ion}}{\delta_{ion}}\right),
        \quad ion \in \{Ca, Na, K\} \\
    Q_V &= \tfrac12 Q_{V,max}\left(1 + \tanh\frac{V - V_T}{\delta_V}\right), \qquad
    Q_Z = \tfrac12 Q_{Z,max}\left(1 + \tanh\frac{Z - Z_T}{\delta_Z}\right) \\
    \dot V &= t_s\big[-\big(g_{Ca} + (1 - C) r_{NMDA} a_{ee} Q_V + C r_{NMDA} a_{ee} c_0\big)
                 m_{Ca} (V - V_{Ca}) \\
           &\qquad - g_K W (V - V_K) - g_L (V - V_L) \\
           &\qquad - \big(g_{Na} m_{Na} + (1 - C) a_{ee} Q_V + C a_{ee} c_0\big)(V - V_{Na})
             - a_{ie} Z Q_Z + a_{ne} I_{ext}\big] \\
    \dot W &= t_s\,\phi\,(m_K - W) / \tau_K \\
    \dot Z &= t_s\,b\,(a_{ni} I_{ext} + a_{ei} V Q_V)

All variables and parameters are normalized (dimensionless) as in
Breakspear et al. 2003, except time (ms: ``tau_K``, ``t_scale``) and the
maximal rates ``QV_max``, ``QZ_max`` (kHz in TVB's documentation).

Coupling: TVB's ``cvar`` is V and the dfun uses :math:`c_0` as the mean
firing rate :math:`\langle Q_V \rangle` of the other regions, so pair the
model with a coupling that maps V to a rate, e.g. TVB's ``HyperbolicTangent``
coupling :math:`a (1 + \tanh((b V - m)/\sigma))` with ``a = 0.5*QV_max``,
``b = 1``, ``m = VT``, ``sigma = d_V``, which gives :math:`Q_V` of the source
regions. ``C`` weighs network input against local recurrence. TVB's
local-coupling term is dropped.

References
----------
Larter R, Speelman B, Worth RM (1999). A coupled ordinary differential equation
lattice model for the simulation of epileptic seizures. Chaos 9(3):795.

Breakspear M, Terry JR, Friston KJ (2003). Modulation of excitatory synaptic
coupling facilitates synchronization and complex dynamics in a biophysical
model of neuronal dynamics. Network 14:703-732.

Honey CJ, Kotter R, Breakspear M, Sporns O (2007). Network structure of
cerebral cortex shapes functional connectivity on multiple time scales.
PNAS 104:10240-10245.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import tanh


@njit(cache=True)
def _lb_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    gCa, gK, gL, phi, gNa = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    TK, TCa, TNa, VCa, VK, VL, VNa = p[5, k], p[6, k], p[7, k], p[8, k], p[9, k], p[10, k], p[11, k]
    d_K, tau_K, d_Na, d_Ca = p[12, k], p[13, k], p[14, k], p[15, k]
    aei, aie, b, C, ane, ani, aee = p[16, k], p[17, k], p[18, k], p[19, k], p[20, k], p[21, k], p[22, k]
    Iext, rNMDA, VT, d_V, ZT, d_Z = p[23, k], p[24, k], p[25, k], p[26, k], p[27, k], p[28, k]
    QV_max, QZ_max, t_scale = p[29, k], p[30, k], p[31, k]
    V, W, Z = x[0, k], x[1, k], x[2, k]
    c0 = c[0, k]
    m_Ca = 0.5 * (1.0 + tanh((V - TCa) / d_Ca))
    m_Na = 0.5 * (1.0 + tanh((V - TNa) / d_Na))
    m_K = 0.5 * (1.0 + tanh((V - TK) / d_K))
    QV = 0.5 * QV_max * (1.0 + tanh((V - VT) / d_V))
    QZ = 0.5 * QZ_max * (1.0 + tanh((Z - ZT) / d_Z))
    dx[0, k] = t_scale * (
        -(gCa + (1.0 - C) * rNMDA * aee * QV + C * rNMDA * aee * c0) * m_Ca * (V - VCa)
        - gK * W * (V - VK)
        - gL * (V - VL)
        - (gNa * m_Na + (1.0 - C) * aee * QV + C * aee * c0) * (V - VNa)
        - aie * Z * QZ
        + ane * Iext
    )
    dx[1, k] = t_scale * phi * (m_K - W) / tau_K
    dx[2, k] = t_scale * b * (ani * Iext + aei * V * QV)


class LarterBreakspear(Model):
    """Larter-Breakspear model with TVB's defaults (Alstott et al. 2009)."""

    state_variables = (
        StateVariable("V", "1", (-1.5, 1.5), doc="mean membrane potential of pyramidal cells"),
        StateVariable("W", "1", (-1.5, 1.5), doc="fraction of open K channels"),
        StateVariable("Z", "1", (-1.5, 1.5), doc="mean membrane potential of inhibitory interneurons"),
    )
    parameters = {
        "gCa": Parameter(1.1, "1", "Ca channel conductance", (0.9, 1.5)),
        "gK": Parameter(2.0, "1", "K channel conductance", (1.95, 2.05)),
        "gL": Parameter(0.5, "1", "leak conductance", (0.45, 0.55)),
        "phi": Parameter(0.7, "1", "temperature scaling factor", (0.3, 0.9)),
        "gNa": Parameter(6.7, "1", "Na channel conductance", (0.0, 10.0)),
        "TK": Parameter(0.0, "1", "K channel threshold", (0.0, 0.0001)),
        "TCa": Parameter(-0.01, "1", "Ca channel threshold", (-0.02, -0.01)),
        "TNa": Parameter(0.3, "1", "Na channel threshold", (0.25, 0.3)),
        "VCa": Parameter(1.0, "1", "Ca Nernst potential", (0.9, 1.1)),
        "VK": Parameter(-0.7, "1", "K Nernst potential", (-0.8, 1.0)),
        "VL": Parameter(-0.5, "1", "leak Nernst potential", (-0.7, -0.4)),
        "VNa": Parameter(0.53, "1", "Na Nernst potential", (0.51, 0.55)),
        "d_K": Parameter(0.3, "1", "spread of the K channel threshold", (0.1, 0.4)),
        "tau_K": Parameter(1.0, "ms", "K relaxation time constant", (1.0, 10.0)),
        "d_Na": Parameter(0.15, "1", "spread of the Na channel threshold", (0.1, 0.2)),
        "d_Ca": Parameter(0.15, "1", "spread of the Ca channel threshold", (0.1, 0.2)),
        "aei": Parameter(2.0, "1", "excitatory -> inhibitory synaptic strength", (0.1, 2.0)),
        "aie": Parameter(2.0, "1", "inhibitory -> excitatory synaptic strength", (0.5, 2.0)),
        "b": Parameter(0.1, "1", "time-constant scaling of Z", (0.0001, 1.0)),
        "C": Parameter(0.1, "1", "weight of network vs local excitatory input", (0.0, 1.0)),
        "ane": Parameter(1.0, "1", "non-specific -> excitatory synaptic strength", (0.4, 1.0)),
        "ani": Parameter(0.4, "1", "non-specific -> inhibitory synaptic strength", (0.3, 0.5)),
        "aee": Parameter(0.4, "1", "excitatory -> excitatory synaptic strength", (0.0, 0.6)),
        "Iext": Parameter(0.3, "1", "subcortical (non-specific) input", (0.165, 0.3)),
        "rNMDA": Parameter(0.25, "1", "ratio of NMDA to AMPA receptors", (0.2, 0.3)),
        "VT": Parameter(0.0, "1", "excitatory firing threshold (mean)", (0.0, 0.7)),
        "d_V": Parameter(0.65, "1", "spread of the excitatory threshold", (0.49, 0.7)),
        "ZT": Parameter(0.0, "1", "inhibitory firing threshold (mean)", (0.0, 0.1)),
        "d_Z": Parameter(0.7, "1", "spread of the inhibitory threshold", (0.001, 0.75)),
        "QV_max": Parameter(1.0, "kHz", "maximal excitatory firing rate", (0.1, 1.0)),
        "QZ_max": Parameter(1.0, "kHz", "maximal inhibitory firing rate", (0.1, 1.0)),
        "t_scale": Parameter(1.0, "1", "time scale factor", (0.1, 1.0)),
    }
    coupling_variables = ("V",)
    variables_of_interest = ("V",)
    bold_variable = "V"
    dfun = staticmethod(_lb_dfun)
