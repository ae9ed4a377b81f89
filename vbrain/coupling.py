r"""Long-range coupling functions, with TVB's names, parameters and semantics.

For target region :math:`i` the coupling input to the model is

.. math::

    c_i = \mathrm{post}\Big(\sum_j w_{ij}\, \mathrm{pre}\big(x_i(t), x_j(t - \tau_{ij})\big)\Big)

where :math:`x` are the model's coupling variables (TVB's ``cvar``),
:math:`\tau_{ij}` the conduction delay and :math:`x_i(t)` the target's current,
undelayed state. The sum runs over every connection, the diagonal included.

Every function here is written so that ``pre`` depends on the source alone or
splits into source terms times target terms; the engine then keeps the
source terms in its delay ring buffer (``history components``) and a compiled
``post`` combines the weighted sums with the target's state. Compiled
signatures:

``pre(x, cvar, p, h, k)``
    Write the history components of node ``k`` into ``h[:, k]`` from its state
    ``x[:, k]``; ``cvar`` is a tuple of the state indices of the coupling
    variables (a tuple, so that its length is known when the loop compiles:
    loops over it unroll and the loop over nodes vectorises).
``post(s, x, cvar, wsum, p, c, k)``
    Write the coupling input of node ``k`` into ``c[:, k]`` from the weighted
    delayed sums ``s[:, k]``, its state ``x[:, k]`` and its total afferent
    weight ``wsum[k]`` (:math:`\sum_j w_{ij}`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from .models.base import Parameter, Parameterised
from .models.vmath import cos, exp, sin, tanh


class Coupling(Parameterised):
    """Base class of coupling functions: parameters in ``__init__`` (scalars, or one value
    per region as TVB allows), compiled pre/post."""

    pre: ClassVar[Any] = None
    post: ClassVar[Any] = None
    #: "per_cvar": one history component per coupling variable;
    #: "single": one component in all (e.g. SigmoidalJansenRit's y1 - y2);
    #: "sin_cos": two components per coupling variable (Kuramoto)
    components: ClassVar[str] = "per_cvar"
    #: whether ``post`` reads the target node's own state (insets cannot replace such targets)
    reads_target: ClassVar[bool] = False

    def n_components(self, n_cvar: int) -> int:
        """Number of history components the engine keeps per node."""
        return {"per_cvar": n_cvar, "single": 1, "sin_cos": 2 * n_cvar}[self.components]


# --- compiled pieces --------------------------------------------------------
@njit(cache=True)
def _pre_identity(x, cvar, p, h, k):  # pragma: no cover - compiled
    for q in range(len(cvar)):
        h[q, k] = x[cvar[q], k]


@njit(cache=True)
def _post_linear(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    for q in range(len(cvar)):
        c[q, k] = p[0, k] * s[q, k] + p[1, k]


@njit(cache=True)
def _post_scaling(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    for q in range(len(cvar)):
        c[q, k] = p[0, k] * s[q, k]


@njit(cache=True)
def _post_difference(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    for q in range(len(cvar)):
        c[q, k] = p[0, k] * (s[q, k] - wsum[k] * x[cvar[q], k])


@njit(cache=True)
def _pre_sin_cos(x, cvar, p, h, k):  # pragma: no cover - compiled
    n = len(cvar)
    for q in range(n):
        h[q, k] = sin(x[cvar[q], k])
        h[n + q, k] = cos(x[cvar[q], k])


@njit(cache=True)
def _post_kuramoto(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    # sum_j w sin(xj - xi) = cos(xi) sum_j w sin(xj) - sin(xi) sum_j w cos(xj)
    n = len(cvar)
    for q in range(n):
        xi = x[cvar[q], k]
        c[q, k] = p[0, k] * (cos(xi) * s[q, k] - sin(xi) * s[n + q, k])


@njit(cache=True)
def _post_sigmoidal(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    cmin, cmax, midpoint, a, sigma = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k]
    for q in range(len(cvar)):
        c[q, k] = cmin + (cmax - cmin) / (1.0 + exp(-a * ((s[q, k] - midpoint) / sigma)))


@njit(cache=True)
def _pre_sigmoidal_jr(x, cvar, p, h, k):  # pragma: no cover - compiled
    cmin, cmax, midpoint, r = p[0, k], p[1, k], p[2, k], p[4, k]
    h[0, k] = cmin + (cmax - cmin) / (1.0 + exp(r * (midpoint - (x[cvar[0], k] - x[cvar[1], k]))))


@njit(cache=True)
def _post_sigmoidal_jr(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    value = p[3, k] * s[0, k]
    for q in range(len(cvar)):  # one input, in every coupling row (TVB's shape)
        c[q, k] = value


@njit(cache=True)
def _pre_tanh(x, cvar, p, h, k):  # pragma: no cover - compiled
    a, b, midpoint, sigma = p[0, k], p[1, k], p[2, k], p[3, k]
    for q in range(len(cvar)):
        h[q, k] = a * (1.0 + tanh((b * x[cvar[q], k] - midpoint) / sigma))


@njit(cache=True)
def _post_identity(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    for q in range(len(cvar)):
        c[q, k] = s[q, k]


@njit(cache=True)
def _pre_presigmoidal(x, cvar, p, h, k):  # pragma: no cover - compiled
    H, Q, G, P, theta, dynamic = p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k]
    n = len(cvar)
    for q in range(n):
        thr = theta
        if dynamic != 0.0 and q == 0 and n > 1:  # the source's threshold state theta_j
            thr = x[cvar[n - 1], k]
        h[q, k] = H * (Q + tanh(G * (P * x[cvar[q], k] - thr)))


@njit(cache=True)
def _post_presigmoidal(s, x, cvar, wsum, p, c, k):  # pragma: no cover - compiled
    n = len(cvar)
    for q in range(n):
        c[q, k] = s[q, k]
    if p[5, k] != 0.0 and n > 1:  # dynamic: the node's own output drives its threshold
        H, Q, G, P = p[0, k], p[1, k], p[2, k], p[3, k]
        c[n - 1, k] = H * (Q + tanh(G * (P * x[cvar[0], k] - x[cvar[n - 1], k])))

# --- user-facing classes ------------------------------------------------------
class Linear(Coupling):
    r"""Linear coupling: :math:`c_i = a \sum_j w_{ij} x_j(t-\tau_{ij}) + b`."""

    parameters = {
        "a": Parameter(0.00390625, "1", "global coupling scale (rescales the weights)", (0.0, 1.0)),
        "b": Parameter(0.0, "1", "constant shift of the coupling", (-1.0, 1.0)),
    }
    pre = staticmethod(_pre_identity)
    post = staticmethod(_post_linear)


class Scaling(Coupling):
    r"""Scaling coupling: :math:`c_i = a \sum_j w_{ij} x_j(t-\tau_{ij})`."""

    parameters = {"a": Parameter(1.0, "1", "global coupling scale", (0.0, 1.0))}
    pre = staticmethod(_pre_identity)
    post = staticmethod(_post_scaling)


class Difference(Coupling):
    r"""Diffusive coupling: :math:`c_i = a \sum_j w_{ij} (x_j(t-\tau_{ij}) - x_i(t))`."""

    parameters = {"a": Parameter(0.1, "1", "global coupling scale", (0.0, 10.0))}
    reads_target = True
    pre = staticmethod(_pre_identity)
    post = staticmethod(_post_difference)


class Kuramoto(Coupling):
    r"""Kuramoto coupling: :math:`c_i = a \sum_j w_{ij} \sin(x_j(t-\tau_{ij}) - x_i(t))`.

    Notes
    -----
    TVB's ``Kuramoto.post`` returns ``a / gx.shape[0] * gx``; on TVB's sparse
    coupling path ``gx.shape[0]`` is the number of coupling variables (1), so
    TVB applies no 1/N factor and neither do we. For the classic
    :math:`K/N` normalisation set ``a = K / n_regions``.
    """

    parameters = {"a": Parameter(1.0, "rad/ms", "global coupling strength", (0.0, 10.0))}
    components = "sin_cos"
    reads_target = True
    pre = staticmethod(_pre_sin_cos)
    post = staticmethod(_post_kuramoto)


class Sigmoidal(Coupling):
    r"""Sigmoidal coupling (TVB's ``Sigmoidal``).

    :math:`c_i = c_{min} + (c_{max} - c_{min}) / (1 + \exp(-a (g_i - m) / \sigma))`
    with :math:`g_i = \sum_j w_{ij} x_j(t - \tau_{ij})`.
    """

    parameters = {
        "cmin": Parameter(-1.0, "1", "minimum of the sigmoid"),
        "cmax": Parameter(1.0, "1", "maximum of the sigmoid"),
        "midpoint": Parameter(0.0, "1", "midpoint of the sigmoid"),
        "a": Parameter(1.0, "1", "steepness / scaling"),
        "sigma": Parameter(230.0, "1", "standard deviation of the sigmoid"),
    }
    pre = staticmethod(_pre_identity)
    post = staticmethod(_post_sigmoidal)


class SigmoidalJansenRit(Coupling):
    r"""Jansen-Rit sigmoidal coupling (TVB's ``SigmoidalJansenRit``).

    :math:`c_i = a \sum_j w_{ij} \, S(y_{1,j} - y_{2,j})` with
    :math:`S(v) = c_{min} + (c_{max} - c_{min}) / (1 + \exp(r (m - v)))`
    evaluated on the delayed source state. Needs two coupling variables
    (JansenRit's y1, y2); yields one coupling input, which every coupling row
    holds (as in TVB; JansenRit reads the first).
    """

    parameters = {
        "cmin": Parameter(0.0, "1/ms", "minimum of the sigmoid"),
        "cmax": Parameter(0.005, "1/ms", "maximum of the sigmoid (2 e0)"),
        "midpoint": Parameter(6.0, "mV", "firing threshold v0"),
        "a": Parameter(1.0, "1", "global coupling scale"),
        "r": Parameter(0.56, "1/mV", "steepness of the sigmoid"),
    }
    components = "single"
    pre = staticmethod(_pre_sigmoidal_jr)
    post = staticmethod(_post_sigmoidal_jr)

    def n_components(self, n_cvar: int) -> int:  # noqa: D102
        if n_cvar != 2:
            raise ValueError(
                "SigmoidalJansenRit needs a model with exactly 2 coupling variables "
                f"(y1, y2 of JansenRit), but the model has {n_cvar}."
            )
        return 1


class HyperbolicTangent(Coupling):
    r"""Hyperbolic-tangent coupling (TVB's ``HyperbolicTangent``).

    :math:`c_i = \sum_j w_{ij}\, a (1 + \tanh((b x_j(t-\tau_{ij}) - m) / \sigma))`.
    """

    parameters = {
        "a": Parameter(1.0, "1", "scaling"),
        "b": Parameter(1.0, "1", "slope of the argument"),
        "midpoint": Parameter(0.0, "1", "midpoint"),
        "sigma": Parameter(1.0, "1", "width"),
    }
    pre = staticmethod(_pre_tanh)
    post = staticmethod(_post_identity)


def _switch(name: str, value: Any) -> float:
    """A TVB boolean as vbrain's float parameter: 0 or 1, one value for all regions."""
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        v = np.asarray(np.nan)
    if v.ndim != 0 or float(v) not in (0.0, 1.0):
        raise ValueError(f"PreSigmoidal.{name} is a switch (a boolean in TVB): 0 or 1 (or "
                         f"False/True), one value for all regions, but got {value!r}.")
    return float(v)


class PreSigmoidal(Coupling):
    r"""Pre-summation sigmoidal coupling with a static or dynamic threshold (TVB's
    ``PreSigmoidal``), for the Hopfield model (Golos et al. 2015).

    Each source's delayed state goes through :math:`S(u) = H (Q + \tanh(G u))`
    before the weighted sum.

    Static threshold (``dynamic = 0``), for every coupling variable :math:`q`:

    .. math::

        c_{q,i} = \sum_j w_{ij}\, S\big(P x_{q,j}(t - \tau_{ij}) - \theta_j\big)

    with :math:`\theta_j` the ``theta`` parameter (per region: the source's).

    Dynamic threshold (``dynamic = 1``, TVB's default): the model has two coupling
    variables (x, theta: :class:`vbrain.models.HopfieldDynamic`); the threshold is
    the source's delayed theta, and the second coupling input is the node's own,
    undelayed output, which its theta relaxes to:

    .. math::

        c_{0,i} = \sum_j w_{ij}\, S\big(P x_j(t - \tau_{ij}) - \theta_j(t - \tau_{ij})\big),
        \qquad c_{1,i} = S\big(P x_i(t) - \theta_i(t)\big)

    Per-region ``H``, ``Q``, ``G``, ``P``, ``theta`` (in TVB only ``theta`` can be, per
    source): the source's values inside the sum, the node's own in :math:`c_1`.
    ``dynamic`` and ``globalT`` are booleans in TVB; here floats, 0 or 1, one value
    for all regions.

    Notes
    -----
    Supported modes: static and dynamic with ``globalT = 0``; static with
    ``globalT = 1`` and a scalar ``theta`` (TVB then uses ``theta[0]`` everywhere,
    the same number). Raise a ValueError: ``globalT = 1`` with ``dynamic = 1``
    (TVB replaces every node's :math:`c_1` by its mean over all regions at each
    step, which a per-node coupling cannot compute) and ``globalT = 1`` with a
    per-region ``theta`` (pass ``theta=theta[0]`` instead); ``dynamic = 1`` with a
    model whose coupling variables are not exactly two.

    Differences from TVB 2.10: its ``PreSigmoidal.__call__`` does not compute the sums
    above. It sums the weighted sigmoids over the target axis (axis 0 of its
    (target, cvar, source) arrays), where its generic ``Coupling.__call__`` sums over
    the sources (axis 2), so a node receives its own delayed output, not its
    afferents'. Static: :math:`c_i = \sum_j w_{ij} S(P x_i(t - \tau_{ji}) - \theta_i)`
    (with :math:`x_i = 0` where :math:`w_{ji} = 0`); dynamic:
    :math:`c_{0,i} = \sum_j w_{ji} S(P x_i(t - \tau_{ji}) - \theta_i(t - \tau_{ji}))`,
    and :math:`c_{1,i}` is the diagonal of the delayed state, which TVB's sparse
    history leaves at 0 where :math:`w_{ii} = 0` (then :math:`c_{1,i} = H Q`, a
    constant). vbrain implements the coupling TVB documents, not these. The two
    agree exactly for a diagonal weight matrix (with zero self-delays for the
    dynamic :math:`c_1`), tested against TVB's ``__call__``; whole simulations are
    tested against TVB's simulator with its coupling summed over the sources.
    """

    parameters = {
        "H": Parameter(0.5, "1", "global factor (amplitude of the sigmoid)", (-100.0, 100.0)),
        "Q": Parameter(1.0, "1", "average (offset of the tanh, before H)", (-100.0, 100.0)),
        "G": Parameter(60.0, "1", "gain (steepness)", (-1000.0, 1000.0)),
        "P": Parameter(1.0, "1", "excitation-inhibition ratio (scale of the state)",
                       (-100.0, 100.0)),
        "theta": Parameter(0.5, "1", "static threshold (the source's)", (-100.0, 100.0)),
        "dynamic": Parameter(1.0, "1", "1: threshold from the second coupling variable; 0: "
                             "the static theta", (0.0, 1.0)),
        "globalT": Parameter(0.0, "1", "1: one threshold for all regions (static mode with a "
                             "scalar theta only)", (0.0, 1.0)),
    }
    pre = staticmethod(_pre_presigmoidal)
    post = staticmethod(_post_presigmoidal)

    @property
    def reads_target(self) -> bool:  # type: ignore[override]
        """The dynamic mode's second input is the target node's own output."""
        return self._values["dynamic"] != 0.0

    def set_params(self, **params: Any) -> PreSigmoidal:
        """As :meth:`Parameterised.set_params`; refuses the modes TVB has and vbrain cannot
        compute (see Notes)."""
        params = {k: _switch(k, v) if k in ("dynamic", "globalT") else v
                  for k, v in params.items()}
        values = {**self._values, **params}
        if values["globalT"] != 0.0:
            if values["dynamic"] != 0.0:
                raise ValueError(
                    "PreSigmoidal(globalT=1, dynamic=1) is not supported: TVB then sets every "
                    "node's threshold input to the mean over all regions of the nodes' outputs "
                    "at each step, which vbrain's per-node coupling cannot compute. Use "
                    "globalT=0 (local dynamic thresholds) or dynamic=0.")
            if np.ndim(values["theta"]) != 0:
                raise ValueError(
                    "PreSigmoidal(globalT=1) with a per-region theta: TVB then uses the first "
                    "region's theta everywhere; pass that scalar (theta=theta[0]) instead.")
        super().set_params(**params)
        return self

    def n_components(self, n_cvar: int) -> int:
        """One history component per coupling variable; the dynamic mode needs two."""
        if self._values["dynamic"] != 0.0 and n_cvar != 2:
            raise ValueError(
                "PreSigmoidal(dynamic=1) reads the threshold from the second coupling variable: "
                f"the model needs exactly 2 coupling variables (x, theta, as HopfieldDynamic), "
                f"but has {n_cvar}. Use dynamic=0 for a static threshold.")
        return n_cvar

COUPLINGS: dict[str, type[Coupling]] = {
    cls.__name__: cls
    for cls in (Linear, Scaling, Difference, Kuramoto, Sigmoidal, SigmoidalJansenRit,
                HyperbolicTangent, PreSigmoidal)
}
