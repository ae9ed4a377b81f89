r"""Supercritical Hopf normal form (Stuart-Landau oscillator), TVB's ``SupHopf``.

.. math::

    \dot x &= (a - x^2 - y^2)\,x - \omega y + c_0 \\
    \dot y &= (a - x^2 - y^2)\,y + \omega x + c_1

For :math:`a < 0` the node has a stable focus (damped oscillations), for
:math:`a > 0` a limit cycle of radius :math:`\sqrt a`. Time in ms; ``a`` in
1/ms, ``omega`` in rad/ms; x and y are dimensionless.

Coupling: TVB's ``cvar`` is (x, y) and both coupling rows are used, one per
equation (with TVB's ``Difference`` coupling this is the diffusive coupling
:math:`G \sum_j w_{ij}(x_j - x_i)` of Deco et al. 2017). TVB's local-coupling
term is dropped.

References
----------
Kuznetsov YA (2013). Elements of applied bifurcation theory. Springer.

Deco G, Kringelbach ML, Jirsa VK, Ritter P (2017). The dynamics of resting
fluctuations in the brain: metastability and its dynamical cortical core.
Sci Rep 7:3095.
"""

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _suphopf_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    a, omega = p[0, k], p[1, k]
    X = x[0, k]
    Y = x[1, k]
    g = a - X * X - Y * Y
    dx[0, k] = g * X - omega * Y + c[0, k]
    dx[1, k] = g * Y + omega * X + c[1, k]


class SupHopf(Model):
    """Stuart-Landau (supercritical Hopf) oscillator with TVB's defaults."""

    state_variables = (
        StateVariable("x", "1", (-5.0, 5.0), doc="real part"),
        StateVariable("y", "1", (-5.0, 5.0), doc="imaginary part"),
    )
    parameters = {
        "a": Parameter(-0.5, "1/ms", "bifurcation parameter (Hopf at a = 0)", (-10.0, 10.0)),
        "omega": Parameter(1.0, "rad/ms", "angular frequency", (0.05, 630.0)),
    }
    coupling_variables = ("x", "y")
    variables_of_interest = ("x",)
    bold_variable = "x"
    dfun = staticmethod(_suphopf_dfun)
