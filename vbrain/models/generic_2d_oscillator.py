r"""Generic 2D oscillator (Sanz-Leon et al. 2015), TVB's ``Generic2dOscillator``.

.. math::

    \dot V &= d\,\tau\,(\alpha W - f V^3 + e V^2 + g V + \gamma I + \gamma c_0) \\
    \dot W &= \frac{d}{\tau}\,(a + b V + c V^2 - \beta W)

Time in ms; V and W are dimensionless. The long-range coupling enters V.

References
----------
Sanz-Leon P, Knock SA, Spiegler A, Jirsa VK (2015). Mathematical framework for
large-scale brain network modeling in The Virtual Brain. NeuroImage 111:385-430.
"""

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _g2d_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    tau, I, a, b, cc, d, e, f, g = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k], p[7, k], p[8, k]
    alpha, beta, gamma = p[9, k], p[10, k], p[11, k]
    V = x[0, k]
    W = x[1, k]
    dx[0, k] = d * tau * (alpha * W - f * V * V * V + e * V * V + g * V + gamma * I + gamma * c[0, k])
    dx[1, k] = d * (a + b * V + cc * V * V - beta * W) / tau


class Generic2dOscillator(Model):
    """Generic 2D oscillator with TVB's defaults (a limit-cycle regime)."""

    state_variables = (
        StateVariable("V", "1", (-2.0, 4.0), doc="fast, voltage-like variable"),
        StateVariable("W", "1", (-6.0, 6.0), doc="slow recovery variable"),
    )
    parameters = {
        "tau": Parameter(1.0, "1", "time-scale hierarchy between V and W", (1.0, 5.0)),
        "I": Parameter(0.0, "1", "baseline input current", (-5.0, 5.0)),
        "a": Parameter(-2.0, "1", "constant term of the W nullcline", (-5.0, 5.0)),
        "b": Parameter(-10.0, "1", "linear term of the W nullcline", (-20.0, 15.0)),
        "c": Parameter(0.0, "1", "quadratic term of the W nullcline", (-10.0, 10.0)),
        "d": Parameter(0.02, "1/ms", "rate constant (time scale of the system)", (0.0001, 1.0)),
        "e": Parameter(3.0, "1", "quadratic term of the V nullcline", (-5.0, 5.0)),
        "f": Parameter(1.0, "1", "cubic term of the V nullcline", (-5.0, 5.0)),
        "g": Parameter(0.0, "1", "linear term of the V nullcline", (-5.0, 5.0)),
        "alpha": Parameter(1.0, "1", "weight of W in dV/dt", (-5.0, 5.0)),
        "beta": Parameter(1.0, "1", "weight of W in dW/dt", (-5.0, 5.0)),
        "gamma": Parameter(1.0, "1", "weight of the input (and coupling) in dV/dt", (-1.0, 1.0)),
    }
    coupling_variables = ("V",)
    variables_of_interest = ("V", "W")
    bold_variable = "V"
    dfun = staticmethod(_g2d_dfun)
