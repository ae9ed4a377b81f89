"""fMRI -> fitting targets: region series, functional connectivity (FC) and its dynamics (FCD).

A 4-D NIfTI (e.g. fMRIPrep's ``*_desc-preproc_bold.nii.gz`` in MNI space),
optional confounds (fMRIPrep's ``*_desc-confounds_timeseries.tsv``) and a
parcellation (:class:`vbrain.atlas.Atlas`, default the bundled
``"atlases:default"``: the default connectome's 76 regions on the MNI152
grid) give:

``series`` (time, region)
    Region-mean signals from nilearn's ``NiftiLabelsMasker``, cleaned with
    ``nilearn.signal.clean`` in its order: detrend, band-pass (Butterworth),
    confound regression (confounds standardised), standardisation (z-score,
    ``ddof=1``).
``fc`` (region_i, region_j)
    Pearson correlation of the series (``numpy.corrcoef``).
``fc_partial`` (region_i, region_j)
    Partial correlation (nilearn ``ConnectivityMeasure(kind="partial
    correlation")``; covariance by Ledoit-Wolf shrinkage or the empirical
    estimate).
``fcd`` (window_i, window_j)
    Functional connectivity dynamics: Pearson FC in sliding windows; the
    FCD entry (a, b) is the Pearson correlation between the upper triangles
    (without the diagonal) of windows a and b.

Tangent-space FC needs a group: :func:`tangent_connectivity` takes several
subjects' series (``run_pipeline`` uses it for a recipe asking for
``"tangent"``).

Units: time in ms inside vbrain (``tr`` in ms; coordinates ``time`` and
window times in ms); band-pass frequencies in Hz. The repetition time
becomes seconds in one place, :func:`_t_r_seconds`, where nilearn is called.
Durations (``fcd_window``, ``fcd_step``) are numbers in ms or strings with a
unit: ``"60 s"``, ``"2000 ms"``, ``"30 vol"``.

Output: an ``xarray.Dataset`` with those variables, ``attrs`` holding
``tr_ms``, the parameters and a provenance record (inputs with SHA-256,
versions); written to NetCDF-4 with a JSON sidecar by
:func:`vbrain.pipelines.provenance.save_dataset`.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vbrain._check import check_option, check_range, suggest, validate_type
from vbrain.atlas import Atlas

from .provenance import file_record, make_provenance

__all__ = ["DEFAULT_CONFOUNDS", "FC_KINDS", "fcd", "fmri_targets", "functional_connectivity",
           "read_confounds", "region_series", "tangent_connectivity"]

logger = logging.getLogger(__name__)

#: fMRIPrep confound columns used by default: 6 motion parameters, CSF and white matter
DEFAULT_CONFOUNDS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "csf",
                     "white_matter")
#: single-subject FC kinds
FC_KINDS = ("pearson", "partial")
COVARIANCES = ("ledoit_wolf", "empirical")


# -- reading ----------------------------------------------------------------------
def read_confounds(confounds: Any, n_volumes: int | None = None,
                   columns: Sequence[str] = DEFAULT_CONFOUNDS) -> tuple[np.ndarray, list[str]]:
    """Read confound regressors from an fMRIPrep-style TSV (or take an array / DataFrame).

    Parameters
    ----------
    confounds : path-like, pandas.DataFrame or array (n_volumes, n_confounds)
        A TSV with a header row (fMRIPrep's ``*_desc-confounds_timeseries.tsv``;
        ``n/a`` marks missing values) or the values themselves.
    n_volumes : int, optional
        The image's number of volumes; the rows must match it.
    columns : sequence of str, default DEFAULT_CONFOUNDS
        Column names or shell-style patterns (``"trans_*"``, ``"a_comp_cor_0[0-4]"``),
        for tables only; every entry must match at least one column.

    Returns
    -------
    values : ndarray (n_volumes, n_confounds)
        float64. Missing values (e.g. the first row of derivatives) are
        replaced by the mean of their column's other rows, which leaves the
        regression of a demeaned signal unchanged.
    names : list of str
        The selected columns (``confound_0``, ... for an array).

    Raises
    ------
    FileNotFoundError
        No file at the path.
    ValueError
        A pattern matching no column (columns listed, with a suggestion), a
        row count other than ``n_volumes``, a column with no value, or
        non-numeric values; each names the file.
    """
    import pandas as pd

    where = "the confounds"
    if isinstance(confounds, (str, os.PathLike)):
        path = Path(confounds)
        where = f"the confounds file {os.fspath(path)!r}"
        if not path.is_file():
            raise FileNotFoundError(f"No confounds file at {os.fspath(path)!r}.")
        try:
            table = pd.read_csv(path, sep="\t", na_values=["n/a", "N/A", "NaN", "nan", ""],
                                keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
            raise ValueError(f"Cannot read {where} as a tab-separated table with a header: "
                             f"{err}") from None
    elif isinstance(confounds, pd.DataFrame):
        table = confounds
    else:
        arr = np.asarray(confounds, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"confounds must be (n_volumes, n_confounds), got shape {arr.shape}.")
        table = pd.DataFrame(arr, columns=[f"confound_{i}" for i in range(arr.shape[1])])
        columns = list(table.columns)
    names: list[str] = []
    available = [str(c) for c in table.columns]
    for pattern in columns:
        hits = [c for c in available if fnmatch.fnmatchcase(c, pattern)]
        if not hits:
            raise ValueError(
                f"No column of {where} matches {pattern!r}.{suggest(pattern, available)} Its "
                f"columns: {available[:30]}{' ...' if len(available) > 30 else ''}.")
        names.extend(h for h in hits if h not in names)
    if n_volumes is not None and len(table) != n_volumes:
        raise ValueError(f"{where[0].upper()}{where[1:]} has {len(table)} rows, but the fMRI "
                         f"image has {n_volumes} volumes: they must match (one row per volume).")
    try:
        values = table[names].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where[0].upper()}{where[1:]} has non-numeric values in the columns "
                         f"{names}: {err}") from None
    inf = np.isinf(values)
    if inf.any():
        row, col = (int(i) for i in np.argwhere(inf)[0])
        raise ValueError(f"{where[0].upper()}{where[1:]} has {int(inf.sum())} infinite value(s), "
                         f"the first in column {names[col]!r}, row {row}; missing values are "
                         "'n/a', not infinity.")
    bad = np.isnan(values)
    if bad.any():
        counts = bad.sum(axis=0)
        if (counts == len(values)).any():
            empty = [n for n, c in zip(names, counts) if c == len(values)]
            raise ValueError(f"{where[0].upper()}{where[1:]}: column(s) {empty} have no value.")
        means = np.nanmean(np.where(bad, np.nan, values), axis=0)
        values = np.where(bad, means[None, :], values)
        logger.info("read_confounds: filled %d missing value(s) with column means (%s)",
                    int(bad.sum()), [n for n, c in zip(names, counts) if c])
    return values, names


def _load_bold(img: Any) -> tuple[Any, str]:
    """(4-D image with its data read, description); clear errors for bad files."""
    import nibabel as nib

    if isinstance(img, (str, os.PathLike)):
        where = f"The fMRI image {os.fspath(img)!r}"
        if not os.path.isfile(img):
            raise FileNotFoundError(f"No fMRI image at {os.fspath(img)!r}.")
        try:
            img = nib.load(os.fspath(img))
        except Exception as err:  # noqa: BLE001 - nibabel raises many types for broken headers
            raise ValueError(f"{where} cannot be read as NIfTI: {err}") from None
    else:
        if not hasattr(img, "dataobj") or not hasattr(img, "affine"):
            raise TypeError(f"img must be a 4-D nibabel image or a path, but got "
                            f"{type(img).__name__}.")
        fname = img.get_filename() if hasattr(img, "get_filename") else None
        where = f"The fMRI image {fname!r}" if fname else "The fMRI image (in memory)"
    shape = tuple(int(s) for s in img.shape)
    if len(shape) == 5 and shape[3] == 1:
        shape = shape[:3] + shape[4:]
    if len(shape) != 4:
        raise ValueError(f"{where} must be 4-D (x, y, z, time), but has shape {shape}.")
    if shape[3] < 3:
        raise ValueError(f"{where} has {shape[3]} volume(s); at least 3 are needed.")
    dtype = np.dtype(img.get_data_dtype())
    if dtype.kind not in "biuf":
        raise ValueError(f"{where} must hold real numbers, but its data type is {dtype}.")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    fname = img.get_filename() if hasattr(img, "get_filename") else None
    offset = int(getattr(img.header, "get", lambda k, d: d)("vox_offset", 0) or 0)
    if fname and not str(fname).endswith(".gz") and os.path.isfile(fname) \
            and declared + offset > os.path.getsize(fname):
        raise ValueError(f"{where} is truncated or its header is corrupt: the header declares "
                         f"shape {shape} of {dtype} ({_size(declared)}), but the file holds "
                         f"{_size(os.path.getsize(fname))}.")
    try:
        data = np.asanyarray(img.dataobj).reshape(shape)
    except (EOFError, OSError, ValueError, zlib.error) as err:
        msg = " ".join(str(err).split())
        raise ValueError(f"{where} cannot be read: {msg}. The file may be truncated or "
                         "corrupt.") from None
    except MemoryError:
        raise ValueError(f"{where} declares shape {shape} of {dtype} ({_size(declared)}), more "
                         "than this machine can hold: a corrupt header?") from None
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        bad = ~np.isfinite(data)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where} has {int(bad.sum())} NaN/Inf value(s), the first at voxel "
                         f"{first[:3]}, volume {first[3]}; mask or replace them first.")
    out = nib.Nifti1Image(data, img.affine, img.header)
    return out, where


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return ""  # pragma: no cover


def _header_tr_ms(img: Any) -> float | None:
    """TR in ms from a NIfTI header (pixdim[4] with its time unit), or None if absent."""
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not zooms[3] or zooms[3] <= 0:
        return None
    unit = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else None
    factor = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3}.get(unit)
    if factor is None:
        logger.info("fMRI header: time unit %r; reading pixdim[4] = %g as seconds", unit,
                    zooms[3])
        factor = 1000.0
    return float(zooms[3]) * factor


def _t_r_seconds(tr_ms: float) -> float:
    """vbrain's TR (ms) -> nilearn's ``t_r`` (s): the one place this unit changes."""
    return tr_ms / 1000.0


def _resolve_atlas(atlas: Any) -> Atlas:
    if isinstance(atlas, Atlas):
        return atlas
    if isinstance(atlas, (str, os.PathLike)):
        return Atlas.load(atlas)
    raise TypeError(f"atlas must be an Atlas, 'atlases:NAME' or the path of a label image, "
                    f"but got {type(atlas).__name__}.")


# -- region series ---------------------------------------------------------------------
def region_series(img: Any, atlas: Any = "atlases:default", *, confounds: Any = None,
                  confound_columns: Sequence[str] = DEFAULT_CONFOUNDS, tr: float | None = None,
                  detrend: bool = True, standardize: bool = True, low_pass: float | None = None,
                  high_pass: float | None = None, resample_atlas: bool = False,
                  verbose: Any = None) -> Any:
    """Cleaned region-mean time series of a 4-D fMRI image.

    Parameters
    ----------
    img : path-like or nibabel image
        4-D fMRI (x, y, z, time).
    atlas : Atlas, str or path-like, default "atlases:default"
        The parcellation; must share the image's grid unless
        ``resample_atlas``.
    confounds : path-like, DataFrame or array, optional
        Regressors to remove (see :func:`read_confounds`).
    confound_columns : sequence of str, default DEFAULT_CONFOUNDS
        Columns (names or patterns) of a confounds table.
    tr : float, optional
        Repetition time, ms. Default: from the header (``pixdim[4]`` and its
        time unit; seconds if the unit is unknown).
    detrend : bool, default True
        Remove a linear trend from each series.
    standardize : bool, default True
        z-score each series (``ddof=1``).
    low_pass, high_pass : float, optional
        Band-pass edges, Hz (Butterworth, nilearn); need the TR.
    resample_atlas : bool, default False
        Put the atlas on the image's grid (nearest neighbour) when they differ;
        otherwise a different grid is an error.
    verbose : int, optional
        nilearn's verbosity (default silent); vbrain logs through ``logging``.

    Returns
    -------
    xarray.DataArray (time, region)
        ``time`` in ms from 0 (volume k at ``k * tr``), ``region`` = atlas
        labels; attrs ``tr_ms``, ``confounds`` (the columns used).

    Raises
    ------
    ValueError
        Not 4-D, truncated file, grid mismatch (both grids shown), a
        confounds table that does not fit, a band edge at or above the
        Nyquist frequency, a missing TR for filtering, regions without
        signal (all voxels constant, e.g. outside the field of view); each
        names the file.
    """
    import xarray as xr
    from nilearn.maskers import NiftiLabelsMasker

    image, where = _load_bold(img)
    atlas = _resolve_atlas(atlas)
    n_vol = int(image.shape[3])
    if not atlas.same_grid(image):
        if not resample_atlas:
            aff = np.round(image.affine, 3).tolist()
            raise ValueError(
                f"{where} and the atlas {atlas.name!r} are on different voxel grids: image "
                f"shape {tuple(image.shape[:3])}, affine {aff}; atlas shape {atlas.shape}, "
                f"affine {np.round(atlas.affine, 3).tolist()}. Pass resample_atlas=True to "
                "resample the atlas to the image (nearest neighbour), or resample the image.")
        logger.info("region_series: resampling atlas %r to the image grid %s", atlas.name,
                    tuple(image.shape[:3]))
        atlas = atlas.resample_to(image)
    tr_ms = _repetition_time(image, tr, where)
    for name, value in (("low_pass", low_pass), ("high_pass", high_pass)):
        if value is None:
            continue
        check_range(name, value, 0.0, low_inclusive=False)
        if tr_ms is None:
            raise ValueError(f"{name}={value} Hz needs the repetition time: {where} has none in "
                             "its header; pass tr= (ms).")
        nyquist = 500.0 / tr_ms
        if value >= nyquist:
            raise ValueError(f"{name}={value} Hz must be below the Nyquist frequency "
                             f"{nyquist:g} Hz (TR {tr_ms:g} ms).")
    if low_pass is not None and high_pass is not None and high_pass >= low_pass:
        raise ValueError(f"high_pass ({high_pass} Hz) must be below low_pass ({low_pass} Hz).")
    conf, conf_names = (None, [])
    if confounds is not None:
        conf, conf_names = read_confounds(confounds, n_vol, confound_columns)

    import nibabel as nib

    labels_img = nib.Nifti1Image((atlas.region_indices() + 1).astype(np.int32), image.affine)
    _check_signal(image, atlas, where)
    masker = NiftiLabelsMasker(
        labels_img=labels_img, background_label=0, strategy="mean",
        standardize="zscore_sample" if standardize else None, standardize_confounds=True,
        detrend=bool(detrend), low_pass=low_pass, high_pass=high_pass,
        t_r=None if tr_ms is None else _t_r_seconds(tr_ms), resampling_target=None,
        reports=False, verbose=0 if verbose is None else verbose)
    values = masker.fit_transform(image, confounds=conf)
    if values.shape != (n_vol, atlas.n_regions):
        raise RuntimeError(f"NiftiLabelsMasker returned shape {values.shape}, expected "
                           f"{(n_vol, atlas.n_regions)}.")
    step = tr_ms if tr_ms is not None else float("nan")
    return xr.DataArray(
        np.asarray(values, dtype=np.float64), dims=("time", "region"),
        coords={"time": np.arange(n_vol) * step, "region": list(atlas.labels)},
        name="series",
        attrs={"long_name": "region mean BOLD signal", "units": "1" if standardize else "a.u.",
               "tr_ms": step, "confounds": conf_names})


def _repetition_time(image: Any, tr: float | None, where: str) -> float | None:
    header = _header_tr_ms(image)
    if tr is None:
        return header
    tr = check_range("tr", tr, 0.0, low_inclusive=False)
    if header is not None and abs(header - tr) > 0.01 * tr:
        logger.info("%s: header TR %g ms differs from tr=%g ms; using tr", where, header, tr)
    return tr


def _check_signal(image: Any, atlas: Atlas, where: str) -> None:
    """Raise for regions whose voxels are all constant in time (no data there)."""
    data = np.asanyarray(image.dataobj)
    idx = atlas.region_indices()
    flat = np.zeros(atlas.n_regions, dtype=bool)
    # a voxel carries signal when it varies; sample the first, middle and last volumes
    a, b, c = data[..., 0], data[..., data.shape[3] // 2], data[..., -1]
    varies = (a != b) | (a != c)
    counts = np.bincount(idx[idx >= 0], weights=varies[idx >= 0], minlength=atlas.n_regions)
    flat = counts == 0
    if flat.any():
        # confirm on every volume before failing (a voxel may be equal at the 3 samples)
        vox = data[idx >= 0]
        full = np.bincount(idx[idx >= 0], weights=np.ptp(vox, axis=-1) > 0,
                           minlength=atlas.n_regions)
        flat = full == 0
    if flat.any():
        names = [atlas.labels[i] for i in np.nonzero(flat)[0]]
        shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
        raise ValueError(
            f"{where} has no signal in {len(names)} atlas region(s) (every voxel constant over "
            f"time, e.g. outside the field of view or the brain mask): {shown}. Drop them "
            "from the atlas (atlas.match([...])) or check the registration.")


# -- connectivity ----------------------------------------------------------------------
def _as_series(series: Any) -> tuple[np.ndarray, list[str] | None, float | None]:
    import xarray as xr

    if isinstance(series, xr.DataArray):
        if set(series.dims) != {"time", "region"}:
            raise ValueError(f"series must have dims (time, region), got {series.dims}.")
        series = series.transpose("time", "region")
        labels = [str(r) for r in series["region"].values] if "region" in series.coords else None
        tr_ms = series.attrs.get("tr_ms")
        return np.asarray(series.values, dtype=np.float64), labels, tr_ms
    arr = np.asarray(series, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"series must be (time, region), got shape {arr.shape}.")
    return arr, None, None


def _matrix(values: np.ndarray, labels: list[str] | None, name: str, long_name: str) -> Any:
    import xarray as xr

    n = values.shape[0]
    labels = labels or [f"R{i}" for i in range(n)]
    return xr.DataArray(values, dims=("region_i", "region_j"),
                        coords={"region_i": labels, "region_j": labels}, name=name,
                        attrs={"long_name": long_name, "units": "1"})


def _covariance_estimator(covariance: str) -> Any:
    from sklearn.covariance import EmpiricalCovariance, LedoitWolf

    check_option("covariance", covariance, COVARIANCES)
    return LedoitWolf(store_precision=False) if covariance == "ledoit_wolf" \
        else EmpiricalCovariance(store_precision=False)


def functional_connectivity(series: Any, kind: str = "pearson", *,
                            covariance: str = "ledoit_wolf") -> Any:
    """Functional connectivity of one subject's region series.

    Parameters
    ----------
    series : xarray.DataArray (time, region) or array
    kind : {"pearson", "partial"}, default "pearson"
        Pearson correlation (``numpy.corrcoef``; diagonal 1), or partial
        correlation (nilearn ``ConnectivityMeasure``).
    covariance : {"ledoit_wolf", "empirical"}, default "ledoit_wolf"
        Covariance estimator for ``"partial"`` (nilearn's default is
        Ledoit-Wolf shrinkage).

    Returns
    -------
    xarray.DataArray (region_i, region_j)

    Raises
    ------
    ValueError
        Unknown kind (``"tangent"`` points to :func:`tangent_connectivity`),
        fewer than 3 time points, a constant region.
    """
    if kind == "tangent":
        raise ValueError("kind='tangent' needs several subjects: use "
                         "tangent_connectivity([series_1, series_2, ...]).")
    check_option("kind", kind, FC_KINDS)
    x, labels, _ = _as_series(series)
    _check_series(x, labels)
    if kind == "pearson":
        fc = np.corrcoef(x.T)
        np.fill_diagonal(fc, 1.0)
        return _matrix(fc, labels, "fc", "Pearson correlation")
    from nilearn.connectome import ConnectivityMeasure

    cm = ConnectivityMeasure(cov_estimator=_covariance_estimator(covariance),
                             kind="partial correlation", standardize="zscore_sample")
    fc = cm.fit_transform([x])[0]
    return _matrix(np.asarray(fc, dtype=np.float64), labels, "fc_partial",
                   f"partial correlation ({covariance} covariance)")


def tangent_connectivity(series_list: Sequence[Any], *, covariance: str = "ledoit_wolf") -> list:
    """Tangent-space FC of a group (Varoquaux et al. 2010), via nilearn ``ConnectivityMeasure``.

    Parameters
    ----------
    series_list : sequence of DataArray (time, region) or arrays
        One per subject (or run), the same regions in the same order; at
        least 2.
    covariance : {"ledoit_wolf", "empirical"}, default "ledoit_wolf"

    Returns
    -------
    list of xarray.DataArray (region_i, region_j)
        Each subject's deviation from the group mean covariance, in the
        tangent space (symmetric; not a correlation).

    Raises
    ------
    ValueError
        Fewer than 2 subjects, or regions that differ between subjects.
    """
    from nilearn.connectome import ConnectivityMeasure

    validate_type("series_list", series_list, (list, tuple))
    if len(series_list) < 2:
        raise ValueError(f"Tangent-space connectivity needs at least 2 subjects' series, got "
                         f"{len(series_list)}.")
    parsed = [_as_series(s) for s in series_list]
    labels = parsed[0][1]
    for i, (x, lab, _) in enumerate(parsed):
        if x.shape[1] != parsed[0][0].shape[1] or (labels is not None and lab is not None
                                                   and lab != labels):
            raise ValueError(f"series_list[{i}] has other regions than series_list[0]; every "
                             "subject needs the same regions in the same order.")
        _check_series(x, lab)
    cm = ConnectivityMeasure(cov_estimator=_covariance_estimator(covariance), kind="tangent",
                             standardize="zscore_sample")
    mats = cm.fit_transform([p[0] for p in parsed])
    return [_matrix(np.asarray(m, dtype=np.float64), labels, "fc_tangent",
                    f"tangent-space connectivity ({covariance} covariance)") for m in mats]


def _check_series(x: np.ndarray, labels: list[str] | None) -> None:
    if x.shape[0] < 3:
        raise ValueError(f"series needs at least 3 time points, got {x.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("series has NaN/Inf values.")
    flat = np.nonzero(np.ptp(x, axis=0) == 0)[0]
    if flat.size:
        names = [labels[i] if labels else f"R{i}" for i in flat[:10]]
        raise ValueError(f"{flat.size} region series are constant ({names}); their correlation "
                         "is undefined.")


# -- FCD ----------------------------------------------------------------------------
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*"
                       r"(ms|s|sec|vol|vols|volume|volumes|tr)?\s*$")


def _volumes(name: str, value: Any, tr_ms: float | None) -> int:
    """A duration (number: ms; or '60 s', '2000 ms', '30 vol') as a whole number of volumes."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise ValueError(f"{name} must be a number (ms) or a string such as '60 s', '2000 "
                             f"ms' or '30 vol', but got {value!r}.")
        number, unit = float(m.group(1)), (m.group(2) or "ms")
        if unit in ("vol", "vols", "volume", "volumes", "tr"):
            if number != round(number):
                raise ValueError(f"{name}={value!r}: a number of volumes must be whole.")
            return int(number)
        ms = number * (1000.0 if unit in ("s", "sec") else 1.0)
    else:
        ms = check_range(name, value, 0.0, low_inclusive=False)
    if tr_ms is None or not np.isfinite(tr_ms):
        raise ValueError(f"{name}={value!r} is a duration, which needs the repetition time; give "
                         "it in volumes ('30 vol') or pass tr= (ms).")
    return max(1, round(ms / tr_ms))


def fcd(series: Any, window: Any = "60 s", step: Any = "2 s", *, tr: float | None = None) -> Any:
    """Functional connectivity dynamics: similarity of sliding-window FC.

    Parameters
    ----------
    series : xarray.DataArray (time, region) or array
    window : float or str, default "60 s"
        Window length: ms, or a string with a unit (``"60 s"``, ``"30 vol"``);
        rounded to whole volumes, at least 3.
    step : float or str, default "2 s"
        Shift between windows, same forms; at least 1 volume.
    tr : float, optional
        Repetition time, ms; default ``series.attrs["tr_ms"]``.

    Returns
    -------
    xarray.DataArray (window_i, window_j)
        Pearson correlation between the windows' FC upper triangles
        (diagonal 1); coordinates = window centre times, ms; attrs
        ``window_volumes``, ``step_volumes``.

    Raises
    ------
    ValueError
        A window shorter than 3 volumes or longer than the series, fewer
        than 2 windows, a duration without a TR.
    """
    import xarray as xr

    x, labels, tr_attr = _as_series(series)
    tr_ms = tr if tr is not None else tr_attr
    w = _volumes("window", window, tr_ms)
    s = _volumes("step", step, tr_ms)
    n_t, n = x.shape
    if w < 3 or w > n_t:
        raise ValueError(f"The FCD window is {w} volumes; it must be between 3 and the series "
                         f"length {n_t}.")
    n_win = 1 + (n_t - w) // s
    if n_win < 2:
        raise ValueError(f"A {w}-volume window with a {s}-volume step gives {n_win} window over "
                         f"{n_t} volumes; FCD needs at least 2 (shorter window or step).")
    starts = np.arange(n_win) * s
    win = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)[starts]  # (n_win, n, w)
    z = win - win.mean(axis=2, keepdims=True)
    norm = np.sqrt((z * z).sum(axis=2, keepdims=True))
    if np.any(norm == 0):
        k, r = (int(i) for i in np.argwhere(norm[..., 0] == 0)[0])
        raise ValueError(f"Region {labels[r] if labels else r} is constant in FCD window {k} "
                         f"(volumes {starts[k]}..{starts[k] + w - 1}); use longer windows.")
    z /= norm
    iu = np.triu_indices(n, 1)
    fc_win = np.einsum("kiw,kjw->kij", z, z)[:, iu[0], iu[1]]  # (n_win, n_pairs)
    out = np.corrcoef(fc_win)
    np.fill_diagonal(out, 1.0)
    centres = (starts + (w - 1) / 2.0) * (tr_ms if tr_ms is not None else np.nan)
    return xr.DataArray(out, dims=("window_i", "window_j"),
                        coords={"window_i": centres, "window_j": centres}, name="fcd",
                        attrs={"long_name": "FCD (correlation of windowed FC)", "units": "1",
                               "window_volumes": w, "step_volumes": s,
                               "window_units": "ms (window centre time)"})


# -- the whole step ------------------------------------------------------------------
def fmri_targets(img: Any, atlas: Any = "atlases:default", *, confounds: Any = None,
                 confound_columns: Sequence[str] = DEFAULT_CONFOUNDS, tr: float | None = None,
                 detrend: bool = True, standardize: bool = True, low_pass: float | None = None,
                 high_pass: float | None = None, resample_atlas: bool = False,
                 fc: Sequence[str] = ("pearson", "partial"), covariance: str = "ledoit_wolf",
                 fcd_window: Any = "60 s", fcd_step: Any = "2 s", compute_fcd: bool = True,
                 root: Any = None, verbose: Any = None) -> Any:
    """fMRI image -> fitting targets: region series, FC and FCD in one labelled dataset.

    Parameters
    ----------
    img, atlas, confounds, confound_columns, tr, detrend, standardize, low_pass, high_pass, resample_atlas, verbose
        As in :func:`region_series` (``tr`` in ms; ``low_pass``/``high_pass`` in Hz).
    fc : sequence of {"pearson", "partial"}, default ("pearson", "partial")
        FC kinds to compute (variables ``fc`` and ``fc_partial``).
    covariance : {"ledoit_wolf", "empirical"}, default "ledoit_wolf"
        Covariance estimator of the partial correlation.
    fcd_window, fcd_step : float or str, default "60 s" and "2 s"
        FCD windows (see :func:`fcd`).
    compute_fcd : bool, default True
        Compute ``fcd`` (skipped with a log message when the series is too
        short for two windows).
    root : path-like, optional
        Input paths in the provenance are recorded relative to it.

    Returns
    -------
    xarray.Dataset
        Variables ``series`` (time, region), ``fc`` / ``fc_partial``
        (region_i, region_j), ``fcd`` (window_i, window_j); attrs
        ``kind="vbrain fmri targets"``, ``tr_ms``, ``atlas``, ``parameters``
        (dict) and ``provenance`` (dict: inputs with SHA-256, parameters,
        versions). Save with
        :func:`vbrain.pipelines.provenance.save_dataset`.

    Raises
    ------
    ValueError
        See :func:`region_series`, :func:`functional_connectivity` and
        :func:`fcd`.

    Examples
    --------
    >>> from vbrain.pipelines.fmri import fmri_targets              # doctest: +SKIP
    >>> ds = fmri_targets("sub-01_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz",
    ...                   confounds="sub-01_task-rest_desc-confounds_timeseries.tsv",
    ...                   resample_atlas=True, low_pass=0.1, high_pass=0.01)  # doctest: +SKIP
    >>> ds["fc"].sel(region_i="rV1", region_j="lV1")                # doctest: +SKIP
    """
    import xarray as xr

    kinds = [fc] if isinstance(fc, str) else list(fc)
    for k in kinds:
        if k == "tangent":
            raise ValueError("fc='tangent' needs several subjects: compute it over a group with "
                             "tangent_connectivity([...]) (run_pipeline does this when a recipe "
                             "asks for it).")
        check_option("fc kind", k, FC_KINDS)
    check_option("covariance", covariance, COVARIANCES)
    atlas_obj = _resolve_atlas(atlas)
    series = region_series(img, atlas_obj, confounds=confounds, confound_columns=confound_columns,
                           tr=tr, detrend=detrend, standardize=standardize, low_pass=low_pass,
                           high_pass=high_pass, resample_atlas=resample_atlas, verbose=verbose)
    data = {"series": series}
    for k in kinds:
        mat = functional_connectivity(series, k, covariance=covariance)
        data[mat.name] = mat
    tr_ms = float(series.attrs["tr_ms"])
    if compute_fcd:
        try:
            data["fcd"] = fcd(series, fcd_window, fcd_step)
        except ValueError as err:
            if "at least 2" not in str(err) and "between 3 and" not in str(err):
                raise
            logger.info("fmri_targets: no FCD (%s)", err)
    params = {
        "tr_ms": tr_ms, "detrend": bool(detrend), "standardize": bool(standardize),
        "low_pass_hz": low_pass, "high_pass_hz": high_pass, "resample_atlas": bool(resample_atlas),
        "confound_columns": list(confound_columns) if confounds is not None else [],
        "confounds_used": list(series.attrs["confounds"]), "fc": kinds, "covariance": covariance,
        "fcd_window": fcd_window, "fcd_step": fcd_step,
        "fcd_window_volumes": int(data["fcd"].attrs["window_volumes"]) if "fcd" in data else None,
        "fcd_step_volumes": int(data["fcd"].attrs["step_volumes"]) if "fcd" in data else None,
        "atlas": atlas_obj.name, "n_regions": atlas_obj.n_regions,
        "masker": "nilearn NiftiLabelsMasker(strategy='mean')",
    }
    inputs = _input_records(img, root, "fmri image")
    if confounds is not None:
        inputs += _input_records(confounds, root, "confounds")
    inputs += _atlas_records(atlas_obj, root)
    ds = xr.Dataset(data)
    ds.attrs.update({
        "kind": "vbrain fmri targets", "tr_ms": tr_ms, "atlas": atlas_obj.name,
        "source": _name(img), "parameters": params,
        "provenance": make_provenance("fmri", inputs, params, root=root),
    })
    return ds


def _name(obj: Any) -> str:
    if isinstance(obj, (str, os.PathLike)):
        return Path(obj).name
    fname = obj.get_filename() if hasattr(obj, "get_filename") else None
    return Path(fname).name if fname else "<in memory>"


def _input_records(obj: Any, root: Any, role: str) -> list[dict]:
    """Provenance records: files are hashed; in-memory objects are described, not hashed."""
    if isinstance(obj, (str, os.PathLike)):
        rec = file_record(obj, root)
    else:
        fname = obj.get_filename() if hasattr(obj, "get_filename") else None
        if fname and os.path.isfile(fname):
            rec = file_record(fname, root)
        else:
            shape = getattr(obj, "shape", None)
            rec = {"path": None, "description": f"in-memory {type(obj).__name__}"
                   + (f" of shape {tuple(shape)}" if shape is not None else "") + " (not hashed)"}
    rec["role"] = role
    return [rec]


def _atlas_records(atlas: Atlas, root: Any) -> list[dict]:
    fname = atlas.image.get_filename() if hasattr(atlas.image, "get_filename") else None
    if fname and os.path.isfile(fname):
        rec = file_record(fname, root)
    else:
        rec = {"path": None, "description": f"in-memory atlas {atlas.name!r} (not hashed)"}
    rec["role"] = "atlas"
    return [rec]
