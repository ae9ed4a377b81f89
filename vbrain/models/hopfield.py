r"""Continuous Hopfield network node (Hopfield 1984) with the static or dynamic threshold
of Golos, Jirsa & Daucé (2015), TVB's ``Hopfield``.

Static threshold (TVB's default, ``dynamic = 0``; class :class:`Hopfield`):

.. math::

    \dot x = (-x + c_0) / \tau_x, \qquad \dot\theta = \dot x

Dynamic threshold (``dynamic = 1``; class :class:`HopfieldDynamic`):

.. math::

    \dot x = (-x + c_0) / \tau_x, \qquad \dot\theta = (-\theta + c_1) / \tau_\theta

Time in ms (``taux``, ``tauT``); x and theta are dimensionless. All the
nonlinearity lives in the coupling: with TVB's ``PreSigmoidal`` coupling
(:class:`vbrain.coupling.PreSigmoidal`) :math:`c_0` is the weighted sum of the
sources' sigmoid outputs :math:`H (Q + \tanh(G (P x_j - \theta_j)))` and, in the
dynamic mode, :math:`c_1` the node's own output, so that theta tracks it.

How this maps to TVB 2.10 (``tvb.simulator.models.hopfield.Hopfield``):

- Parameters ``taux``, ``tauT``, ``dynamic``, state variables (x, theta), their
  ranges and TVB's ``variables_of_interest`` (x) are TVB's. TVB's ``dynamic`` is
  an integer flag; here a float (0 = static, anything else = dynamic).
- TVB's ``configure()`` switches on ``dynamic``: static keeps ``cvar = [0]``
  (x) and ``dfun``; dynamic sets ``cvar = [0, 1]`` (x, theta) and ``dfunDyn``.
  vbrain's coupling variables belong to the class, so the two modes are two
  classes: :class:`Hopfield` (cvar x; ``dynamic`` must stay 0, anything else
  raises a ValueError pointing here) and :class:`HopfieldDynamic` (cvar x and
  theta; ``dynamic`` defaults to 1; with ``dynamic = 0`` it runs the static
  equations and ignores :math:`c_1`). A stimulus drives x in both (TVB's
  ``stvar`` stays [0] after ``configure()``).
- Static mode: TVB's ``dfun`` returns the x derivative in both rows (a
  phase-plane display hack, commented in TVB's source), so theta is not a
  threshold there: it moves with x, :math:`\theta(t) - x(t)` is constant. This
  is reproduced for parity (TVB's numbers, also in simulations).

References
----------
Hopfield JJ (1984). Neurons with graded response have collective computational
properties like those of two-state neurons. PNAS 81:3088-3092.

Golos M, Jirsa V, Daucé E (2015). Multistability in large scale models of brain
activity. PLoS Comput Biol 11:e1004644.
"""

from typing import Any

import numpy as np
from numba import njit

from .base import Model, Parameter, StateVariable


@njit(cache=True)
def _hopfield_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    taux = p[0, k]
    dxdt = (-x[0, k] + c[0, k]) / taux
    dx[0, k] = dxdt
    dx[1, k] = dxdt  # TVB's static dfun returns the x derivative twice


@njit(cache=True)
def _hopfield_dynamic_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    taux, tauT, dynamic = p[0, k], p[1, k], p[2, k]
    dxdt = (-x[0, k] + c[0, k]) / taux
    dx[0, k] = dxdt
    if dynamic != 0.0:
        dx[1, k] = (-x[1, k] + c[1, k]) / tauT
    else:
        dx[1, k] = dxdt


class Hopfield(Model):
    """Hopfield node with a static threshold (TVB's ``Hopfield`` with ``dynamic = 0``)."""

    state_variables = (
        StateVariable("x", "1", (-1.0, 2.0), doc="activity (membrane-potential-like)"),
        StateVariable("theta", "1", (0.0, 1.0),
                      doc="threshold (static mode: follows x, as in TVB)"),
    )
    parameters = {
        "taux": Parameter(1.0, "ms", "fast time scale of x", (0.01, 100.0)),
        "tauT": Parameter(5.0, "ms", "slow time scale of the threshold theta", (0.01, 100.0)),
        "dynamic": Parameter(0.0, "1", "threshold mode: 0 static, 1 dynamic (HopfieldDynamic)",
                             (0.0, 1.0)),
    }
    coupling_variables = ("x",)
    variables_of_interest = ("x",)
    bold_variable = "x"
    dfun = staticmethod(_hopfield_dfun)

    def set_params(self, **params: Any) -> "Hopfield":
        """As :meth:`Parameterised.set_params`; ``dynamic`` must stay 0 (HopfieldDynamic)."""
        if "dynamic" in params and np.any(np.asarray(params["dynamic"], dtype=float) != 0.0):
            raise ValueError(
                f"Hopfield(dynamic={params['dynamic']!r}): the dynamic threshold needs theta as "
                "a second coupling variable (TVB's configure() sets cvar = [0, 1]); use "
                "vbrain.models.HopfieldDynamic, whose coupling variables are (x, theta).")
        super().set_params(**params)
        return self


class HopfieldDynamic(Hopfield):
    """Hopfield node with a dynamic threshold (TVB's ``Hopfield`` with ``dynamic = 1``)."""

    parameters = {
        **Hopfield.parameters,
        "dynamic": Parameter(1.0, "1", "threshold mode: 1 dynamic, 0 static (c_1 unused)",
                             (0.0, 1.0)),
    }
    coupling_variables = ("x", "theta")
    stimulus_variables = ("x",)  # TVB's stvar stays [0] when configure() adds theta to cvar
    dfun = staticmethod(_hopfield_dynamic_dfun)

    def set_params(self, **params: Any) -> "HopfieldDynamic":
        """As :meth:`Parameterised.set_params`; ``dynamic`` is free here."""
        super(Hopfield, self).set_params(**params)
        return self
