"""EEG -> fitting targets: spectra, band powers and amplitude-envelope connectivity.

A raw recording (FIF, EDF/BDF, BrainVision, EEGLAB: anything
``mne.io.read_raw`` reads, or an ``mne.io.Raw``) goes through, in order:

1. **Channels**: EEG channels only (EOG, ECG, stimulus, ... are dropped);
   a ``montage`` (MNE built-in name or ``DigMontage``) sets positions when
   given.
2. **Filter**: band-pass ``l_freq``-``h_freq`` Hz (MNE's default FIR),
   optional notch (``notch`` Hz and harmonics below ``h_freq``).
3. **Bad channels**: the ones given (``bads``), those already marked in the
   file, and, with ``auto_bads``, those detected on the filtered data from
   their standard deviations ``s``: *flat* if ``s < flat * median(s)``
   (default 1e-3, i.e. 60 dB below the median channel), *noisy* if
   ``log10(s)`` exceeds the median of ``log10(s)`` by more than ``z_max``
   (default 5) robust standard deviations (1.4826 x the median absolute
   deviation, at least 0.1 decades). Bad channels are dropped.
4. **Re-reference**: ``"average"`` (of the good channels), one channel or a
   list (their mean; those channels are then dropped), or None (as recorded).
5. **Spectra**: Welch (``raw.compute_psd(method="welch")``, Hann windows of
   ``psd_window`` ms, 50 % overlap), V^2/Hz.
6. **Band powers**: the PSD summed over each band ``[low, high)`` times the
   frequency step: V^2 (a sinusoid of amplitude A inside a band gives A^2/2).
   Relative powers divide by the power over all bands.
7. **Amplitude-envelope connectivity (AEC)**, per band: band-pass (FIR),
   analytic signal (``scipy.signal.hilbert``), envelopes ``|z|``, Pearson
   correlation between channels' envelopes after trimming ``aec_trim`` ms at
   both ends. With ``orthogonalize=True`` the pairwise orthogonalisation of
   Hipp et al. (2012) removes zero-lag (volume-conduction) coupling: for a
   seed ``x`` the other signal becomes ``Im(y conj(x) / |x|)``; the matrix
   is symmetrised ((C + C.T) / 2) and its diagonal set to 0.

Output: an ``xarray.Dataset`` (``psd``, ``band_power``,
``band_power_relative``, ``aec``, ``sensor_position``) with the parameters
and a provenance record; :func:`info_from_targets` rebuilds an ``mne.Info``
with the montage so that a lead field can be made for the same sensors
(``LeadField.sphere(conn, montage=info_from_targets(ds))``).

Units: frequencies in Hz, windows in ms, signals in SI (V) as MNE holds
them, sensor positions in mm (MNE head frame; MNE's metres converted here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vbrain._check import check_range, suggest, validate_type

from .provenance import file_record, make_provenance

__all__ = ["DEFAULT_BANDS", "band_powers", "eeg_targets", "envelope_connectivity",
           "find_bad_channels", "info_from_targets", "preprocess", "read_eeg"]

logger = logging.getLogger(__name__)

#: frequency bands, Hz, [low, high)
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0)}

_EDF_BYTES = {".edf": 2, ".bdf": 3}


def _v(verbose: Any) -> Any:
    return False if verbose is None else verbose


# -- reading ---------------------------------------------------------------------------
def read_eeg(raw: Any, *, montage: Any = None, verbose: Any = None) -> Any:
    """Load a recording (or copy a Raw) with its data in memory, EEG channels only.

    Parameters
    ----------
    raw : path-like or mne.io.BaseRaw
        A file ``mne.io.read_raw`` reads (``.fif``, ``.edf``, ``.bdf``,
        ``.vhdr``, ``.set``, ...) or a Raw (copied).
    montage : str or mne.channels.DigMontage, optional
        Channel positions to set (an MNE built-in name such as
        ``"standard_1020"``); channels it lacks keep no position (logged).
    verbose : bool, str, int or None
        MNE's log level.

    Returns
    -------
    mne.io.BaseRaw
        Preloaded, EEG channels only.

    Raises
    ------
    FileNotFoundError
        No file at the path.
    ValueError
        An unreadable or truncated file (EDF/BDF: the size is checked against
        the header), an unknown montage, no EEG channel; each names the file.
    """
    import mne

    where = "the recording"
    if isinstance(raw, (str, os.PathLike)):
        path = Path(raw)
        where = f"the EEG file {os.fspath(path)!r}"
        if not path.is_file():
            raise FileNotFoundError(f"No EEG file at {os.fspath(path)!r}.")
        if path.suffix.lower() in _EDF_BYTES:
            _check_edf_size(path)
        try:
            raw = mne.io.read_raw(path, preload=True, verbose=_v(verbose))
        except Exception as err:  # noqa: BLE001 - readers raise many types for broken files
            raise ValueError(f"Cannot read {where}: {type(err).__name__}: {err}") from None
    else:
        validate_type("raw", raw, (str, os.PathLike, mne.io.BaseRaw))
        raw = raw.copy().load_data(verbose=_v(verbose))
    types = raw.get_channel_types()
    if "eeg" not in types:
        raise ValueError(f"{where[0].upper()}{where[1:]} has no EEG channel (channel types "
                         f"{sorted(set(types))}).")
    raw.pick("eeg", exclude=())
    finite = np.isfinite(raw._data)
    if not finite.all():
        ch, k = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{where[0].upper()}{where[1:]} has {int((~finite).sum())} NaN/Inf "
                         f"sample(s), the first in channel {raw.ch_names[ch]!r} at sample {k}; "
                         "interpolate or crop them first.")
    if montage is not None:
        if isinstance(montage, str):
            from vbrain.forward.leadfield import _builtin_montages

            names = _builtin_montages()
            if montage not in names:
                raise ValueError(f"Unknown montage {montage!r}.{suggest(montage, names)} MNE's "
                                 f"built-in montages: {sorted(names)}.")
            montage = mne.channels.make_standard_montage(names[montage])
        missing = [c for c in raw.ch_names if c not in montage.ch_names]
        if missing:
            logger.info("read_eeg: the montage has no position for %s", missing[:20])
        raw.set_montage(montage, on_missing="ignore", verbose=_v(verbose))
    return raw


def _check_edf_size(path: Path) -> None:
    """Raise if an EDF/BDF file is shorter than its header promises (a truncated file)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            if len(head) < 256:
                raise ValueError("shorter than the 256-byte fixed header")
            header_bytes = int(head[184:192].decode("ascii").strip())
            n_records = int(head[236:244].decode("ascii").strip())
            ns = int(head[252:256].decode("ascii").strip())
            f.seek(256 + ns * 216)
            field = f.read(ns * 8)
            if len(field) < ns * 8:
                raise ValueError("the signal header is incomplete")
            samples = [int(field[i * 8:(i + 1) * 8].decode("ascii").strip()) for i in range(ns)]
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"The EEG file {os.fspath(path)!r} does not have a valid EDF/BDF "
                             f"header: {err}.") from None
    if n_records < 0:  # -1: unknown during recording; MNE counts from the size
        return
    expected = header_bytes + n_records * sum(samples) * _EDF_BYTES[path.suffix.lower()]
    if size < expected:
        raise ValueError(
            f"The EEG file {os.fspath(path)!r} is truncated: its header promises {n_records} "
            f"data records ({expected} bytes in all), but the file has {size} bytes.")


# -- preprocessing ---------------------------------------------------------------------------
def find_bad_channels(raw: Any, *, flat: float = 1e-3, z_max: float = 5.0) -> dict[str, list]:
    """Flat and noisy EEG channels from their standard deviations (rule in the module notes).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded; channels already marked bad are skipped.
    flat : float, default 1e-3
        A channel is flat when its standard deviation is below ``flat`` times
        the median channel's.
    z_max : float, default 5.0
        A channel is noisy when ``log10`` of its standard deviation is more
        than ``z_max`` robust standard deviations above the median.

    Returns
    -------
    dict
        ``{"flat": [...], "noisy": [...]}`` channel names.
    """
    check_range("flat", flat, 0.0, 1.0)
    check_range("z_max", z_max, 0.0, low_inclusive=False)
    picks = [i for i, (n, t) in enumerate(zip(raw.ch_names, raw.get_channel_types()))
             if t == "eeg" and n not in raw.info["bads"]]
    if len(picks) < 3:
        return {"flat": [], "noisy": []}
    std = raw.get_data(picks=picks).std(axis=1)
    names = [raw.ch_names[i] for i in picks]
    med = float(np.median(std))
    flat_ch = [n for n, s in zip(names, std) if s < flat * med or s == 0]
    good = std > 0
    if not good.any():  # every channel flat: nothing to rank noise against
        return {"flat": flat_ch, "noisy": []}
    log_s = np.log10(std[good])
    centre = float(np.median(log_s))
    spread = max(1.4826 * float(np.median(np.abs(log_s - centre))), 0.1)
    noisy = [n for n, s in zip(np.array(names)[good], log_s) if (s - centre) / spread > z_max]
    return {"flat": flat_ch, "noisy": [str(n) for n in noisy]}


def preprocess(raw: Any, *, l_freq: float | None = 1.0, h_freq: float | None = 45.0,
               notch: float | None = None, bads: Sequence[str] = (), auto_bads: bool = True,
               flat: float = 1e-3, z_max: float = 5.0, reference: Any = "average",
               montage: Any = None, verbose: Any = None) -> tuple[Any, dict]:
    """Steps 1-4 of the module notes: channels, filter, bad channels, reference.

    Parameters
    ----------
    raw : path-like or mne.io.BaseRaw
    l_freq, h_freq : float or None, default 1.0 and 45.0
        Band-pass edges, Hz (None: no high-pass / low-pass).
    notch : float, optional
        Line frequency, Hz (50 or 60); its harmonics below ``h_freq`` too.
    bads : sequence of str, default ()
        Channels known to be bad (added to those marked in the file).
    auto_bads : bool, default True
        Also detect flat and noisy channels (:func:`find_bad_channels`).
    flat, z_max : float
        Detection thresholds.
    reference : "average", str, sequence of str or None, default "average"
        New reference (see the module notes).
    montage : str or DigMontage, optional
        Positions to set (see :func:`read_eeg`).
    verbose : bool, str, int or None

    Returns
    -------
    raw : mne.io.BaseRaw
        A new, preprocessed Raw (good EEG channels only).
    report : dict
        ``bads_given``, ``bads_file``, ``bads_flat``, ``bads_noisy``,
        ``reference``.

    Raises
    ------
    ValueError
        Unknown channel names (with a suggestion), band edges out of order or
        at/above Nyquist, fewer than 2 good channels left.
    """
    raw = read_eeg(raw, montage=montage, verbose=verbose)
    sfreq = float(raw.info["sfreq"])
    nyq = sfreq / 2.0
    for name, f in (("l_freq", l_freq), ("h_freq", h_freq), ("notch", notch)):
        if f is not None:
            check_range(name, f, 0.0, nyq, low_inclusive=False, high_inclusive=False)
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        raise ValueError(f"l_freq ({l_freq} Hz) must be below h_freq ({h_freq} Hz).")
    bads = [bads] if isinstance(bads, str) else list(bads)
    for b in bads:
        if b not in raw.ch_names:
            raise ValueError(f"Bad channel {b!r} is not an EEG channel of the recording."
                             f"{suggest(b, raw.ch_names)}")
    from_file = list(raw.info["bads"])
    raw.info["bads"] = sorted(set(from_file) | set(bads), key=raw.ch_names.index)
    if l_freq is not None or h_freq is not None:
        from mne.filter import create_filter

        sfreq = raw.info["sfreq"]
        taps = len(create_filter(None, sfreq, l_freq, h_freq, verbose=False))
        if raw.n_times < taps:  # MNE would only warn and return edge artefacts
            raise ValueError(f"The recording lasts {raw.n_times / sfreq:g} s, shorter than the "
                             f"{l_freq}-{h_freq} Hz band-pass filter ({taps / sfreq:g} s): use "
                             "a longer recording or a higher l_freq.")
        raw.filter(l_freq, h_freq, picks="eeg", verbose=_v(verbose))
    if notch is not None:
        top = h_freq if h_freq is not None else nyq
        freqs = np.arange(notch, top, notch)
        if freqs.size:
            raw.notch_filter(freqs, picks="eeg", verbose=_v(verbose))
    detected = {"flat": [], "noisy": []}
    if auto_bads:
        detected = find_bad_channels(raw, flat=flat, z_max=z_max)
        if detected["flat"] or detected["noisy"]:
            logger.info("preprocess: flat %s, noisy %s", detected["flat"], detected["noisy"])
        raw.info["bads"] = list(raw.info["bads"]) + detected["flat"] + detected["noisy"]
    all_bads = list(raw.info["bads"])
    ref_channels: list[str] = []
    if reference is not None and reference != "average":
        ref_channels = [reference] if isinstance(reference, str) else list(reference)
        for r in ref_channels:
            if r not in raw.ch_names:
                raise ValueError(f"Reference channel {r!r} is not an EEG channel of the "
                                 f"recording.{suggest(r, raw.ch_names)}")
            if r in all_bads:
                raise ValueError(f"Reference channel {r!r} is marked bad ({all_bads}).")
    if len(raw.ch_names) - len(set(all_bads)) - len(ref_channels) < 2:
        raise ValueError(f"Fewer than 2 good EEG channels are left (bad: {all_bads}, "
                         f"reference: {ref_channels}).")
    raw.drop_channels(all_bads)
    if reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose=_v(verbose))
    elif ref_channels:
        raw.set_eeg_reference(ref_channels, projection=False, verbose=_v(verbose))
        raw.drop_channels(ref_channels)
    report = {"bads_given": bads, "bads_file": from_file, "bads_flat": detected["flat"],
              "bads_noisy": detected["noisy"],
              "reference": reference if isinstance(reference, (str, type(None)))
              else list(reference)}
    return raw, report


# -- measures ---------------------------------------------------------------------------
def _check_bands(bands: Mapping[str, Sequence[float]], nyq: float) -> dict[str, tuple]:
    if not isinstance(bands, Mapping) or not bands:
        raise ValueError("bands must be a non-empty dict {name: (low, high)} in Hz, e.g. "
                         f"{DEFAULT_BANDS}.")
    out = {}
    for name, edges in bands.items():
        try:
            lo, hi = (float(e) for e in edges)
        except (TypeError, ValueError):
            raise ValueError(f"Band {name!r} must be (low, high) in Hz, got {edges!r}.") from None
        if not 0 <= lo < hi:
            raise ValueError(f"Band {name!r}: need 0 <= low < high, got ({lo}, {hi}) Hz.")
        if hi > nyq:
            raise ValueError(f"Band {name!r} ({lo}-{hi} Hz) reaches above the Nyquist frequency "
                             f"{nyq:g} Hz.")
        out[str(name)] = (lo, hi)
    return out


def band_powers(psd: np.ndarray, freqs: np.ndarray,
                bands: Mapping[str, Sequence[float]] = DEFAULT_BANDS) -> np.ndarray:
    """Power in each band: the PSD summed over ``low <= f < high`` times the frequency step.

    Parameters
    ----------
    psd : array (..., n_freqs)
        Power spectral density (e.g. V^2/Hz) on evenly spaced ``freqs``.
    freqs : array (n_freqs,)
        Hz.
    bands : dict of str to (float, float)
        Band edges, Hz.

    Returns
    -------
    ndarray (..., n_bands)
        Power (e.g. V^2), bands in dict order.

    Raises
    ------
    ValueError
        A band containing no frequency bin.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    psd = np.asarray(psd, dtype=np.float64)
    df = float(np.mean(np.diff(freqs))) if freqs.size > 1 else 1.0
    out = []
    for name, (lo, hi) in _check_bands(bands, np.inf).items():
        sel = (freqs >= lo) & (freqs < hi)
        if not sel.any():
            raise ValueError(f"Band {name!r} ({lo}-{hi} Hz) holds no frequency bin of the "
                             f"spectrum ({freqs[0]:g}-{freqs[-1]:g} Hz, step {df:g} Hz).")
        out.append(psd[..., sel].sum(axis=-1) * df)
    return np.stack(out, axis=-1)


def envelope_connectivity(data: np.ndarray, sfreq: float, band: Sequence[float], *,
                          orthogonalize: bool = False, trim: float = 1000.0,
                          verbose: Any = None) -> np.ndarray:
    """Amplitude-envelope correlation of channels in one band (module notes, step 7).

    Parameters
    ----------
    data : array (n_channels, n_times)
        Signals (e.g. V).
    sfreq : float
        Sampling rate, Hz.
    band : (float, float)
        Band-pass edges, Hz.
    orthogonalize : bool, default False
        Pairwise orthogonalisation (Hipp et al. 2012) before the envelopes.
    trim : float, default 1000.0
        ms dropped at each end (filter and Hilbert edge effects); none when
        the recording is shorter than 4 x ``trim``.
    verbose : bool, str, int or None

    Returns
    -------
    ndarray (n_channels, n_channels)
        Symmetric; diagonal 1 (0 when orthogonalised).
    """
    import mne
    from scipy.fft import next_fast_len
    from scipy.signal import hilbert

    x = np.asarray(data, dtype=np.float64)
    lo, hi = (float(b) for b in band)
    filt = mne.filter.filter_data(x, sfreq, lo, hi, verbose=_v(verbose))
    n = filt.shape[1]
    z = hilbert(filt, N=next_fast_len(n), axis=1)[:, :n]
    cut = round(trim * sfreq / 1000.0)
    if n > 4 * cut and cut > 0:
        z = z[:, cut:-cut]
    if not orthogonalize:
        c = np.corrcoef(np.abs(z))
        np.fill_diagonal(c, 1.0)
        return c
    env = np.abs(z)
    env_c = env - env.mean(axis=1, keepdims=True)
    env_n = env_c / np.linalg.norm(env_c, axis=1, keepdims=True)
    unit = z / np.maximum(env, np.finfo(float).tiny)
    m = z.shape[0]
    c = np.zeros((m, m))
    for i in range(m):
        orth = np.abs((z * np.conj(unit[i])[None, :]).imag)  # y orthogonalised to seed i
        orth -= orth.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(orth, axis=1)
        norm[norm == 0] = np.inf
        c[i] = (orth @ env_n[i]) / norm
    c = (c + c.T) / 2.0
    np.fill_diagonal(c, 0.0)
    return c


# -- the whole step --------------------------------------------------------------------------
def eeg_targets(raw: Any, *, montage: Any = None, l_freq: float | None = 1.0,
                h_freq: float | None = 45.0, notch: float | None = None,
                bads: Sequence[str] = (), auto_bads: bool = True, flat: float = 1e-3,
                z_max: float = 5.0, reference: Any = "average", fmin: float = 1.0,
                fmax: float = 45.0, psd_window: float = 2000.0,
                bands: Mapping[str, Sequence[float]] | None = None,
                aec_bands: Sequence[str] | None = None, orthogonalize: bool = False,
                aec_trim: float = 1000.0, progress: bool = False, root: Any = None,
                verbose: Any = None) -> Any:
    """Raw EEG -> fitting targets: spectra, band powers, envelope connectivity, sensor positions.

    Parameters
    ----------
    raw : path-like or mne.io.BaseRaw
        The recording.
    montage, l_freq, h_freq, notch, bads, auto_bads, flat, z_max, reference
        As in :func:`preprocess` (frequencies in Hz).
    fmin, fmax : float, default 1.0 and 45.0
        Frequency range of the stored spectrum, Hz.
    psd_window : float, default 2000.0
        Welch segment length, ms (frequency resolution 1000 / psd_window Hz).
    bands : dict of str to (float, float), optional
        Bands, Hz; default :data:`DEFAULT_BANDS`.
    aec_bands : sequence of str, optional
        Bands for the envelope connectivity; default all of ``bands``;
        ``[]`` for none.
    orthogonalize : bool, default False
        Orthogonalised AEC (module notes).
    aec_trim : float, default 1000.0
        ms trimmed at each end before correlating envelopes.
    progress : bool, default False
        A progress bar over the AEC bands.
    root : path-like, optional
        Input paths in the provenance are recorded relative to it.
    verbose : bool, str, int or None
        MNE's log level.

    Returns
    -------
    xarray.Dataset
        ``psd`` (sensor, frequency) V^2/Hz; ``band_power`` and
        ``band_power_relative`` (sensor, band), with ``band_low`` /
        ``band_high`` coordinates in Hz; ``aec`` (band_aec, sensor_i, sensor_j);
        ``sensor_position`` (sensor, axis) mm in MNE's head frame (NaN where
        unknown); attrs ``sfreq``, ``bads``, ``reference``, ``fiducials_mm``,
        ``parameters``, ``provenance``.

    Raises
    ------
    ValueError
        See :func:`read_eeg` and :func:`preprocess`; bands beyond Nyquist or
        without bins; a recording shorter than one Welch window.

    Examples
    --------
    >>> ds = eeg_targets("sub-01_task-rest_eeg.edf", montage="standard_1020", notch=50)  # doctest: +SKIP
    >>> ds["band_power"].sel(band="alpha")                                            # doctest: +SKIP
    >>> lf = LeadField.sphere(conn, montage=info_from_targets(ds))                    # doctest: +SKIP
    """
    import xarray as xr
    from tqdm.auto import tqdm

    source = raw
    bands = dict(DEFAULT_BANDS if bands is None else bands)
    clean, report = preprocess(raw, l_freq=l_freq, h_freq=h_freq, notch=notch, bads=bads,
                               auto_bads=auto_bads, flat=flat, z_max=z_max, reference=reference,
                               montage=montage, verbose=verbose)
    sfreq = float(clean.info["sfreq"])
    bands = _check_bands(bands, sfreq / 2.0)
    aec_names = list(bands) if aec_bands is None else [aec_bands] if isinstance(aec_bands, str) \
        else list(aec_bands)
    for b in aec_names:
        if b not in bands:
            raise ValueError(f"aec_bands names {b!r}, which is not a band.{suggest(b, bands)} "
                             f"Bands: {list(bands)}.")
    check_range("psd_window", psd_window, 0.0, low_inclusive=False)
    n_seg = round(psd_window * sfreq / 1000.0)
    if n_seg < 8 or n_seg > clean.n_times:
        raise ValueError(f"psd_window={psd_window} ms is {n_seg} samples at {sfreq:g} Hz; it "
                         f"must be between 8 samples and the recording ({clean.n_times} "
                         "samples).")
    check_range("fmin", fmin, 0.0)
    check_range("fmax", fmax, fmin, sfreq / 2.0, low_inclusive=False)
    spectrum = clean.compute_psd(method="welch", fmin=fmin, fmax=fmax, n_fft=n_seg,
                                 n_per_seg=n_seg, n_overlap=n_seg // 2, window="hann",
                                 picks="eeg", verbose=_v(verbose))
    psd, freqs = spectrum.get_data(return_freqs=True)
    # band powers from a full-range spectrum so bands outside [fmin, fmax] still work
    full = clean.compute_psd(method="welch", fmin=0.0, fmax=sfreq / 2.0, n_fft=n_seg,
                             n_per_seg=n_seg, n_overlap=n_seg // 2, window="hann", picks="eeg",
                             verbose=_v(verbose))
    full_psd, full_freqs = full.get_data(return_freqs=True)
    power = band_powers(full_psd, full_freqs, bands)
    total = power.sum(axis=1, keepdims=True)
    relative = np.divide(power, total, out=np.zeros_like(power), where=total > 0)

    data = clean.get_data()
    aec = np.zeros((len(aec_names), len(clean.ch_names), len(clean.ch_names)))
    for k, b in enumerate(tqdm(aec_names, desc="AEC bands", disable=not progress)):
        aec[k] = envelope_connectivity(data, sfreq, bands[b], orthogonalize=orthogonalize,
                                       trim=aec_trim, verbose=verbose)

    names = list(clean.ch_names)
    pos = np.full((len(names), 3), np.nan)
    for i, ch in enumerate(clean.info["chs"]):
        loc = np.asarray(ch["loc"][:3], dtype=np.float64)
        if np.all(np.isfinite(loc)) and np.any(loc != 0):
            pos[i] = loc * 1e3  # m -> mm
    fiducials = {}
    for d in clean.info["dig"] or []:
        if d["kind"] == 1 and d["coord_frame"] == 4:  # FIFFV_POINT_CARDINAL, head frame
            key = {1: "lpa", 2: "nasion", 3: "rpa"}.get(int(d["ident"]))
            if key:
                fiducials[key] = [float(v) * 1e3 for v in d["r"]]
    lows = [bands[b][0] for b in bands]
    highs = [bands[b][1] for b in bands]
    ds = xr.Dataset(
        {
            "psd": (("sensor", "frequency"), psd,
                    {"long_name": "Welch power spectral density", "units": "V^2/Hz"}),
            "band_power": (("sensor", "band"), power, {"long_name": "band power",
                                                       "units": "V^2"}),
            "band_power_relative": (("sensor", "band"), relative,
                                    {"long_name": "band power / power over all bands",
                                     "units": "1"}),
            "aec": (("band_aec", "sensor_i", "sensor_j"), aec,
                    {"long_name": "amplitude-envelope correlation"
                     + (" (orthogonalised)" if orthogonalize else ""), "units": "1"}),
            "sensor_position": (("sensor", "axis"), pos,
                                {"long_name": "sensor position, MNE head frame",
                                 "units": "mm"}),
        },
        coords={"sensor": names, "frequency": ("frequency", freqs, {"units": "Hz"}),
                "band": list(bands), "band_low": ("band", lows, {"units": "Hz"}),
                "band_high": ("band", highs, {"units": "Hz"}), "band_aec": aec_names,
                "sensor_i": names, "sensor_j": names, "axis": ["x", "y", "z"]})
    params = {
        "l_freq_hz": l_freq, "h_freq_hz": h_freq, "notch_hz": notch, "bads": list(bads),
        "auto_bads": bool(auto_bads), "flat": flat, "z_max": z_max,
        "reference": report["reference"], "montage": montage if isinstance(montage, str)
        else (None if montage is None else "DigMontage"), "fmin_hz": fmin, "fmax_hz": fmax,
        "psd_window_ms": psd_window, "psd_method": "welch, hann, 50% overlap",
        "bands_hz": {k: list(v) for k, v in bands.items()}, "aec_bands": aec_names,
        "orthogonalize": bool(orthogonalize), "aec_trim_ms": aec_trim,
    }
    bads_all = report["bads_file"] + report["bads_given"] + report["bads_flat"] \
        + report["bads_noisy"]
    ds.attrs.update({
        "kind": "vbrain eeg targets", "sfreq": sfreq, "source": _name(source),
        "bads": sorted(set(bads_all)), "bads_detail": report,
        "reference": str(report["reference"]), "ch_type": "eeg",
        "fiducials_mm": fiducials, "parameters": params,
        "provenance": make_provenance("eeg", _input_records(source, root), params, root=root),
    })
    return ds


def info_from_targets(ds: Any) -> Any:
    """An ``mne.Info`` of the targets' sensors with their montage (for a lead field).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`eeg_targets` (or read back with
        :func:`vbrain.pipelines.provenance.load_dataset`).

    Returns
    -------
    mne.Info
        EEG channels in ``ds.sensor`` order, ``sfreq`` from the attrs,
        positions (m, head frame) and fiducials from the dataset.

    Raises
    ------
    ValueError
        If a sensor has no position (the recording had no montage: pass
        ``montage=`` to :func:`eeg_targets`).
    """
    import mne

    names = [str(s) for s in ds["sensor"].values]
    pos = np.asarray(ds["sensor_position"].transpose("sensor", "axis").values, dtype=np.float64)
    missing = [n for n, p in zip(names, pos) if not np.all(np.isfinite(p))]
    if missing:
        raise ValueError(f"{len(missing)} sensor(s) have no position ({missing[:10]}); the "
                         "recording had no montage. Run eeg_targets(..., montage=...) first.")
    fid = ds.attrs.get("fiducials_mm") or {}
    if isinstance(fid, str):
        import json

        fid = json.loads(fid) if fid else {}
    kw = {k: np.asarray(fid[k]) * 1e-3 for k in ("nasion", "lpa", "rpa") if k in fid}
    montage = mne.channels.make_dig_montage(ch_pos=dict(zip(names, pos * 1e-3)),
                                            coord_frame="head", **kw)
    info = mne.create_info(names, float(ds.attrs.get("sfreq", 1000.0)), "eeg")
    info.set_montage(montage, verbose=False)
    return info


def _name(obj: Any) -> str:
    if isinstance(obj, (str, os.PathLike)):
        return Path(obj).name
    fnames = getattr(obj, "filenames", None)
    return Path(fnames[0]).name if fnames and fnames[0] else "<in memory>"


def _input_records(obj: Any, root: Any) -> list[dict]:
    if isinstance(obj, (str, os.PathLike)):
        paths = [Path(obj)]
        if paths[0].suffix.lower() == ".vhdr":  # BrainVision: header + marker + data files
            paths += [paths[0].with_suffix(s) for s in (".vmrk", ".eeg")
                      if paths[0].with_suffix(s).is_file()]
        recs = [file_record(p, root) for p in paths]
    else:
        fnames = [f for f in (getattr(obj, "filenames", None) or []) if f]
        recs = [file_record(f, root) for f in fnames if os.path.isfile(f)] or [
            {"path": None, "description": f"in-memory {type(obj).__name__} (not hashed)"}]
    for r in recs:
        r["role"] = "eeg recording"
    return recs
