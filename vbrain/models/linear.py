r"""Linear model (TVB's ``Linear``): a single damped variable.

.. math:: \dot x = \gamma x + c_0

Time in ms, x dimensionless, :math:`\gamma` in 1/ms (negative for a stable
node). With additive noise of intensity D this is an Ornstein-Uhlenbeck
process whose stationary variance is :math:`D / |\gamma|`.
"""

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _linear_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    dx[0, k] = p[0, k] * x[0, k] + c[0, k]


class Linear(Model):
    """Linear damped node; the analytic reference for integrators and noise."""

    state_variables = (StateVariable("x", "1", (-1.0, 1.0), doc="activity"),)
    parameters = {
        "gamma": Parameter(-10.0, "1/ms", "damping rate (negative: stable)", (-100.0, 0.0)),
    }
    coupling_variables = ("x",)
    variables_of_interest = ("x",)
    bold_variable = "x"
    dfun = staticmethod(_linear_dfun)
