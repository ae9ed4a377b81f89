r"""Montbrio-Pazo-Roxin QIF mean field (2015), TVB's ``MontbrioPazoRoxin``.

Exact (Ott-Antonsen) reduction of an infinite population of quadratic
integrate-and-fire neurons to a firing rate :math:`r` and a mean membrane
potential :math:`V`:

.. math::

    \dot r &= \frac{1}{\tau}\left(\frac{\Delta}{\pi\tau} + 2 V r\right) \\
    \dot V &= \frac{1}{\tau}\left(V^2 - \pi^2\tau^2 r^2 + \eta + J\tau r + I
              + c_r\,c_0 + c_v\,c_1\right)

Time in ms (``tau``); :math:`r` in kHz (1/ms) when ``tau`` is in ms; V and
the remaining parameters are in the model's normalized (dimensionless) units.
:math:`r` is bounded below by 0.

Coupling: TVB's ``cvar`` is (r, V); the network input through the rate
(:math:`c_0`, weight ``cr``) and through the potential (:math:`c_1`, weight
``cv``) both enter :math:`\dot V`, inside the :math:`1/\tau`. ``Gamma`` does
not enter the dfun (TVB parity).

References
----------
Montbrio E, Pazo D, Roxin A (2015). Macroscopic description for networks of
spiking neurons. Phys Rev X 5:021028.
"""

import math

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _mpr_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    tau, I, Delta, J, eta = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    cr, cv = p[6, k], p[7, k]
    r = x[0, k]
    V = x[1, k]
    dx[0, k] = (Delta / (math.pi * tau) + 2.0 * V * r) / tau
    dx[1, k] = (V * V - math.pi * math.pi * tau * tau * r * r + eta + J * tau * r + I
                + cr * c[0, k] + cv * c[1, k]) / tau


class MontbrioPazoRoxin(Model):
    """Montbrio-Pazo-Roxin QIF mean field with TVB's defaults."""

    state_variables = (
        StateVariable("r", "kHz", (0.0, 2.0), (0.0, None), doc="population firing rate"),
        StateVariable("V", "1", (-2.0, 1.5), doc="mean membrane potential"),
    )
    parameters = {
        "tau": Parameter(1.0, "ms", "characteristic (membrane) time", (0.001, 15.0)),
        "I": Parameter(0.0, "1", "external current", (-10.0, 10.0)),
        "Delta": Parameter(1.0, "1", "half-width of the excitability distribution", (0.0, 10.0)),
        "J": Parameter(15.0, "1", "mean synaptic weight", (-25.0, 25.0)),
        "eta": Parameter(-5.0, "1", "mean excitability", (-10.0, 10.0)),
        "Gamma": Parameter(
            0.0, "1", "half-width of the synaptic weight distribution (unused by dfun; TVB parity)",
            (0.0, 10.0),
        ),
        "cr": Parameter(1.0, "1", "weight of the network input through r", (0.0, 1.0)),
        "cv": Parameter(0.0, "1", "weight of the network input through V", (0.0, 1.0)),
    }
    coupling_variables = ("r", "V")
    stimulus_variables = ("V",)  # TVB's stvar: a stimulus is a current, it drives V
    variables_of_interest = ("r", "V")
    bold_variable = "r"
    dfun = staticmethod(_mpr_dfun)
