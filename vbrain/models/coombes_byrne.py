r"""QIF mean fields with conductance-based synapses (Coombes & Byrne 2019), TVB's
``CoombesByrne`` (4 variables) and ``CoombesByrne2D``.

The Ott-Antonsen reduction of quadratic integrate-and-fire neurons with a
synaptic conductance :math:`g` and reversal potential :math:`v_{syn}`: a firing
rate :math:`r` and a mean membrane potential :math:`V`,

.. math::

    \dot r &= \Delta/\pi + 2 V r - g r \\
    \dot V &= V^2 - \pi^2 r^2 + \eta + (v_{syn} - V)\, g + c_0

with, in ``CoombesByrne``, second-order synaptic dynamics (rate :math:`\alpha`)

.. math::

    \dot g &= \alpha q \\
    \dot q &= \alpha\,(\kappa \pi r - g - 2 q)

and, in ``CoombesByrne2D``, the instantaneous conductance :math:`g = \kappa\pi r`
(so :math:`\dot r = \Delta/\pi + 2 V r - \kappa\pi r^2`).

Dimensionless (time in the model's unit, integrated as ms as in TVB);
:math:`r \geq 0`. Coupling: TVB's ``cvar`` is every state variable, but only
:math:`c_0`, from :math:`r`, enters (into :math:`\dot V`).

References
----------
Coombes S, Byrne A (2019). Next generation neural mass models. In: Nonlinear
Dynamics in Computational Neuroscience, Springer, 1-16.
"""

import math

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _cb_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    Delta, alpha, v_syn, kappa, eta = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    r, V, g, q = x[0, k], x[1, k], x[2, k], x[3, k]
    dx[0, k] = Delta / math.pi + 2.0 * V * r - g * r
    dx[1, k] = V * V - math.pi * math.pi * r * r + eta + (v_syn - V) * g + c[0, k]
    dx[2, k] = alpha * q
    dx[3, k] = alpha * (kappa * math.pi * r - g - 2.0 * q)


@njit(cache=True)
def _cb2d_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    Delta, v_syn, kappa, eta = p[0, k], p[1, k], p[2, k], p[3, k]
    r, V = x[0, k], x[1, k]
    dx[0, k] = Delta / math.pi + 2.0 * V * r - kappa * math.pi * r * r
    dx[1, k] = (V * V - math.pi * math.pi * r * r + eta + (v_syn - V) * kappa * math.pi * r
                + c[0, k])


class CoombesByrne(Model):
    """Coombes-Byrne QIF mean field with second-order synapses, TVB's defaults."""

    state_variables = (
        StateVariable("r", "1", (0.0, 6.0), (0.0, None), doc="population firing rate"),
        StateVariable("V", "1", (-10.0, 10.0), doc="mean membrane potential"),
        StateVariable("g", "1", (1.0, 2.0), doc="synaptic conductance"),
        StateVariable("q", "1", (-0.5, 0.7), doc="rate of change of the conductance (g' / alpha)"),
    )
    parameters = {
        "Delta": Parameter(0.5, "1", "half-width of the excitability distribution", (0.0, 10.0)),
        "alpha": Parameter(0.95, "1", "rate of the synaptic dynamics", (0.0, 10.0)),
        "v_syn": Parameter(-10.0, "1", "synaptic reversal potential", (-20.0, 0.0)),
        "k": Parameter(1.0, "1", "local coupling strength kappa", (0.0, 5.0)),
        "eta": Parameter(20.0, "1", "mean excitability", (-10.0, 10.0)),
    }
    coupling_variables = ("r", "V", "g", "q")
    variables_of_interest = ("r", "V")
    bold_variable = "r"
    dfun = staticmethod(_cb_dfun)


class CoombesByrne2D(Model):
    """Coombes-Byrne QIF mean field with instantaneous synapses, TVB's defaults."""

    state_variables = (
        StateVariable("r", "1", (0.0, 2.0), (0.0, None), doc="population firing rate"),
        StateVariable("V", "1", (-2.0, 1.5), doc="mean membrane potential"),
    )
    parameters = {
        "Delta": Parameter(1.0, "1", "half-width of the excitability distribution", (0.0, 10.0)),
        "v_syn": Parameter(-4.0, "1", "synaptic reversal potential", (-20.0, 0.0)),
        "k": Parameter(1.0, "1", "local coupling strength kappa", (0.0, 5.0)),
        "eta": Parameter(2.0, "1", "mean excitability", (-10.0, 10.0)),
    }
    coupling_variables = ("r", "V")
    variables_of_interest = ("r", "V")
    bold_variable = "r"
    dfun = staticmethod(_cb2d_dfun)
