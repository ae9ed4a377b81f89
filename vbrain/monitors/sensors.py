"""EEG, MEG and SEEG monitors: region signals through a lead field, inside the run.

Each step the region signal ``s = sum_v c_v x_v`` (a linear combination of
state variables, the model's ``eeg_signal`` by default) is accumulated; every
``period`` ms its window mean ``s̄`` is projected to the sensors,

.. math:: y = G \\, \\mathrm{diag}(\\text{scale}) \\, \\bar s,

with ``G`` the lead field's gain (V or T per A·m) and ``scale`` its A·m per
model unit, so samples are in SI units (V, T, T/m) — the one place vbrain
leaves its model units, so that :func:`vbrain.forward.sensors.to_raw` hands
MNE what it expects. Like :class:`~vbrain.monitors.TemporalAverage` (and TVB's
projection monitors) a sample is stamped at its window's centre. Each signal
variable is summed over the window in step order (as the compiled loop sums a
window itself when every monitor of a run shares the window, ``window()``),
then the signal's mean is projected with sums over regions in a fixed order,
vectorised over sensors: output does not depend on the chunk size, the batch
size or which path summed the window, and each batch member equals its single
run, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .._check import suggest, validate_type
from .base import Monitor, RunInfo, period_steps


class EEG(Monitor):
    """Scalp EEG through a lead field (output ``"eeg"``, volts).

    Parameters
    ----------
    leadfield : vbrain.forward.leadfield.LeadField
        Gain (n_sensors, n_regions), sensors' Info and ``scale``
        (A·m per model unit). Its regions must be the simulation's.
    period : float, default 1.0
        Averaging window and sampling period, ms (a multiple of dt); the
        sampling rate is ``1000 / period`` Hz.
    signal : str or dict of str to float, optional
        The region signal: a state variable name or ``{name: coefficient}``
        (e.g. ``{"y1": 1.0, "y2": -1.0}``). Default: the model's
        ``eeg_signal``, else its first variable of interest.

    Notes
    -----
    ``space()`` is ``[("sensor", ch_names, {"ch_type": ch_types})]``; attrs
    carry ``units`` ("V", "T", or "T, T/m" for mixed MEG), the signal, the
    period and the lead field's description.
    """

    name = "eeg"
    #: lead-field kind this monitor accepts
    kind = "eeg"

    def __init__(self, leadfield: Any, period: float = 1.0,
                 signal: str | dict[str, float] | None = None) -> None:
        super().__init__(None)
        self.leadfield = leadfield
        self.period = period
        self.signal = signal

    def setup(self, info: RunInfo) -> None:  # noqa: D102
        from ..forward.leadfield import LeadField

        self.info = info
        lf = validate_type("leadfield", self.leadfield, LeadField)
        if lf.kind != self.kind:
            cls = {"eeg": "EEG", "meg": "MEG", "seeg": "SEEG"}[lf.kind]
            raise ValueError(f"{type(self).__name__} needs a {self.kind!r} lead field, but this "
                             f"one is {lf.kind!r}; use vbrain.monitors.{cls}(leadfield).")
        n = len(info.region_labels)
        if lf.n_regions != n:
            raise ValueError(f"The lead field has {lf.n_regions} regions but the connectome has "
                             f"{n}; build it from the simulation's connectome.")
        if lf.region_labels is not None and tuple(lf.region_labels) != tuple(info.region_labels):
            diff = next(i for i, (a, b) in enumerate(zip(lf.region_labels, info.region_labels))
                        if a != b)
            raise ValueError(
                f"The lead field's regions differ from the connectome's: region {diff} is "
                f"{lf.region_labels[diff]!r} in the lead field but {info.region_labels[diff]!r} "
                "in the connectome (order matters).")
        names = info.state_names
        coefs = self._signal_coefficients(info)
        for v in coefs:
            if v not in names:
                raise ValueError(f"{type(self).__name__}: unknown signal variable {v!r}."
                                 f"{suggest(v, names)} The model's state variables are "
                                 f"{list(names)}.")
        self.signal_ = coefs
        self.variables_ = tuple(coefs)
        self.var_index_ = np.array([names.index(v) for v in coefs], dtype=np.intp)
        self.coef_ = np.array(list(coefs.values()), dtype=np.float64)
        self.units_ = tuple(lf.units)
        self.istep_ = period_steps(type(self).__name__, self.period, info.dt)
        self.gain_ = np.ascontiguousarray(lf.effective_gain())
        self.gain_t_ = np.ascontiguousarray(self.gain_.T)  # (regions, sensors): SIMD over sensors
        self._acc = None
        self._count = 0

    def _signal_coefficients(self, info: RunInfo) -> dict[str, float]:
        sig = self.signal
        if sig is None:
            sig = getattr(info.model, "eeg_signal", None)
        if sig is None:
            voi = getattr(info.model, "variables_of_interest", None)
            sig = voi[0] if voi else info.state_names[0]
        if isinstance(sig, str):
            return {sig: 1.0}
        if not isinstance(sig, dict) or not sig:
            raise TypeError(f"signal must be a state variable name or a non-empty dict "
                            f"{{name: coefficient}}, but got {sig!r}.")
        out = {}
        for k, v in sig.items():
            try:
                out[str(k)] = float(v)
            except (TypeError, ValueError):
                raise TypeError(f"signal coefficient of {k!r} must be a number, got {v!r}.") \
                    from None
            if not np.isfinite(out[str(k)]):
                raise ValueError(f"signal coefficient of {k!r} must be finite, got {v!r}.")
        return out

    def window(self) -> int:  # noqa: D102
        return self.istep_

    def consume(self, trace: np.ndarray, first_step: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        n_steps, n_state, n_reg, nb = trace.shape
        if self._acc is None:
            self._acc = np.zeros((len(self.var_index_), n_reg * nb))
        n_out = (self._count + n_steps) // self.istep_
        out, ends = np.empty((n_out, self.gain_.shape[0], nb)), np.empty(n_out, dtype=np.int64)
        self._count = _project_steps(
            np.ascontiguousarray(trace).reshape(n_steps, n_state, n_reg * nb), self.var_index_,
            self.coef_, self._acc, self._count, self.istep_, first_step, self.gain_t_, out, ends)
        return (ends - self.istep_ / 2.0) * self.info.dt, out

    def consume_sums(self, sums, first_step):  # noqa: D102
        # the loop's sums start from 0.0 and add in step order, as _project_steps does:
        # the same samples, bit for bit
        n_win, n_state, n_reg, nb = sums.shape
        out = np.empty((n_win, self.gain_.shape[0], nb))
        _project_sums(np.ascontiguousarray(sums).reshape(n_win, n_state, n_reg * nb),
                      self.var_index_, self.coef_, self.istep_, self.gain_t_, out)
        ends = first_step + self.istep_ * (1 + np.arange(n_win))
        return (ends - self.istep_ / 2.0) * self.info.dt, out

    def space(self) -> list[tuple[str, list, dict[str, list]]]:  # noqa: D102
        lf = self.leadfield
        return [("sensor", lf.ch_names, {"ch_type": lf.ch_types})]

    def attrs(self) -> dict[str, Any]:  # noqa: D102
        units = list(dict.fromkeys(self.units_))
        return {
            "units": units[0] if len(units) == 1 else ", ".join(units),
            "long_name": self.name.upper(),
            "signal": _signal_text(self.signal_),
            "period_ms": float(self.period),
            "leadfield": repr(self.leadfield),
        }

    def get_state(self) -> dict[str, np.ndarray]:  # noqa: D102
        acc = np.zeros(0) if self._acc is None else self._acc.copy()
        return {"acc": acc, "count": np.array(self._count)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: D102
        self._acc = None if state["acc"].size == 0 else state["acc"].copy()
        self._count = int(state["count"])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(leadfield={self.leadfield!r}, period={self.period}, "
                f"signal={self.signal!r})")


class MEG(EEG):
    """MEG through a lead field (output ``"meg"``, tesla; T/m for gradiometers).

    Parameters as :class:`EEG`; the lead field must be an MEG one.
    """

    name = "meg"
    kind = "meg"


class SEEG(EEG):
    """Stereo-EEG contacts through a lead field (output ``"seeg"``, volts).

    Parameters as :class:`EEG`; build the lead field with
    :meth:`~vbrain.forward.leadfield.LeadField.seeg`.
    """

    name = "seeg"
    kind = "seeg"


def _signal_text(coefs: dict[str, float]) -> str:
    """{"y1": 1, "y2": -1} -> "y1 - y2"; other coefficients written out."""
    parts = []
    for i, (name, c) in enumerate(coefs.items()):
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        term = name if mag == 1.0 else f"{mag:g}*{name}"
        parts.append((("-" if sign == "-" else "") + term) if i == 0 else f" {sign} {term}")
    return "".join(parts)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _signal(rows, vidx, coef, m, sig):  # pragma: no cover - compiled
    """sig[k] = (sum over q, in order, of coef[q] * rows[vidx[q], k]) / m: a window's mean signal
    from its per-variable sums."""
    for k in range(sig.shape[0]):
        sig[k] = coef[0] * rows[vidx[0], k]
    for q in range(1, vidx.shape[0]):
        row = rows[vidx[q]]
        for k in range(sig.shape[0]):
            sig[k] += coef[q] * row[k]
    for k in range(sig.shape[0]):
        sig[k] /= m


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _project(sig, gain_t, acc, out, j):  # pragma: no cover - compiled
    """out[j, c, b] = sum over regions r, in order, of gain_t[r, c] * sig[r * nb + b]
    (vectorised over sensors c; each member's sums alone, so batch == single run);
    acc (n_sensors,) scratch."""
    n_reg, n_sens = gain_t.shape
    nb = out.shape[2]
    for b in range(nb):
        for c in range(n_sens):
            acc[c] = 0.0
        for r in range(n_reg):
            g = sig[r * nb + b]
            gr = gain_t[r]
            for c in range(n_sens):
                acc[c] += gr[c] * g
        for c in range(n_sens):
            out[j, c, b] = acc[c]


@njit(cache=True, nogil=True, error_model="numpy")
def _project_steps(trace, vidx, coef, acc, count, m, first_step, gain_t, out,
                   ends):  # pragma: no cover - compiled
    """Sum the signal's variables per step; every m steps project the window's mean.

    trace (n_steps, n_state, n_nodes), node = region * n_batch + member; acc
    (n_var, n_nodes) the open window's per-variable sums (0.0 plus the states in
    step order, as the loop's window sums); out (n_out, n_sensors, n_batch).
    Returns the open count.
    """
    n_var, n_nodes = acc.shape
    own = np.arange(n_var)
    sig, proj = np.empty(n_nodes), np.empty(gain_t.shape[1])
    j = 0
    for t in range(trace.shape[0]):
        for q in range(n_var):
            row = trace[t, vidx[q]]
            a = acc[q]
            for k in range(n_nodes):
                a[k] += row[k]
        count += 1
        if count == m:
            _signal(acc, own, coef, m, sig)
            acc[:] = 0.0
            _project(sig, gain_t, proj, out, j)
            ends[j] = first_step + t + 1
            j += 1
            count = 0
    return count


@njit(cache=True, nogil=True, error_model="numpy")
def _project_sums(sums, vidx, coef, m, gain_t, out):  # pragma: no cover - compiled
    """Project each window of sums (n_windows, n_state, n_nodes) over m steps."""
    sig, proj = np.empty(sums.shape[2]), np.empty(gain_t.shape[1])
    for j in range(sums.shape[0]):
        _signal(sums[j], vidx, coef, m, sig)
        _project(sig, gain_t, proj, out, j)
