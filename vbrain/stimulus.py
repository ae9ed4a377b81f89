r"""Virtual stimulation: waveforms in time, patterns in space, and closed loops.

A :class:`Stimulus` adds a term :math:`I_i(t) = w_i \, s(t)` to the right-hand
side of state variables of the regions it targets (those it names, else the
model's ``stimulus_variables``: TVB's ``stvar``, by default the coupling
variables), as TVB's ``stimulus`` does: the time course :math:`s(t)` comes
from a :class:`Waveform`, the spatial weights :math:`w_i` from a
:class:`SpatialPattern`. Several stimuli add up.

Semantics on the time grid
--------------------------
Time is discretised as :math:`t_n = n \, \Delta t` (ms, from the start of the
run, :math:`n = 0, 1, \dots`). The term is held over a step: the step from
:math:`t_n` to :math:`t_{n+1}` adds :math:`\Delta t \, I(t_n)` to the variable
(Euler: :math:`x \mathrel{+}= \Delta t\,(f(x) + I)`; Heun: predictor and
corrector both get :math:`\Delta t\,I`; RK4: added once at the end), as TVB's
integrators do. :meth:`Waveform.values` therefore returns the waveform at
integer step indices, exactly:

- a pulse of width :math:`W` lasts ``W / dt`` steps, and the width must be a
  whole number of steps (so the delivered charge, :math:`\sum_n I(t_n) \Delta t
  = A W`, does not depend on ``dt``);
- a pulse meant to start at time :math:`T` starts at the nearest step,
  ``round(T / dt)`` (numpy's round-half-to-even), so a 130 Hz train on a
  0.1 ms grid jitters by at most half a step;
- a window ``[onset, stop)`` covers the steps with :math:`t_n \ge` onset and
  :math:`t_n <` stop (to 1e-6 of a step, so that 0.3 / 0.1 counts as step 3).

Units
-----
A waveform's amplitude is in units of the targeted variable's time derivative
(the variable's unit per ms: mV/ms for Jansen-Rit's ``y4``), times the unit of
the spatial weights when those carry one (:class:`FieldMap`: V/m;
:class:`Electrode`: V/(A·m)); then the amplitude is "derivative per V/m".
Frequencies in Hz, times and widths in ms, phases in radians.

Closed loop
-----------
:class:`ClosedLoop` pairs a stimulus with a controller, a plain callable
``controller(t_ms, times, samples) -> gain`` that the simulation calls every
``interval`` ms with the samples one monitor produced in the last interval;
the gain multiplies the stimulus during the next interval.
:class:`ThresholdTrigger` (band power above a threshold) and
:class:`PhaseLocked` (stimulate at a target phase of an oscillation) are the
two controllers provided; both are deterministic.

Examples
--------
>>> import vbrain as vb
>>> from vbrain.stimulus import PulseTrain, Labels, Stimulus
>>> dbs = Stimulus(PulseTrain(frequency=130.0, width=0.1, amplitude=5.0),
...                Labels(["rTCS", "lTCS"]))                  # doctest: +SKIP
>>> sim = vb.Simulation(conn, model, stimuli=[dbs])          # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._check import check_array, check_option, check_range, suggest, validate_type

__all__ = [
    "ArrayWaveform",
    "ClosedLoop",
    "Electrode",
    "FieldMap",
    "InsetNeurons",
    "Labels",
    "NoiseWaveform",
    "PairedPulse",
    "PhaseLocked",
    "Pulse",
    "PulseTrain",
    "Ramp",
    "RegionWeights",
    "Sinusoid",
    "SpatialPattern",
    "Stimulus",
    "ThresholdTrigger",
    "Waveform",
]

#: tolerance, in steps, when a time must fall on the grid or a window edge is tested
_STEP_TOL = 1e-6
#: steps per block of NoiseWaveform samples drawn from one seeded generator
_NOISE_BLOCK = 1024
#: spawn-key tag of NoiseWaveform streams, apart from the simulation's own (history, noise)
_NOISE_TAG = 0x5714


# =============================================================================
# Time-grid helpers
# =============================================================================
def _check_dt(dt: Any) -> float:
    return check_range("dt", dt, 0.0, low_inclusive=False)


def _nyquist(dt: float) -> float:
    """Nyquist frequency of a step of ``dt`` ms, Hz."""
    return 1000.0 / (2.0 * dt)


def _nearest_step(t: float, dt: float) -> int:
    """The step nearest to time ``t`` ms (round half to even)."""
    return int(np.rint(t / dt))


def _first_step_at(t: float, dt: float) -> int:
    """The first step n with t_n >= t (to _STEP_TOL of a step)."""
    return math.ceil(t / dt - _STEP_TOL)


def _whole_steps(name: str, value: float, dt: float, *, minimum: int) -> int:
    """``value`` ms as a whole number (>= minimum) of steps of ``dt``, or a clear error."""
    k = int(np.rint(value / dt))
    if value / dt < minimum - _STEP_TOL:
        if minimum == 1:
            raise ValueError(
                f"{name} must be at least one integration step (dt = {dt:g} ms), but got "
                f"{value:g} ms. Use {name}={dt:g} and scale the amplitude by "
                f"{value:g}/{dt:g} to deliver the same charge, or lower dt.")
        raise ValueError(f"{name} must be >= {minimum} steps, but got {value / dt:g}.")
    if abs(value / dt - k) > _STEP_TOL:
        lo, hi = math.floor(value / dt) * dt, math.ceil(value / dt) * dt
        raise ValueError(
            f"{name} must be a whole number of integration steps (dt = {dt:g} ms), but got "
            f"{value:g} ms = {value / dt:g} steps; use {lo:g} or {hi:g} ms. Pulses last whole "
            "steps so that the delivered charge does not depend on dt.")
    return k


def _check_steps(steps: Any) -> np.ndarray:
    """Step indices as an int64 array (any shape), non-negative."""
    arr = np.asarray(steps)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) \
                and np.all(arr == np.round(arr)) or arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"steps must be integer step indices, but got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"steps must be >= 0 (counted from the start of the run), but the "
                         f"smallest is {int(arr.min())}.")
    return arr


def _window(steps: np.ndarray, onset: float, stop: float | None, dt: float) -> np.ndarray:
    """Mask of the steps inside [onset, stop)."""
    inside = steps >= _first_step_at(onset, dt)
    if stop is not None:
        inside &= steps < _first_step_at(stop, dt)
    return inside


def _check_onset_stop(onset: Any, stop: Any) -> tuple[float, float | None]:
    onset = check_range("onset", onset, 0.0)
    if stop is not None:
        stop = check_range("stop", stop, onset, low_inclusive=False)
    return onset, stop


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value)


# =============================================================================
# Waveforms
# =============================================================================
class Waveform:
    """Base class of stimulus time courses.

    A waveform is evaluated on the simulation grid: :meth:`values` gives
    :math:`s(t_n)` for step indices ``n`` (``t_n = n * dt`` ms). Subclasses
    validate their parameters in ``__init__``, check them against ``dt`` in
    ``_check`` and implement the vectorised ``_values``.

    A waveform times a number, and the sum (or difference) of two waveforms,
    are waveforms: ``0.5 * Sinusoid(10, 1) + Pulse(100, 1, 3)``.
    """

    #: parameter names shown in the repr, in order
    _fields: tuple[str, ...] = ()

    def values(self, steps: Any, dt: float) -> np.ndarray:
        """The waveform at integer steps.

        Parameters
        ----------
        steps : array of int
            Step indices ``n >= 0`` (any shape, any order, repeats allowed).
        dt : float
            Integration step, ms.

        Returns
        -------
        ndarray of float64
            :math:`s(n \\, dt)`, same shape as ``steps``.

        Raises
        ------
        ValueError
            The waveform does not fit ``dt`` (see :meth:`check`), negative
            steps, or (:class:`ArrayWaveform`) steps beyond its samples.
        """
        dt = _check_dt(dt)
        self.check(dt)
        n = _check_steps(steps)
        out = np.asarray(self._values(n.ravel(), dt), dtype=np.float64)
        return out.reshape(n.shape)

    def check(self, dt: float, n_steps: int | None = None) -> None:
        """Check that the waveform can be represented on a grid of step ``dt`` ms.

        Parameters
        ----------
        dt : float
            Integration step, ms.
        n_steps : int, optional
            Length of the run in steps: also check that the waveform is
            defined over steps ``0 .. n_steps - 1`` (an :class:`ArrayWaveform`
            without ``fill`` must cover them), so a run fails before it starts.

        Raises
        ------
        ValueError
            A pulse narrower than ``dt`` or not a whole number of steps,
            a frequency above the Nyquist frequency ``1000 / (2 dt)`` Hz,
            overlapping pulses, user samples finer than ``dt`` or shorter
            than the run (each error names what is wrong and how to fix it).
        """
        dt = _check_dt(dt)
        self._check(dt)
        if n_steps is not None:
            if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) \
                    or n_steps < 0:
                raise TypeError(f"n_steps must be a non-negative int, but got {n_steps!r}.")
            if n_steps:
                self._values(np.array([n_steps - 1], dtype=np.int64), dt)

    def _check(self, dt: float) -> None:  # pragma: no cover - overridden
        pass

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} does not define _values(); subclass Waveform "
                        "and implement it.")

    # -- algebra ----------------------------------------------------------
    def __mul__(self, factor: Any) -> Waveform:
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            return _Scaled(self, check_range("factor", factor))
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, divisor: Any) -> Waveform:
        if isinstance(divisor, numbers.Real) and not isinstance(divisor, bool):
            if check_range("divisor", divisor) == 0.0:
                raise ZeroDivisionError("A waveform cannot be divided by 0.")
            return _Scaled(self, 1.0 / float(divisor))
        return NotImplemented

    def __neg__(self) -> Waveform:
        return _Scaled(self, -1.0)

    def __add__(self, other: Any) -> Waveform:
        if isinstance(other, Waveform):
            return _Sum(self, other)
        return NotImplemented

    def __sub__(self, other: Any) -> Waveform:
        if isinstance(other, Waveform):
            return _Sum(self, _Scaled(other, -1.0))
        return NotImplemented

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={_fmt(getattr(self, f))}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class _Scaled(Waveform):
    """``factor * waveform``."""

    def __init__(self, waveform: Waveform, factor: float) -> None:
        self.waveform, self.factor = waveform, float(factor)

    def _check(self, dt: float) -> None:
        self.waveform._check(dt)

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        return self.factor * self.waveform._values(n, dt)

    def __repr__(self) -> str:
        return f"{self.factor:g} * {self.waveform!r}"


class _Sum(Waveform):
    """``a + b``."""

    def __init__(self, a: Waveform, b: Waveform) -> None:
        self.a, self.b = a, b

    def _check(self, dt: float) -> None:
        self.a._check(dt)
        self.b._check(dt)

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        return self.a._values(n, dt) + self.b._values(n, dt)

    def __repr__(self) -> str:
        return f"({self.a!r} + {self.b!r})"


def _pulse_shape(j: np.ndarray, width: int, gap: int, biphasic: bool,
                 amplitude: float) -> np.ndarray:
    """Value at offset ``j`` steps from a pulse's start (0 outside the pulse)."""
    out = np.where((j >= 0) & (j < width), amplitude, 0.0)
    if biphasic:
        second = (j >= width + gap) & (j < 2 * width + gap)
        out = np.where(second, -amplitude, out)
    return out


class PulseTrain(Waveform):
    """A periodic train of rectangular pulses (deep brain stimulation).

    Pulse ``k`` (k = 0, 1, ...) starts at step ``round((onset + k * 1000 /
    frequency) / dt)``, the step nearest to its ideal time, and its phase
    lasts ``width / dt`` steps.

    Parameters
    ----------
    frequency : float
        Pulses per second, Hz (130 Hz for clinical DBS). At most the Nyquist
        frequency ``1000 / (2 dt)``.
    width : float
        Duration of one phase, ms; a whole number of steps of ``dt``.
        Clinical DBS phases (60-90 µs) are shorter than a typical
        neural-mass step: use ``width=dt`` with the amplitude scaled by
        ``true width / dt`` for the same charge.
    amplitude : float
        Height of the (leading) phase, in the units of the target variable's
        derivative (see the module notes); any sign.
    onset : float, default 0
        Ideal start of the first pulse, ms.
    stop : float, optional
        No pulse starts at or after ``stop`` ms; a pulse started before it
        is completed (so a biphasic pulse stays charge-balanced).
    biphasic : bool, default False
        Charge-balanced pulses: a leading phase of ``amplitude``, then
        ``interphase_gap`` of zero, then an equal and opposite phase
        (``-amplitude``, same width): zero net charge. The leading phase
        has the sign of ``amplitude``: clinical DBS pulses are cathodic
        first, and the cathodic phase is the one that depolarises nearby
        neurons, so a cathodic-first pulse into an excitatory variable is
        modelled with a positive amplitude (a negative one gives an
        anodic-first pulse).
    interphase_gap : float, default 0
        Gap between the phases of a biphasic pulse, ms; a whole number of
        steps.
    n_pulses : int, optional
        Number of pulses (with ``stop``: whichever ends the train first).

    Notes
    -----
    With ``n_pulses`` monophasic pulses the delivered charge is exactly
    ``sum(values) * dt = amplitude * width * n_pulses``; biphasic pulses
    deliver zero. A pulse (both phases and the gap) must fit within one
    period, ``1000 / frequency`` ms on the grid, or the pulses would overlap.
    """

    _fields = ("frequency", "width", "amplitude", "onset", "stop", "biphasic",
               "interphase_gap", "n_pulses")

    def __init__(self, frequency: float, width: float, amplitude: float, onset: float = 0.0,
                 stop: float | None = None, biphasic: bool = False,
                 interphase_gap: float = 0.0, n_pulses: int | None = None) -> None:
        self.frequency = check_range("frequency", frequency, 0.0, low_inclusive=False)
        self.width = check_range("width", width, 0.0, low_inclusive=False)
        self.amplitude = check_range("amplitude", amplitude)
        self.onset, self.stop = _check_onset_stop(onset, stop)
        self.biphasic = bool(validate_type("biphasic", biphasic, (bool, np.bool_)))
        self.interphase_gap = check_range("interphase_gap", interphase_gap, 0.0)
        if self.interphase_gap and not self.biphasic:
            raise ValueError("interphase_gap is only meaningful with biphasic=True, but got "
                             f"interphase_gap={self.interphase_gap:g} ms and biphasic=False.")
        if n_pulses is not None:
            if isinstance(n_pulses, bool) or not isinstance(n_pulses, (int, np.integer)):
                raise TypeError(f"n_pulses must be an int or None, but got {n_pulses!r}.")
            if n_pulses < 1:
                raise ValueError(f"n_pulses must be >= 1, but got {n_pulses}.")
            n_pulses = int(n_pulses)
        self.n_pulses = n_pulses

    @property
    def period(self) -> float:
        """Time between pulse onsets, ms."""
        return 1000.0 / self.frequency

    def _steps(self, dt: float) -> tuple[int, int, int]:
        """(phase width, gap, whole pulse) in steps."""
        w = _whole_steps("width", self.width, dt, minimum=1)
        g = _whole_steps("interphase_gap", self.interphase_gap, dt, minimum=0)
        return w, g, (2 * w + g if self.biphasic else w)

    def _check(self, dt: float) -> None:
        if self.frequency > _nyquist(dt):
            raise ValueError(
                f"frequency {self.frequency:g} Hz is above the Nyquist frequency of dt = "
                f"{dt:g} ms ({_nyquist(dt):g} Hz); lower the frequency or dt.")
        _, _, total = self._steps(dt)
        room = math.floor(self.period / dt + _STEP_TOL)  # fewest steps between two onsets
        if total > room:
            what = "a biphasic pulse (2 x width + interphase_gap)" if self.biphasic else "width"
            raise ValueError(
                f"The pulses of this train overlap: {what} lasts {total} steps of dt = {dt:g} "
                f"ms, but pulses start every {self.period:g} ms ({room} whole steps). Lower the "
                "frequency or the width.")

    def onset_steps(self, dt: float, n_steps: int) -> np.ndarray:
        """Start steps of the pulses that start before step ``n_steps``, int64.

        Parameters
        ----------
        dt : float
            Integration step, ms.
        n_steps : int
            Only pulses starting at steps ``< n_steps`` are listed.
        """
        dt = _check_dt(dt)
        self.check(dt)
        k_max = math.ceil((n_steps * dt - self.onset) / self.period) + 2
        k = np.arange(max(k_max, 0), dtype=np.int64)
        starts = self._start(k, dt)
        keep = self._exists(k, starts, dt) & (starts < n_steps)
        return starts[keep]

    def _start(self, k: np.ndarray, dt: float) -> np.ndarray:
        return np.rint((self.onset + k * self.period) / dt).astype(np.int64)

    def _exists(self, k: np.ndarray, starts: np.ndarray, dt: float) -> np.ndarray:
        ok = k >= 0
        if self.n_pulses is not None:
            ok &= k < self.n_pulses
        if self.stop is not None:
            ok &= starts < _first_step_at(self.stop, dt)
        return ok

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        w, g, _ = self._steps(dt)
        out = np.zeros(n.shape)
        # the pulse holding step n, if any, is within one of floor((t_n - onset) / period)
        k_est = np.floor((n * dt - self.onset) / self.period).astype(np.int64)
        for shift in (-1, 0, 1):
            k = k_est + shift
            starts = self._start(k, dt)
            value = _pulse_shape(n - starts, w, g, self.biphasic, self.amplitude)
            out += np.where(self._exists(k, starts, dt), value, 0.0)
        return out


class Pulse(Waveform):
    """A single rectangular pulse (a TMS pulse at the neural-mass scale).

    Parameters
    ----------
    time : float
        Ideal start, ms; the pulse starts at step ``round(time / dt)``.
    width : float
        Duration, ms; a whole number of steps of ``dt``.
    amplitude : float
        Height, in the units of the target variable's derivative; any sign.
        The delivered charge is ``amplitude * width``.
    """

    _fields = ("time", "width", "amplitude")

    def __init__(self, time: float, width: float, amplitude: float) -> None:
        self.time = check_range("time", time, 0.0)
        self.width = check_range("width", width, 0.0, low_inclusive=False)
        self.amplitude = check_range("amplitude", amplitude)

    def _check(self, dt: float) -> None:
        _whole_steps("width", self.width, dt, minimum=1)

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        w = _whole_steps("width", self.width, dt, minimum=1)
        return _pulse_shape(n - _nearest_step(self.time, dt), w, 0, False, self.amplitude)


class PairedPulse(Waveform):
    """Two rectangular pulses ``interval`` ms apart (paired-pulse TMS).

    Parameters
    ----------
    time : float
        Ideal start of the first pulse, ms (step ``round(time / dt)``).
    interval : float
        Inter-stimulus interval between the pulse starts, ms; the second
        starts at step ``round((time + interval) / dt)``. The pulses must not
        overlap on the grid.
    width : float
        Duration of each pulse, ms; a whole number of steps.
    amplitude : float
        Height of the first (conditioning) pulse.
    second_amplitude : float, optional
        Height of the second (test) pulse; default ``amplitude``.
    """

    _fields = ("time", "interval", "width", "amplitude", "second_amplitude")

    def __init__(self, time: float, interval: float, width: float, amplitude: float,
                 second_amplitude: float | None = None) -> None:
        self.time = check_range("time", time, 0.0)
        self.interval = check_range("interval", interval, 0.0, low_inclusive=False)
        self.width = check_range("width", width, 0.0, low_inclusive=False)
        self.amplitude = check_range("amplitude", amplitude)
        self.second_amplitude = (self.amplitude if second_amplitude is None
                                 else check_range("second_amplitude", second_amplitude))

    def _starts(self, dt: float) -> tuple[int, int, int]:
        w = _whole_steps("width", self.width, dt, minimum=1)
        return _nearest_step(self.time, dt), _nearest_step(self.time + self.interval, dt), w

    def _check(self, dt: float) -> None:
        s1, s2, w = self._starts(dt)
        if s2 - s1 < w:
            raise ValueError(
                f"The two pulses overlap: interval {self.interval:g} ms is {s2 - s1} step(s) "
                f"of dt = {dt:g} ms on the grid, shorter than the width ({w} steps). Lengthen "
                "the interval or shorten the width.")

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        s1, s2, w = self._starts(dt)
        return (_pulse_shape(n - s1, w, 0, False, self.amplitude)
                + _pulse_shape(n - s2, w, 0, False, self.second_amplitude))


class Sinusoid(Waveform):
    r"""A sinusoid (transcranial alternating current stimulation, tACS).

    .. math:: s(t) = \mathrm{offset} + A \sin(2\pi f (t - t_0) / 1000 + \varphi)
              \quad \text{for } t_0 \le t < t_\mathrm{stop}, \text{ else } 0

    Parameters
    ----------
    frequency : float
        Hz, > 0 and at most the Nyquist frequency ``1000 / (2 dt)``.
    amplitude : float
        Peak amplitude :math:`A` (units of the target variable's derivative).
    phase : float, default 0
        Phase :math:`\varphi` at the onset, radians (0: the sine starts
        rising from ``offset``).
    onset : float, default 0
        :math:`t_0`, ms: the stimulation starts there (phase counted from it).
    stop : float, optional
        End, ms (exclusive); default: never.
    offset : float, default 0
        Constant added while the stimulation is on (a DC component, as in
        tACS with a direct-current offset).
    """

    _fields = ("frequency", "amplitude", "phase", "onset", "stop", "offset")

    def __init__(self, frequency: float, amplitude: float, phase: float = 0.0,
                 onset: float = 0.0, stop: float | None = None, offset: float = 0.0) -> None:
        self.frequency = check_range("frequency", frequency, 0.0, low_inclusive=False)
        self.amplitude = check_range("amplitude", amplitude)
        self.phase = check_range("phase", phase)
        self.onset, self.stop = _check_onset_stop(onset, stop)
        self.offset = check_range("offset", offset)

    def _check(self, dt: float) -> None:
        if self.frequency > _nyquist(dt):
            raise ValueError(
                f"frequency {self.frequency:g} Hz is above the Nyquist frequency of dt = "
                f"{dt:g} ms ({_nyquist(dt):g} Hz): the sinusoid would alias. Lower the "
                "frequency or dt.")

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        t = n * dt
        s = self.offset + self.amplitude * np.sin(
            2.0 * np.pi * self.frequency * (t - self.onset) / 1000.0 + self.phase)
        return np.where(_window(n, self.onset, self.stop, dt), s, 0.0)


class Ramp(Waveform):
    """A linear ramp from ``amplitude_start`` at ``start`` to ``amplitude_stop`` at ``stop``.

    ``s(t) = a0 + (a1 - a0) (t - start) / (stop - start)`` for ``start <= t <
    stop`` (ms), zero outside. A ramp with equal amplitudes is a constant
    (box) stimulus.

    Parameters
    ----------
    start, stop : float
        Window, ms (``0 <= start < stop``).
    amplitude_start, amplitude_stop : float
        Values at ``start`` and (the limit at) ``stop``.
    """

    _fields = ("start", "stop", "amplitude_start", "amplitude_stop")

    def __init__(self, start: float, stop: float, amplitude_start: float,
                 amplitude_stop: float) -> None:
        self.start = check_range("start", start, 0.0)
        self.stop = check_range("stop", stop, self.start, low_inclusive=False)
        self.amplitude_start = check_range("amplitude_start", amplitude_start)
        self.amplitude_stop = check_range("amplitude_stop", amplitude_stop)

    def _check(self, dt: float) -> None:
        if _first_step_at(self.stop, dt) <= _first_step_at(self.start, dt):
            raise ValueError(f"The ramp from {self.start:g} to {self.stop:g} ms holds no step of "
                             f"dt = {dt:g} ms; widen it or lower dt.")

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        frac = (n * dt - self.start) / (self.stop - self.start)
        s = self.amplitude_start + (self.amplitude_stop - self.amplitude_start) * frac
        return np.where(_window(n, self.start, self.stop, dt), s, 0.0)


class NoiseWaveform(Waveform):
    """Gaussian white noise, seeded, held over each step.

    Sample ``n`` is ``std * z_n`` with ``z_n`` standard normal, a function of
    ``seed`` and ``n`` only (steps are grouped in blocks of 1024, each drawn
    from its own generator spawned from ``seed``): the same steps give the same
    values in any order and in any chunking of a run.

    Parameters
    ----------
    std : float
        Standard deviation of each sample (units of the target variable's
        derivative), >= 0.
    seed : int
        Non-negative seed (required: a stimulus must be reproducible).
    onset : float, default 0
        Start, ms.
    stop : float, optional
        End, ms (exclusive).

    Notes
    -----
    The samples are independent per step and held over it, so the variance
    the stimulus injects per unit time scales with ``dt``: this is a
    step-resolution random current, not a Wiener process. For diffusion
    noise whose effect does not depend on ``dt`` use :mod:`vbrain.noise`.
    """

    _fields = ("std", "seed", "onset", "stop")

    def __init__(self, std: float, seed: int, onset: float = 0.0,
                 stop: float | None = None) -> None:
        self.std = check_range("std", std, 0.0)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"seed must be a non-negative int (the noise must be reproducible), "
                            f"but got {seed!r}.")
        self.seed = int(seed)
        self.onset, self.stop = _check_onset_stop(onset, stop)

    def _check(self, dt: float) -> None:
        pass

    def _block(self, b: int) -> np.ndarray:
        ss = np.random.SeedSequence(self.seed, spawn_key=(_NOISE_TAG, int(b)))
        return np.random.Generator(np.random.PCG64(ss)).standard_normal(_NOISE_BLOCK)

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        inside = _window(n, self.onset, self.stop, dt)
        out = np.zeros(n.shape)
        if not inside.any() or self.std == 0.0:
            return out
        m = n[inside]
        blocks, where = np.unique(m // _NOISE_BLOCK, return_inverse=True)
        table = np.stack([self._block(b) for b in blocks])
        out[inside] = self.std * table[where.ravel(), m % _NOISE_BLOCK]
        return out


class ArrayWaveform(Waveform):
    """User samples, held onto the simulation grid (sample and hold).

    Sample ``j`` covers ``[onset + j * dt_values, onset + (j + 1) * dt_values)``
    ms; step ``n`` takes the sample in force at ``t_n``. Before ``onset`` the
    waveform is 0.

    Parameters
    ----------
    values : array (n_samples,)
        The samples, finite (units of the target variable's derivative).
    dt_values : float
        Their spacing, ms; at least the simulation's ``dt`` (finer samples
        would be skipped, not averaged: resample them first). When it is not
        a multiple of ``dt`` the samples are held for unequal numbers of steps.
    onset : float, default 0
        Time of the first sample, ms.
    fill : float, optional
        Value after the last sample. Default None: asking for a step beyond
        the samples is an error (a waveform shorter than the run is more
        often a mistake than an intent); pass ``fill=0.0`` to stop there.
    """

    _fields = ("dt_values", "onset", "fill")

    def __init__(self, values: Any, dt_values: float, onset: float = 0.0,
                 fill: float | None = None) -> None:
        self.samples = check_array("values", values)
        if self.samples.ndim != 1 or self.samples.size == 0:
            raise ValueError(f"values must be a non-empty 1-D array (n_samples,), but got shape "
                             f"{self.samples.shape}.")
        self.samples.setflags(write=False)
        self.dt_values = check_range("dt_values", dt_values, 0.0, low_inclusive=False)
        self.onset = check_range("onset", onset, 0.0)
        self.fill = None if fill is None else check_range("fill", fill)

    @property
    def duration(self) -> float:
        """Time covered by the samples, ms."""
        return self.samples.size * self.dt_values

    def _check(self, dt: float) -> None:
        if self.dt_values < dt * (1.0 - _STEP_TOL):
            raise ValueError(
                f"dt_values ({self.dt_values:g} ms) is finer than the integration step dt = "
                f"{dt:g} ms: samples would be skipped. Resample the values to dt (e.g. average "
                "them over each step) or lower dt.")

    def _values(self, n: np.ndarray, dt: float) -> np.ndarray:
        inside = n >= _first_step_at(self.onset, dt)
        j = np.floor((n * dt - self.onset) / self.dt_values + _STEP_TOL).astype(np.int64)
        beyond = inside & (j >= self.samples.size)
        if beyond.any() and self.fill is None:
            last = int(n[beyond].max())
            raise ValueError(
                f"The ArrayWaveform covers {self.onset:g} to {self.onset + self.duration:g} ms "
                f"({self.samples.size} samples every {self.dt_values:g} ms), but step {last} "
                f"(t = {last * dt:g} ms) was asked for. Give more samples or pass fill=0.0.")
        held = self.samples[np.clip(j, 0, self.samples.size - 1)]
        out = np.where(inside, held, 0.0)
        if beyond.any():
            out[beyond] = self.fill
        return out

    def __repr__(self) -> str:
        digest = zlib.crc32(self.samples.tobytes())
        return (f"ArrayWaveform(<{self.samples.size} samples, hash {digest:08x}>, "
                f"dt_values={self.dt_values:g}, onset={self.onset:g}, fill={_fmt(self.fill)})")


# =============================================================================
# Spatial patterns
# =============================================================================
def _labels_of(connectome: Any) -> tuple[str, ...]:
    labels = getattr(connectome, "labels", None)
    if labels is None:
        raise TypeError("connectome must be a Connectome (anything with region labels), but "
                        f"got {type(connectome).__name__}.")
    return tuple(str(s) for s in labels)


def _unknown_labels(name: str, unknown: Sequence[str], labels: Sequence[str]) -> ValueError:
    shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
    return ValueError(
        f"{name} names {len(unknown)} region(s) the connectome does not have: {shown}."
        f"{suggest(unknown[0], labels)} Regions: {list(labels[:12])}"
        f"{' ...' if len(labels) > 12 else ''}.")


class SpatialPattern:
    """Base class: how strongly a stimulus reaches each region.

    Subclasses implement ``_weights(connectome)``; :meth:`weights` checks the
    result (one finite value per region).
    """

    def weights(self, connectome: Any) -> np.ndarray:
        """Spatial weights of the connectome's regions.

        Parameters
        ----------
        connectome : Connectome

        Returns
        -------
        ndarray (n_regions,)
            float64, finite; region order of the connectome.
        """
        labels = _labels_of(connectome)
        w = np.asarray(self._weights(connectome), dtype=np.float64)
        if w.shape != (len(labels),):
            raise ValueError(f"{type(self).__name__} gave weights of shape {w.shape}, but the "
                             f"connectome has {len(labels)} regions.")
        if not np.all(np.isfinite(w)):
            bad = [labels[i] for i in np.nonzero(~np.isfinite(w))[0][:5]]
            raise ValueError(f"{type(self).__name__} gave non-finite weights for regions {bad}.")
        return w

    def _weights(self, connectome: Any) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} does not define _weights(); subclass "
                        "SpatialPattern and implement it.")


class InsetNeurons(SpatialPattern):
    """Neurons of an inset: the stimulus is a current into part of one of its populations.

    For a region replaced by a spiking or compartmental inset
    (``Simulation(insets=...)``), e.g. deep brain stimulation of a
    subthalamic inset. The waveform is sampled at the inset's own step and
    injected (the engine's current units, e.g. pA) into a seeded random
    ``fraction`` of ``population`` (at ``compartment`` for compartmental
    cells). It does not act on any neural mass: its region weights are 0.

    Parameters
    ----------
    region : str
        Label of the inset region.
    population : str
        Inset population receiving the current.
    fraction : float, default 1
        Fraction of the population reached, in (0, 1].
    compartment : str, optional
        Compartment name, for compartmental insets.
    """

    def __init__(self, region: str, population: str, fraction: float = 1.0,
                 compartment: str | None = None) -> None:
        validate_type("region", region, str)
        validate_type("population", population, str)
        self.region = region
        self.population = population
        self.fraction = check_range("fraction", fraction, 0.0, 1.0, low_inclusive=False)
        self.compartment = compartment

    def _weights(self, connectome: Any) -> np.ndarray:
        labels = _labels_of(connectome)
        if self.region not in labels:
            raise ValueError(f"InsetNeurons: no region {self.region!r} in the connectome."
                             f"{suggest(self.region, labels)}")
        return np.zeros(len(labels))

    def __repr__(self) -> str:
        return (f"InsetNeurons({self.region!r}, {self.population!r}, "
                f"fraction={self.fraction:g})")


class RegionWeights(SpatialPattern):
    """Explicit weights: an array over all regions, or ``{label: weight}``.

    Parameters
    ----------
    weights : array (n_regions,) or dict of str to float
        Per-region weights in the connectome's region order, or weights for
        some regions by label (the others get 0). Finite.
    """

    def __init__(self, weights: Any) -> None:
        if isinstance(weights, Mapping):
            if not weights:
                raise ValueError("weights is an empty dict: name at least one region.")
            self.by_label = {str(k): check_range(f"weights[{k!r}]", v)
                             for k, v in weights.items()}
            self.array = None
        else:
            arr = check_array("weights", weights)
            if arr.ndim != 1 or arr.size == 0:
                raise ValueError(f"weights must be a 1-D array (n_regions,) or a dict "
                                 f"{{label: weight}}, but got shape {arr.shape}.")
            arr.setflags(write=False)
            self.by_label, self.array = None, arr

    def _weights(self, connectome: Any) -> np.ndarray:
        labels = _labels_of(connectome)
        if self.array is not None:
            if self.array.shape != (len(labels),):
                raise ValueError(f"weights must have shape ({len(labels)},) (one per region of "
                                 f"the connectome), but got {self.array.shape}.")
            return self.array.copy()
        position = {lab: i for i, lab in enumerate(labels)}
        unknown = [k for k in self.by_label if k not in position]
        if unknown:
            raise _unknown_labels("weights", unknown, labels)
        w = np.zeros(len(labels))
        for k, v in self.by_label.items():
            w[position[k]] = v
        return w

    def __repr__(self) -> str:
        if self.array is not None:
            return f"RegionWeights(<{self.array.size} values>)"
        return f"RegionWeights({self.by_label!r})"


class Labels(SpatialPattern):
    """The named regions, with one weight each (others 0).

    Parameters
    ----------
    labels : str or sequence of str
        Region labels of the connectome (e.g. ``"rM1"`` or ``["rM1", "lM1"]``).
    weight : float or sequence of float, default 1.0
        One weight for all, or one per label.
    """

    def __init__(self, labels: str | Sequence[str], weight: float | Sequence[float] = 1.0) -> None:
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(labels, (Sequence, np.ndarray)) or len(labels) == 0:
            raise ValueError(f"labels must be a region label or a non-empty list of them, but "
                             f"got {labels!r}.")
        self.labels = tuple(str(s) for s in labels)
        if len(set(self.labels)) != len(self.labels):
            dup = sorted({s for s in self.labels if self.labels.count(s) > 1})
            raise ValueError(f"labels must be unique, but {dup} appear more than once.")
        w = check_array("weight", weight)
        if w.ndim == 0:
            w = np.full(len(self.labels), float(w))
        if w.shape != (len(self.labels),):
            raise ValueError(f"weight must be a number or have one value per label "
                             f"({len(self.labels)},), but got shape {w.shape}.")
        self.weight = w

    def _weights(self, connectome: Any) -> np.ndarray:
        names = _labels_of(connectome)
        position = {lab: i for i, lab in enumerate(names)}
        unknown = [s for s in self.labels if s not in position]
        if unknown:
            raise _unknown_labels("labels", unknown, names)
        out = np.zeros(len(names))
        out[[position[s] for s in self.labels]] = self.weight
        return out

    def __repr__(self) -> str:
        w = self.weight
        wt = f"{w[0]:g}" if np.all(w == w[0]) else repr(w.tolist())
        return f"Labels({list(self.labels)!r}, weight={wt})"


class FieldMap(SpatialPattern):
    """An electric-field image (e.g. |E| in V/m from SimNIBS or ROAST) averaged per parcel.

    Parameters
    ----------
    image : path-like or nibabel image
        A 3-D map (e.g. ``magnE``), or a 4-D vector field whose last axis has
        3 components (the magnitude is used). Its values are the weights'
        unit (V/m for a field magnitude).
    atlas : Atlas or str
        The parcellation (a :class:`vbrain.atlas.Atlas` or anything
        :meth:`Atlas.load` reads, e.g. ``"atlases:default"``); it is matched
        to the connectome's regions by label.
    statistic : {"mean", "median", "max"}, default "mean"
        How the voxels of a parcel are reduced to its weight.
    normalize : {None, "max"}, default None
        ``"max"``: divide by the largest absolute weight, so that the
        stimulus amplitude is the input of the most stimulated region.

    Notes
    -----
    The map and the atlas must be in the same space (e.g. both MNI152). A map
    on another grid of that space is resampled onto the atlas grid
    (``nilearn.image.resample_img``, linear interpolation); parcel voxels
    outside the map's field of view are left out. Every parcel must have at
    least half of its voxels inside the map's field of view, and the map must
    be non-zero on some parcel: a map in another space (native instead of
    MNI, metres instead of mm) usually fails one of these and is reported as
    such. NaN or infinite values inside parcels are an error.
    """

    STATISTICS = ("mean", "median", "max")

    def __init__(self, image: Any, atlas: Any, statistic: str = "mean",
                 normalize: str | None = None) -> None:
        self.image = image
        self.atlas = atlas
        self.statistic = check_option("statistic", statistic, self.STATISTICS)
        self.normalize = check_option("normalize", normalize, (None, "max"))

    def _weights(self, connectome: Any) -> np.ndarray:
        from .atlas import Atlas

        atlas = self.atlas if isinstance(self.atlas, Atlas) else Atlas.load(self.atlas)
        atlas = atlas.match(connectome)
        data = _field_on_grid(self.image, atlas.affine, atlas.shape)
        idx = atlas.region_indices()
        labels = atlas.labels
        parcel = idx >= 0
        vals = data[parcel]
        ids = idx[parcel]
        covered = ~np.isnan(vals)  # NaN here only marks voxels outside the map's field of view
        counts = np.bincount(ids, minlength=atlas.n_regions)
        inside = np.bincount(ids[covered], minlength=atlas.n_regions)
        short = np.nonzero(inside < 0.5 * counts)[0]
        if short.size:
            shown = ", ".join(f"{labels[i]!r} ({inside[i] / counts[i]:.0%})" for i in short[:8])
            raise ValueError(
                f"The field map covers less than half of {short.size} of the {atlas.n_regions} "
                f"atlas parcel(s): {shown}{' ...' if short.size > 8 else ''}. Is it in another "
                f"space than the atlas? Map field of view {_fov(self.image)} mm; atlas grid "
                f"{atlas.shape} with affine {np.round(atlas.affine, 2).tolist()}.")
        bad = covered & ~np.isfinite(vals)
        if bad.any():
            raise ValueError(f"The field map has {int(bad.sum())} infinite value(s) inside atlas "
                             f"parcels, e.g. in {labels[ids[bad][0]]!r}.")
        w = np.empty(atlas.n_regions)
        order = np.argsort(ids[covered], kind="stable")
        sorted_vals = vals[covered][order]
        bounds = np.concatenate([[0], np.cumsum(inside)])
        reduce = {"mean": np.mean, "median": np.median, "max": np.max}[self.statistic]
        for i in range(atlas.n_regions):
            w[i] = reduce(sorted_vals[bounds[i]:bounds[i + 1]])
        if not np.any(w):
            raise ValueError(
                "The field map is zero over every atlas parcel. Is it in another space than the "
                f"atlas? Map field of view {_fov(self.image)} mm.")
        if self.normalize == "max":
            w = w / np.max(np.abs(w))
        return w

    def __repr__(self) -> str:
        img = os.fspath(self.image) if isinstance(self.image, (str, os.PathLike)) else "<image>"
        return f"FieldMap({img!r}, atlas={self.atlas!r}, statistic={self.statistic!r})"


def _load_field(image: Any) -> Any:
    import nibabel as nib

    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise FileNotFoundError(f"No field map image at {os.fspath(image)!r}.")
        return nib.load(os.fspath(image))
    if not hasattr(image, "dataobj") or not hasattr(image, "affine"):
        raise TypeError(f"image must be a nibabel image or a path to one, but got "
                        f"{type(image).__name__}.")
    return image


def _field_data(img: Any) -> np.ndarray:
    """3-D float data of a field map (the magnitude of a 3-component vector field)."""
    data = np.asarray(img.dataobj, dtype=np.float64)
    shape = data.shape
    if data.ndim > 3:
        extra = tuple(s for s in shape[3:] if s != 1)
        data = data.reshape(shape[:3] + extra)
        if extra == (3,):
            data = np.linalg.norm(data, axis=-1)
        elif extra:
            raise ValueError(f"The field map must be 3-D (a field magnitude) or a 3-component "
                             f"vector field (x, y, z, 3), but got shape {shape}.")
    if data.ndim != 3:
        raise ValueError(f"The field map must be 3-D (x, y, z), but got shape {shape}.")
    if np.isnan(data).any():
        raise ValueError(f"The field map holds {int(np.isnan(data).sum())} NaN value(s); replace "
                         "them (e.g. by 0 outside the head) before using it.")
    return data


def _fov(image: Any) -> str:
    """World bounding box of an image's grid, as text (mm)."""
    img = _load_field(image)
    corners = np.array(np.meshgrid(*[[0, s - 1] for s in img.shape[:3]])).reshape(3, -1).T
    xyz = corners @ np.asarray(img.affine)[:3, :3].T + np.asarray(img.affine)[:3, 3]
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    return f"x {lo[0]:.0f}..{hi[0]:.0f}, y {lo[1]:.0f}..{hi[1]:.0f}, z {lo[2]:.0f}..{hi[2]:.0f}"


def _field_on_grid(image: Any, affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The field map on an atlas grid; NaN where the atlas grid lies outside the map."""
    import nibabel as nib

    img = _load_field(image)
    data = _field_data(img)
    from .atlas import _affine_mm

    src_affine = _affine_mm(img)
    if data.shape == tuple(shape) and np.allclose(src_affine, affine, rtol=0, atol=1e-3):
        return data
    from nilearn.image import resample_img

    src = nib.Nifti1Image(data, src_affine)
    try:
        out = resample_img(src, target_affine=affine, target_shape=shape,
                           interpolation="linear", fill_value=np.nan, force_resample=True,
                           copy_header=True)
        return np.asarray(out.dataobj, dtype=np.float64)
    except ValueError as err:  # nilearn: the target field of view misses the data entirely
        if "field of view" not in str(err):
            raise
        return np.full(shape, np.nan)


class Electrode(SpatialPattern):
    r"""A point electrode: each region weighted by its coupling to the contact.

    By reciprocity (Helmholtz), the potential a unit dipole of region
    :math:`i` produces at the contact equals the component, along that
    dipole, of the electric field that a unit current drawn from the contact
    produces at the region. The weight of region :math:`i` is therefore the
    lead field of a sensor at the contact for region :math:`i`:

    .. math:: w_i = \frac{\mathbf n_i \cdot (\mathbf r_e - \mathbf r_i)}
                         {4 \pi \sigma |\mathbf r_e - \mathbf r_i|^3}

    (:meth:`vbrain.forward.LeadField.seeg`, a point source in an infinite
    homogeneous conductor), in V/(A·m): volts per metre along the region's
    dipole orientation :math:`\mathbf n_i` per ampere of cathodic current
    (drawn from the contact, returned at infinity). Anodic current flips
    the sign. Regions facing the contact get positive weights; the weight
    falls off as the inverse square of the distance.

    Parameters
    ----------
    position_mm : array (3,) or str
        The contact position, mm, in the frame of the connectome's centres.
        With ``leadfield``, the name of one of its channels instead.
    leadfield : LeadField, optional
        A lead field computed elsewhere (e.g. a BEM EEG lead field, whose
        scalp channels then act as stimulating electrodes): the weights are
        its row for ``position_mm`` (a channel name). Its regions must be
        the connectome's.
    sigma : float, default 0.33
        Conductivity of the medium, S/m (point-source model only).
    orientation : {"fixed", "free"}, default "fixed"
        Dipole orientations (see :meth:`LeadField.seeg`): "fixed" uses the
        connectome's orientations.
    normalize : {None, "max"}, default None
        ``"max"``: divide by the largest absolute weight (dimensionless
        weights, the most coupled region gets +-1).
    """

    def __init__(self, position_mm: Any, leadfield: Any = None, *, sigma: float = 0.33,
                 orientation: str = "fixed", normalize: str | None = None) -> None:
        self.leadfield, self.position = leadfield, position_mm
        if leadfield is None:
            if isinstance(position_mm, str):
                raise TypeError("position_mm is a channel name, which needs leadfield=; without "
                                "it give the contact coordinates, mm (3,).")
            self.position = check_array("position_mm", position_mm, shape=(3,))
        else:
            from .forward.leadfield import LeadField

            validate_type("leadfield", leadfield, LeadField)
            if not isinstance(position_mm, str):
                raise TypeError("With leadfield=, position_mm must be the name of one of its "
                                f"channels (e.g. {leadfield.ch_names[0]!r}), but got "
                                f"{position_mm!r}.")
            if position_mm not in leadfield.ch_names:
                raise ValueError(f"The lead field has no channel {position_mm!r}."
                                 f"{suggest(position_mm, leadfield.ch_names)} Channels: "
                                 f"{leadfield.ch_names[:12]}.")
            self.position = position_mm
        self.sigma = check_range("sigma", sigma, 0.0, low_inclusive=False)
        self.orientation = check_option("orientation", orientation, ("fixed", "free"))
        self.normalize = check_option("normalize", normalize, (None, "max"))

    def _weights(self, connectome: Any) -> np.ndarray:
        if self.leadfield is None:
            from .forward.leadfield import LeadField

            lf = LeadField.seeg(connectome, self.position[None, :], names=["stim"],
                                sigma=self.sigma, orientation=self.orientation)
            w = np.array(lf.gain[0])
        else:
            lf = self.leadfield
            labels = _labels_of(connectome)
            if lf.region_labels is not None and tuple(lf.region_labels) != labels:
                raise ValueError("The lead field's regions are not the connectome's (labels or "
                                 "order differ); compute it from this connectome.")
            if lf.n_regions != len(labels):
                raise ValueError(f"The lead field has {lf.n_regions} regions, the connectome "
                                 f"{len(labels)}.")
            w = np.array(lf.gain[lf.ch_names.index(self.position)])
        if self.normalize == "max":
            peak = np.max(np.abs(w))
            if peak == 0:
                raise ValueError("All electrode weights are zero; cannot normalize.")
            w = w / peak
        return w

    def __repr__(self) -> str:
        pos = self.position if isinstance(self.position, str) else self.position.tolist()
        return f"Electrode({pos!r}, sigma={self.sigma:g}, orientation={self.orientation!r})"


# =============================================================================
# Stimulus
# =============================================================================
class Stimulus:
    """A waveform delivered to state variables of the regions of a spatial pattern.

    The simulation adds ``waveform.values(n, dt)[:, None] * weights`` to the
    right-hand side of each target variable (see the module notes for the
    integration semantics).

    Parameters
    ----------
    waveform : Waveform
        Time course.
    pattern : SpatialPattern
        Spatial weights (:class:`Labels`, :class:`RegionWeights`,
        :class:`FieldMap`, :class:`Electrode`).
    variable : str or sequence of str, optional
        Model state variable(s) receiving the stimulus; default the model's
        ``stimulus_variables`` (TVB's ``stvar``: the coupling variables unless
        the model says otherwise, e.g. Jansen-Rit's y1 and y2, Montbrio's V).
    """

    def __init__(self, waveform: Waveform, pattern: SpatialPattern,
                 variable: str | Sequence[str] | None = None) -> None:
        validate_type("waveform", waveform, Waveform)
        if not isinstance(pattern, SpatialPattern):
            raise TypeError(f"pattern must be a SpatialPattern, but got "
                            f"{type(pattern).__name__}; wrap region weights in "
                            "RegionWeights(...) or labels in Labels(...).")
        if variable is not None and not isinstance(variable, str):
            names = tuple(variable) if isinstance(variable, (list, tuple)) else ()
            if not names or not all(isinstance(v, str) for v in names):
                raise TypeError(f"variable must be a state variable name or a non-empty "
                                f"sequence of names, but got {variable!r}.")
            variable = names
        self.waveform = waveform
        self.pattern = pattern
        self.variable = variable

    def weights(self, connectome: Any) -> np.ndarray:
        """Spatial weights (n_regions,) of ``connectome``, checked."""
        return self.pattern.weights(connectome)

    def variable_indices(self, model: Any) -> tuple[int, ...]:
        """State indices of the target variables in ``model`` (instance or class).

        Raises
        ------
        ValueError
            The model has no such state variable (valid ones are listed).
        """
        names = tuple(model.state_names())
        if self.variable is None:
            wanted = model.stimulus_variables or model.coupling_variables
        else:
            wanted = (self.variable,) if isinstance(self.variable, str) else self.variable
        for name in wanted:
            if name not in names:
                model_name = model.__name__ if isinstance(model, type) else type(model).__name__
                raise ValueError(
                    f"The stimulus targets variable {name!r}, which {model_name} does not "
                    f"have.{suggest(name, names)} State variables: {list(names)}.")
        return tuple(names.index(name) for name in wanted)

    def __repr__(self) -> str:
        var = "" if self.variable is None else f", variable={self.variable!r}"
        return f"Stimulus({self.waveform!r}, {self.pattern!r}{var})"


# =============================================================================
# Closed loop
# =============================================================================
class ClosedLoop:
    """A stimulus whose gain a controller sets from recent monitor output.

    Every ``interval`` ms the simulation calls ``controller(t_ms, times,
    samples)`` with the samples the monitor named ``monitor`` produced in the
    last interval; the returned gain multiplies the stimulus during the next
    interval. During the first interval the gain is 0 (nothing is known yet).

    Parameters
    ----------
    stimulus : Stimulus
        What is delivered (its waveform times the gain).
    controller : callable
        ``controller(t_ms: float, times: ndarray (n,), samples: ndarray (n,
        n_variables, n_space) or (n, n_space)) -> float or ndarray
        (n_regions,)``; times in ms, ``n_space`` the monitor's regions or
        sensors (sensor monitors have no variable axis); ``samples`` is None
        when the monitor produced nothing in the interval. Controllers keep
        whatever history they need (:meth:`reset` calls their ``reset()``
        if they have one); a ``setup(interval)`` method, if any, is called
        here with the interval. Controllers must be deterministic. The simulation runs a copy of the
        controller per run and batch member, so the object passed here keeps
        its own state.
    interval : float
        Control period, ms (> 0; the simulation may require a whole number
        of steps, see :meth:`interval_steps`).
    monitor : str
        Name of the monitor whose samples the controller sees (e.g.
        ``"raw"``, ``"subsample"``, ``"eeg"``).
    """

    def __init__(self, stimulus: Stimulus, controller: Callable[..., Any], interval: float,
                 monitor: str) -> None:
        validate_type("stimulus", stimulus, Stimulus)
        if not callable(controller):
            raise TypeError(f"controller must be callable as controller(t_ms, times, samples), "
                            f"but got {type(controller).__name__}.")
        self.stimulus = stimulus
        self.controller = controller
        self.interval = check_range("interval", interval, 0.0, low_inclusive=False)
        self.monitor = validate_type("monitor", monitor, str)
        setup = getattr(controller, "setup", None)
        if callable(setup):
            setup(self.interval)

    def interval_steps(self, dt: float) -> int:
        """The interval as a whole number of steps of ``dt`` ms (error otherwise)."""
        return _whole_steps("interval", self.interval, _check_dt(dt), minimum=1)

    def reset(self) -> None:
        """Reset the controller's history (if it has a ``reset()``), before a run."""
        reset = getattr(self.controller, "reset", None)
        if callable(reset):
            reset()

    def gain(self, t_ms: float, times: Any, samples: Any, n_regions: int) -> np.ndarray:
        """Call the controller and return its gain as a checked (n_regions,) array.

        Parameters
        ----------
        t_ms : float
            Current time, ms (start of the next interval).
        times : array (n,)
            Sample times of the last interval, ms.
        samples : array (n, n_variables, n_space)
            The monitor's samples of the last interval.
        n_regions : int
            Number of regions (length of a per-region gain).

        Raises
        ------
        ValueError
            A gain that is not finite or not a scalar / (n_regions,) array.
        """
        g = self.controller(float(t_ms), np.asarray(times, dtype=np.float64),
                            np.asarray(samples, dtype=np.float64))
        try:
            arr = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"The controller must return a number or an array of {n_regions} "
                            f"gains, but returned {g!r}.") from None
        if arr.ndim == 0:
            arr = np.full(n_regions, float(arr))
        if arr.shape != (n_regions,):
            raise ValueError(f"The controller must return a number or an array of shape "
                             f"({n_regions},), but returned shape {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"The controller returned a non-finite gain at t = {t_ms:g} ms.")
        return arr

    def __repr__(self) -> str:
        return (f"ClosedLoop({self.stimulus!r}, {self.controller!r}, interval={self.interval:g}, "
                f"monitor={self.monitor!r})")


class _WindowController:
    """Shared machinery: pick one signal, keep a sliding window of it across calls."""

    def __init__(self, *, variable: int, region: Any, channel: Any, window: float,
                 on_gain: float, off_gain: float) -> None:
        if isinstance(variable, bool) or not isinstance(variable, (int, np.integer)) \
                or variable < 0:
            raise TypeError(f"variable must be a non-negative int (index along the monitor's "
                            f"variable axis), but got {variable!r}.")
        self.variable = int(variable)
        if (region is None) == (channel is None):
            raise TypeError("Give exactly one of region= (a region index) or channel= (a "
                            "sensor index): the position on the monitor's last axis.")
        where = region if channel is None else channel
        idx = np.atleast_1d(np.asarray(where))
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu" or np.any(idx < 0):
            raise TypeError(f"{'region' if channel is None else 'channel'} must be a "
                            f"non-negative int or a list of them, but got {where!r}.")
        self.index = idx.astype(np.int64)
        self.window = check_range("window", window, 0.0, low_inclusive=False)
        self.on_gain = check_range("on_gain", on_gain)
        self.off_gain = check_range("off_gain", off_gain)
        self.reset()

    def reset(self) -> None:
        """Forget the samples seen so far (call between runs)."""
        self._times = np.empty(0)
        self._x = np.empty(0)
        self.log_: list[tuple[float, ...]] = []

    def _push(self, times: Any, samples: Any) -> tuple[np.ndarray, np.ndarray]:
        """Append the new samples, keep the last ``window`` ms; (times, signal) of the window.

        ``samples`` is (n, variable, space), or (n, space) for sensor monitors
        (then ``variable`` must be 0); None or an empty ``times`` adds nothing.
        """
        times = check_array("times", times)
        if samples is None or times.size == 0:
            return self._times, self._x
        samples = check_array("samples", samples)
        if samples.ndim == 2:
            samples = samples[:, None, :]
        if times.ndim != 1 or samples.ndim != 3 or samples.shape[0] != times.shape[0]:
            raise ValueError(f"The controller needs times (n,) and samples (n, variable, space) "
                             f"or (n, space), but got {times.shape} and {samples.shape}.")
        if self.variable >= samples.shape[1] or self.index.max() >= samples.shape[2]:
            raise ValueError(f"variable {self.variable} / index {self.index.tolist()} out of "
                             f"range for samples of shape {samples.shape} (n, variable, space).")
        if self._times.size and times[0] <= self._times[-1]:
            raise ValueError(f"The controller got samples from {times[0]:g} ms after samples up "
                             f"to {self._times[-1]:g} ms; call reset() before a new run.")
        x = samples[:, self.variable, self.index].mean(axis=1)
        self._times = np.concatenate([self._times, times])
        self._x = np.concatenate([self._x, x])
        if self._times.size >= 2:
            period = self._times[1] - self._times[0]
            steps = np.diff(self._times)
            if np.any(np.abs(steps - period) > 1e-6 * period):
                raise ValueError("The controller needs uniformly sampled times (a monitor with a "
                                 f"fixed period), but got spacings from {steps.min():g} to "
                                 f"{steps.max():g} ms.")
            keep = self._times > self._times[-1] - self.window - 0.5 * period
            self._times, self._x = self._times[keep], self._x[keep]
        return self._times, self._x

    def _full(self) -> bool:
        if self._times.size < 2:
            return False
        period = self._times[1] - self._times[0]
        return self._times[-1] - self._times[0] + period >= self.window - 0.5 * period


class ThresholdTrigger(_WindowController):
    """Stimulate while the band power of a signal exceeds a threshold.

    At each call the controller appends the new samples of one signal to its
    history, and if the last ``window`` ms hold band power above
    ``threshold`` it returns ``on_gain``, else ``off_gain`` (also until a
    full window has been seen).

    Parameters
    ----------
    threshold : float
        Band power above which to stimulate, in the signal's unit squared.
    band : (float, float), default (13, 30)
        Frequency band, Hz (beta by default, as in adaptive DBS).
    variable : int, default 0
        Index along the monitor's variable axis.
    region, channel : int or list of int
        Index along the monitor's last axis (a region, or a sensor for EEG/
        MEG/SEEG monitors): give exactly one. A list averages the signals.
    window : float, default 200
        Length of the analysed window, ms. Its frequency resolution is
        ``1000 / window`` Hz: keep the band several bins wide.
    on_gain, off_gain : float, default 1, 0
        Gains returned above / below the threshold.

    Notes
    -----
    The band power is the mean square of the band-limited part of the
    demeaned window, from a Hann-tapered periodogram normalised by the
    taper's energy (a sinusoid of amplitude ``A`` inside the band gives
    about ``A**2 / 2``). ``log_`` records ``(t_ms, power, gain)`` per call.
    """

    def __init__(self, threshold: float, band: tuple[float, float] = (13.0, 30.0), *,
                 variable: int = 0, region: Any = None, channel: Any = None,
                 window: float = 200.0, on_gain: float = 1.0, off_gain: float = 0.0) -> None:
        self.threshold = check_range("threshold", threshold, 0.0)
        self.band = _check_band(band)
        super().__init__(variable=variable, region=region, channel=channel, window=window,
                         on_gain=on_gain, off_gain=off_gain)

    def band_power(self, x: np.ndarray, period: float) -> float:
        """Band power of a uniformly sampled signal (period ms), signal unit squared."""
        fs = 1000.0 / period
        if self.band[1] > fs / 2:
            raise ValueError(f"band {self.band} reaches above the Nyquist frequency of the "
                             f"monitor's samples ({fs / 2:g} Hz); sample faster or lower the band.")
        x = x - x.mean()
        taper = np.hanning(x.size + 2)[1:-1]
        spec = np.fft.rfft(x * taper)
        freqs = np.fft.rfftfreq(x.size, d=period / 1000.0)
        power = np.abs(spec) ** 2 / np.sum(taper ** 2) / x.size
        power[1:] *= 2.0  # one-sided
        if x.size % 2 == 0:
            power[-1] /= 2.0
        sel = (freqs >= self.band[0]) & (freqs <= self.band[1])
        return float(power[sel].sum())

    def __call__(self, t_ms: float, times: Any, samples: Any) -> float:
        tt, x = self._push(times, samples)
        if not self._full():
            self.log_.append((float(t_ms), float("nan"), self.off_gain))
            return self.off_gain
        p = self.band_power(x, tt[1] - tt[0])
        gain = self.on_gain if p > self.threshold else self.off_gain
        self.log_.append((float(t_ms), p, gain))
        return gain

    def __repr__(self) -> str:
        return (f"ThresholdTrigger(threshold={self.threshold:g}, band={_fmt(self.band)}, "
                f"window={self.window:g})")


def _sine_fit(freqs: np.ndarray, t: np.ndarray, x: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares fits of a cos + b sin + c + d t at each frequency (Hz); t in ms.

    Returns (freqs, residual sum of squares (F,), coefficients (F, 4)).
    """
    w = 2.0 * np.pi * freqs[:, None] / 1000.0 * t[None, :]  # (F, N) rad
    basis = np.stack([np.cos(w), np.sin(w), np.ones_like(w),
                      np.broadcast_to(t, w.shape)], axis=-1)  # (F, N, 4)
    bt = basis.transpose(0, 2, 1)
    gram = np.matmul(bt, basis)
    rhs = np.matmul(bt, x)  # (F, 4)
    coef = np.linalg.solve(gram + 1e-12 * np.eye(4), rhs[..., None])[..., 0]
    resid = x @ x - np.sum(coef * rhs, axis=1)  # at the optimum: |x|^2 - coef . rhs
    return freqs, resid, coef


def _check_band(band: Any) -> tuple[float, float]:
    b = check_array("band", band)
    if b.shape != (2,) or not 0 < b[0] < b[1]:
        raise ValueError(f"band must be (low, high) Hz with 0 < low < high, but got {band!r}.")
    return float(b[0]), float(b[1])


class PhaseLocked(_WindowController):
    r"""Stimulate at a target phase of an ongoing oscillation.

    At each call the controller fits :math:`x(t) \approx A\cos(\omega t -
    \phi_0) + c + d\,t` (least squares) to the last ``window`` ms of one
    signal; with a band, :math:`\omega` is the best-fitting frequency in it
    (a 0.5 Hz grid, refined to 0.05 Hz). It extrapolates the phase
    :math:`\theta(t) = \omega t - \phi_0` over the next interval and returns
    ``on_gain`` when :math:`\theta` reaches ``target_phase`` within that
    interval, else ``off_gain``. Stimulating with a constant (box) waveform
    thus delivers one burst of about ``interval`` ms per cycle, containing
    the moment of the target phase.

    Parameters
    ----------
    frequency : float or (float, float)
        The oscillation's frequency, Hz, or a band (low, high) to search.
    target_phase : float, default 0
        Radians, cosine convention (as the angle of the analytic signal):
        0 = peak, :math:`\pi` = trough, :math:`-\pi/2` = rising zero
        crossing, :math:`\pi/2` = falling zero crossing.
    variable : int, default 0
        Index along the monitor's variable axis.
    region, channel : int or list of int
        Index along the monitor's last axis; exactly one.
    window : float, optional
        Fitted window, ms; default three cycles of the lowest frequency.
    interval : float, optional
        The control interval, ms; set by :class:`ClosedLoop` (``setup``).
    min_amplitude : float, default 0
        Below this fitted amplitude :math:`A` no stimulation is given.
    on_gain, off_gain : float, default 1, 0

    Notes
    -----
    Limits: timing resolution is the control interval (the gain is constant
    over it); the phase is extrapolated from the past window, so it is only
    as good as the oscillation is stationary and narrow-band over
    ``window`` + ``interval`` (a drifting frequency or a phase reset makes
    it miss); the stimulus itself perturbs the signal it reads; the monitor
    must sample well above the oscillation frequency; a monitor that
    averages (TemporalAverage) delays the signal by half its period, which
    shifts the phase by :math:`\omega\,T/2` unless corrected in
    ``target_phase``. ``log_`` records ``(t_ms, phase at t_ms, frequency Hz,
    amplitude, gain)`` per call.
    """

    def __init__(self, frequency: Any, target_phase: float = 0.0, *, variable: int = 0,
                 region: Any = None, channel: Any = None, window: float | None = None,
                 interval: float | None = None, min_amplitude: float = 0.0,
                 on_gain: float = 1.0, off_gain: float = 0.0) -> None:
        if np.ndim(frequency) == 0:
            f = check_range("frequency", frequency, 0.0, low_inclusive=False)
            self.band = (f, f)
        else:
            self.band = _check_band(frequency)
        self.frequency = frequency
        self.target_phase = check_range("target_phase", target_phase)
        self.interval = None if interval is None else check_range(
            "interval", interval, 0.0, low_inclusive=False)
        self.min_amplitude = check_range("min_amplitude", min_amplitude, 0.0)
        if window is None:
            window = 3000.0 / self.band[0]
        super().__init__(variable=variable, region=region, channel=channel, window=window,
                         on_gain=on_gain, off_gain=off_gain)

    def setup(self, interval: float) -> None:
        """Take the control interval (ms) from :class:`ClosedLoop`."""
        interval = check_range("interval", interval, 0.0, low_inclusive=False)
        if self.interval is not None and abs(self.interval - interval) > 1e-9:
            raise ValueError(f"PhaseLocked was made with interval={self.interval:g} ms, but the "
                             f"ClosedLoop's interval is {interval:g} ms.")
        self.interval = interval

    def fit(self, times: np.ndarray, x: np.ndarray, t_ms: float) -> tuple[float, float, float]:
        """Fit the oscillation; return (phase at ``t_ms`` in (-pi, pi], frequency Hz, amplitude)."""
        lo, hi = self.band
        t = times - times[-1]  # time from the last sample (conditioning)
        if hi == lo:
            freqs, resid, coef = _sine_fit(np.array([lo]), t, x)
        else:  # coarse 0.5 Hz grid, then 0.05 Hz around its best
            coarse = np.linspace(lo, hi, max(2, math.ceil((hi - lo) / 0.5) + 1))
            f0 = coarse[int(np.argmin(_sine_fit(coarse, t, x)[1]))]
            fine = np.arange(max(lo, f0 - 0.5), min(hi, f0 + 0.5) + 0.025, 0.05)
            freqs, resid, coef = _sine_fit(fine, t, x)
        best = int(np.argmin(resid))
        a, b = coef[best, 0], coef[best, 1]
        omega = 2.0 * np.pi * freqs[best] / 1000.0
        phi0 = math.atan2(b, a)  # a cos + b sin = A cos(w t - phi0)
        phase = omega * (t_ms - times[-1]) - phi0
        return float(np.angle(np.exp(1j * phase))), float(freqs[best]), float(math.hypot(a, b))

    def __call__(self, t_ms: float, times: Any, samples: Any) -> float:
        if self.interval is None:
            raise ValueError("PhaseLocked needs the control interval: pass interval= or use it "
                             "in a ClosedLoop, which sets it.")
        tt, x = self._push(times, samples)
        if not self._full():
            self.log_.append((float(t_ms), float("nan"), float("nan"), float("nan"),
                              self.off_gain))
            return self.off_gain
        nyq = 500.0 / (tt[1] - tt[0])
        if self.band[1] >= nyq:
            raise ValueError(f"frequency {self.frequency!r} Hz reaches the Nyquist frequency of "
                             f"the monitor's samples ({nyq:g} Hz); sample faster.")
        phase, freq, amp = self.fit(tt, x, t_ms)
        ahead = (self.target_phase - phase) % (2.0 * np.pi)  # radians until the target
        reach = 2.0 * np.pi * freq / 1000.0 * self.interval
        on = ahead < reach and amp > self.min_amplitude
        gain = self.on_gain if on else self.off_gain
        self.log_.append((float(t_ms), phase, freq, amp, gain))
        return gain

    def __repr__(self) -> str:
        return (f"PhaseLocked({_fmt(self.frequency)}, target_phase={self.target_phase:g}, "
                f"window={self.window:g})")
