r"""Reduced Wong-Wang model (Wong & Wang 2006; Deco et al. 2013), TVB's ``ReducedWongWang``.

One NMDA gating variable :math:`S` per region:

.. math::

    x &= w J_N S + I_o + J_N c_0 \\
    H(x) &= \frac{a x - b}{1 - \exp(-d\,(a x - b))} \\
    \dot S &= -\frac{S}{\tau_s} + (1 - S)\,\gamma\,H(x)

Units as in TVB: time in ms, currents in nA, and the population rate
:math:`H` in **kHz** (``a`` in 1/nC, ``b`` in kHz, ``d`` in ms), so that
:math:`\gamma H` is per ms. :math:`S` is dimensionless and bounded to [0, 1].

The long-range coupling :math:`c_0` (e.g. a linear coupling of :math:`S`)
enters the input current scaled by :math:`J_N`. TVB's local-coupling term is
dropped (equivalent to ``local_coupling=0``). ``sigma_noise`` does not enter
the dynamics; it is kept for parity with TVB (noise is set on the integrator).

Near the removable singularity of :math:`H` at :math:`a x = b` (where TVB
returns NaN or loses digits), :math:`|d(ax - b)| < 10^{-4}`, :math:`H` is
evaluated by its Taylor series :math:`(1 + u/2 + u^2/12)/d`, :math:`u = d(ax-b)`.

References
----------
Wong KF, Wang XJ (2006). A recurrent network mechanism of time integration in
perceptual decisions. J Neurosci 26(4):1314-1328.

Deco G, Ponce-Alvarez A, Mantini D, Romani GL, Hagmann P, Corbetta M (2013).
Resting-state functional connectivity emerges from structurally and
dynamically shaped slow linear fluctuations. J Neurosci 32(27):11239-11252.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp


@njit(inline="always", error_model="numpy")
def _ww_rate(y, d):  # pragma: no cover - compiled
    """Wong-Wang transfer function y / (1 - exp(-d y)), continuous at y = 0.

    Inlined and branch-free (both forms computed, one selected) so that the
    engine's loop over nodes vectorises.
    """
    u = d * y
    rate = y / (1.0 - exp(-u))
    if abs(u) < 1e-4:  # series around the removable singularity (error < 1e-18)
        rate = (1.0 + u * (0.5 + u / 12.0)) / d
    return rate


@njit(cache=True)
def _rww_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    a, b, d, gamma, tau_s, w, J_N, I_o = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k], p[7, k]
    S = x[0, k]
    I = w * J_N * S + I_o + J_N * c[0, k]
    H = _ww_rate(a * I - b, d)
    dx[0, k] = -S / tau_s + (1.0 - S) * H * gamma


class ReducedWongWang(Model):
    """Reduced Wong-Wang model with TVB's defaults (Deco et al. 2013)."""

    state_variables = (
        StateVariable("S", "1", (0.0, 1.0), (0.0, 1.0), doc="NMDA synaptic gating variable"),
    )
    parameters = {
        "a": Parameter(0.270, "1/nC", "input gain of the transfer function", (0.0, 0.270)),
        "b": Parameter(0.108, "kHz", "input shift of the transfer function", (0.0, 1.0)),
        "d": Parameter(154.0, "ms", "curvature of the transfer function", (0.0, 200.0)),
        "gamma": Parameter(0.641, "1", "kinetic parameter (rate in kHz -> dS/dt per ms)", (0.0, 1.0)),
        "tau_s": Parameter(100.0, "ms", "NMDA decay time constant", (50.0, 150.0)),
        "w": Parameter(0.6, "1", "excitatory recurrence weight", (0.0, 1.0)),
        "J_N": Parameter(0.2609, "nA", "NMDA coupling (scales recurrence and network input)", (0.2609, 0.5)),
        "I_o": Parameter(0.33, "nA", "effective external input current", (0.0, 1.0)),
        "sigma_noise": Parameter(1e-9, "nA", "noise amplitude (unused by dfun; TVB parity)", (0.0, 0.005)),
    }
    coupling_variables = ("S",)
    variables_of_interest = ("S",)
    bold_variable = "S"
    dfun = staticmethod(_rww_dfun)
