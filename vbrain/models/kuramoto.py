r"""Kuramoto phase oscillator (Kuramoto 1975; Cabral et al. 2011), TVB's ``Kuramoto``.

.. math::

    \dot\theta = \omega + c_0

Time in ms; :math:`\theta` in rad, :math:`\omega` in rad/ms (TVB's default
:math:`\omega = 1` rad/ms is about 159 Hz; use e.g. ``2*pi*0.040`` for 40 Hz).

All the interaction lives in the coupling: the model adds the coupling input
as is. TVB pairs this model with its ``Kuramoto`` coupling function, whose
docstring reads :math:`\frac{a}{N} \sum_j w_{ij} \sin(\theta_j - \theta_i)`
but whose code (tvb-library 2.10, ``post``: ``a / gx.shape[0] * gx`` on a
(n_cvar, n_node, n_mode) array) divides by the number of coupling variables,
1, not by :math:`N`: TVB actually computes
:math:`c_{0,i} = a \sum_j w_{ij} \sin(\theta_j - \theta_i)` (checked on a
3-node network). A vbrain coupling reproducing TVB must not divide by
:math:`N` either (or users scale ``a`` by :math:`1/N` themselves). TVB's
local-coupling term :math:`\sin(\text{local\_coupling}\,\theta)` is dropped
(it is 0 without local coupling).

BOLD: ``bold_variable`` is :math:`\theta` because it must be a state
variable; a phase is a poor BOLD drive (:math:`\sin\theta` would be the
natural observable) and it grows without bound, so prefer another model or a
custom monitor for BOLD.

References
----------
Kuramoto Y (1975). Self-entrainment of a population of coupled non-linear
oscillators. Lecture Notes in Physics 39:420.

Cabral J, Hugues E, Sporns O, Deco G (2011). Role of local network
oscillations in resting-state functional connectivity. NeuroImage 57:130-139.
"""

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _kuramoto_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    dx[0, k] = p[0, k] + c[0, k]


class Kuramoto(Model):
    """Kuramoto phase oscillator with TVB's defaults."""

    state_variables = (
        StateVariable("theta", "rad", (0.0, 6.283185307179586), doc="phase"),
    )
    parameters = {
        "omega": Parameter(1.0, "rad/ms", "natural angular frequency", (0.01, 200.0)),
    }
    coupling_variables = ("theta",)
    variables_of_interest = ("theta",)
    bold_variable = "theta"
    dfun = staticmethod(_kuramoto_dfun)
