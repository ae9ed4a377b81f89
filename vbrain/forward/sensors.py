"""Simulated sensor signals as MNE objects and files.

:func:`to_raw` turns a sensor monitor's output (an ``xarray.DataArray``
(time, sensor), time in ms, values in SI: V or T) into an
:class:`mne.io.RawArray` with the lead field's channel names, types and
positions; :func:`save_raw` writes it as FIF, EDF/BDF, BrainVision or EEGLAB.

Time
----
vbrain's time axis is in ms; MNE's is in s. :func:`sampling_from_times` is
the one conversion: ``sfreq = 1000 / period`` Hz, where ``period`` (ms) is
the spacing of the samples. MNE's samples sit on the grid ``n / sfreq``; a
sample between grid points goes to the start of its sampling period,
``first_samp = floor(t0 / period)``. vbrain's sensor monitors stamp a sample
at the centre of its averaging window, ``(k + 1/2) period``, so raw sample
``n`` is the mean over simulated time ``[n, n + 1) / sfreq``; samples already
on the grid keep their times exactly. The offset is noted in
``raw.info["description"]``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._check import check_array, check_random_state, suggest, validate_type
from .leadfield import CH_UNITS, LeadField

logger = logging.getLogger(__name__)

#: file suffix -> (format, package MNE needs for it or None)
FORMATS = {
    ".fif": ("fif", None),
    ".fif.gz": ("fif", None),
    ".edf": ("edf", "edfio"),
    ".bdf": ("bdf", "edfio"),
    ".vhdr": ("brainvision", "pybv"),
    ".set": ("eeglab", "eeglabio"),
}

# channel fields copied from the lead field's Info into the Raw's
_CH_FIELDS = ("loc", "coil_type", "coord_frame", "kind", "unit", "unit_mul", "cal", "range")


def sampling_from_times(times_ms: Any, period_ms: float | None = None) -> tuple[float, int, float]:
    """Sampling rate (Hz) and MNE's first sample of a regular time axis in ms.

    Parameters
    ----------
    times_ms : array (n_times,)
        Sample times, ms, increasing and evenly spaced.
    period_ms : float, optional
        Sampling period, ms; needed when there is a single sample, else
        checked against the spacing.

    Returns
    -------
    sfreq : float
        ``1000 / period``, Hz.
    first_samp : int
        ``floor(t0 / period)`` (within 1e-6 of a period): the index on MNE's
        grid ``n / sfreq`` of the sampling period holding the first sample.
    offset : float
        ``t0 - first_samp * period``, ms (0 for samples on the grid,
        ``period / 2`` for vbrain's window-centred samples).

    Raises
    ------
    ValueError
        Fewer than 2 samples without ``period_ms``; uneven spacing; a period
        that disagrees with the spacing.
    """
    t = check_array("times", times_ms)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array (ms), got shape {t.shape}.")
    if t.size >= 2:
        d = np.diff(t)
        period = float(np.mean(d))
        if period <= 0 or np.max(np.abs(d - period)) > 1e-6 * period:
            raise ValueError(
                "The time axis is not evenly spaced (spacing from "
                f"{d.min():g} to {d.max():g} ms); MNE needs a regular sampling rate.")
        if period_ms is not None and abs(period - period_ms) > 1e-6 * period:
            raise ValueError(f"period_ms={period_ms} disagrees with the time axis spacing "
                             f"{period:g} ms.")
    elif period_ms is None:
        raise ValueError("A single sample does not tell the sampling rate; give period_ms.")
    else:
        period = float(period_ms)
    if period_ms is not None:
        period = float(period_ms)
    first = int(np.floor(t[0] / period + 1e-6))
    return 1000.0 / period, first, float(t[0] - first * period)


def to_raw(da: Any, leadfield_or_info: Any, *, noise_std: Any = None,
           average_reference: bool = False, seed: Any = None, verbose: Any = None) -> Any:
    """A sensor monitor's output as an ``mne.io.RawArray``.

    Parameters
    ----------
    da : xarray.DataArray (time, sensor)
        E.g. ``result["eeg"]``: time in ms, values in SI (V, T, T/m). For a
        sweep select one member first (``da.isel(batch=0)``).
    leadfield_or_info : LeadField or mne.Info
        Channel types and positions; its channels must include every sensor
        of ``da`` (matched by name).
    noise_std : float, array (n_sensors,) or dict of str to float, optional
        Standard deviation of white observation noise added to every sample,
        SI units (V, T): one value, one per sensor (in ``da``'s order) or one
        per channel type (e.g. ``{"eeg": 1e-6}``).
    average_reference : bool
        Re-reference EEG (or SEEG) channels to their average, after the noise.
    seed : int or numpy.random.Generator, optional
        Seeds the noise: the same seed gives the same raw.
    verbose : bool, str, int or None
        MNE log level.

    Returns
    -------
    mne.io.RawArray
        ``sfreq = 1000 / period``; ``first_samp`` as in the module notes.

    Raises
    ------
    ValueError
        Wrong dims, a sensor unknown to the info, non-SI units, an uneven
        time axis, NaN/Inf samples, a bad noise specification.
    """
    import mne
    import xarray as xr

    validate_type("da", da, xr.DataArray)
    if "batch" in da.dims:
        raise ValueError(f"da has a batch axis ({da.sizes['batch']} members); select one: "
                         "da.isel(batch=i).")
    if set(da.dims) != {"time", "sensor"}:
        raise ValueError(f"da must have dims ('time', 'sensor'), got {da.dims}.")
    da = da.transpose("time", "sensor")
    if isinstance(leadfield_or_info, LeadField):
        src = leadfield_or_info.info
    else:
        src = validate_type("leadfield_or_info", leadfield_or_info, (LeadField, mne.Info))
    names = [str(s) for s in da["sensor"].values]
    for n in names:
        if n not in src.ch_names:
            raise ValueError(f"Sensor {n!r} of da is not a channel of the info."
                             f"{suggest(n, src.ch_names)} Its channels: {src.ch_names[:10]}"
                             f"{' ...' if len(src.ch_names) > 10 else ''}.")
    idx = [src.ch_names.index(n) for n in names]
    types = [src.get_channel_types()[i] for i in idx]
    _check_si_units(da.attrs.get("units"), types)
    period = da.attrs.get("period_ms")
    sfreq, first_samp, offset = sampling_from_times(da["time"].values,
                                                    None if period is None else float(period))
    info = mne.create_info(names, sfreq, types)
    for new, i in zip(info["chs"], idx):
        old = src["chs"][i]
        for key in _CH_FIELDS:
            new[key] = np.array(old[key], copy=True) if key == "loc" else old[key]
    if src["dev_head_t"] is not None:
        info["dev_head_t"] = src["dev_head_t"]
    if any(t in ("eeg", "seeg", "ecog", "dbs") for t in types) and src.get_montage() is not None:
        sub = mne.pick_info(src, idx)
        info.set_montage(sub.get_montage(), on_missing="ignore", verbose=False)
    info["description"] = (
        f"vbrain simulation{(' (' + str(da.name) + ')') if da.name else ''}; "
        f"first sample at t = {float(da['time'][0]):g} ms of simulated time, "
        f"{offset:g} ms after its MNE grid time {first_samp / sfreq:g} s")

    data = check_array("da", da.values).T  # float64; NaN/Inf named with their index
    if noise_std is not None:
        std = _noise_levels(noise_std, types)
        rng = check_random_state(seed)
        data = data + rng.standard_normal(data.shape) * std[:, None]
    raw = mne.io.RawArray(data, info, first_samp=first_samp, verbose=False if verbose is None
                          else verbose)
    if average_reference:
        kinds = [t for t in ("eeg", "seeg", "ecog", "dbs") if t in types]
        if not kinds:
            raise ValueError("average_reference=True needs EEG or SEEG channels; these are "
                             f"{sorted(set(types))}.")
        raw.set_eeg_reference("average", projection=False, ch_type=kinds[0],
                              verbose=False if verbose is None else verbose)
    return raw


def save_raw(raw: Any, path: str | os.PathLike, *, overwrite: bool = False,
             verbose: Any = None) -> Path:
    """Write a Raw to disk; the format follows the suffix.

    ``.fif`` / ``.fif.gz`` (MNE's own, lossless float32), ``.edf`` (16-bit,
    per channel type physical range; needs ``edfio``), ``.bdf`` (24-bit;
    ``edfio``), ``.vhdr`` (BrainVision, float32; ``pybv``), ``.set`` (EEGLAB;
    ``eeglabio``); all but FIF through :func:`mne.export.export_raw`.

    Parameters
    ----------
    raw : mne.io.BaseRaw
    path : path-like
    overwrite : bool
        Replace an existing file.
    verbose : bool, str, int or None

    Returns
    -------
    pathlib.Path
        The file written (for BrainVision, the ``.vhdr`` header).

    The write is atomic: the files are made in a temporary folder beside
    ``path`` and moved into place (the requested file last), so a failed
    export leaves nothing that looks complete.

    Raises
    ------
    ValueError
        Unknown suffix (with a suggestion).
    FileNotFoundError
        The output folder does not exist.
    ImportError
        The format's exporter package is missing (with the pip command).
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    import mne

    validate_type("raw", raw, mne.io.BaseRaw)
    path = Path(path)
    name = path.name.lower()
    suffix = ".fif.gz" if name.endswith(".fif.gz") else path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"Cannot tell the file format from {path.name!r}: the suffix must be "
                         f"one of {list(FORMATS)}.{suggest(suffix, FORMATS)}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder {path.parent} does not exist.")
    fmt, package = FORMATS[suffix]
    if package is not None:
        try:
            __import__(package)
        except ImportError:
            raise ImportError(f"Saving {suffix} files needs the {package!r} package: "
                              f"pip install {package}") from None
    v = False if verbose is None else verbose
    # atomic: write under the final name in a temporary folder beside it (BrainVision and
    # split FIF files refer to each other by name), then move the files into place, the
    # requested file last; a failed write leaves nothing behind
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        if fmt == "fif":
            with warnings.catch_warnings():  # the caller chose the name: no naming lecture
                warnings.filterwarnings("ignore", message=".*naming conventions.*")
                raw.save(tmp, verbose=v)
        else:
            with warnings.catch_warnings():  # BrainVision is float32 by design (see above)
                warnings.filterwarnings("ignore", message=".*Converting to float32.*")
                mne.export.export_raw(tmp, raw, fmt=fmt, verbose=v)
        for part in sorted(tmp_dir.iterdir(), key=lambda q: q.name == path.name):
            os.replace(part, path.parent / part.name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    logger.info("wrote %s (%s)", path, fmt)
    return path


def _check_si_units(units: Any, types: list[str]) -> None:
    """Raise unless ``units`` (the DataArray's attr) are the SI units of ``types``."""
    if units is None:
        return
    want = list(dict.fromkeys(CH_UNITS.get(t, "?") for t in types))
    got = [u.strip() for u in str(units).split(",")]
    if sorted(got) != sorted(want):
        raise ValueError(f"to_raw expects SI values ({', '.join(want)}) as the sensor monitors "
                         f"write them, but da.attrs['units'] is {units!r}; convert to SI first.")


def _noise_levels(noise_std: Any, types: list[str]) -> np.ndarray:
    """Per-channel noise standard deviations from a number, array or {ch_type: std}."""
    if isinstance(noise_std, dict):
        unknown = [k for k in noise_std if k not in types]
        if unknown:
            raise ValueError(f"noise_std names channel type(s) {unknown} absent from the data "
                             f"(types {sorted(set(types))}).")
        missing = sorted({t for t in types if t not in noise_std})
        if missing:
            raise ValueError(f"noise_std gives no level for channel type(s) {missing}.")
        std = np.array([float(noise_std[t]) for t in types])
    else:
        std = check_array("noise_std", noise_std)
        if std.ndim == 0:
            std = np.full(len(types), float(std))
        if std.shape != (len(types),):
            raise ValueError(f"noise_std must be a number, one value per sensor ({len(types)},) "
                             f"or a dict per channel type, got shape {std.shape}.")
    if not np.all(np.isfinite(std)) or np.any(std < 0):
        raise ValueError(f"noise_std must be finite and >= 0 (SI units), got {noise_std!r}.")
    return std
