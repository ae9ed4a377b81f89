r"""BOLD fMRI monitors: the Balloon-Windkessel model and TVB's HRF-kernel BOLD.

Two monitors turn a neural variable of every region into a BOLD signal
sampled at the repetition time ``tr`` (ms). Both run in compiled code inside
:meth:`~vbrain.monitors.Monitor.consume`, keep their running state between
chunks (so the output does not depend on the chunk size: bit-for-bit) and
treat every batch member independently (each member equals its single run).

``Bold``: the Balloon-Windkessel model
---------------------------------------
The hemodynamic model of Friston et al. (2000), as in DCM (Friston et al.
2003; Stephan et al. 2007). Per region, the neural drive :math:`x` (the
model's ``bold_variable``, taken as a rate in 1/s) drives the vasodilatory
signal :math:`s`, which drives the inflow :math:`f`; blood volume :math:`v`
and deoxyhemoglobin content :math:`q` follow (time :math:`t` in seconds, as
in the literature; :math:`f, v, q` relative to rest):

.. math::

    \dot s &= x - \kappa\, s - \gamma\,(f - 1) \\
    \dot f &= s \\
    \tau\,\dot v &= f - v^{1/\alpha} \\
    \tau\,\dot q &= f\,\frac{1 - (1 - \rho)^{1/f}}{\rho} - v^{1/\alpha}\,\frac{q}{v} \\
    y &= V_0\,\bigl[k_1 (1 - q) + k_2 (1 - q / v) + k_3 (1 - v)\bigr]

The output :math:`y` is the **fractional** BOLD signal change (units "1":
0.01 is a 1 % change), since :math:`V_0` is the resting blood volume
*fraction* (multiply by 100 for percent, as SPM reports it).

Two parameter sets, chosen by ``coefficients=``; each fixes the output
coefficients and the defaults of the parameters left as None:

- ``"stephan2007"`` (default): the revised output coefficients of Stephan et
  al. (2007, eq. 12; SPM's ``spm_gx_dcm``) :math:`k_1 = 4.3\,\nu_0\,\rho\,TE`,
  :math:`k_2 = \epsilon\, r_0\, \rho\, TE`, :math:`k_3 = 1 - \epsilon`, with the
  1.5 T constants of Obata et al. (2004) and the hemodynamic priors of DCM
  (SPM8's ``spm_fx_fmri``: ``H = [0.65 0.41 2.00 0.32 0.34]``, i.e. Friston
  et al. 2003's values with a transit time of 2 s). With the defaults
  :math:`k_1 = 2.3567`, :math:`k_2 = 0.34`, :math:`k_3 = 0`.
- ``"friston2003"``: the classic coefficients of Friston et al. (2003, eq. 3)
  :math:`k_1 = 7\rho`, :math:`k_2 = 2`, :math:`k_3 = 2\rho - 0.2` and their
  Table 1 means (transit time 0.98 s), as neurolib uses them. With the defaults :math:`k_1 = 2.38`, :math:`k_2 = 2`,
  :math:`k_3 = 0.48`.
- a tuple ``(k1, k2, k3)``: given coefficients, "stephan2007" parameter defaults.

==========  ===========  ===========  =========  ======================================
parameter   stephan2007  friston2003  unit       meaning
==========  ===========  ===========  =========  ======================================
kappa       0.65         0.65         Hz (1/s)   rate of signal decay
gamma       0.41         0.41         1/s²       rate of flow-dependent elimination
tau         2000.0       980.0        ms         hemodynamic transit time
alpha       0.32         0.32         1          Grubb's vessel stiffness exponent
rho         0.34         0.34         1          resting oxygen extraction fraction E0
V0          0.02         0.02         1          resting blood volume fraction
epsilon     1.0          (unused)     1          intra- to extravascular signal ratio
                                                 (SPM's prior mean; Obata 2004: 1.43)
TE          40.0         (unused)     ms         echo time (1.5 T)
nu0         40.3         (unused)     Hz         frequency offset at the outer surface of
                                                 magnetised vessels (1.5 T, Obata 2004)
r0          25.0         (unused)     Hz         slope of the intravascular relaxation
                                                 rate (1.5 T, Obata 2004)
==========  ===========  ===========  =========  ======================================

With these values a 1 s step of drive gives a response peaking 4.3 s
("stephan2007") or 3.4 s ("friston2003") after its onset, then an undershoot
(the slow recovery of blood volume) around 10 s after onset.

Numerics. The drive is averaged over consecutive windows of ``period`` ms
(default 4 ms, TVB's BOLD sampling step; rounded to a whole number of steps
dividing the TR) and the ODEs are advanced over each window by one classical
Runge-Kutta (RK4) step with the window's mean drive held constant: the mean
of the states after the window's steps (times :math:`t_0 + dt, ...,
t_0 + period`) drives the step from :math:`t_0` to :math:`t_0 + period`, as
the drive at the end of each integration step drives it in TVB's
``BalloonModel`` and in neurolib. With time constants of seconds, RK4 at 4 ms
solves the ODEs for that piecewise-constant drive to ~1e-9 (tested against
``scipy.integrate.solve_ivp`` at 1e-6 of the peak; measured 3e-10). The
averaging is the only approximation: on a noisy 76-region ReducedWongWang run
(60 s) the BOLD from 4 ms windows differs from that of 0.1 ms windows (every
step) by at most 1.4e-4 of the BOLD signal's standard deviation (1 ms: 1e-5;
the error falls as period²), while the monitor's own time is ~7 % of the
engine's (1 ms: ~22 %; ``benchmarks/bench_bold.py``, 60 s on 76 regions; it
was 17 % and 65 % with the C library's exp and log node by node). The RK4
steps are SIMD code across nodes (vmath's exp and log): ~35 ns per node and
window with AVX-512, while a lone node, padded to a vector of 8, takes ~285 ns
(the C library's exp and log took ~117 ns). Inside the flow-dependent terms
:math:`f` and :math:`v` are floored at 1e-9, so a drive too negative for the
model (flow below zero, which is not physiological) gives finite output and a
logged warning, not NaN.

Peers. TVB's Balloon-Windkessel analyser (``tvb.analyzers.fmri_balloon.
BalloonModel``) writes the same equations with time constants: its defaults
are ``kappa=1/1.54, gamma=1/1.44, tau=980, alpha=0.32, rho=0.4, V0=4.0,
epsilon=0.5`` here (TE, nu0, r0 as above); so set, this monitor reproduces it
to 2e-7 (tested). neurolib's ``simulateBOLD`` is ``coefficients="friston2003"``
(agrees to 3e-5 of the peak: neurolib's Euler at 0.1 ms; tested).

Sampling. The BOLD signal is the instantaneous value of :math:`y` at the end
of each TR (time stamps :math:`TR, 2\,TR, \ldots` ms), as TVB and neurolib
down-sample; no anti-aliasing filter is applied (the hemodynamics are already
a low-pass filter with a cut-off near 0.1-0.2 Hz). The hemodynamic state
starts at rest (:math:`s = 0`, :math:`f = v = q = 1`), so the first ~20 s
show the transient from rest to the drive's baseline; discard them.

``BoldHRF``: TVB's BOLD monitor
-------------------------------
The semantics of ``tvb.simulator.monitors.Bold`` (tvb-library 2.10): the
neural variable is averaged over consecutive windows of ``period`` ms (TVB's
fixed 4 ms "interim stock"); the last :math:`S = \lceil length / period \rceil`
window means are kept in a ring (zero before the first window: the input
before t = 0 is taken as 0); at every TR the ring is convolved with an HRF
kernel :math:`G` sampled at :math:`t_i = i \cdot length / S` (s),
:math:`i = 0 \ldots S-1`, **summed, not integrated** (no factor of the
sampling period), with TVB's indexing: the window mean of lag :math:`L` (in
windows, 0 = the newest) is weighted by :math:`G(t_{L-1})` for
:math:`L \geq 1` and the newest by :math:`G(t_{S-1})`, i.e. the kernel is
applied one window late. For the first-order Volterra kernel the output is
:math:`k_1 V_0 (\sum_L G_L u_{n-L} - 1)` (TVB subtracts 1, the resting flow,
and scales by :math:`k_1 V_0`); for the other kernels it is the sum itself.
Kernels (TVB's ``tvb.datatypes.equations``, parameters with TVB's names and
values, **t in seconds**, so a TVB parameter dictionary can be passed as
``hrf_params`` unchanged):

- ``"volterra"`` (``FirstOrderVolterra``, default): :math:`G(t) = \frac13
  e^{-t/(2\tau_s)} \sin(\omega t)/\omega`, :math:`\omega = \sqrt{1/\tau_f -
  1/(4\tau_s^2)}`; ``tau_s=0.8``, ``tau_f=0.4``, ``k_1=5.6``, ``V_0=0.02``.
- ``"gamma"`` (``Gamma``, Boynton et al. 1996): :math:`(t/\tau)^{n-1}
  e^{-t/\tau} / (\tau (n-1)!)`, scaled to a peak of ``a``; ``tau=1.08``,
  ``n=3``, ``a=0.1``.
- ``"double_exponential"`` (``DoubleExponential``, Polonsky et al. 2000):
  :math:`a_1 e^{-t/\tau_1}\sin(2\pi f_1 t) - a_2 e^{-t/\tau_2}\sin(2\pi f_2 t)`,
  scaled to a peak of ``a``; ``tau_1=7.22``, ``f_1=0.03``, ``amp_1=0.1``,
  ``tau_2=7.4``, ``f_2=0.12``, ``amp_2=0.1``, ``a=0.1``.
- ``"mixture_of_gammas"`` (``MixtureOfGammas``, Glover 1999):
  :math:`(l t)^{a_1-1} e^{-l t}/\Gamma(a_1) - c\,(l t)^{a_2-1} e^{-l t}/\Gamma(a_2)`;
  ``a_1=6``, ``a_2=13``, ``l=1``, ``c=0.4``.
- a callable ``hrf(t_ms) -> array``: a custom kernel, used as returned.

References
----------
Friston KJ, Mechelli A, Turner R, Price CJ (2000). Nonlinear responses in
fMRI: the Balloon model, Volterra kernels, and other hemodynamics.
NeuroImage 12:466-477.

Friston KJ, Harrison L, Penny W (2003). Dynamic causal modelling.
NeuroImage 19:1273-1302.

Obata T, Liu TT, Miller KL, et al. (2004). Discrepancies between BOLD and flow
dynamics in primary and supplementary motor areas. NeuroImage 21:144-153.

Stephan KE, Weiskopf N, Drysdale PM, Robinson PA, Friston KJ (2007).
Comparing hemodynamic models with DCM. NeuroImage 38:387-401.

Boynton GM, Engel SA, Glover GH, Heeger DJ (1996). Linear systems analysis of
functional magnetic resonance imaging in human V1. J Neurosci 16:4207-4221.

Polonsky A, Blake R, Braun J, Heeger DJ (2000). Neuronal activity in human
primary visual cortex correlates with perception during binocular rivalry.
Nat Neurosci 3:1153-1159.

Glover GH (1999). Deconvolution of impulse response in event-related BOLD
fMRI. NeuroImage 9:416-429.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from .._check import check_option, check_range, suggest
from ..models import vmath
from .base import Monitor, RunInfo, period_steps

__all__ = ["Bold", "BoldHRF"]

logger = logging.getLogger(__name__)

#: output coefficient sets of :class:`Bold`
COEFFICIENTS = ("stephan2007", "friston2003")

#: defaults of the hemodynamic parameters per set (kappa Hz, gamma 1/s², tau ms)
HEMODYNAMICS: dict[str, dict[str, float]] = {
    "stephan2007": {"kappa": 0.65, "gamma": 0.41, "tau": 2000.0, "alpha": 0.32, "rho": 0.34,
                    "V0": 0.02},
    "friston2003": {"kappa": 0.65, "gamma": 0.41, "tau": 980.0, "alpha": 0.32, "rho": 0.34,
                    "V0": 0.02},
}

#: TVB's HRF kernels and their default parameters (TVB's names; t in s)
HRF_KERNELS: dict[str, dict[str, float]] = {
    "volterra": {"tau_s": 0.8, "tau_f": 0.4, "k_1": 5.6, "V_0": 0.02},
    "gamma": {"tau": 1.08, "n": 3.0, "a": 0.1},
    "double_exponential": {"tau_1": 7.22, "f_1": 0.03, "amp_1": 0.1,
                           "tau_2": 7.4, "f_2": 0.12, "amp_2": 0.1, "a": 0.1},
    "mixture_of_gammas": {"a_1": 6.0, "a_2": 13.0, "l": 1.0, "c": 0.4},
}

#: unit suffixes of the parameters in the output attributes
_ATTR_UNITS = {"kappa": "_per_s", "gamma": "_per_s2", "tau": "_ms", "TE": "_ms", "nu0": "_hz",
               "r0": "_hz"}

#: floor of f and v inside the flow-dependent terms of the balloon equations
_FLOOR = 1e-9
#: the balloon kernel pads its node loop to a multiple of this: LLVM's vector width in
#: doubles with AVX-512 (twice AVX2's)
_LANES = 8


class _BoldBase(Monitor):
    """Shared machinery: the driving variable, TR and window bookkeeping."""

    #: default averaging window, ms
    _default_period = 4.0

    def __init__(self, tr: float, variable: str | None, period: float | None) -> None:
        super().__init__(None if variable is None else (variable,))
        self.tr = tr
        self.variable = variable
        self.period = period

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        variable = self.variable
        if variable is None:
            variable = getattr(info.model, "bold_variable", None)
            if variable is None:
                raise ValueError(
                    f"{type(self).__name__}: the model {type(info.model).__name__} declares no "
                    f"bold_variable; pass variable=, one of {list(info.state_names)}."
                )
        if not isinstance(variable, str):
            raise TypeError(f"{type(self).__name__} variable must be a str, but got {variable!r}.")
        self.variables = (variable,)
        try:
            super().setup(info)
        finally:
            self.variables = None if self.variable is None else (self.variable,)
        self.var_ = int(self.var_index_[0])
        name = type(self).__name__
        tr_steps = period_steps(f"{name} tr", self.tr, info.dt)
        if self.period is None:  # ~_default_period, a whole number of steps dividing the TR
            target = max(1, int(round(self._default_period / info.dt)))
            n_sub = max(d for d in range(1, target + 1) if tr_steps % d == 0)
        else:
            n_sub = period_steps(f"{name}", self.period, info.dt)
            if tr_steps % n_sub:
                raise ValueError(
                    f"{name} tr must be a multiple of period: tr={self.tr} ms is "
                    f"{tr_steps} steps, period={self.period} ms is {n_sub} steps "
                    f"(dt={info.dt} ms)."
                )
        self.n_sub_ = n_sub
        self.tr_windows_ = tr_steps // n_sub
        m = len(info.region_labels) * info.n_batch
        self._acc = np.zeros(m)
        self._count = 0
        self._windows = 0  # windows completed so far

    def _window_means(self, trace: np.ndarray) -> np.ndarray:
        """Means of the drive over the windows this chunk completes, (n_windows, m)."""
        n = trace.shape[0]
        x = trace.reshape(n, trace.shape[1], -1)
        n_win = (self._count + n) // self.n_sub_
        out = np.empty((n_win, x.shape[2]))
        self._count = _window_means(x, self.var_, self._acc, self._count, self.n_sub_, out)
        return out

    def _sample_times(self, n_win: int) -> tuple[np.ndarray, int]:
        """Times (ms) of the TR samples among the next ``n_win`` windows; advance the count."""
        g = self._windows + 1 + np.arange(n_win)
        ends = g[g % self.tr_windows_ == 0]
        first = self._windows
        self._windows += n_win
        return ends * (self.n_sub_ * self.info.dt), first

    def space(self) -> list[tuple[str, list, dict[str, list]]]:  # noqa: D102
        return [("variable", ["bold"], {"unit": [self._units()]}),
                ("region", list(self.info.region_labels), {})]

    def _units(self) -> str:
        return "1"

    def _base_state(self) -> dict[str, np.ndarray]:
        return {"acc": self._acc.copy(), "count": np.array(self._count),
                "windows": np.array(self._windows)}

    def _set_base_state(self, state: dict[str, np.ndarray]) -> None:
        self._acc = np.array(state["acc"], dtype=np.float64)
        self._count = int(state["count"])
        self._windows = int(state["windows"])


class Bold(_BoldBase):
    """BOLD signal from the Balloon-Windkessel hemodynamic model, sampled at every TR.

    Equations, parameter values, numerics and references are in the module
    docstring (:mod:`vbrain.monitors.bold`).

    Parameters
    ----------
    tr : float, default 2000.0
        Repetition time (sampling period of the output), ms; a multiple of dt
        and of ``period``.
    variable : str, optional
        State variable driving the hemodynamics; default the model's
        ``bold_variable`` (e.g. "S" for ReducedWongWang). Its value is taken
        as the drive :math:`x` in 1/s.
    coefficients : {"stephan2007", "friston2003"} or tuple of 3 float, default "stephan2007"
        Parameter set: the BOLD output coefficients (k1, k2, k3), revised
        (Stephan et al. 2007) or classic (Friston et al. 2003), and the
        defaults of the parameters below left as None; or given (k1, k2, k3).
    period : float, optional
        Step of the hemodynamic integration, ms: the drive is averaged over
        windows of ``period`` and the ODEs advanced by one RK4 step per
        window. A multiple of dt dividing ``tr``. Default: the largest whole
        number of steps dividing ``tr`` not above 4 ms (at least one step);
        accuracy and cost in the module docstring.
    kappa : float, optional
        Rate of signal decay, Hz (1/s); default 0.65.
    gamma : float, optional
        Rate of flow-dependent elimination, 1/s²; default 0.41.
    tau : float, optional
        Hemodynamic transit time, ms; default 2000.0 ("stephan2007") or
        980.0 ("friston2003").
    alpha : float, optional
        Grubb's vessel stiffness exponent; default 0.32.
    rho : float, optional
        Resting oxygen extraction fraction (E0), in (0, 1); default 0.34.
    V0 : float, optional
        Resting blood volume fraction; default 0.02.
    epsilon : float, default 1.0
        Ratio of intra- to extravascular signal ("stephan2007" only).
    TE : float, default 40.0
        Echo time, ms ("stephan2007" only).
    nu0 : float, default 40.3
        Frequency offset at the outer surface of magnetised vessels, Hz
        ("stephan2007" only).
    r0 : float, default 25.0
        Slope of the intravascular relaxation rate, Hz ("stephan2007" only).

    Attributes
    ----------
    k_ : tuple of 3 float
        The output coefficients in use (after :meth:`setup`).
    params_ : dict
        The hemodynamic parameters in use (after :meth:`setup`), units as above.

    Notes
    -----
    Output: dims (time, variable=["bold"], region[, batch]), units "1"
    (fractional signal change), time stamps at the end of each TR (ms).

    Examples
    --------
    >>> sim = vb.Simulation(conn, vb.models.ReducedWongWang(),
    ...                     monitors=[vb.monitors.Bold(tr=2000.0)])  # doctest: +SKIP
    >>> res = sim.run(300_000)                                       # doctest: +SKIP
    >>> res["bold"]                # (time: 150, variable: 1, region: 76)  # doctest: +SKIP
    """

    name = "bold"

    def __init__(self, tr: float = 2000.0, variable: str | None = None,
                 coefficients: str | tuple[float, float, float] = "stephan2007",
                 period: float | None = None, *, kappa: float | None = None,
                 gamma: float | None = None, tau: float | None = None,
                 alpha: float | None = None, rho: float | None = None, V0: float | None = None,
                 epsilon: float = 1.0, TE: float = 40.0, nu0: float = 40.3,
                 r0: float = 25.0) -> None:
        super().__init__(tr, variable, period)
        self.coefficients = coefficients
        self.kappa, self.gamma, self.tau, self.alpha = kappa, gamma, tau, alpha
        self.rho, self.V0, self.epsilon, self.TE, self.nu0, self.r0 = rho, V0, epsilon, TE, nu0, r0

    def hemodynamic_parameters(self) -> dict[str, float]:
        """The parameters in use: given values, else the defaults of ``coefficients``' set."""
        c = self.coefficients
        preset = c if isinstance(c, str) else "stephan2007"
        check_option("Bold coefficients", preset, COEFFICIENTS)
        out = {}
        for name, default in HEMODYNAMICS[preset].items():
            value = getattr(self, name)
            out[name] = default if value is None else value
        out.update(epsilon=self.epsilon, TE=self.TE, nu0=self.nu0, r0=self.r0)
        for name, value in out.items():
            if name == "rho":
                check_range("Bold rho", value, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
            elif name in ("kappa", "tau", "alpha", "V0"):
                check_range(f"Bold {name}", value, 0.0, low_inclusive=False)
            else:
                check_range(f"Bold {name}", value, 0.0)
        return {k: float(v) for k, v in out.items()}

    def output_coefficients(self) -> tuple[float, float, float]:
        """The BOLD output coefficients (k1, k2, k3) for ``coefficients`` and the parameters."""
        c = self.coefficients
        p = self.hemodynamic_parameters()
        if isinstance(c, str):
            rho = p["rho"]
            if c == "stephan2007":
                te = p["TE"] / 1000.0  # s
                return (4.3 * p["nu0"] * rho * te, p["epsilon"] * p["r0"] * rho * te,
                        1.0 - p["epsilon"])
            return (7.0 * rho, 2.0, 2.0 * rho - 0.2)
        try:
            k = tuple(float(v) for v in c)
        except (TypeError, ValueError):
            raise TypeError(f"Bold coefficients must be one of {list(COEFFICIENTS)} or a tuple "
                            f"(k1, k2, k3), but got {c!r}.") from None
        if len(k) != 3 or not all(np.isfinite(k)):
            raise ValueError(f"Bold coefficients must be 3 finite numbers (k1, k2, k3), got {c!r}.")
        return k

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        self.params_ = self.hemodynamic_parameters()
        self.k_ = self.output_coefficients()
        super().setup(info)
        m = len(info.region_labels) * info.n_batch
        self._y = np.zeros((4, m))
        self._y[1:] = 1.0  # rest: s = 0, f = v = q = 1
        self._warned = False

    def consume(self, trace: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        u = self._window_means(trace)
        times, first = self._sample_times(u.shape[0])
        out = np.empty((len(times), u.shape[1]))
        h = self.n_sub_ * self.info.dt / 1000.0  # s
        k1, k2, k3 = self.k_
        p = self.params_
        fmin = _balloon(u, self._y, first, self.tr_windows_, h, p["kappa"], p["gamma"],
                        1000.0 / p["tau"], 1.0 / p["alpha"], p["rho"], math.log1p(-p["rho"]),
                        p["V0"], k1, k2, k3, out)
        if fmin <= 0.0 and not self._warned:
            self._warned = True
            logger.warning(
                "Bold: blood inflow f fell to %.3g (below zero) before t = %g ms: the drive %r is "
                "too negative for the balloon model (its output is not physiological there). "
                "Drive it with a non-negative rate-like variable, or shift/scale it.",
                fmin, self._windows * self.n_sub_ * self.info.dt, self.variables_[0])
        return times, out.reshape(len(times), 1, *trace.shape[2:])

    def attrs(self) -> dict[str, Any]:  # noqa: D102
        k1, k2, k3 = self.k_
        return {"units": "1", "long_name": "BOLD signal change (fraction)",
                "tr_ms": float(self.tr), "driven_by": self.variables_[0],
                "coefficients": self.coefficients if isinstance(self.coefficients, str)
                else "given", "k1": k1, "k2": k2, "k3": k3,
                **{k + _ATTR_UNITS.get(k, ""): v for k, v in self.params_.items()}}

    def get_state(self) -> dict[str, np.ndarray]:  # noqa: D102
        return {**self._base_state(), "hemodynamics": self._y.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: D102
        self._set_base_state(state)
        self._y = np.array(state["hemodynamics"], dtype=np.float64)

    def __repr__(self) -> str:
        return (f"Bold(tr={self.tr}, variable={self.variable!r}, "
                f"coefficients={self.coefficients!r}, period={self.period})")


class BoldHRF(_BoldBase):
    """TVB-style BOLD: an HRF kernel convolved with the temporally averaged drive, at every TR.

    Reproduces ``tvb.simulator.monitors.Bold`` (kernel sampling, summation,
    indexing, the Volterra baseline ``- 1`` and ``k_1 V_0`` scaling, zero
    input before t = 0); details in the module docstring.

    Parameters
    ----------
    tr : float, default 2000.0
        Repetition time, ms (TVB's ``period``); a multiple of ``period``.
    variable : str, optional
        State variable convolved; default the model's ``bold_variable``.
    hrf : {"volterra", "gamma", "double_exponential", "mixture_of_gammas"} or callable
        The kernel (TVB's FirstOrderVolterra, Gamma, DoubleExponential,
        MixtureOfGammas), or ``hrf(t_ms) -> array`` for a custom kernel
        (used as returned: no scaling, no baseline).
    period : float, default 4.0
        Averaging window of the drive, ms (TVB's fixed 4 ms); a multiple of dt.
    length : float, default 20000.0
        Kernel length, ms (TVB's ``hrf_length``).
    hrf_params : dict, optional
        Kernel parameters overriding the defaults, with TVB's names and units
        (t in s), e.g. ``{"tau_s": 0.8}``.

    Notes
    -----
    Output dims (time, variable=["bold"], region[, batch]); time stamps at the
    end of each TR, ms. Units: "1" for "volterra" (a fractional signal
    change, :math:`k_1 V_0 (\\cdot - 1)`), "a.u." otherwise. The first
    ``length`` ms convolve the zeros TVB assumes before t = 0: discard them.
    """

    name = "bold_hrf"

    def __init__(self, tr: float = 2000.0, variable: str | None = None,
                 hrf: str | Callable[[np.ndarray], np.ndarray] = "volterra",
                 period: float = 4.0, length: float = 20000.0,
                 hrf_params: dict[str, float] | None = None) -> None:
        super().__init__(tr, variable, period)
        self.hrf = hrf
        self.length = length
        self.hrf_params = None if hrf_params is None else dict(hrf_params)

    def kernel(self, period: float | None = None) -> tuple[np.ndarray, float, float]:
        """The HRF as TVB samples it, with the baseline and scale of the output.

        Parameters
        ----------
        period : float, optional
            Window (sampling) period of the kernel, ms; default ``self.period``.

        Returns
        -------
        G : array (S,)
            Kernel at lags ``i * length / S`` for i = 0..S-1, S = ceil(length / period).
        offset, scale : float
            Output = scale * (sum - offset): (1, k_1 V_0) for "volterra", else (0, 1).
        """
        period = self.period if period is None else period
        check_range("BoldHRF period", period, 0.0, low_inclusive=False)
        check_range("BoldHRF length", self.length, period)
        n = int(np.ceil(self.length / period))
        t = np.arange(n) * (self.length / 1000.0 / n)  # s, as TVB's arange(0, T, T / n)
        if callable(self.hrf):
            if self.hrf_params:
                raise ValueError("BoldHRF hrf_params apply to the named kernels, not to a callable hrf.")
            g = np.asarray(self.hrf(t * 1000.0), dtype=np.float64)
            if g.shape != (n,) or not np.all(np.isfinite(g)):
                raise ValueError(f"BoldHRF hrf(t_ms) must return {n} finite values for the {n} "
                                 f"lags, but returned shape {g.shape}.")
            return g, 0.0, 1.0
        if not isinstance(self.hrf, str):
            raise TypeError(f"BoldHRF hrf must be one of {list(HRF_KERNELS)} or a callable, "
                            f"but got {self.hrf!r}.")
        check_option("BoldHRF hrf", self.hrf, HRF_KERNELS)
        p = dict(HRF_KERNELS[self.hrf])
        for key, value in (self.hrf_params or {}).items():
            if key not in p:
                raise TypeError(f"BoldHRF hrf {self.hrf!r} has no parameter {key!r}."
                                f"{suggest(key, p)} Parameters: {sorted(p)}.")
            p[key] = check_range(f"BoldHRF hrf_params[{key!r}]", value)
        return _tvb_kernel(self.hrf, p, t)

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        super().setup(info)
        g, self.offset_, self.scale_ = self.kernel(self.n_sub_ * info.dt)
        # TVB's ring indexing: lag L >= 1 gets G[L - 1], the newest window G[S - 1]
        self.weights_ = np.ascontiguousarray(np.roll(g, 1))
        m = len(info.region_labels) * info.n_batch
        self._ring = np.zeros((len(g), m))  # zero input before t = 0, as TVB
        self._pos = 0

    def consume(self, trace: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        u = self._window_means(trace)
        times, first = self._sample_times(u.shape[0])
        out = np.empty((len(times), u.shape[1]))
        self._pos = _hrf_convolve(u, self._ring, self._pos, first, self.tr_windows_,
                                  self.weights_, self.offset_, self.scale_, out)
        return times, out.reshape(len(times), 1, *trace.shape[2:])

    def _units(self) -> str:
        return "1" if self.hrf == "volterra" else "a.u."

    def attrs(self) -> dict[str, Any]:  # noqa: D102
        return {"units": self._units(), "long_name": "BOLD signal (HRF convolution, TVB)",
                "tr_ms": float(self.tr), "driven_by": self.variables_[0],
                "hrf": self.hrf if isinstance(self.hrf, str) else "callable",
                "hrf_length_ms": float(self.length)}

    def get_state(self) -> dict[str, np.ndarray]:  # noqa: D102
        return {**self._base_state(), "ring": self._ring.copy(), "pos": np.array(self._pos)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: D102
        self._set_base_state(state)
        self._ring = np.array(state["ring"], dtype=np.float64)
        self._pos = int(state["pos"])

    def __repr__(self) -> str:
        hrf = self.hrf if isinstance(self.hrf, str) else getattr(self.hrf, "__name__", "callable")
        return (f"BoldHRF(tr={self.tr}, variable={self.variable!r}, hrf={hrf!r}, "
                f"period={self.period}, length={self.length})")


def _tvb_kernel(name: str, p: dict[str, float], t: np.ndarray) -> tuple[np.ndarray, float, float]:
    """TVB's HRF equations at times t (s); returns (G, offset, scale)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "volterra":
            w = math.sqrt(1.0 / p["tau_f"] - 1.0 / (4.0 * p["tau_s"] ** 2))
            g = 1.0 / 3.0 * np.exp(-0.5 * (t / p["tau_s"])) * np.sin(w * t) / w
            return g, 1.0, p["k_1"] * p["V_0"]
        if name == "gamma":
            n = p["n"]
            g = (t / p["tau"]) ** (n - 1) * np.exp(-(t / p["tau"])) / (p["tau"] * math.factorial(
                max(int(n) - 1, 0)))
        elif name == "double_exponential":
            g = (p["amp_1"] * np.exp(-t / p["tau_1"]) * np.sin(2.0 * np.pi * p["f_1"] * t)
                 - p["amp_2"] * np.exp(-t / p["tau_2"]) * np.sin(2.0 * np.pi * p["f_2"] * t))
        else:  # mixture_of_gammas
            lt = p["l"] * t
            g = (lt ** (p["a_1"] - 1) * np.exp(-lt) / math.gamma(p["a_1"])
                 - p["c"] * lt ** (p["a_2"] - 1) * np.exp(-lt) / math.gamma(p["a_2"]))
            return g, 0.0, 1.0
    peak = g.max()
    if not peak > 0:
        raise ValueError(f"BoldHRF {name!r} kernel with {p} has no positive peak to scale to.")
    return g / peak * p["a"], 0.0, 1.0


# -- compiled kernels ---------------------------------------------------------
@njit(cache=True, nogil=True)
def _window_means(x, var, acc, count, n_sub, out):  # pragma: no cover - compiled
    """Add x[t, var, :] to acc row by row; every n_sub rows emit acc / n_sub. Return the open count."""
    j = 0
    for t in range(x.shape[0]):
        for k in range(x.shape[2]):
            acc[k] += x[t, var, k]
        count += 1
        if count == n_sub:
            for k in range(x.shape[2]):
                out[j, k] = acc[k] / n_sub
                acc[k] = 0.0
            j += 1
            count = 0
    return count


@njit(cache=True, inline="always", error_model="numpy")
def _balloon_rhs(s, f, v, q, x, kappa, gamma, inv_tau, inv_alpha, rho, ln1mrho):  # pragma: no cover
    """Right-hand side of the balloon equations (per second)."""
    fe = f if f > _FLOOR else _FLOOR
    ve = v if v > _FLOOR else _FLOOR
    vpow = vmath.exp(vmath.log(ve) * inv_alpha)  # v ** (1 / alpha)
    ds = x - kappa * s - gamma * (f - 1.0)
    dv = (fe - vpow) * inv_tau
    dq = (fe * (1.0 - vmath.exp(ln1mrho / fe)) / rho - vpow * q / ve) * inv_tau
    return ds, s, dv, dq


# error_model="numpy": no zero-division checks (they would keep the node loop scalar)
@njit(cache=True, error_model="numpy", nogil=True)
def _balloon(u, y, first, tr_windows, h, kappa, gamma, inv_tau, inv_alpha, rho, ln1mrho,
             V0, k1, k2, k3, out):  # pragma: no cover - compiled
    """One RK4 step per window mean u[j, k]; BOLD into out at every TR. Return min f.

    Windows outer, nodes inner: the node loop is SIMD code. It runs over a
    copy of the state padded with resting nodes to a multiple of ``_LANES``, so
    that no node falls to the scalar remainder loop (exp and log there are
    latency-bound, ~8 times slower per node). vmath's exp and log give the same
    bits in SIMD and scalar code and nothing crosses nodes inside the loops
    (the minimum of f is kept per node), so a node's result does not depend on
    how many nodes share the call (batch == single run, bit for bit).
    """
    m = u.shape[1]
    mp = -(-m // _LANES) * _LANES
    st = np.empty((4, mp))
    st[0, :] = 0.0
    st[1:, :] = 1.0
    st[:, :m] = y
    x_row = np.zeros(mp)
    f_low = np.full(mp, np.inf)
    h2 = 0.5 * h
    h6 = h / 6.0
    i = 0
    for j in range(u.shape[0]):
        x_row[:m] = u[j]
        for k in range(mp):
            s, f, v, q = st[0, k], st[1, k], st[2, k], st[3, k]
            x = x_row[k]
            a0, a1, a2, a3 = _balloon_rhs(s, f, v, q, x, kappa, gamma, inv_tau, inv_alpha,
                                          rho, ln1mrho)
            b0, b1, b2, b3 = _balloon_rhs(s + h2 * a0, f + h2 * a1, v + h2 * a2, q + h2 * a3, x,
                                          kappa, gamma, inv_tau, inv_alpha, rho, ln1mrho)
            c0, c1, c2, c3 = _balloon_rhs(s + h2 * b0, f + h2 * b1, v + h2 * b2, q + h2 * b3, x,
                                          kappa, gamma, inv_tau, inv_alpha, rho, ln1mrho)
            d0, d1, d2, d3 = _balloon_rhs(s + h * c0, f + h * c1, v + h * c2, q + h * c3, x,
                                          kappa, gamma, inv_tau, inv_alpha, rho, ln1mrho)
            f += h6 * (a1 + 2.0 * b1 + 2.0 * c1 + d1)
            st[0, k] = s + h6 * (a0 + 2.0 * b0 + 2.0 * c0 + d0)
            st[1, k] = f
            st[2, k] = v + h6 * (a2 + 2.0 * b2 + 2.0 * c2 + d2)
            st[3, k] = q + h6 * (a3 + 2.0 * b3 + 2.0 * c3 + d3)
            low = f_low[k]
            f_low[k] = f if f < low else low
        if (first + j + 1) % tr_windows == 0:
            for k in range(m):
                v, q = st[2, k], st[3, k]
                ve = v if v > _FLOOR else _FLOOR
                out[i, k] = V0 * (k1 * (1.0 - q) + k2 * (1.0 - q / ve) + k3 * (1.0 - v))
            i += 1
    y[:, :] = st[:, :m]
    fmin = np.inf
    for k in range(m):  # after the loops: a float min-reduction would keep them scalar
        if f_low[k] < fmin:
            fmin = f_low[k]
    return fmin


@njit(cache=True, nogil=True)
def _hrf_convolve(u, ring, pos, first, tr_windows, w, offset, scale, out):  # pragma: no cover
    """Push window means into the ring; at every TR, out = scale * (sum_L w[L] u[n-L] - offset).

    Return the next ring position. The sum runs over L = 0..S-1 in order for
    every node, whatever the chunk.
    """
    n_ring = ring.shape[0]
    m = ring.shape[1]
    i = 0
    for j in range(u.shape[0]):
        for k in range(m):
            ring[pos, k] = u[j, k]
        newest = pos
        pos += 1
        if pos == n_ring:
            pos = 0
        if (first + j + 1) % tr_windows == 0:
            for k in range(m):
                out[i, k] = 0.0
            for lag in range(n_ring):
                slot = newest - lag
                if slot < 0:
                    slot += n_ring
                wl = w[lag]
                for k in range(m):
                    out[i, k] += wl * ring[slot, k]
            for k in range(m):
                out[i, k] = scale * (out[i, k] - offset)
            i += 1
    return pos
