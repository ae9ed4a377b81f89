r"""QIF mean fields with adaptation (Gast, Schmidt & Knösche 2020), TVB's
``GastSchmidtKnosche_SD`` (synaptic depression) and ``GastSchmidtKnosche_SF``
(spike-frequency adaptation).

The Montbrio-Pazo-Roxin mean field (see ``MontbrioPazoRoxin``) with an
adaptation variable :math:`A` driven by the rate through a second-order
(alpha-kernel) filter, :math:`B` its derivative:

.. math::

    \dot r &= \frac{1}{\tau}\left(\frac{\Delta}{\pi\tau} + 2 V r\right) \\
    \dot V &= \frac{1}{\tau}\left(V^2 - \pi^2\tau^2 r^2 + \eta + I_{rec} + I
              + c_r\,c_0 + c_v\,c_1\right) \\
    \dot A &= B / \tau_A \\
    \dot B &= (\alpha r - A - 2 B) / \tau_A

with the recurrent input :math:`I_{rec} = J\tau r (1 - A)` for synaptic depression
(SD) and :math:`I_{rec} = J\tau r - A` for spike-frequency adaptation (SF).

Time in ms (``tau``, ``tau_A``); :math:`r` in kHz; the rest dimensionless;
:math:`r \geq 0`. Coupling: TVB's ``cvar`` is every state variable; the input
through :math:`r` (:math:`c_0`, weight ``cr``) and :math:`V` (:math:`c_1`,
weight ``cv``) enters :math:`\dot V`.

References
----------
Gast R, Schmidt H, Knösche TR (2020). A mean-field description of bursting
dynamics in spiking neural networks with short-term adaptation. Neural Comput
32:1615-1634.
"""

import math

from numba import njit

from .base import Model, Parameter, StateVariable


@njit(inline="always")
def _gsk(x, dx, k, c0, c1, tau, tau_A, alpha, I, Delta, J, eta, cr, cv,
         depression):  # pragma: no cover - compiled
    """Both variants into dx[:, k]; ``depression`` (a literal) picks the recurrent input."""
    r, V, A, B = x[0, k], x[1, k], x[2, k], x[3, k]
    rec = J * tau * r * (1.0 - A) if depression else J * tau * r - A
    dx[0, k] = (Delta / (math.pi * tau) + 2.0 * V * r) / tau
    dx[1, k] = (V * V - math.pi * math.pi * tau * tau * r * r + eta + rec + I
                + cr * c0 + cv * c1) / tau
    dx[2, k] = B / tau_A
    dx[3, k] = (-2.0 * B - A + alpha * r) / tau_A


@njit(cache=True)
def _gsk_sd_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    _gsk(x, dx, k, c[0, k], c[1, k], p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k],
         p[6, k], p[7, k], p[8, k], True)


@njit(cache=True)
def _gsk_sf_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    _gsk(x, dx, k, c[0, k], c[1, k], p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k],
         p[6, k], p[7, k], p[8, k], False)


def _parameters(alpha: float, alpha_range: tuple, eta: float) -> dict:
    return {
        "tau": Parameter(1.0, "ms", "characteristic (membrane) time", (0.0, 15.0)),
        "tau_A": Parameter(10.0, "ms", "adaptation time constant", (0.0, 15.0)),
        "alpha": Parameter(alpha, "1", "adaptation strength", alpha_range),
        "I": Parameter(0.0, "1", "external current", (-10.0, 10.0)),
        "Delta": Parameter(2.0, "1", "half-width of the excitability distribution", (0.0, 10.0)),
        "J": Parameter(21.2132, "1", "mean synaptic weight", (-25.0, 25.0)),
        "eta": Parameter(eta, "1", "mean excitability", (-10.0, 10.0)),
        "cr": Parameter(1.0, "1", "weight of the network input through r", (0.0, 1.0)),
        "cv": Parameter(0.0, "1", "weight of the network input through V", (0.0, 1.0)),
    }


class GastSchmidtKnosche_SD(Model):  # noqa: N801 - TVB's name
    """QIF mean field with synaptic depression (Gast et al. 2020), TVB's defaults."""

    state_variables = (
        StateVariable("r", "kHz", (0.0, 4.0), (0.0, None), doc="population firing rate"),
        StateVariable("V", "1", (-3.0, 0.3), doc="mean membrane potential"),
        StateVariable("A", "1", (0.0, 0.4), doc="synaptic depression"),
        StateVariable("B", "1", (-0.2, 0.3), doc="rate of change of A (times tau_A)"),
    )
    parameters = _parameters(alpha=0.5, alpha_range=(0.0, 1.0), eta=-6.0)
    coupling_variables = ("r", "V", "A", "B")
    variables_of_interest = ("r", "V")
    bold_variable = "r"
    dfun = staticmethod(_gsk_sd_dfun)


class GastSchmidtKnosche_SF(Model):  # noqa: N801 - TVB's name
    """QIF mean field with spike-frequency adaptation (Gast et al. 2020), TVB's defaults."""

    state_variables = (
        StateVariable("r", "kHz", (0.0, 2.0), (0.0, None), doc="population firing rate"),
        StateVariable("V", "1", (-2.0, 1.5), doc="mean membrane potential"),
        StateVariable("A", "1", (-1.0, 1.0), doc="spike-frequency adaptation current"),
        StateVariable("B", "1", (-1.0, 1.0), doc="rate of change of A (times tau_A)"),
    )
    parameters = _parameters(alpha=10.0, alpha_range=(0.0, 20.0), eta=1.0)
    coupling_variables = ("r", "V", "A", "B")
    variables_of_interest = ("r", "V")
    bold_variable = "r"
    dfun = staticmethod(_gsk_sf_dfun)
