r"""Excitatory-inhibitory dynamic mean field (Deco et al. 2014), TVB's ``ReducedWongWangExcInh``.

Per region, an excitatory (NMDA gating :math:`S_e`) and an inhibitory
(GABA gating :math:`S_i`) pool:

.. math::

    I_e &= w_p J_N S_e - J_i S_i + W_e I_o + G J_N c_0 + I_{ext} \\
    I_i &= J_N S_e - S_i + W_i I_o + \lambda G J_N c_0 \\
    H_{e,i}(I) &= \frac{a_{e,i} I - b_{e,i}}{1 - \exp(-d_{e,i}(a_{e,i} I - b_{e,i}))} \\
    \dot S_e &= -\frac{S_e}{\tau_e} + (1 - S_e)\,\gamma_e H_e(I_e) \\
    \dot S_i &= -\frac{S_i}{\tau_i} + \gamma_i H_i(I_i)

Units as in TVB: time in ms, currents in nA, and here the rates
:math:`H_{e,i}` are in **Hz** (``a`` in 1/nC, ``b`` in Hz, ``d`` in s); the
kinetic factors :math:`\gamma_e = 0.641/1000` and :math:`\gamma_i = 1/1000`
carry the Hz -> 1/ms conversion. (Contrast :class:`ReducedWongWang`, whose
rate is in kHz.) :math:`S_e, S_i` are dimensionless and bounded to [0, 1].

The long-range coupling :math:`c_0` is the network input of :math:`S_e`
(e.g. a linear coupling ``a * W @ S_e``); the model multiplies it by its own
global scaling :math:`G` and :math:`J_N`, so the effective global coupling of
Deco et al. is ``G * a``. TVB's local-coupling term is dropped. Per-region
:math:`J_i` for feedback inhibition control come from
:func:`vbrain.models.fic.tune_fic`.

``DecoBalancedExcInh`` (Deco et al. 2021; TVB's ``DecoBalancedExcInh``) scales
both pools' transfer functions by a regional effective gain :math:`M_i` (e.g.
from transcriptional maps): :math:`H_{e,i} = x / (1 - \exp(-d_{e,i} x))` with
:math:`x = M_i (a_{e,i} I - b_{e,i})`; :math:`M_i = 1` is ``ReducedWongWangExcInh``.

References
----------
Deco G, Kringelbach ML, Arnatkeviciute A, Oldham S, Sabaroedin K, Rogasch NC,
Aquino KM, Fornito A (2021). Dynamical consequences of regional heterogeneity
in the brain's transcriptional landscape. Sci Adv 7:eabf4752.

Deco G, Ponce-Alvarez A, Hagmann P, Romani GL, Mantini D, Corbetta M (2014).
How local excitation-inhibition ratio impacts the whole brain dynamics.
J Neurosci 34(23):7886-7898.

Wong KF, Wang XJ (2006). A recurrent network mechanism of time integration in
perceptual decisions. J Neurosci 26(4):1314-1328.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .reduced_wong_wang import _ww_rate


@njit(inline="always")
def _rwwei(x, c, dx, k, a_e, b_e, d_e, gamma_e, tau_e, w_p, J_N, W_e, a_i, b_i, d_i, gamma_i,
           tau_i, J_i, W_i, I_o, I_ext, G, lamda, M_i):  # pragma: no cover - compiled
    """Both pools into dx[:, k], the transfer functions' argument scaled by the gain M_i."""
    S_e = x[0, k]
    S_i = x[1, k]
    net = G * J_N * c[0, k]
    I_e = w_p * J_N * S_e - J_i * S_i + W_e * I_o + net + I_ext
    I_i = J_N * S_e - S_i + W_i * I_o + lamda * net
    dx[0, k] = -S_e / tau_e + (1.0 - S_e) * _ww_rate((a_e * I_e - b_e) * M_i, d_e) * gamma_e
    dx[1, k] = -S_i / tau_i + _ww_rate((a_i * I_i - b_i) * M_i, d_i) * gamma_i


@njit(cache=True)
def _rwwei_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    # M_i = 1 (x * 1.0 is x exactly)
    _rwwei(x, c, dx, k, p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k], p[7, k],
           p[8, k], p[9, k], p[10, k], p[11, k], p[12, k], p[13, k], p[14, k], p[15, k],
           p[16, k], p[17, k], p[18, k], 1.0)


class ReducedWongWangExcInh(Model):
    """Deco et al. (2014) E-I dynamic mean field with TVB's defaults."""

    state_variables = (
        StateVariable("S_e", "1", (0.0, 1.0), (0.0, 1.0), doc="excitatory NMDA gating variable"),
        StateVariable("S_i", "1", (0.0, 1.0), (0.0, 1.0), doc="inhibitory GABA gating variable"),
    )
    parameters = {
        "a_e": Parameter(310.0, "1/nC", "excitatory input gain", (0.0, 500.0)),
        "b_e": Parameter(125.0, "Hz", "excitatory input shift", (0.0, 200.0)),
        "d_e": Parameter(0.160, "s", "excitatory transfer-function curvature", (0.0, 0.2)),
        "gamma_e": Parameter(0.641 / 1000, "1/(ms Hz)", "excitatory kinetic parameter", (0.0, 1.0 / 1000)),
        "tau_e": Parameter(100.0, "ms", "excitatory (NMDA) decay time constant", (50.0, 150.0)),
        "w_p": Parameter(1.4, "1", "excitatory recurrence weight", (0.0, 2.0)),
        "J_N": Parameter(0.15, "nA", "NMDA coupling strength", (0.001, 0.5)),
        "W_e": Parameter(1.0, "1", "scaling of the external input to the excitatory pool", (0.0, 2.0)),
        "a_i": Parameter(615.0, "1/nC", "inhibitory input gain", (0.0, 1000.0)),
        "b_i": Parameter(177.0, "Hz", "inhibitory input shift", (0.0, 200.0)),
        "d_i": Parameter(0.087, "s", "inhibitory transfer-function curvature", (0.0, 0.2)),
        "gamma_i": Parameter(1.0 / 1000, "1/(ms Hz)", "inhibitory kinetic parameter", (0.0, 2.0 / 1000)),
        "tau_i": Parameter(10.0, "ms", "inhibitory (GABA) decay time constant", (5.0, 100.0)),
        "J_i": Parameter(1.0, "nA", "local feedback inhibition (I -> E); see tune_fic", (0.001, 2.0)),
        "W_i": Parameter(0.7, "1", "scaling of the external input to the inhibitory pool", (0.0, 1.0)),
        "I_o": Parameter(0.382, "nA", "effective external input current", (0.0, 1.0)),
        "I_ext": Parameter(0.0, "nA", "external stimulus current to the excitatory pool", (0.0, 1.0)),
        "G": Parameter(2.0, "1", "global scaling of the network input", (0.0, 10.0)),
        "lamda": Parameter(0.0, "1", "fraction of the network input reaching the inhibitory pool", (0.0, 1.0)),
    }
    coupling_variables = ("S_e",)
    variables_of_interest = ("S_e", "S_i")
    bold_variable = "S_e"
    dfun = staticmethod(_rwwei_dfun)


@njit(cache=True)
def _deco_balanced_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    # M_i first, as in TVB; then ReducedWongWangExcInh's parameters, shifted by one
    _rwwei(x, c, dx, k, p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k], p[7, k], p[8, k],
           p[9, k], p[10, k], p[11, k], p[12, k], p[13, k], p[14, k], p[15, k], p[16, k],
           p[17, k], p[18, k], p[19, k], p[0, k])


class DecoBalancedExcInh(ReducedWongWangExcInh):
    """Deco et al. (2021) E-I mean field with a regional gain ``M_i``, TVB's defaults."""

    parameters = {
        "M_i": Parameter(1.0, "1", "effective gain of the region's transfer functions",
                         (1.0, 10.0)),
        **ReducedWongWangExcInh.parameters,
    }
    dfun = staticmethod(_deco_balanced_dfun)
