"""Rate <-> spike bridges between a region of the network and the inset replacing it.

Into the inset (network -> neurons), per simulation step, from the coupling
``c`` the region receives (its delayed, weighted network input, one value per
coupling variable; exactly what the region's neural mass would have received):

- :class:`RateToPoisson`: every selected inset neuron gets an independent
  inhomogeneous Poisson train of rate ``max(0, baseline + scale * c[q])`` Hz.
- :class:`RateToCurrent`: every selected neuron gets the current
  ``offset + sum_q gains[q] * c[q]`` (the engine's current units).

Out of the inset (neurons -> network), per simulation step, values of the
region's state variables, which replace the neural mass's:

- :class:`SpikesToRate`: the population rate (spikes per neuron per step /
  dt), smoothed by a causal kernel, times ``scale`` plus ``offset``; in Hz, or
  in kHz for models whose time unit is ms (MPR's ``r``).
- :class:`SpikesToSynaptic`: the rate drives a synaptic gating variable with
  the region model's own equation, e.g. ReducedWongWang's
  ``dS/dt = -S / tau_s + (1 - S) gamma H`` with ``H`` the inset's rate in Hz.
- :class:`MeanPotential`: the population's mean membrane potential, scaled.

Bridges hold the filter states between exchanges, so a run gives the same
result whatever its exchange and chunk sizes.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from numba import njit
from scipy.signal import lfilter

from ._check import check_option, check_range


class _Input(ABC):
    """Network -> inset: turns the region's coupling (t, n_cvar) into a drive (t,)."""

    kind = ""

    def __init__(self, target: str, *, weight: float, fraction: float, name: str | None,
                 compartment: str | None = None) -> None:
        self.target = str(target)
        self.compartment = compartment
        self.weight = float(weight)
        self.fraction = float(check_range("fraction", fraction, 0.0, 1.0, low_inclusive=False))
        self.name = name or f"network_{self.kind}_{self.target}"

    def setup(self, model, params: dict[str, float]) -> None:
        """Learn the region's model and parameters (defaults that depend on them)."""

    @abstractmethod
    def drive(self, c: np.ndarray) -> np.ndarray:
        """Drive values per step (t,) from the coupling (t, n_cvar)."""


class RateToPoisson(_Input):
    """Network input -> independent Poisson trains into inset neurons.

    Parameters
    ----------
    target : str
        Inset population receiving the trains.
    scale : float
        Hz per unit of coupling: ``rate = max(0, baseline + scale * c[variable])``.
    baseline : float
        Rate without network input, Hz.
    weight : float
        Efficacy of each Poisson spike (the engine's synaptic weight units).
    fraction : float
        Fraction of the population receiving the trains (a seeded subset).
    variable : int
        Which coupling variable (index into the model's coupling variables).
    compartment : str, optional
        For compartmental insets: the synapse receiving the trains (default the
        cell's first).
    """

    kind = "poisson"

    def __init__(self, target: str, *, scale: float, baseline: float = 0.0, weight: float = 1.0,
                 fraction: float = 1.0, variable: int = 0, name: str | None = None,
                 compartment: str | None = None) -> None:
        super().__init__(target, weight=weight, fraction=fraction, name=name,
                         compartment=compartment)
        self.scale = float(scale)
        self.baseline = float(check_range("baseline", baseline, 0.0))
        self.variable = int(variable)

    def drive(self, c: np.ndarray) -> np.ndarray:
        return np.maximum(0.0, self.baseline + self.scale * c[:, self.variable])


class RateToCurrent(_Input):
    """Network input -> a current injected into inset neurons.

    Parameters
    ----------
    target : str
        Inset population.
    gains : sequence of float, optional
        Current per unit of each coupling variable; default: the model's own
        coupling gains where it has them (MPR: ``(cr, cv)``), else 1 for the first.
    offset : float
        Constant current added.
    fraction : float
        Fraction of the population receiving it.
    compartment : str, optional
        For compartmental insets: where the current enters (e.g. ``"dend(0.5)"``).
    """

    kind = "current"

    def __init__(self, target: str, *, gains: Sequence[float] | None = None, offset: float = 0.0,
                 fraction: float = 1.0, name: str | None = None,
                 compartment: str | None = None) -> None:
        super().__init__(target, weight=1.0, fraction=fraction, name=name,
                         compartment=compartment)
        self.gains = None if gains is None else np.asarray(gains, dtype=np.float64)
        self.offset = float(offset)

    def setup(self, model, params: dict[str, float]) -> None:
        if self.gains is None:
            if "cr" in params and "cv" in params:
                self._gains = np.array([params["cr"], params["cv"]])
            else:
                self._gains = np.array([1.0])
        else:
            self._gains = self.gains
        n_cvar = len(model.coupling_variables)
        if len(self._gains) > n_cvar:
            raise ValueError(f"RateToCurrent has {len(self._gains)} gains but "
                             f"{type(model).__name__} has {n_cvar} coupling variables.")

    def drive(self, c: np.ndarray) -> np.ndarray:
        return self.offset + c[:, :len(self._gains)] @ self._gains


class _Output(ABC):
    """Inset -> network: the values of one region state variable per step."""

    def __init__(self, variable: str) -> None:
        self.variable = str(variable)

    def setup(self, model, params: dict[str, float], sizes: dict[str, int], dt: float) -> None:
        names = model.state_names()
        check_option("variable", self.variable, names)
        self.index = list(names).index(self.variable)
        self.dt = dt

    @abstractmethod
    def values(self, activity: dict) -> np.ndarray:
        """Values of the variable per step from the inset's activity per step."""


class SpikesToRate(_Output):
    """Population rate -> a region variable.

    Parameters
    ----------
    populations : str or sequence of str
        Inset populations pooled into one rate.
    variable : str
        Region state variable set to ``offset + scale * rate``.
    unit : {"Hz", "kHz"}
        Unit of ``rate`` (kHz for models in ms, e.g. MPR's ``r``).
    smoothing : {"exponential", "box", "none"}
        Causal kernel: a unit-gain exponential of time constant ``width`` ms,
        or the mean over the last ``width`` ms.
    width : float
        Kernel width, ms.
    scale, offset : float
    """

    def __init__(self, populations: str | Sequence[str], variable: str, *, unit: str = "Hz",
                 smoothing: str = "exponential", width: float = 1.0, scale: float = 1.0,
                 offset: float = 0.0) -> None:
        super().__init__(variable)
        self.populations = [populations] if isinstance(populations, str) else list(populations)
        self.unit = check_option("unit", unit, ("Hz", "kHz"))
        self.smoothing = check_option("smoothing", smoothing, ("exponential", "box", "none"))
        self.width = float(check_range("width", width, 0.0, low_inclusive=False))
        self.scale, self.offset = float(scale), float(offset)

    def setup(self, model, params, sizes, dt) -> None:
        super().setup(model, params, sizes, dt)
        for pop in self.populations:
            check_option("population", pop, sizes)
        self.n = sum(sizes[p] for p in self.populations)
        self._decay = math.exp(-dt / self.width)
        self._level = 0.0
        self._window = np.zeros(max(1, int(round(self.width / dt))))
        self._filled = 0

    def rate(self, activity: dict) -> np.ndarray:
        """Smoothed population rate per step, in ``unit``."""
        counts = sum(np.asarray(activity["counts"][p], dtype=np.float64) for p in self.populations)
        raw = counts / (self.n * self.dt) * (1.0 if self.unit == "kHz" else 1000.0)
        if self.smoothing == "none":
            return raw
        if self.smoothing == "exponential":  # level_n = a level_(n-1) + (1 - a) rate_n
            a = self._decay
            out, _ = lfilter([1.0 - a], [1.0, -a], raw, zi=[a * self._level])
            self._level = float(out[-1]) if len(out) else self._level
            return out
        w = len(self._window)
        series = np.concatenate([self._window, raw])
        sums = np.cumsum(series)
        out = (sums[w:] - sums[:-w]) / w
        self._window = series[-w:]
        return out

    def values(self, activity: dict) -> np.ndarray:
        return self.offset + self.scale * self.rate(activity)


class SpikesToSynaptic(SpikesToRate):
    """Population rate -> a synaptic gating variable, with the region model's equation.

    ``dS/dt = -S / tau_s + (1 - S) gamma H``, H the smoothed rate in Hz,
    integrated exactly over each step with H held (S stays within [0, 1]).

    Parameters
    ----------
    populations, variable
        As :class:`SpikesToRate`.
    tau_s : float, optional
        Decay time constant, ms; default the region model's ``tau_s``.
    gamma : float, optional
        Kinetic parameter per ms per Hz of H; default the region model's
        ``gamma``, which in TVB's ReducedWongWang family is per kHz (H in kHz),
        divided by 1000 (0.641 / 1000).
    smoothing, width
        As :class:`SpikesToRate`.
    """

    def __init__(self, populations: str | Sequence[str], variable: str = "S", *,
                 tau_s: float | None = None, gamma: float | None = None,
                 smoothing: str = "exponential", width: float = 1.0) -> None:
        super().__init__(populations, variable, unit="Hz", smoothing=smoothing, width=width)
        self.tau_s, self.gamma = tau_s, gamma

    def setup(self, model, params, sizes, dt) -> None:
        super().setup(model, params, sizes, dt)
        self._tau = self.tau_s if self.tau_s is not None else params.get("tau_s")
        self._gamma = self.gamma
        if self._gamma is None and "gamma" in params:
            self._gamma = params["gamma"] / 1000.0  # the model's H is in kHz, ours in Hz
        if self._tau is None or self._gamma is None:
            raise ValueError(f"SpikesToSynaptic needs tau_s and gamma: {type(model).__name__} "
                             "has no parameters of those names, so pass them.")
        self._S = None

    def start(self, value: float) -> None:
        """The gating variable's value when the inset takes over."""
        self._S = float(value)

    def values(self, activity: dict) -> np.ndarray:
        H = self.rate(activity)
        out = _gate(0.0 if self._S is None else self._S, H, self._tau, self._gamma, self.dt)
        if len(out):
            self._S = float(out[-1])
        return out


class MeanPotential(_Output):
    """The population's mean membrane potential -> a region variable.

    ``value = offset + scale * v_mean`` (for a QIF inset of an MPR region the
    identity: both in the model's normalised units).
    """

    def __init__(self, population: str, variable: str, *, scale: float = 1.0,
                 offset: float = 0.0) -> None:
        super().__init__(variable)
        self.population = str(population)
        self.scale, self.offset = float(scale), float(offset)

    def setup(self, model, params, sizes, dt) -> None:
        super().setup(model, params, sizes, dt)
        check_option("population", self.population, sizes)

    def values(self, activity: dict) -> np.ndarray:
        return self.offset + self.scale * np.asarray(activity["v_mean"][self.population])


@njit(cache=True)
def _gate(S, H, tau, gamma, dt):  # pragma: no cover - compiled
    """S after each step with H held over it (the equation is linear in S then)."""
    out = np.empty_like(H)
    for n in range(H.shape[0]):
        # relax to S* = g H / (1/tau + g H) at the rate 1/tau + g H
        k = 1.0 / tau + gamma * H[n]
        s_inf = gamma * H[n] / k
        S = s_inf + (S - s_inf) * math.exp(-k * dt)
        out[n] = S
    return out
