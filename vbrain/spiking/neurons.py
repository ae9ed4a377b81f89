r"""Point-neuron models: NEST's names, parameters, units and defaults.

Each class describes one model: its parameters (with NEST's defaults where NEST
has the model), its state variables (row 0 is always the membrane potential
``V_m``), how its parameters are turned into the constants of the compiled
update (propagators, substeps) and how its initial state is set. The update
itself is in :mod:`vbrain.spiking.kernels`.

Units: time ms, voltage mV, current pA, conductance nS, capacitance pF, as NEST.
Synaptic weights are mV (delta synapses: a jump of ``V_m``), pA (current-based
exponential/alpha synapses: the jump or peak of the synaptic current) or nS
(conductance-based: the jump or peak of the conductance). A positive weight
goes to the excitatory receptor, a negative one to the inhibitory receptor
(conductance models use its magnitude), as in NEST.

Integration: models with linear subthreshold dynamics (``iaf_psc_*``) are
advanced by their exact propagators (Rotter and Diesmann 1999), as NEST does, so
the result does not depend on the step beyond the step's time grid. The
nonlinear ones use fixed-step schemes stated per model; the QIF neuron is
integrated exactly for an input held constant over the step.

Parameters ``V_m`` (initial membrane potential) and ``I_e`` (constant current;
the excitability ``eta`` for :class:`QIF`) may be per-neuron arrays or
distributions (see :mod:`vbrain.spiking.values`); the others are scalars per
population.

References
----------
Rotter S, Diesmann M (1999). Exact digital simulation of time-invariant linear
systems with applications to neuronal modeling. Biol Cybern 81:381-402.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .._check import check_option, suggest
from ..models.base import Parameter
from .values import draw, is_distribution

#: spike-emission limit per neuron and step: one (see the update kernels)
_INF = math.inf


def _exp_propagator(h: float, tau_s: float, tau_m: float, c_m: float) -> float:
    """Exact contribution of an exponentially decaying current to V over a step.

    ``(1/C) * integral_0^h exp(-(h-s)/tau_m) exp(-s/tau_s) ds``, written with
    ``expm1`` so that it stays accurate when ``tau_s`` is close to ``tau_m``.
    """
    x = h * (1.0 / tau_m - 1.0 / tau_s)
    ratio = 1.0 if x == 0.0 else math.expm1(x) / x
    return math.exp(-h / tau_m) * h * ratio / c_m


def _alpha_propagator(h: float, tau_s: float, tau_m: float, c_m: float) -> float:
    """Exact contribution of the derivative component ``dI`` of an alpha current to V.

    ``(1/C) * integral_0^h exp(-(h-s)/tau_m) s exp(-s/tau_s) ds``.
    """
    x = h * (1.0 / tau_m - 1.0 / tau_s)
    if abs(x) < 1e-3:  # series of x e^x - expm1(x) = sum_{n>=2} (n-1) x^n / n!
        g = 0.5 + x / 3.0 + x * x / 8.0 + x ** 3 / 30.0 + x ** 4 / 144.0
    else:
        g = (x * math.exp(x) - math.expm1(x)) / (x * x)
    return math.exp(-h / tau_m) * h * h * g / c_m


class NeuronModel:
    """A point-neuron model; subclasses define the class attributes below.

    Parameters
    ----------
    **params
        Parameter values by NEST name; unknown names raise ``TypeError``.
        ``V_m`` and ``I_e`` (``eta`` for QIF) accept per-neuron arrays or
        distribution dicts.
    """

    #: NEST model name (the string accepted by ``Network.add_population``)
    name: ClassVar[str] = ""
    #: index of the update kernel in the compiled loop
    model_id: ClassVar[int] = -1
    parameters: ClassVar[dict[str, Parameter]] = {}
    #: state rows, row 0 = V_m
    state: ClassVar[tuple[str, ...]] = ("V_m",)
    #: parameters that may vary per neuron
    per_neuron: ClassVar[tuple[str, ...]] = ("V_m", "I_e")
    #: unit of synaptic weights and of current inputs
    weight_unit: ClassVar[str] = "mV"
    current_unit: ClassVar[str] = "pA"
    #: unit of this model's contribution to the LFP proxy
    lfp_unit: ClassVar[str] = "pA"
    #: longest internal step (ms) of a fixed-step scheme; None = exact propagation
    max_step: ClassVar[float | None] = None

    def __init__(self, **params: Any) -> None:
        unknown = [k for k in params if k not in self.parameters]
        if unknown:
            name = unknown[0]
            raise TypeError(
                f"{type(self).__name__} ({self.name}) has no parameter {name!r}."
                f"{suggest(name, self.parameters)} Valid parameters: {sorted(self.parameters)}."
            )
        self.params: dict[str, Any] = {k: p.default for k, p in self.parameters.items()}
        for k, v in params.items():
            if k in self.per_neuron and (is_distribution(v) or np.ndim(v) > 0):
                # checked now (a throwaway draw) so that a bad spec fails where it is given
                draw(f"{type(self).__name__}.{k}", v, (1,) if is_distribution(v) else
                     np.shape(v), np.random.default_rng(0))
                self.params[k] = v if is_distribution(v) else np.asarray(v, dtype=float)
                continue
            try:
                fv = float(v)
            except (TypeError, ValueError):
                kinds = ("a number, an array or a distribution dict" if k in self.per_neuron
                         else "a number")
                raise TypeError(
                    f"{type(self).__name__}.{k} must be {kinds}, but got {v!r}."
                ) from None
            if math.isnan(fv) or (math.isinf(fv) and k != "V_min"):
                raise ValueError(f"{type(self).__name__}.{k} must be finite, but got {fv}.")
            self.params[k] = fv
        self._check()

    # -- helpers for subclasses ------------------------------------------------------
    def _positive(self, *names: str) -> None:
        for k in names:
            if not self.params[k] > 0:
                raise ValueError(
                    f"{type(self).__name__}.{k} must be > 0, but got {self.params[k]}."
                )

    def _nonnegative(self, *names: str) -> None:
        for k in names:
            if not self.params[k] >= 0:
                raise ValueError(
                    f"{type(self).__name__}.{k} must be >= 0, but got {self.params[k]}."
                )

    def _check(self) -> None:
        """Check parameter values (subclasses)."""

    def _refractory_steps(self, dt: float) -> int:
        return int(round(self.params["t_ref"] / dt))

    def substeps(self, dt: float) -> int:
        """Internal steps per network step (1 for exactly propagated models)."""
        if self.max_step is None:
            return 1
        return max(1, math.ceil(dt / self.max_step - 1e-9))

    # -- what the engine calls -------------------------------------------------------
    def pack(self, dt: float) -> np.ndarray:
        """Constants of the compiled update for step ``dt`` (ms), in kernel order."""
        raise TypeError(f"{type(self).__name__} does not define pack().")

    def initial_state(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Initial state rows (len(state), n) and the per-neuron constant input (n,)."""
        S = np.zeros((len(self.state), n))
        S[0] = draw(f"{type(self).__name__}.V_m", self.params["V_m"], (n,), rng)
        bias = draw(f"{type(self).__name__}.I_e", self.params["I_e"], (n,), rng)
        return S, bias

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items()
                   if not (np.ndim(v) == 0 and not is_distribution(v)
                           and v == self.parameters[k].default)}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"


_LIF_COMMON = {
    "V_m": Parameter(-70.0, "mV", "initial membrane potential"),
    "E_L": Parameter(-70.0, "mV", "resting membrane potential"),
    "C_m": Parameter(250.0, "pF", "membrane capacitance"),
    "tau_m": Parameter(10.0, "ms", "membrane time constant"),
    "t_ref": Parameter(2.0, "ms", "refractory period (V_m clamped to V_reset)"),
    "V_th": Parameter(-55.0, "mV", "spike threshold"),
    "V_reset": Parameter(-70.0, "mV", "reset potential"),
    "I_e": Parameter(0.0, "pA", "constant input current"),
}


class IafPscDelta(NeuronModel):
    r"""Leaky integrate-and-fire neuron with delta synapses (NEST ``iaf_psc_delta``).

    .. math:: \tau_m \dot V = -(V - E_L) + \frac{\tau_m}{C_m} (I_e + I(t)),

    each incoming spike of weight :math:`w` (mV) makes :math:`V` jump by
    :math:`w`. Exact propagation; spikes arriving during the refractory period
    are discarded (NEST's default ``refractory_input=False``); ``V_m`` is kept
    above ``V_min``. A spike is emitted when :math:`V \ge V_{th}`, then
    :math:`V = V_{reset}` for ``t_ref``. Parameter names, units and defaults are
    NEST's.
    """

    name = "iaf_psc_delta"
    model_id = 0
    parameters: ClassVar[dict[str, Parameter]] = {**_LIF_COMMON,
                  "V_min": Parameter(-_INF, "mV", "lower bound of V_m")}
    weight_unit = "mV"

    def _check(self) -> None:
        self._positive("C_m", "tau_m")
        self._nonnegative("t_ref")
        if self.params["V_reset"] >= self.params["V_th"]:
            raise ValueError(
                f"IafPscDelta.V_reset must be < V_th, but got V_reset="
                f"{self.params['V_reset']} and V_th={self.params['V_th']}."
            )

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        p22 = math.exp(-dt / p["tau_m"])
        p20 = p["tau_m"] / p["C_m"] * -math.expm1(-dt / p["tau_m"])
        v_min = p["V_min"] if math.isfinite(p["V_min"]) else -1e300
        return np.array([p22, p20, p["E_L"], p["V_th"], p["V_reset"],
                         self._refractory_steps(dt), v_min, p["C_m"] / dt])


_PSC_SYN = {
    "tau_syn_ex": Parameter(2.0, "ms", "excitatory synaptic time constant"),
    "tau_syn_in": Parameter(2.0, "ms", "inhibitory synaptic time constant"),
}


class IafPscExp(NeuronModel):
    r"""LIF neuron with exponential synaptic currents (NEST ``iaf_psc_exp``).

    .. math::

        \tau_m \dot V &= -(V - E_L) + \frac{\tau_m}{C_m}(I_{ex} + I_{in} + I_e + I(t)) \\
        \tau_{syn,x} \dot I_x &= -I_x

    A spike of weight :math:`w` (pA) makes :math:`I_{ex}` (w > 0) or
    :math:`I_{in}` (w < 0) jump by :math:`w`. Exact propagation in NEST's order
    (V first, with the currents of the step start; then currents decay and
    receive the step's spikes). NEST's names, units and defaults.
    """

    name = "iaf_psc_exp"
    model_id = 1
    parameters: ClassVar[dict[str, Parameter]] = {**_LIF_COMMON, **_PSC_SYN}
    state = ("V_m", "I_syn_ex", "I_syn_in")
    weight_unit = "pA"

    def _check(self) -> None:
        self._positive("C_m", "tau_m", "tau_syn_ex", "tau_syn_in")
        self._nonnegative("t_ref")

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        p22 = math.exp(-dt / p["tau_m"])
        p20 = p["tau_m"] / p["C_m"] * -math.expm1(-dt / p["tau_m"])
        return np.array([
            p22, p20,
            math.exp(-dt / p["tau_syn_ex"]), math.exp(-dt / p["tau_syn_in"]),
            _exp_propagator(dt, p["tau_syn_ex"], p["tau_m"], p["C_m"]),
            _exp_propagator(dt, p["tau_syn_in"], p["tau_m"], p["C_m"]),
            p["E_L"], p["V_th"], p["V_reset"], self._refractory_steps(dt),
        ])


class IafPscAlpha(NeuronModel):
    r"""LIF neuron with alpha-shaped synaptic currents (NEST ``iaf_psc_alpha``).

    Same membrane as :class:`IafPscExp`; a spike of weight :math:`w` (pA)
    starts the current :math:`I(t) = w\,\frac{e\,t}{\tau_{syn}}\,e^{-t/\tau_{syn}}`
    (peak :math:`w` at :math:`t = \tau_{syn}`). Exact propagation in NEST's order.
    NEST's names, units and defaults.
    """

    name = "iaf_psc_alpha"
    model_id = 2
    parameters: ClassVar[dict[str, Parameter]] = {**_LIF_COMMON, **_PSC_SYN}
    state = ("V_m", "dI_syn_ex", "I_syn_ex", "dI_syn_in", "I_syn_in")
    weight_unit = "pA"

    def _check(self) -> None:
        self._positive("C_m", "tau_m", "tau_syn_ex", "tau_syn_in")
        self._nonnegative("t_ref")

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        out = [math.exp(-dt / p["tau_m"]), p["tau_m"] / p["C_m"] * -math.expm1(-dt / p["tau_m"])]
        for tau in (p["tau_syn_ex"], p["tau_syn_in"]):
            e = math.exp(-dt / tau)
            out += [e, dt * e, _alpha_propagator(dt, tau, p["tau_m"], p["C_m"]),
                    _exp_propagator(dt, tau, p["tau_m"], p["C_m"])]
        out += [p["E_L"], p["V_th"], p["V_reset"], self._refractory_steps(dt),
                math.e / p["tau_syn_ex"], math.e / p["tau_syn_in"]]
        return np.array(out)


_COND_COMMON = {
    "V_m": Parameter(-70.0, "mV", "initial membrane potential"),
    "E_L": Parameter(-70.0, "mV", "leak reversal potential"),
    "C_m": Parameter(250.0, "pF", "membrane capacitance"),
    "g_L": Parameter(16.6667, "nS", "leak conductance"),
    "t_ref": Parameter(2.0, "ms", "refractory period (V_m clamped to V_reset)"),
    "V_th": Parameter(-55.0, "mV", "spike threshold"),
    "V_reset": Parameter(-60.0, "mV", "reset potential"),
    "E_ex": Parameter(0.0, "mV", "excitatory reversal potential"),
    "E_in": Parameter(-85.0, "mV", "inhibitory reversal potential"),
    "tau_syn_ex": Parameter(0.2, "ms", "excitatory synaptic time constant"),
    "tau_syn_in": Parameter(2.0, "ms", "inhibitory synaptic time constant"),
    "I_e": Parameter(0.0, "pA", "constant input current"),
}


class _CondModel(NeuronModel):
    weight_unit = "nS"
    max_step = 0.025

    def _check(self) -> None:
        self._positive("C_m", "g_L", "tau_syn_ex", "tau_syn_in")
        self._nonnegative("t_ref")

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        n = self.substeps(dt)
        h = dt / n
        return np.array([
            p["g_L"], p["C_m"], p["E_L"], p["E_ex"], p["E_in"],
            math.exp(-0.5 * h / p["tau_syn_ex"]), math.exp(-0.5 * h / p["tau_syn_in"]),
            p["V_th"], p["V_reset"], self._refractory_steps(dt), n, h,
            math.e / p["tau_syn_ex"], math.e / p["tau_syn_in"],
        ])


class IafCondExp(_CondModel):
    r"""LIF neuron with exponential synaptic conductances (NEST ``iaf_cond_exp``).

    .. math::

        C_m \dot V &= -g_L (V - E_L) - g_{ex}(V - E_{ex}) - g_{in}(V - E_{in})
                      + I_e + I(t) \\
        \tau_{syn,x} \dot g_x &= -g_x

    A spike of weight :math:`w` (nS) makes :math:`g_{ex}` (w > 0) or
    :math:`g_{in}` (by :math:`|w|`, w < 0) jump, taking effect from the next step
    (NEST's order). The conductances decay exactly; ``V`` is integrated with
    classic RK4 at a fixed internal step of at most 0.025 ms (NEST uses adaptive
    RKF45). After the step ``V`` is clamped to ``V_reset`` while refractory.
    NEST's names, units and defaults.
    """

    name = "iaf_cond_exp"
    model_id = 3
    parameters: ClassVar[dict[str, Parameter]] = dict(_COND_COMMON)
    state = ("V_m", "g_ex", "g_in")


class IafCondAlpha(_CondModel):
    r"""LIF neuron with alpha-shaped synaptic conductances (NEST ``iaf_cond_alpha``).

    As :class:`IafCondExp`, but a spike of weight :math:`w` (nS) starts the
    conductance :math:`g(t) = |w|\,\frac{e\,t}{\tau_{syn}}\,e^{-t/\tau_{syn}}`
    (peak :math:`|w|` at :math:`\tau_{syn}`). The conductances evolve exactly;
    ``V`` with RK4 at an internal step of at most 0.025 ms. NEST's names, units
    and defaults.
    """

    name = "iaf_cond_alpha"
    model_id = 4
    parameters: ClassVar[dict[str, Parameter]] = dict(_COND_COMMON)
    state = ("V_m", "dg_ex", "g_ex", "dg_in", "g_in")


class AeifCondExp(NeuronModel):
    r"""Adaptive exponential integrate-and-fire neuron (NEST ``aeif_cond_exp``).

    .. math::

        C_m \dot V &= -g_L (V - E_L) + g_L \Delta_T e^{(V - V_{th})/\Delta_T}
                      - g_{ex}(V - E_{ex}) - g_{in}(V - E_{in}) - w + I_e + I(t) \\
        \tau_w \dot w &= a (V - E_L) - w

    Exponential conductances as :class:`IafCondExp`. At :math:`V \ge V_{peak}`
    (``V_th`` if ``Delta_T`` = 0): a spike, :math:`V = V_{reset}`,
    :math:`w \mathrel{+}= b`, then ``V`` clamped for ``t_ref``. Classic RK4 at a
    fixed internal step of at most 0.01 ms (NEST: adaptive RKF45), with the
    threshold checked after every internal step and ``V`` in the right-hand side
    capped at ``V_peak`` as NEST does. At most one spike per network step.
    NEST's names (Brette and Gerstner 2005 values), units and defaults.
    """

    name = "aeif_cond_exp"
    model_id = 5
    parameters: ClassVar[dict[str, Parameter]] = {
        "V_m": Parameter(-70.6, "mV", "initial membrane potential"),
        "E_L": Parameter(-70.6, "mV", "leak reversal potential"),
        "C_m": Parameter(281.0, "pF", "membrane capacitance"),
        "g_L": Parameter(30.0, "nS", "leak conductance"),
        "t_ref": Parameter(0.0, "ms", "refractory period"),
        "V_th": Parameter(-50.4, "mV", "spike initiation threshold"),
        "Delta_T": Parameter(2.0, "mV", "slope factor"),
        "V_peak": Parameter(0.0, "mV", "spike detection threshold"),
        "V_reset": Parameter(-60.0, "mV", "reset potential"),
        "a": Parameter(4.0, "nS", "subthreshold adaptation"),
        "b": Parameter(80.5, "pA", "spike-triggered adaptation"),
        "tau_w": Parameter(144.0, "ms", "adaptation time constant"),
        "E_ex": Parameter(0.0, "mV", "excitatory reversal potential"),
        "E_in": Parameter(-85.0, "mV", "inhibitory reversal potential"),
        "tau_syn_ex": Parameter(0.2, "ms", "excitatory synaptic time constant"),
        "tau_syn_in": Parameter(2.0, "ms", "inhibitory synaptic time constant"),
        "I_e": Parameter(0.0, "pA", "constant input current"),
        "w": Parameter(0.0, "pA", "initial adaptation current"),
    }
    state = ("V_m", "g_ex", "g_in", "w")
    weight_unit = "nS"
    max_step = 0.01

    def _check(self) -> None:
        self._positive("C_m", "g_L", "tau_w", "tau_syn_ex", "tau_syn_in")
        self._nonnegative("t_ref", "Delta_T")
        if self.params["V_peak"] < self.params["V_th"]:
            raise ValueError(
                f"AeifCondExp.V_peak must be >= V_th, but got V_peak={self.params['V_peak']} "
                f"and V_th={self.params['V_th']}."
            )

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        n = self.substeps(dt)
        h = dt / n
        v_spike = p["V_peak"] if p["Delta_T"] > 0 else p["V_th"]
        return np.array([
            p["g_L"], p["C_m"], p["E_L"], p["E_ex"], p["E_in"],
            math.exp(-0.5 * h / p["tau_syn_ex"]), math.exp(-0.5 * h / p["tau_syn_in"]),
            p["V_th"], p["V_reset"], int(round(p["t_ref"] / h)), n, h,
            p["Delta_T"], p["V_peak"], v_spike, p["a"], p["b"], p["tau_w"],
        ])

    def initial_state(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        S, bias = super().initial_state(n, rng)
        S[3] = self.params["w"]
        return S, bias


class Izhikevich(NeuronModel):
    r"""Izhikevich (2003) neuron (NEST ``izhikevich``).

    .. math::

        \dot V &= 0.04 V^2 + 5 V + 140 - U + I_e + I(t) \\
        \dot U &= a (b V - U)

    At :math:`V \ge V_{th}`: spike, :math:`V = c`, :math:`U \mathrel{+}= d`.
    Spikes make ``V`` jump by their weight (mV). Forward Euler at the network
    step with both equations evaluated at the step start (NEST's
    ``consistent_integration=True``). Currents are in NEST's (dimensionless, "pA")
    units of the equation. NEST's names and defaults.
    """

    name = "izhikevich"
    model_id = 6
    parameters: ClassVar[dict[str, Parameter]] = {
        "V_m": Parameter(-65.0, "mV", "initial membrane potential"),
        "U_m": Parameter(-13.0, "mV/ms", "initial recovery variable"),
        "a": Parameter(0.02, "1/ms", "time scale of the recovery variable"),
        "b": Parameter(0.2, "1/ms", "sensitivity of the recovery variable"),
        "c": Parameter(-65.0, "mV", "after-spike reset of V_m"),
        "d": Parameter(8.0, "mV/ms", "after-spike increment of U_m"),
        "V_th": Parameter(30.0, "mV", "spike cut-off"),
        "V_min": Parameter(-_INF, "mV", "lower bound of V_m"),
        "I_e": Parameter(0.0, "pA", "constant input current"),
    }
    state = ("V_m", "U_m")
    weight_unit = "mV"
    lfp_unit = "mV/ms"

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        v_min = p["V_min"] if math.isfinite(p["V_min"]) else -1e300
        return np.array([p["a"], p["b"], p["c"], p["d"], p["V_th"], v_min, dt])

    def initial_state(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        S, bias = super().initial_state(n, rng)
        S[1] = self.params["U_m"]
        return S, bias


class QIF(NeuronModel):
    r"""Quadratic integrate-and-fire neuron as in Montbrio, Pazo and Roxin (2015).

    .. math:: \tau \dot V_j = V_j^2 + \eta_j + I_e + I(t) + \tau\, s_j(t)

    with :math:`s_j` the synaptic drive: each incoming spike of weight :math:`w`
    adds :math:`w` to :math:`V_j` over the step in which it arrives (spread
    evenly over the step, i.e. :math:`\tau s_j = \tau w / \Delta t` held over the
    step). With all-to-all weights :math:`J/N` and a one-step delay this is
    the term :math:`J \tau r(t)` of the paper, :math:`r` the population rate in
    kHz.

    The excitabilities :math:`\eta_j` follow a Lorentzian (Cauchy) distribution of
    centre ``eta`` and half-width ``Delta``: ``sampling="quantile"`` (default)
    sets :math:`\eta_j = \bar\eta + \Delta \tan(\tfrac{\pi}{2}\tfrac{2j - N - 1}{N + 1})`,
    as the paper, ``"random"`` draws them from the seed. ``Delta = 0`` gives
    identical neurons.

    Spikes: when :math:`V_j` reaches ``V_peak`` the neuron is held there for
    :math:`\tau / V_{peak}` (about the time the true QIF needs to reach
    infinity), emits its spike, is set to ``V_reset`` and held there for
    another :math:`\tau / V_{peak}` (the time from minus infinity), as in the
    paper; with ``V_reset = -V_peak`` the holds cancel in the mean potential.

    Integration: exact. For an input :math:`c` held over the step,
    :math:`\tau\dot V = V^2 + c` has the closed forms
    :math:`\sqrt c \tan(\cdot)` (c > 0), :math:`-\sqrt{-c}\tanh(\cdot)` or
    :math:`\coth(\cdot)` (c < 0) and :math:`V/(1 - Vt/\tau)` (c = 0), which also
    give the exact time of reaching ``V_peak`` within a step.

    All quantities are in the paper's normalised units except time (ms): ``tau``
    in ms, ``V``, ``eta``, ``Delta``, currents and weights dimensionless. The
    population rate in kHz and the mean ``V`` compare directly with
    :class:`vbrain.models.MontbrioPazoRoxin`.
    """

    name = "qif"
    model_id = 7
    parameters: ClassVar[dict[str, Parameter]] = {
        "V_m": Parameter(-2.0, "1", "initial membrane potential"),
        "tau": Parameter(1.0, "ms", "membrane time constant"),
        "eta": Parameter(-5.0, "1", "centre of the excitability distribution"),
        "Delta": Parameter(1.0, "1", "half-width of the excitability distribution"),
        "I_e": Parameter(0.0, "1", "constant input current"),
        "V_peak": Parameter(100.0, "1", "spike cut-off"),
        "V_reset": Parameter(-100.0, "1", "reset potential"),
    }
    per_neuron = ("V_m", "eta")
    weight_unit = "1"
    current_unit = "1"
    lfp_unit = "1/ms"
    state = ("V_m", "t_hold")

    def __init__(self, *, sampling: str = "quantile", **params: Any) -> None:
        self.sampling = check_option("sampling", sampling, ("quantile", "random"))
        super().__init__(**params)

    def _check(self) -> None:
        self._positive("tau", "V_peak")
        self._nonnegative("Delta")
        if not self.params["V_reset"] < 0:
            raise ValueError(f"QIF.V_reset must be < 0, but got {self.params['V_reset']}.")

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        return np.array([p["tau"], p["V_peak"], p["V_reset"], p["tau"] / p["V_peak"], dt])

    def initial_state(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        S = np.zeros((2, n))
        S[0] = draw("QIF.V_m", p["V_m"], (n,), rng)
        eta = p["eta"]
        if is_distribution(eta) or np.ndim(eta) > 0:
            eta_j = draw("QIF.eta", eta, (n,), rng)
        elif self.sampling == "quantile":
            j = np.arange(1, n + 1)
            eta_j = eta + p["Delta"] * np.tan(0.5 * np.pi * (2 * j - n - 1) / (n + 1))
        else:
            eta_j = eta + p["Delta"] * np.tan(np.pi * (rng.random(n) - 0.5))
        return S, eta_j + p["I_e"]


class HHPscAlpha(NeuronModel):
    r"""Hodgkin-Huxley neuron with alpha-shaped synaptic currents (NEST ``hh_psc_alpha``).

    .. math::

        C_m \dot V &= -g_{Na} m^3 h (V - E_{Na}) - g_K n^4 (V - E_K) - g_L (V - E_L)
                      + I_{ex} + I_{in} + I_e + I(t) \\
        \dot x &= \alpha_x(V)(1 - x) - \beta_x(V)\,x, \quad x \in \{m, h, n\}

    with NEST's rate functions (per ms, V in mV). Synaptic currents as
    :class:`IafPscAlpha` (weights in pA). Classic RK4 at a fixed internal step of
    at most 0.01 ms (NEST: adaptive RKF45). A spike is emitted when ``V`` is
    above 0 mV and falling (the step after the peak), not within ``t_ref`` of the
    previous one, as NEST. ``m``, ``h``, ``n`` start at their steady state at the
    initial ``V_m``. NEST's names, units and defaults.
    """

    name = "hh_psc_alpha"
    model_id = 8
    parameters: ClassVar[dict[str, Parameter]] = {
        "V_m": Parameter(-65.0, "mV", "initial membrane potential"),
        "E_L": Parameter(-54.402, "mV", "leak reversal potential"),
        "C_m": Parameter(100.0, "pF", "membrane capacitance"),
        "g_L": Parameter(30.0, "nS", "leak conductance"),
        "g_Na": Parameter(12000.0, "nS", "sodium peak conductance"),
        "g_K": Parameter(3600.0, "nS", "potassium peak conductance"),
        "E_Na": Parameter(50.0, "mV", "sodium reversal potential"),
        "E_K": Parameter(-77.0, "mV", "potassium reversal potential"),
        "t_ref": Parameter(2.0, "ms", "refractory period (no spike emitted)"),
        "tau_syn_ex": Parameter(0.2, "ms", "excitatory synaptic time constant"),
        "tau_syn_in": Parameter(2.0, "ms", "inhibitory synaptic time constant"),
        "I_e": Parameter(0.0, "pA", "constant input current"),
    }
    state = ("V_m", "Act_m", "Inact_h", "Act_n", "dI_syn_ex", "I_syn_ex", "dI_syn_in",
             "I_syn_in")
    weight_unit = "pA"
    max_step = 0.01

    def _check(self) -> None:
        self._positive("C_m", "tau_syn_ex", "tau_syn_in")
        self._nonnegative("g_L", "g_Na", "g_K", "t_ref")

    def pack(self, dt: float) -> np.ndarray:
        p = self.params
        n = self.substeps(dt)
        return np.array([
            p["C_m"], p["g_Na"], p["g_K"], p["g_L"], p["E_Na"], p["E_K"], p["E_L"],
            p["tau_syn_ex"], p["tau_syn_in"], self._refractory_steps(dt), n, dt / n,
            math.e / p["tau_syn_ex"], math.e / p["tau_syn_in"],
        ])

    def initial_state(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        S, bias = super().initial_state(n, rng)
        V = S[0]
        am, bm = _hh_rate(V, 0.1, 40.0, 10.0), 4.0 * np.exp(-(V + 65.0) / 18.0)
        ah, bh = 0.07 * np.exp(-(V + 65.0) / 20.0), 1.0 / (1.0 + np.exp(-(V + 35.0) / 10.0))
        an, bn = _hh_rate(V, 0.01, 55.0, 10.0), 0.125 * np.exp(-(V + 65.0) / 80.0)
        S[1], S[2], S[3] = am / (am + bm), ah / (ah + bh), an / (an + bn)
        return S, bias


def _hh_rate(V: np.ndarray, k: float, v0: float, s: float) -> np.ndarray:
    """k (V + v0) / (1 - exp(-(V + v0)/s)), with its limit k s at V = -v0."""
    x = (V + v0) / s
    safe = np.where(np.abs(x) < 1e-9, 1.0, x)
    return np.where(np.abs(x) < 1e-9, k * s, k * s * safe / -np.expm1(-safe))


#: NEST name -> model class
MODELS: dict[str, type[NeuronModel]] = {
    cls.name: cls
    for cls in (IafPscDelta, IafPscExp, IafPscAlpha, IafCondExp, IafCondAlpha, AeifCondExp,
                Izhikevich, QIF, HHPscAlpha)
}
