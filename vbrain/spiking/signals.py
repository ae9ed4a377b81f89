"""Summary statistics of spike trains: population rates and ISI irregularity."""

from __future__ import annotations

import numpy as np

from .._check import check_range


def population_rate(counts: np.ndarray, n: int, dt: float, *, window: float | None = None,
                    unit: str = "Hz") -> np.ndarray:
    """Population rate from per-step spike counts.

    Parameters
    ----------
    counts : array (n_steps,)
        Spikes per step (``advance()["counts"][pop]``).
    n : int
        Number of neurons of the population.
    dt : float
        Step (ms).
    window : float, optional
        Width (ms) of non-overlapping bins to average over; None = per step.
    unit : {"Hz", "kHz"}, default "Hz"
        kHz (spikes per ms per neuron) is the rate unit of the MPR mean field.

    Returns
    -------
    numpy.ndarray
        Rate per step or per bin.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if unit not in ("Hz", "kHz"):
        raise ValueError(f"unit must be 'Hz' or 'kHz', but got {unit!r}.")
    scale = (1000.0 if unit == "Hz" else 1.0) / (n * dt)
    if window is None:
        return counts * scale
    k = int(round(check_range("window", window, 0.0, low_inclusive=False) / dt))
    k = max(k, 1)
    m = counts.shape[0] // k
    return counts[: m * k].reshape(m, k).mean(axis=1) * scale


def isi_cv(times: np.ndarray, ids: np.ndarray, *, min_spikes: int = 3) -> float:
    """Mean coefficient of variation of the inter-spike intervals over neurons.

    Neurons with fewer than ``min_spikes`` spikes are left out (NaN if none is left).
    """
    times = np.asarray(times, dtype=np.float64)
    ids = np.asarray(ids)
    if times.shape != ids.shape:
        raise ValueError(f"times and ids must have the same shape, got {times.shape} and "
                         f"{ids.shape}.")
    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    if t.size == 0:
        return float("nan")
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, owner = isi[same], i[1:][same]
    _, start, cnt = np.unique(owner, return_index=True, return_counts=True)
    keep = cnt >= max(min_spikes - 1, 2)
    if not np.any(keep):
        return float("nan")
    s1 = np.add.reduceat(isi, start)[keep]
    s2 = np.add.reduceat(isi * isi, start)[keep]
    c = cnt[keep]
    mean = s1 / c
    var = np.maximum(s2 / c - mean * mean, 0.0)
    return float(np.mean(np.sqrt(var) / mean))
