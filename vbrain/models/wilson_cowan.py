r"""Wilson-Cowan excitatory-inhibitory population model (1972), TVB's ``WilsonCowan``.

.. math::

    x_e &= \alpha_e (c_{ee} E - c_{ei} I + P - \theta_e + c_0) \\
    x_i &= \alpha_i (c_{ie} E - c_{ii} I + Q - \theta_i) \\
    \mathcal S_{e}(x) &= c_e \left(\frac{1}{1 + e^{-a_e (x - b_e)}}
                                   - \sigma \frac{1}{1 + e^{a_e b_e}}\right) \\
    \tau_e \dot E &= -E + (k_e - r_e E)\,\mathcal S_e(x_e) \\
    \tau_i \dot I &= -I + (k_i - r_i I)\,\mathcal S_i(x_i)

(:math:`\mathcal S_i` likewise with :math:`a_i, b_i, c_i`), where
:math:`\sigma = 1` when ``shift_sigmoid`` is nonzero (TVB's default: the
sigmoid is shifted so that :math:`\mathcal S(0) = 0`) and 0 otherwise.

Time in ms (``tau_e``, ``tau_i``); E, I and all other parameters are
dimensionless (fractions of active cells, normalized couplings and inputs).

Coupling: TVB's ``cvar`` is (E, I) but only the first coupling row
:math:`c_0` is used, in the excitatory input. TVB's local-coupling terms are
dropped. ``shift_sigmoid`` is a boolean in TVB; here a float (0 = False).

References
----------
Wilson HR, Cowan JD (1972). Excitatory and inhibitory interactions in localized
populations of model neurons. Biophys J 12:1-24.

Sanz-Leon P, Knock SA, Spiegler A, Jirsa VK (2015). Mathematical framework for
large-scale brain network modeling in The Virtual Brain. NeuroImage 111:385-430.
"""

from numba import njit

from .base import Model, Parameter, StateVariable
from .vmath import exp


@njit(cache=True)
def _wc_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    c_ee, c_ei, c_ie, c_ii, tau_e, tau_i = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k]
    a_e, b_e, c_e, theta_e = p[6, k], p[7, k], p[8, k], p[9, k]
    a_i, b_i, theta_i, c_i = p[10, k], p[11, k], p[12, k], p[13, k]
    r_e, r_i, k_e, k_i, P, Q = p[14, k], p[15, k], p[16, k], p[17, k], p[18, k], p[19, k]
    alpha_e, alpha_i, shift = p[20, k], p[21, k], p[22, k]
    E = x[0, k]
    I = x[1, k]
    x_e = alpha_e * (c_ee * E - c_ei * I + P - theta_e + c[0, k])
    x_i = alpha_i * (c_ie * E - c_ii * I + Q - theta_i)
    s_e = 1.0 / (1.0 + exp(-a_e * (x_e - b_e)))
    s_i = 1.0 / (1.0 + exp(-a_i * (x_i - b_i)))
    if shift != 0.0:
        s_e -= 1.0 / (1.0 + exp(a_e * b_e))
        s_i -= 1.0 / (1.0 + exp(a_i * b_i))
    dx[0, k] = (-E + (k_e - r_e * E) * c_e * s_e) / tau_e
    dx[1, k] = (-I + (k_i - r_i * I) * c_i * s_i) / tau_i


class WilsonCowan(Model):
    """Wilson-Cowan model with TVB's defaults."""

    state_variables = (
        StateVariable("E", "1", (0.0, 1.0), doc="fraction of active excitatory cells"),
        StateVariable("I", "1", (0.0, 1.0), doc="fraction of active inhibitory cells"),
    )
    parameters = {
        "c_ee": Parameter(12.0, "1", "E -> E coupling coefficient", (11.0, 16.0)),
        "c_ei": Parameter(4.0, "1", "I -> E coupling coefficient", (2.0, 15.0)),
        "c_ie": Parameter(13.0, "1", "E -> I coupling coefficient", (2.0, 22.0)),
        "c_ii": Parameter(11.0, "1", "I -> I coupling coefficient", (2.0, 15.0)),
        "tau_e": Parameter(10.0, "ms", "excitatory membrane time constant", (0.0, 150.0)),
        "tau_i": Parameter(10.0, "ms", "inhibitory membrane time constant", (0.0, 150.0)),
        "a_e": Parameter(1.2, "1", "slope of the excitatory sigmoid", (0.0, 1.4)),
        "b_e": Parameter(2.8, "1", "position of the maximum slope of the excitatory sigmoid", (1.4, 6.0)),
        "c_e": Parameter(1.0, "1", "amplitude of the excitatory sigmoid", (1.0, 20.0)),
        "theta_e": Parameter(0.0, "1", "excitatory threshold", (0.0, 60.0)),
        "a_i": Parameter(1.0, "1", "slope of the inhibitory sigmoid", (0.0, 2.0)),
        "b_i": Parameter(4.0, "1", "position of the maximum slope of the inhibitory sigmoid", (2.0, 6.0)),
        "theta_i": Parameter(0.0, "1", "inhibitory threshold", (0.0, 60.0)),
        "c_i": Parameter(1.0, "1", "amplitude of the inhibitory sigmoid", (1.0, 20.0)),
        "r_e": Parameter(1.0, "1", "excitatory refractory term", (0.5, 2.0)),
        "r_i": Parameter(1.0, "1", "inhibitory refractory term", (0.5, 2.0)),
        "k_e": Parameter(1.0, "1", "maximum of the excitatory response function", (0.5, 2.0)),
        "k_i": Parameter(1.0, "1", "maximum of the inhibitory response function", (0.0, 2.0)),
        "P": Parameter(0.0, "1", "external input to the excitatory population", (0.0, 20.0)),
        "Q": Parameter(0.0, "1", "external input to the inhibitory population", (0.0, 20.0)),
        "alpha_e": Parameter(1.0, "1", "gain of the excitatory input", (0.0, 20.0)),
        "alpha_i": Parameter(1.0, "1", "gain of the inhibitory input", (0.0, 20.0)),
        "shift_sigmoid": Parameter(1.0, "bool", "nonzero: shift the sigmoids so that S(0) = 0", (0.0, 1.0)),
    }
    coupling_variables = ("E", "I")
    variables_of_interest = ("E",)
    bold_variable = "E"
    dfun = staticmethod(_wc_dfun)
