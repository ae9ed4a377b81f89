r"""Goodness-of-fit objectives: simulated signals vs a subject's targets, for every batch member.

An objective compares the output of a (batched) simulation with empirical
targets and returns **one score per batch member**, so a whole sweep is scored
at once. Every objective accepts:

- a :class:`vbrain.Result` (the objective picks its ``monitor``: ``"bold"``,
  ``"tavg"``, ``"eeg"``...);
- a monitor's ``xarray.DataArray`` with dims ``(time[, variable], region|sensor[, batch])``
  (time coordinate in ms, as :class:`vbrain.Simulation` writes it);
- a plain array ``(time, region)`` or ``(time, region, batch)``.

It returns a float array of shape ``(B,)`` (``B = 1`` for an input without a
batch axis). A member whose score cannot be computed (a constant region, a
failed run) scores NaN; the searches treat NaN as the worst value.

Sign convention
---------------
``higher_is_better`` says which way a score points. Distances (:class:`FCDistance`,
:class:`FCDKSDistance`, :class:`SpectralDistance`, :class:`Combined`) are
**losses: lower is better, 0 is a perfect fit**. :class:`FCCorrelation` is a
correlation (**higher is better**, at most 1); ``FCCorrelation(...).as_loss()``
turns it into the loss ``1 - r`` (range [0, 2]). Searches minimise
``objective.as_loss()``; ``as_loss()`` of a loss is the loss itself.

Definitions (``iu`` = the upper triangle without the diagonal, ``k = 1``)
-------------------------------------------------------------------------
- FC of a member: Pearson correlation of the region series (``numpy.corrcoef``
  on the samples after ``transient`` ms).
- :class:`FCCorrelation`: :math:`r = \mathrm{corr}(FC_{sim}[iu], FC_{emp}[iu])`.
- :class:`FCDistance`: ``metric="rmse"`` (default)
  :math:`\sqrt{\mathrm{mean}((FC_{sim}[iu] - FC_{emp}[iu])^2)}`; ``"frobenius"``
  :math:`\lVert FC_{sim} - FC_{emp} \rVert_F` over the off-diagonal entries,
  i.e. :math:`\sqrt{2 \sum_{iu} (FC_{sim} - FC_{emp})^2}` (grows with the number of
  regions; RMSE does not).
- :class:`FCDKSDistance`: the two-sample Kolmogorov-Smirnov statistic (largest
  distance between the empirical CDFs; the same number as
  ``scipy.stats.ks_2samp(a, b).statistic``) between the FCD upper-triangle values
  of the simulation and those of the target. The simulated FCD is computed by
  :func:`vbrain.pipelines.fmri.fcd` (the one FCD implementation of the project:
  sliding-window FC, Pearson correlation between the windows' FC upper triangles).
- :class:`SpectralDistance`: per channel, the Welch PSD of the simulated signal
  (Hann windows of ``psd_window`` ms, 50 % overlap) is interpolated (in log10)
  at the target's frequencies within ``[fmin, fmax]``; with ``normalize`` (default)
  each channel's log-PSD is centred (its mean over the band subtracted: the gain
  of a simulated lead field is arbitrary, so only the spectral shape counts).
  ``metric="log_rmse"`` (default): mean over channels of the RMS difference of the
  log10 PSDs (in decades); ``"correlation"``: mean over channels of
  :math:`1 - \mathrm{corr}(\log PSD_{sim}, \log PSD_{emp})`.
- :class:`Combined`: :math:`\sum_k w_k\,L_k` with :math:`L_k` = ``objective_k.as_loss()``.

Every member is scored on its own contiguous copy with the same operations,
so a member's score does not depend on the other members of its batch (a
sweep split over Dask workers scores bit-for-bit as the serial sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._check import check_option, check_range, validate_type

logger = logging.getLogger(__name__)

__all__ = [
    "AsLoss",
    "Combined",
    "FCCorrelation",
    "FCDKSDistance",
    "FCDistance",
    "Objective",
    "Series",
    "SpectralDistance",
    "as_series",
    "fcd_values",
    "functional_connectivity",
    "ks_statistic",
    "upper_triangle",
]

_SPACE_DIMS = ("region", "sensor")


# -- inputs -----------------------------------------------------------------------------
@dataclass
class Series:
    """A simulated signal, normalised for scoring.

    Attributes
    ----------
    data : ndarray, shape (n_times, n_space, n_batch)
        Samples after the transient, float64.
    times : ndarray (n_times,) or None
        Sample times, ms (None for a plain array input).
    labels : list of str or None
        Region or sensor names.
    space_dim : str
        ``"region"`` or ``"sensor"``.
    """

    data: np.ndarray
    times: np.ndarray | None
    labels: list[str] | None
    space_dim: str

    @property
    def n_batch(self) -> int:
        """Number of batch members."""
        return self.data.shape[2]

    @property
    def period(self) -> float | None:
        """Sampling period, ms (median step of ``times``), or None."""
        if self.times is None or len(self.times) < 2:
            return None
        return float(np.median(np.diff(self.times)))

    def member(self, b: int) -> np.ndarray:
        """Member ``b``'s samples (n_times, n_space) as a fresh C-contiguous array."""
        return np.ascontiguousarray(self.data[:, :, b])


def as_series(simulated: Any, *, monitor: str | None = None, variable: str | None = None,
              transient: float = 0.0) -> Series:
    """Normalise a simulation output to (time, region|sensor, batch) samples.

    Parameters
    ----------
    simulated : Result, xarray.DataArray or array
        A :class:`vbrain.Result`, one monitor's DataArray (dims ``time``,
        optional ``variable``, ``region`` or ``sensor``, optional ``batch``),
        or an array ``(time, space)`` / ``(time, space, batch)``.
    monitor : str, optional
        Output to take from a Result (default: its only output).
    variable : str, optional
        State variable to take when the output has several (default: the
        only one).
    transient : float, default 0.0
        Discard the samples at times ``<= transient`` ms (needs a time
        coordinate, so not for plain arrays).

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        Unknown monitor or variable (listing the valid ones), unexpected
        dims, a transient on an array without times.
    """
    import xarray as xr

    from ..result import Result

    transient = check_range("transient", transient, 0.0)
    if isinstance(simulated, Result):
        names = list(simulated.keys())
        if monitor is None:
            if len(names) != 1:
                raise ValueError(f"The result has outputs {names}; pass monitor= to choose one.")
            monitor = names[0]
        if monitor not in simulated:
            check_option("monitor", monitor, names)
        simulated = simulated[monitor]
    if isinstance(simulated, xr.Dataset):
        raise TypeError("simulated must be a Result, a DataArray or an array, but got a "
                        "Dataset; pick one variable (ds['bold']).")
    if isinstance(simulated, xr.DataArray):
        da = simulated
        dims = set(da.dims)
        space = [d for d in _SPACE_DIMS if d in dims]
        allowed = {"time", "variable", "batch", *_SPACE_DIMS}
        if "time" not in dims or len(space) != 1 or not dims <= allowed:
            raise ValueError(f"A simulated DataArray needs dims (time[, variable], region|sensor"
                             f"[, batch]), but has {da.dims}.")
        if "variable" in dims:
            names = [str(v) for v in da["variable"].values]
            if variable is None:
                if len(names) != 1:
                    raise ValueError(f"The output has variables {names}; pass variable= to "
                                     "choose one.")
                variable = names[0]
            check_option("variable", variable, names)
            da = da.isel(variable=names.index(variable))
        if "batch" not in da.dims:
            da = da.expand_dims("batch", axis=-1)
        da = da.transpose("time", space[0], "batch")
        times = np.asarray(da["time"].values, dtype=np.float64)
        keep = times > transient if transient > 0 else np.ones(times.shape, bool)
        data = np.asarray(da.values, dtype=np.float64)[keep]
        labels = [str(v) for v in da[space[0]].values] if space[0] in da.coords else None
        return Series(data, times[keep], labels, space[0])
    arr = np.asarray(simulated, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"A simulated array must be (time, region) or (time, region, batch), "
                         f"but has shape {arr.shape}.")
    if transient > 0:
        raise ValueError("transient= needs time stamps: pass the monitor's DataArray (or slice "
                         "the array yourself).")
    return Series(arr, None, None, "region")


def _target_array(target: Any, var: str, dims: tuple[str, str]) -> tuple[np.ndarray, Any]:
    """(values, DataArray or None) of a target given as array, DataArray or Dataset."""
    import xarray as xr

    if isinstance(target, xr.Dataset):
        if var not in target:
            raise ValueError(f"The targets dataset has no {var!r} variable; it has "
                             f"{list(target.data_vars)}.")
        target = target[var]
    if isinstance(target, xr.DataArray):
        if target.ndim == 2 and tuple(target.dims) != dims and set(target.dims) == set(dims):
            target = target.transpose(*dims)
        return np.asarray(target.values, dtype=np.float64), target
    return np.asarray(target, dtype=np.float64), None


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """Entries above the diagonal (``k = 1``) of a square matrix, row by row."""
    m = np.asarray(matrix)
    i, j = np.triu_indices(m.shape[0], 1)
    return m[i, j]


def functional_connectivity(series: np.ndarray) -> np.ndarray:
    """Pearson FC of one member's series (time, region); NaN rows for constant regions."""
    x = np.asarray(series, dtype=np.float64)
    z = x - x.mean(axis=0)
    norm = np.sqrt((z * z).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z / norm
        fc = z.T @ z
    fc[:, norm == 0] = np.nan
    fc[norm == 0, :] = np.nan
    np.fill_diagonal(fc, 1.0)
    return fc


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs.

    Equal to ``scipy.stats.ks_2samp(a, b).statistic`` (without its p-value).
    """
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    if a.size == 0 or b.size == 0:
        raise ValueError("ks_statistic needs two non-empty samples.")
    pooled = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, pooled, side="right") / a.size
    cdf_b = np.searchsorted(b, pooled, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def fcd_values(series: np.ndarray, window: Any, step: Any, tr: float | None) -> np.ndarray:
    """Upper-triangle values of the FCD of one member's series (time, region).

    Thin wrapper around :func:`vbrain.pipelines.fmri.fcd` (window and step in
    ms, or strings such as ``"60 s"`` or ``"30 vol"``; ``tr`` in ms).
    """
    from vbrain.pipelines.fmri import fcd

    return upper_triangle(np.asarray(fcd(series, window, step, tr=tr).values))


def _match_labels(target_labels: list[str] | None, sim_labels: list[str] | None,
                  what: str) -> np.ndarray | None:
    """Indices into the simulated space for the target's labels, or None if unlabelled/equal."""
    if target_labels is None or sim_labels is None or list(target_labels) == list(sim_labels):
        return None
    missing = [t for t in target_labels if t not in sim_labels]
    if missing:
        raise ValueError(f"The {what} target has {len(missing)} label(s) the simulation lacks "
                         f"(first: {missing[:5]}); simulated labels start {sim_labels[:5]}.")
    index = {s: i for i, s in enumerate(sim_labels)}
    return np.array([index[t] for t in target_labels])


# -- objectives ------------------------------------------------------------------------
class Objective:
    """Base class: score every batch member of a simulation against a target.

    Subclasses implement :meth:`feature` (the simulated quantity of one
    member, e.g. its FC matrix) and :meth:`compare` (feature -> score), and
    set ``higher_is_better``; ``__call__`` loops over the members.

    Attributes
    ----------
    monitor : str or None
        Output of a :class:`vbrain.Result` this objective reads.
    variable : str or None
        State variable within that output.
    transient : float
        Initial ms discarded before scoring.
    higher_is_better : bool
        Direction of the score (False: a loss).
    """

    higher_is_better: bool = False
    #: as_loss() of a higher-is-better score s is ``loss_offset - s``
    loss_offset: float = 0.0
    name: str = "objective"

    def __init__(self, *, monitor: str | None = None, variable: str | None = None,
                 transient: float = 0.0) -> None:
        self.monitor = monitor
        self.variable = variable
        self.transient = check_range("transient", transient, 0.0)

    # -- subclass interface --------------------------------------------------------
    def prepare(self, series: Series) -> dict[str, Any]:
        """Check the simulated series against the target; return what scoring needs.

        The context (label order, sampling period, ...) is returned rather
        than stored, so one objective can score several results at once
        (threads).
        """
        return {}

    def feature(self, x: np.ndarray, ctx: dict[str, Any]) -> Any:
        """The simulated quantity of one member ``x`` (n_times, n_space)."""
        raise NotImplementedError

    def compare(self, feature: Any, ctx: dict[str, Any]) -> float:
        """Score of one member's feature against the target."""
        raise NotImplementedError

    # -- scoring ---------------------------------------------------------------------
    def series(self, simulated: Any) -> Series:
        """The input this objective reads, as a :class:`Series`."""
        return as_series(simulated, monitor=self.monitor, variable=self.variable,
                         transient=self.transient)

    def features(self, simulated: Any) -> tuple[list[Any], dict[str, Any]]:
        """Per-member simulated features (None where a member cannot be scored), and the context."""
        s = self.series(simulated)
        ctx = self.prepare(s)
        out = []
        for b in range(s.n_batch):
            try:
                out.append(self.feature(s.member(b), ctx))
            except (ValueError, FloatingPointError) as err:
                logger.info("%s: batch member %d cannot be scored (%s)", self.name, b, err)
                out.append(None)
        return out, ctx

    def __call__(self, simulated: Any) -> np.ndarray:
        """Scores, shape (B,); NaN where a member cannot be scored."""
        feats, ctx = self.features(simulated)
        scores = np.full(len(feats), np.nan)
        for b, f in enumerate(feats):
            if f is not None:
                scores[b] = self.compare(f, ctx)
        return scores

    def as_loss(self) -> Objective:
        """This objective as a loss (lower is better); itself if it already is one."""
        return AsLoss(self) if self.higher_is_better else self

    def monitors(self) -> set[str]:
        """Result outputs this objective reads."""
        return {self.monitor} if self.monitor is not None else set()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(monitor={self.monitor!r}, variable={self.variable!r}, "
                f"transient={self.transient:g})")


class AsLoss(Objective):
    """A higher-is-better objective turned into a loss: ``loss_offset - score``.

    For correlations (``loss_offset = 1``) the loss is ``1 - r``.
    """

    higher_is_better = False

    def __init__(self, objective: Objective) -> None:
        validate_type("objective", objective, Objective)
        self.objective = objective
        self.monitor = objective.monitor
        self.variable = objective.variable
        self.transient = objective.transient
        self.name = f"1 - {objective.name}" if objective.loss_offset == 1.0 \
            else f"-{objective.name}"

    def features(self, simulated: Any) -> tuple[list[Any], dict[str, Any]]:
        return self.objective.features(simulated)

    def __call__(self, simulated: Any) -> np.ndarray:
        return self.objective.loss_offset - self.objective(simulated)

    def compare(self, feature: Any, ctx: dict[str, Any]) -> float:
        return self.objective.loss_offset - self.objective.compare(feature, ctx)

    def monitors(self) -> set[str]:
        return self.objective.monitors()

    def __repr__(self) -> str:
        return f"AsLoss({self.objective!r})"


class _FCObjective(Objective):
    """Shared target handling of the FC objectives."""

    def __init__(self, target: Any, *, monitor: str | None = "bold", variable: str | None = None,
                 transient: float = 0.0) -> None:
        super().__init__(monitor=monitor, variable=variable, transient=transient)
        values, da = _target_array(target, "fc", ("region_i", "region_j"))
        if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
            raise ValueError(f"The FC target must be a square (n_regions, n_regions) matrix, "
                             f"but has shape {values.shape}.")
        if not np.all(np.isfinite(upper_triangle(values))):
            raise ValueError("The FC target has NaN/Inf values above the diagonal.")
        self.target = values
        self.target_labels = None
        if da is not None and "region_i" in da.coords:
            self.target_labels = [str(v) for v in da["region_i"].values]
        self.target_upper = upper_triangle(values)

    def prepare(self, series: Series) -> dict[str, Any]:
        n = self.target.shape[0]
        index = _match_labels(self.target_labels, series.labels, "FC")
        if index is None and series.data.shape[1] != n:
            raise ValueError(f"The FC target has {n} regions, but the simulated "
                             f"{self.monitor or 'signal'} has {series.data.shape[1]}.")
        if series.data.shape[0] < 3:
            raise ValueError(f"FC needs at least 3 samples after the {self.transient:g} ms "
                             f"transient, got {series.data.shape[0]}: simulate longer.")
        return {"index": index}

    def feature(self, x: np.ndarray, ctx: dict[str, Any]) -> np.ndarray:
        """The member's FC matrix, in the target's region order."""
        if ctx["index"] is not None:
            x = np.ascontiguousarray(x[:, ctx["index"]])
        fc = functional_connectivity(x)
        if not np.all(np.isfinite(fc)):
            raise ValueError("a region's series is constant (FC undefined)")
        return fc


class FCCorrelation(_FCObjective):
    """Pearson correlation between simulated and empirical FC upper triangles (higher is better).

    Parameters
    ----------
    target : array (n_regions, n_regions), DataArray (region_i, region_j) or Dataset
        Empirical FC (a Dataset from :func:`vbrain.pipelines.fmri.fmri_targets`
        gives its ``fc``). With region labels on both sides the target's order
        is matched by name.
    monitor : str, default "bold"
        Result output to read (``"tavg"`` for FC of the neural signal).
    variable : str, optional
        State variable of that output (default: the only one).
    transient : float, default 0.0
        Initial ms discarded (the BOLD transient from rest lasts ~20 s).

    Notes
    -----
    Score in [-1, 1]; ``as_loss()`` gives ``1 - r``.
    """

    higher_is_better = True
    loss_offset = 1.0
    name = "fc_corr"

    def compare(self, feature: np.ndarray, ctx: dict[str, Any]) -> float:
        return float(np.corrcoef(upper_triangle(feature), self.target_upper)[0, 1])


class FCDistance(_FCObjective):
    """Distance between simulated and empirical FC (a loss; 0 is a perfect fit).

    Parameters
    ----------
    target, monitor, variable, transient
        As in :class:`FCCorrelation`.
    metric : {"rmse", "frobenius"}, default "rmse"
        ``"rmse"``: root mean square difference over the upper triangle
        (independent of the number of regions); ``"frobenius"``: Frobenius norm
        of the difference over the off-diagonal entries (``sqrt(2 * sum)`` over
        the upper triangle).
    """

    higher_is_better = False
    name = "fc_dist"

    def __init__(self, target: Any, *, metric: str = "rmse", monitor: str | None = "bold",
                 variable: str | None = None, transient: float = 0.0) -> None:
        super().__init__(target, monitor=monitor, variable=variable, transient=transient)
        self.metric = check_option("metric", metric, ("rmse", "frobenius"))

    def compare(self, feature: np.ndarray, ctx: dict[str, Any]) -> float:
        d = upper_triangle(feature) - self.target_upper
        if self.metric == "rmse":
            return float(np.sqrt(np.mean(d * d)))
        return float(np.sqrt(2.0 * np.sum(d * d)))


class FCDKSDistance(Objective):
    """Kolmogorov-Smirnov distance between simulated and empirical FCD value distributions (loss).

    Parameters
    ----------
    target : array, DataArray or Dataset
        An FCD matrix (n_windows, n_windows) (its upper triangle is used), a
        1-D array of FCD values, or a Dataset with ``fcd`` (from
        :func:`vbrain.pipelines.fmri.fmri_targets`).
    window, step : float or str, optional
        Sliding windows of the simulated FCD: ms, or strings with a unit
        (``"60 s"``, ``"30 vol"``; see :func:`vbrain.pipelines.fmri.fcd`).
        Default: the target DataArray's ``window_volumes`` / ``step_volumes``
        attrs (the same number of volumes; use the same TR), else "60 s" / "2 s".
    monitor : str, default "bold"
    variable : str, optional
    transient : float, default 0.0
        Initial ms discarded.
    tr : float, optional
        Sampling period of plain-array input, ms (DataArrays carry it).

    Notes
    -----
    The score is in [0, 1], 0 for identical distributions.
    """

    higher_is_better = False
    name = "fcd_ks"

    def __init__(self, target: Any, *, window: Any = None, step: Any = None,
                 monitor: str | None = "bold", variable: str | None = None,
                 transient: float = 0.0, tr: float | None = None) -> None:
        super().__init__(monitor=monitor, variable=variable, transient=transient)
        values, da = _target_array(target, "fcd", ("window_i", "window_j"))
        if values.ndim == 2:
            if values.shape[0] != values.shape[1]:
                raise ValueError(f"An FCD target matrix must be square, got {values.shape}.")
            values = upper_triangle(values)
        if values.ndim != 1 or values.size < 1:
            raise ValueError(f"The FCD target must be a square FCD matrix or a 1-D array of FCD "
                             f"values, but has shape {np.shape(values)}.")
        if not np.all(np.isfinite(values)):
            raise ValueError("The FCD target has NaN/Inf values.")
        attrs = da.attrs if da is not None else {}
        if window is None:
            window = f"{int(attrs['window_volumes'])} vol" if "window_volumes" in attrs else "60 s"
        if step is None:
            step = f"{int(attrs['step_volumes'])} vol" if "step_volumes" in attrs else "2 s"
        self.target_values = values
        self.window, self.step, self.tr = window, step, tr

    def prepare(self, series: Series) -> dict[str, Any]:
        tr = series.period if series.period is not None else self.tr
        # check the windows against the series once (a bad window is not a member's fault)
        probe = np.random.default_rng(0).standard_normal((series.data.shape[0], 4))
        fcd_values(probe, self.window, self.step, tr)
        return {"tr": tr}

    def feature(self, x: np.ndarray, ctx: dict[str, Any]) -> np.ndarray:
        """The member's FCD upper-triangle values."""
        return fcd_values(x, self.window, self.step, ctx["tr"])

    def compare(self, feature: np.ndarray, ctx: dict[str, Any]) -> float:
        return ks_statistic(feature, self.target_values)

    def __repr__(self) -> str:
        return (f"FCDKSDistance(window={self.window!r}, step={self.step!r}, "
                f"monitor={self.monitor!r}, transient={self.transient:g})")


class SpectralDistance(Objective):
    """Distance between simulated and empirical power spectra, per channel (loss).

    Parameters
    ----------
    target : array (n_channels, n_freqs), DataArray (sensor, frequency) or Dataset
        Empirical PSD (e.g. ``psd`` of :func:`vbrain.pipelines.eeg.eeg_targets`,
        V^2/Hz). With sensor labels on both sides, the simulated channels are
        matched to the target's by name.
    freqs : array (n_freqs,), optional
        Frequencies of ``target``, Hz (default: its ``frequency`` coordinate).
    fmin, fmax : float, optional
        Frequency range compared, Hz (default: the target's range, up to the
        simulation's Nyquist frequency).
    metric : {"log_rmse", "correlation"}, default "log_rmse"
        Mean over channels of the RMS difference of log10 PSDs (decades), or
        of ``1 - corr(log PSD_sim, log PSD_emp)``.
    normalize : bool, default True
        Centre each channel's log-PSD over the band (compare shapes, not the
        arbitrary gain of a simulated lead field).
    psd_window : float, default 2000.0
        Welch segment length, ms (Hann, 50 % overlap).
    monitor : str, default "eeg"
    variable : str, optional
    transient : float, default 0.0
    period : float, optional
        Sampling period of plain-array input, ms.
    """

    higher_is_better = False
    name = "spectral"

    def __init__(self, target: Any, freqs: Any = None, *, fmin: float | None = None,
                 fmax: float | None = None, metric: str = "log_rmse", normalize: bool = True,
                 psd_window: float = 2000.0, monitor: str | None = "eeg",
                 variable: str | None = None, transient: float = 0.0,
                 period: float | None = None) -> None:
        super().__init__(monitor=monitor, variable=variable, transient=transient)
        values, da = _target_array(target, "psd", ("sensor", "frequency"))
        if values.ndim == 1:
            values = values[None, :]
        if values.ndim != 2:
            raise ValueError(f"The PSD target must be (n_channels, n_freqs), got {values.shape}.")
        if freqs is None:
            if da is None or "frequency" not in da.coords:
                raise ValueError("Pass freqs= (Hz) with an array PSD target.")
            freqs = da["frequency"].values
        freqs = np.asarray(freqs, dtype=np.float64)
        if freqs.shape != (values.shape[1],):
            raise ValueError(f"freqs must have shape ({values.shape[1]},) to match the PSD, got "
                             f"{freqs.shape}.")
        if np.any(values <= 0) or not np.all(np.isfinite(values)):
            raise ValueError("The PSD target must be positive and finite (its log is compared).")
        self.metric = check_option("metric", metric, ("log_rmse", "correlation"))
        self.normalize = bool(normalize)
        self.psd_window = check_range("psd_window", psd_window, 0.0, low_inclusive=False)
        self.fmin = float(freqs.min()) if fmin is None else check_range("fmin", fmin, 0.0)
        self.fmax = float(freqs.max()) if fmax is None else check_range("fmax", fmax, self.fmin)
        self.freqs_all, self.psd_all = freqs, values
        self.target_labels = ([str(v) for v in da["sensor"].values]
                              if da is not None and "sensor" in da.coords else None)
        self.period = period
        self._band(np.inf)  # validates the range

    def _band(self, nyquist: float) -> tuple[np.ndarray, np.ndarray]:
        """(frequencies, prepared target log-PSD) within [fmin, min(fmax, nyquist)]."""
        top = min(self.fmax, nyquist)
        sel = (self.freqs_all >= self.fmin) & (self.freqs_all <= top)
        if sel.sum() < 2:
            raise ValueError(f"Fewer than 2 target frequencies in [{self.fmin:g}, {top:g}] Hz.")
        return self.freqs_all[sel], self._centre(np.log10(self.psd_all[:, sel]))

    def _centre(self, log_psd: np.ndarray) -> np.ndarray:
        return log_psd - log_psd.mean(axis=-1, keepdims=True) if self.normalize else log_psd

    def prepare(self, series: Series) -> dict[str, Any]:
        period = series.period if series.period is not None else self.period
        if period is None:
            raise ValueError("SpectralDistance needs the sampling period: pass a DataArray with "
                             "times, or period= (ms).")
        freqs, target = self._band(500.0 / period)
        index = _match_labels(self.target_labels, series.labels, "PSD")
        if index is None and series.data.shape[1] != self.psd_all.shape[0]:
            raise ValueError(f"The PSD target has {self.psd_all.shape[0]} channels, but the "
                             f"simulated {self.monitor or 'signal'} has {series.data.shape[1]}.")
        nper = round(self.psd_window / period)
        if nper < 4 or nper > series.data.shape[0]:
            raise ValueError(f"psd_window={self.psd_window:g} ms is {nper} samples at the "
                             f"{period:g} ms sampling period; the simulated signal has "
                             f"{series.data.shape[0]} (need 4 <= window <= length).")
        return {"period": period, "freqs": freqs, "target": target, "index": index}

    def feature(self, x: np.ndarray, ctx: dict[str, Any]) -> np.ndarray:
        """The member's (centred) log10 PSD at the target frequencies, (n_channels, n_freqs)."""
        from scipy.signal import welch

        if ctx["index"] is not None:
            x = np.ascontiguousarray(x[:, ctx["index"]])
        period = ctx["period"]
        nper = round(self.psd_window / period)
        if nper < 4 or nper > x.shape[0]:
            raise ValueError(f"psd_window={self.psd_window:g} ms is {nper} samples; the signal "
                             f"has {x.shape[0]} (need 4 <= window <= length)")
        f, p = welch(x, fs=1000.0 / period, window="hann", nperseg=nper, noverlap=nper // 2,
                     axis=0)
        if np.any(p[1:] <= 0) or not np.all(np.isfinite(p)):
            raise ValueError("non-positive or non-finite simulated PSD")
        logp = np.log10(np.maximum(p, np.finfo(float).tiny)).T  # (channel, freq)
        sim = np.stack([np.interp(ctx["freqs"], f, row) for row in logp])
        return self._centre(sim)

    def compare(self, feature: np.ndarray, ctx: dict[str, Any]) -> float:
        target = ctx["target"]
        if self.metric == "log_rmse":
            return float(np.mean(np.sqrt(np.mean((feature - target) ** 2, axis=1))))
        r = [np.corrcoef(a, b)[0, 1] for a, b in zip(feature, target)]
        return float(np.mean(1.0 - np.asarray(r)))

    def __repr__(self) -> str:
        return (f"SpectralDistance(metric={self.metric!r}, fmin={self.fmin:g}, fmax={self.fmax:g}, "
                f"normalize={self.normalize}, monitor={self.monitor!r})")


class Combined(Objective):
    """Weighted sum of losses: ``sum(w * objective.as_loss()(simulated))`` (a loss).

    Parameters
    ----------
    terms : sequence of (weight, Objective)
        Weights are non-negative floats; correlation-type objectives enter as
        their loss (``1 - r``). Each term reads its own monitor of a Result.

    Examples
    --------
    >>> loss = Combined([(1.0, FCCorrelation(fc)), (0.5, FCDKSDistance(fcd))])  # doctest: +SKIP
    >>> loss(result)                      # one value per batch member  # doctest: +SKIP
    """

    higher_is_better = False
    name = "combined"

    def __init__(self, terms: Sequence[tuple[float, Objective]]) -> None:
        validate_type("terms", terms, (list, tuple))
        if not terms:
            raise ValueError("Combined needs at least one (weight, objective) term.")
        self.terms: list[tuple[float, Objective]] = []
        for i, term in enumerate(terms):
            if not isinstance(term, (list, tuple)) or len(term) != 2:
                raise TypeError(f"terms[{i}] must be a (weight, objective) pair, got {term!r}.")
            w, obj = term
            w = check_range(f"terms[{i}] weight", w, 0.0)
            validate_type(f"terms[{i}] objective", obj, Objective)
            self.terms.append((w, obj))
        self.monitor = None
        self.variable = None
        self.transient = 0.0

    def __call__(self, simulated: Any) -> np.ndarray:
        total = None
        for w, obj in self.terms:
            part = w * obj.as_loss()(simulated)
            total = part if total is None else total + part
        return total

    def parts(self, simulated: Any) -> dict[str, np.ndarray]:
        """Each term's loss (unweighted), keyed by the objective's name."""
        out = {}
        for _, obj in self.terms:
            key, k = obj.name, 2
            while key in out:
                key, k = f"{obj.name}_{k}", k + 1
            out[key] = obj.as_loss()(simulated)
        return out

    def monitors(self) -> set[str]:
        return set().union(*(obj.monitors() for _, obj in self.terms))

    def __repr__(self) -> str:
        return "Combined([" + ", ".join(f"({w:g}, {o!r})" for w, o in self.terms) + "])"
