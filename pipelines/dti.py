"""Diffusion MRI -> structural connectome (dipy).

Two entry points:

- :func:`connectome_from_tractogram` (from :mod:`.dti_tractography`): a
  tractogram (``.trk``, ``.tck``, ``.trx`` or streamlines) and a parcellation
  in the same space -> :class:`vbrain.Connectome`;
- :func:`run_dti`: raw diffusion data (4-D NIfTI + FSL ``bval``/``bvec``) and
  a parcellation on the same grid -> brain mask, tensor fit (FA), a direction
  model (DTI, CSA or CSD), deterministic or probabilistic local tracking
  seeded in white matter, then the connectome; writes the connectome (TVB
  zip), the tractogram (``.trk``), a QC figure and a JSON record of how they
  were made.

:func:`make_dwi_phantom` writes a small synthetic diffusion data set with known
bundles, parcels, edges and tract lengths (dipy's multi-tensor model plus
Rician noise); the tests and ``benchmarks/bench_dti.py`` run the pipeline on it.

Units: mm for lengths and coordinates, s/mm^2 for b-values, mm^2/s for
diffusivities, degrees for angles.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vbrain._check import check_option, check_random_state, check_range
from vbrain.atlas import Atlas
from vbrain.connectome import Connectome

from .dti_tractography import (
    WEIGHTINGS,
    _connectome,
    _count_pairs,
    _log_level,
    check_reference,
    connectome_from_tractogram,
    load_tractogram,
    save_trk,
    streamline_lengths,
)

__all__ = [
    "DtiResult",
    "DwiData",
    "DwiPhantom",
    "brain_mask_otsu",
    "connectome_from_tractogram",
    "fit_fa",
    "fit_peaks",
    "load_dwi",
    "load_tractogram",
    "make_dwi_phantom",
    "run_dti",
    "save_trk",
    "seed_points",
    "streamline_lengths",
    "track",
    "write_qc",
]

logger = logging.getLogger(__name__)

MODELS = ("csa", "csd", "dti")
TRACKINGS = ("deterministic", "probabilistic")
#: Tolerance on |bvec| for diffusion-weighted volumes (dipy's gradient_table uses 0.01).
BVEC_NORM_TOL = 0.01
#: Voxels per model-fitting chunk (one progress-bar tick).
FIT_CHUNK = 2000
#: Seeds per tracking chunk (one progress-bar tick).
TRACK_CHUNK = 2000
#: Longest streamline followed, mm.
MAX_TRACK_LENGTH = 300.0


# ===================================================================== results
@dataclass(frozen=True)
class DtiResult:
    """What :func:`run_dti` made.

    Attributes
    ----------
    connectome : vbrain.Connectome
    connectome_path : Path
        ``<out_dir>/connectome.zip`` (TVB format).
    tractogram_path : Path
        ``<out_dir>/tractogram.trk`` (RAS+ mm, reference = the DWI grid).
    qc_path : Path or None
        ``<out_dir>/qc.png``, None when ``qc=False``.
    provenance_path : Path
        ``<out_dir>/connectome.json``: inputs (sha256), parameters, versions,
        counts and step timings.
    timings : dict of str to float
        Wall time of each step in s: ``load``, ``mask``, ``tensor``, ``model``,
        ``tracking``, ``connectome``, ``write``.
    stats : dict
        Counts: voxels in the brain / tracking / seed masks, seeds,
        streamlines, streamlines counted between regions, ...
    """

    connectome: Connectome
    connectome_path: Path
    tractogram_path: Path
    qc_path: Path | None
    provenance_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DwiData:
    """A diffusion data set as loaded by :func:`load_dwi`.

    Attributes
    ----------
    data : ndarray float32, (x, y, z, n_volumes)
    affine : ndarray (4, 4)
        Voxel-to-world (RAS+ mm).
    bvals : ndarray (n_volumes,)
        s/mm^2.
    bvecs : ndarray (n_volumes, 3)
        Unit vectors (zeros for b0 volumes).
    gtab : dipy GradientTable
    """

    data: np.ndarray
    affine: np.ndarray
    bvals: np.ndarray
    bvecs: np.ndarray
    gtab: Any


# ===================================================================== loading
def load_dwi(dwi: str | os.PathLike[str], bval: str | os.PathLike[str],
             bvec: str | os.PathLike[str], *, b0_threshold: float = 50.0) -> DwiData:
    """Read a 4-D diffusion NIfTI and its FSL ``bval``/``bvec`` files, checked.

    Parameters
    ----------
    dwi : path-like
        4-D NIfTI (x, y, z, volumes).
    bval : path-like
        b-values (s/mm^2), one per volume, whitespace-separated (FSL).
    bvec : path-like
        Gradient directions: 3 rows (FSL) or 3 columns, one entry per volume;
        unit vectors for diffusion-weighted volumes (zeros or NaN allowed for
        b0 volumes, b <= ``b0_threshold``).
    b0_threshold : float, default 50
        b-values (s/mm^2) at or below this are non-diffusion-weighted.

    Returns
    -------
    DwiData

    Raises
    ------
    FileNotFoundError
        A file is missing.
    ValueError
        The image is not 4-D, unreadable or truncated; the gradient files are
        malformed, their counts differ from the number of volumes, a
        direction is not a unit vector, or there is no b0 volume or fewer
        than 6 diffusion-weighted volumes. Each message names the file.
    """
    import nibabel as nib
    from dipy.core.gradients import gradient_table

    b0_threshold = check_range("b0_threshold", b0_threshold, 0)
    dwi_p, bval_p, bvec_p = (_existing(p, what) for p, what in
                             ((dwi, "diffusion image"), (bval, "bval"), (bvec, "bvec")))
    try:
        img = nib.load(os.fspath(dwi_p))
    except Exception as err:
        raise ValueError(f"Could not read the diffusion image {os.fspath(dwi_p)!r} (not a NIfTI "
                         f"file?): {type(err).__name__}: {err}") from err
    shape = tuple(int(s) for s in img.shape)
    if len(shape) != 4:
        raise ValueError(
            f"The diffusion image {os.fspath(dwi_p)!r} must be 4-D (x, y, z, volumes), but it is "
            f"{len(shape)}-D with shape {shape}."
        )
    n_vol = shape[3]
    bvals = _read_bvals(bval_p, n_vol, dwi_p)
    bvecs = _read_bvecs(bvec_p, n_vol, dwi_p)
    dw = bvals > b0_threshold
    if not np.any(~dw):
        raise ValueError(f"The bval file {os.fspath(bval_p)!r} has no b0 volume (b <= "
                         f"{b0_threshold:g} s/mm^2); the lowest b-value is {bvals.min():g}.")
    bvecs[~dw & ~np.all(np.isfinite(bvecs), axis=1)] = 0.0
    if not np.all(np.isfinite(bvecs)):
        k = int(np.argwhere(~np.all(np.isfinite(bvecs), axis=1))[0, 0])
        raise ValueError(f"The bvec file {os.fspath(bvec_p)!r} has NaN/Inf in the direction of "
                         f"diffusion-weighted volume {k} (b = {bvals[k]:g}).")
    norms = np.linalg.norm(bvecs, axis=1)
    bad = dw & (np.abs(norms - 1.0) > BVEC_NORM_TOL)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"The bvec file {os.fspath(bvec_p)!r} must hold unit vectors for the "
            f"diffusion-weighted volumes (|g| = 1 within {BVEC_NORM_TOL}), but {int(bad.sum())} "
            f"are not, the first at volume {k} with |g| = {norms[k]:.4g} (b = {bvals[k]:g}). "
            "Normalise the directions (and scale the b-values if the scanner encodes b in "
            "|g|^2)."
        )
    if int(dw.sum()) < 6:
        raise ValueError(f"The bval file {os.fspath(bval_p)!r} has {int(dw.sum())} "
                         "diffusion-weighted volume(s); a tensor fit needs at least 6.")
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32))
    except Exception as err:  # truncated files: EOFError, OSError, ValueError
        raise ValueError(
            f"Could not read the image data of {os.fspath(dwi_p)!r}, shape {shape}: the file is "
            f"truncated or corrupt ({type(err).__name__}: {err})."
        ) from err
    if not np.all(np.isfinite(data)):
        n_bad = int(np.count_nonzero(~np.isfinite(data)))
        logger.warning("%s: %d NaN/Inf voxel value(s) set to 0.", os.fspath(dwi_p), n_bad)
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    gtab = gradient_table(bvals, bvecs=bvecs, b0_threshold=b0_threshold)
    affine = np.asarray(img.affine, dtype=np.float64)
    zooms = img.header.get_xyzt_units()[0] if hasattr(img.header, "get_xyzt_units") else None
    if zooms == "meter":
        affine[:3] *= 1000.0
    elif zooms == "micron":
        affine[:3] *= 1e-3
    return DwiData(data, affine, bvals, bvecs, gtab)


def _existing(path: Any, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The {what} must be a path, but got {type(path).__name__}.")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No {what} file at {os.fspath(p)!r}.")
    return p


def _read_numbers(path: Path, what: str) -> np.ndarray:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"The {what} file {os.fspath(path)!r} is not a text file.") from None
    rows = [line.replace(",", " ").split() for line in text.splitlines()]
    rows = [r for r in rows if r and not r[0].startswith("#")]
    if not rows:
        raise ValueError(f"The {what} file {os.fspath(path)!r} is empty.")
    try:
        values = [[float(v) for v in r] for r in rows]
    except ValueError as err:
        raise ValueError(f"The {what} file {os.fspath(path)!r} must hold numbers only: "
                         f"{err}.") from None
    widths = {len(r) for r in values}
    if len(widths) != 1:
        raise ValueError(f"The {what} file {os.fspath(path)!r} has rows of different lengths "
                         f"{sorted(widths)}.")
    return np.array(values, dtype=np.float64)


def _read_bvals(path: Path, n_vol: int, dwi: Path) -> np.ndarray:
    arr = _read_numbers(path, "bval")
    if arr.ndim == 2 and min(arr.shape) != 1:
        raise ValueError(f"The bval file {os.fspath(path)!r} must hold one row (or column) of "
                         f"b-values, but has shape {arr.shape}.")
    bvals = arr.ravel()
    if bvals.size != n_vol:
        raise ValueError(
            f"The bval file {os.fspath(path)!r} has {bvals.size} b-values, but the diffusion "
            f"image {os.fspath(dwi)!r} has {n_vol} volumes: expected one b-value per volume."
        )
    if np.any(bvals < 0) or not np.all(np.isfinite(bvals)):
        raise ValueError(f"The bval file {os.fspath(path)!r} must hold finite non-negative "
                         "b-values (s/mm^2).")
    return bvals


def _read_bvecs(path: Path, n_vol: int, dwi: Path) -> np.ndarray:
    arr = _read_numbers(path, "bvec")
    if arr.shape[0] == 3 and (arr.shape[1] == n_vol or arr.shape[1] != 3):
        vecs = arr.T  # FSL: 3 rows
    elif arr.shape[1] == 3:
        vecs = arr
    else:
        raise ValueError(
            f"The bvec file {os.fspath(path)!r} must hold 3 rows (FSL: x, y and z of each "
            f"direction) or 3 columns, but has shape {arr.shape}."
        )
    if vecs.shape[0] != n_vol:
        raise ValueError(
            f"The bvec file {os.fspath(path)!r} has {vecs.shape[0]} directions, but the "
            f"diffusion image {os.fspath(dwi)!r} has {n_vol} volumes: expected one direction "
            "per volume."
        )
    return np.array(vecs, dtype=np.float64)


def _mask_image(mask: Any, shape: tuple[int, ...], affine: np.ndarray, what: str) -> np.ndarray:
    """A boolean 3-D mask on the DWI grid from an array, nibabel image or path."""
    import nibabel as nib

    source = "the array"
    if isinstance(mask, (str, os.PathLike)):
        source = repr(os.fspath(_existing(mask, what)))
        mask = nib.load(os.fspath(mask))
    if hasattr(mask, "affine") and hasattr(mask, "dataobj"):
        if not np.allclose(mask.affine, affine, atol=1e-3):
            raise ValueError(f"The {what} {source} is not on the diffusion grid: its affine "
                             f"differs from the diffusion image's.")
        mask = np.asarray(mask.dataobj)
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise ValueError(f"The {what} {source} must have the diffusion grid shape "
                         f"{tuple(shape)}, but has shape {arr.shape}.")
    return arr.astype(bool)


# ==================================================================== pipeline
def run_dti(
    dwi: str | os.PathLike[str],
    bval: str | os.PathLike[str],
    bvec: str | os.PathLike[str],
    atlas: Atlas,
    out_dir: str | os.PathLike[str],
    *,
    model: str = "csa",
    tracking: str = "deterministic",
    seeds_per_voxel: int = 2,
    step_size: float = 0.5,
    max_angle: float = 30.0,
    fa_threshold: float = 0.2,
    seed_fa_threshold: float | None = None,
    brain_mask: Any = None,
    seed_mask: Any = None,
    sh_order: int = 6,
    relative_peak_threshold: float = 0.5,
    min_separation_angle: float = 25.0,
    response_roi_radii: int = 10,
    pmf_threshold: float = 0.1,
    b0_threshold: float = 50.0,
    median_radius: int = 2,
    numpass: int = 1,
    weighting: str = "count",
    log: bool = False,
    min_length: float = 0.0,
    max_length: float | None = None,
    search_radius: float = 2.0,
    self_connections: bool = False,
    seed: int | None = 0,
    qc: bool = True,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> DtiResult:
    """Raw diffusion data -> tractography -> structural connectome (dipy).

    Steps (timed in :attr:`DtiResult.timings`):

    1. ``load``: the 4-D NIfTI and FSL ``bval``/``bvec`` (:func:`load_dwi`);
       the atlas must be on the same grid (shape and affine);
    2. ``mask``: brain mask by dipy's ``median_otsu`` on the b0 volumes
       (or ``brain_mask``);
    3. ``tensor``: weighted-least-squares tensor fit in the mask -> FA;
    4. ``model``: fibre directions in the tracking mask (brain mask and FA >
       ``fa_threshold``, dilated by one voxel): the tensor (``"dti"``),
       constant solid angle ODFs (``"csa"``, Aganj 2010) or constrained
       spherical deconvolution fODFs (``"csd"``, Tournier 2007; response
       from dipy's ``auto_response_ssst``: single-fibre voxels, FA > 0.7,
       within ``response_roi_radii`` voxels of the centre); peaks on dipy's
       ``default_sphere``, and the ODF's spherical-harmonic coefficients;
    5. ``tracking``: dipy ``LocalTracking`` from ``seeds_per_voxel`` seeds
       placed uniformly at random (seeded by ``seed``) in each voxel of the
       seed mask (white matter: FA > ``seed_fa_threshold``, or
       ``seed_mask``), stopped where FA < ``fa_threshold``
       (``ThresholdStoppingCriterion``, FA trilinearly interpolated);
       ``"deterministic"`` follows, within ``max_angle``, the ODF peak
       closest to the incoming direction, peaks being found at every step on
       the ODF interpolated from the SH coefficients
       (``ClosestPeakDirectionGetter.from_shcoeff``; dipy 1.12 deprecates
       passing ``PeaksAndMetrics`` to ``LocalTracking``); ``"probabilistic"``
       samples each step from the ODF within ``max_angle``
       (``ProbabilisticDirectionGetter.from_shcoeff``). Only streamlines that
       ended at the stopping criterion or left the image are kept;
    6. ``connectome``: :func:`connectome_from_tractogram` on the atlas;
    7. ``write``: ``connectome.zip`` (TVB), ``tractogram.trk``, ``qc.png`` and
       ``connectome.json`` in ``out_dir``.

    Parameters
    ----------
    dwi, bval, bvec : path-like
        The diffusion image (4-D NIfTI) and its FSL gradient files.
    atlas : vbrain.atlas.Atlas
        Parcellation on the diffusion grid (same shape and affine).
    out_dir : path-like
        Output folder (created).
    model : {"csa", "csd", "dti"}, default "csa"
    tracking : {"deterministic", "probabilistic"}, default "deterministic"
    seeds_per_voxel : int, default 2
        Seeds in each seed-mask voxel.
    step_size : float, default 0.5
        Tracking step, mm.
    max_angle : float, default 30
        Largest turn between two steps, degrees.
    fa_threshold : float, default 0.2
        Tracking stops where FA falls below it.
    seed_fa_threshold : float, optional
        White-matter seed mask: FA above it (default ``fa_threshold``).
    brain_mask, seed_mask : array-like, nibabel image or path, optional
        Boolean images on the diffusion grid replacing the computed masks.
    sh_order : int, default 6
        Maximal spherical-harmonic order (even) of CSA/CSD and of the ODF
        coefficients used by probabilistic tracking.
    relative_peak_threshold : float, default 0.5
        Peaks smaller than this fraction of the largest are ignored.
    min_separation_angle : float, default 25
        Peaks closer than this (degrees) are merged.
    response_roi_radii : int, default 10
        CSD response: half size (voxels) of the central ROI searched.
    pmf_threshold : float, default 0.1
        dipy's ``pmf_threshold`` of both direction getters: ODF values below
        it are not followed (deterministic) or sampled (probabilistic).
    b0_threshold : float, default 50
        s/mm^2.
    median_radius, numpass : int, default 2 and 1
        ``median_otsu`` filter radius (voxels) and passes.
    weighting, log, min_length, max_length, search_radius, self_connections
        Passed to :func:`connectome_from_tractogram`; ``search_radius``
        defaults to 2 mm here because tracking stops at the white-matter
        boundary, which is often just outside a grey-matter parcel.
    seed : int or None, default 0
        Seeds the seed placement and the tracking (dipy reseeds at every seed
        point from it), so a run is reproducible. The global ``random`` and
        ``numpy.random`` states, which dipy's tracking sets, are restored.
    qc : bool, default True
        Write ``qc.png`` (weights matrix + nilearn glass-brain connectome).
    progress : bool, default True
        tqdm progress bars on fitting and tracking.
    verbose : bool, str, int or None
        Log level for this call.

    Returns
    -------
    DtiResult
        The connectome, the output paths, step timings and counts.

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        Bad inputs (see :func:`load_dwi`), an atlas not on the diffusion grid,
        an empty brain or seed mask, no streamline, or none joining two
        regions.
    """
    with _log_level(verbose):
        check_option("model", model, MODELS)
        check_option("tracking", tracking, TRACKINGS)
        check_option("weighting", weighting, WEIGHTINGS)
        if not isinstance(atlas, Atlas):
            raise TypeError(f"atlas must be a vbrain Atlas, but got {type(atlas).__name__}.")
        if isinstance(seeds_per_voxel, bool) or \
                not isinstance(seeds_per_voxel, (int, np.integer)) or seeds_per_voxel < 1:
            raise ValueError(
                f"seeds_per_voxel must be a positive int, but got {seeds_per_voxel!r}.")
        step_size = check_range("step_size", step_size, 0, low_inclusive=False)
        max_angle = check_range("max_angle", max_angle, 0, 90, low_inclusive=False)
        fa_threshold = check_range("fa_threshold", fa_threshold, 0, 1)
        seed_fa = fa_threshold if seed_fa_threshold is None else \
            check_range("seed_fa_threshold", seed_fa_threshold, 0, 1)
        if isinstance(sh_order, bool) or not isinstance(sh_order, (int, np.integer)) or \
                sh_order < 2 or sh_order % 2:
            raise ValueError(f"sh_order must be an even int >= 2, but got {sh_order!r}.")
        relative_peak_threshold = check_range("relative_peak_threshold",
                                              relative_peak_threshold, 0, 1)
        min_separation_angle = check_range("min_separation_angle", min_separation_angle, 0, 90)
        pmf_threshold = check_range("pmf_threshold", pmf_threshold, 0, 1)
        check_range("search_radius", search_radius, 0)
        check_range("min_length", min_length, 0)
        rng = check_random_state(seed)
        out = Path(out_dir)
        params = {k: v for k, v in locals().items() if k in _RECORDED}
        params["seed_fa_threshold"] = seed_fa
        if not (seed is None or isinstance(seed, (int, np.integer))):
            params["seed"] = f"given ({type(seed).__name__})"
        params["brain_mask"] = _describe_mask(brain_mask, "median_otsu")
        params["seed_mask"] = _describe_mask(seed_mask, "FA > seed_fa_threshold in the brain mask")
        timings: dict[str, float] = {}
        stats: dict[str, Any] = {}

        with _timed(timings, "load"):
            dw = load_dwi(dwi, bval, bvec, b0_threshold=b0_threshold)
            shape = dw.data.shape[:3]
            check_reference(dw.affine, shape, atlas, f"the diffusion image {os.fspath(dwi)!r}")

        with _timed(timings, "mask"):
            if brain_mask is None:
                mask = brain_mask_otsu(dw, median_radius=median_radius, numpass=numpass)
            else:
                mask = _mask_image(brain_mask, shape, dw.affine, "brain mask")
            if not mask.any():
                raise ValueError(f"The brain mask of {os.fspath(dwi)!r} is empty.")
            stats["n_brain_voxels"] = int(mask.sum())

        with _timed(timings, "tensor"):
            fa = fit_fa(dw, mask, progress=progress)

        with _timed(timings, "model"), _quiet_dipy():
            from scipy import ndimage

            track_mask = ndimage.binary_dilation(fa > fa_threshold) & mask
            stats["n_tracking_voxels"] = int(track_mask.sum())
            if not track_mask.any():
                raise ValueError(
                    f"No voxel of {os.fspath(dwi)!r} has FA > fa_threshold={fa_threshold} in the "
                    f"brain mask (largest FA {float(fa.max()):.3g}): nothing to track."
                )
            pam = fit_peaks(dw, track_mask, model=model, sh_order=sh_order,
                            relative_peak_threshold=relative_peak_threshold,
                            min_separation_angle=min_separation_angle,
                            response_roi_radii=response_roi_radii, progress=progress)

        with _timed(timings, "tracking"), _quiet_dipy():
            if seed_mask is None:
                seeds_in = (fa > seed_fa) & mask
            else:
                seeds_in = _mask_image(seed_mask, shape, dw.affine, "seed mask")
            if not seeds_in.any():
                raise ValueError(f"The seed mask is empty (no voxel with FA > {seed_fa} in the "
                                 f"brain mask of {os.fspath(dwi)!r}).")
            seeds = seed_points(seeds_in, dw.affine, int(seeds_per_voxel), rng)
            stats["n_seed_voxels"] = int(seeds_in.sum())
            stats["n_seeds"] = int(len(seeds))
            track_seed = int(rng.integers(2**31 - 1))
            streamlines = track(pam, fa, seeds, dw.affine, tracking=tracking, max_angle=max_angle,
                                fa_threshold=fa_threshold, step_size=step_size,
                                pmf_threshold=pmf_threshold,
                                relative_peak_threshold=relative_peak_threshold,
                                min_separation_angle=min_separation_angle, seed=track_seed,
                                progress=progress)
            stats["n_streamlines"] = len(streamlines)
            if len(streamlines) == 0:
                raise ValueError(f"Tracking on {os.fspath(dwi)!r} produced no streamline from "
                                 f"{len(seeds)} seeds; lower fa_threshold or check the data.")

        with _timed(timings, "connectome"):
            from .dti_tractography import TractogramData

            data = TractogramData(streamlines, dw.affine, tuple(shape), "the tracked streamlines")
            counted = _count_pairs(data, atlas, min_length=min_length, max_length=max_length,
                                   search_radius=search_radius,
                                   self_connections=self_connections)
            stats.update(counted.stats)
            conn = _connectome(counted, atlas, weighting=weighting, log=log,
                               name=f"dti {model} {tracking} {Path(dwi).name}")

        with _timed(timings, "write"):
            out.mkdir(parents=True, exist_ok=True)
            conn_path = conn.save(out / "connectome.zip")
            trk_path = save_trk(streamlines, out / "tractogram.trk", dw.affine, tuple(shape))
            qc_path = write_qc(conn, out / "qc.png") if qc else None
        prov_path = out / "connectome.json"
        _write_provenance(
            prov_path,
            inputs={"dwi": dwi, "bval": bval, "bvec": bvec,
                    "atlas": getattr(atlas.image, "get_filename", lambda: None)(),
                    **{name: m for name, m in (("brain_mask", brain_mask),
                                               ("seed_mask", seed_mask))
                       if isinstance(m, (str, os.PathLike))}},
            outputs={"connectome": conn_path, "tractogram": trk_path, "qc": qc_path},
            parameters=params, stats=stats, timings=timings, connectome=conn,
        )
        logger.info("run_dti: %s -> %s (%s)", os.fspath(dwi), conn_path,
                    ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
        return DtiResult(conn, Path(conn_path), trk_path, qc_path, prov_path, timings, stats)


_RECORDED = (
    "model", "tracking", "seeds_per_voxel", "step_size", "max_angle", "fa_threshold",
    "sh_order", "relative_peak_threshold", "min_separation_angle",
    "response_roi_radii", "pmf_threshold", "b0_threshold", "median_radius", "numpass",
    "weighting", "log", "min_length", "max_length", "search_radius", "self_connections", "seed",
)


def _describe_mask(mask: Any, default: str) -> str:
    if mask is None:
        return default
    if isinstance(mask, (str, os.PathLike)):
        return os.fspath(mask)
    return f"given ({type(mask).__name__})"


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = time.perf_counter() - t0


# ------------------------------------------------------------------- steps
def brain_mask_otsu(dw: DwiData, *, median_radius: int = 2, numpass: int = 1) -> np.ndarray:
    """Brain mask from the b0 volumes by dipy's ``median_otsu``.

    Parameters
    ----------
    dw : DwiData
    median_radius : int, default 2
        Median filter radius, voxels.
    numpass : int, default 1
        Median filter passes.

    Returns
    -------
    mask : ndarray of bool, (x, y, z)
    """
    from dipy.segment.mask import median_otsu

    b0 = np.flatnonzero(dw.gtab.b0s_mask)
    _, mask = median_otsu(dw.data, vol_idx=b0, median_radius=int(median_radius),
                          numpass=int(numpass))
    return np.asarray(mask, dtype=bool)


def fit_fa(dw: DwiData, mask: np.ndarray, *, progress: bool = True) -> np.ndarray:
    """Fractional anisotropy of a WLS tensor fit in ``mask`` (0 outside and where undefined).

    Returns
    -------
    fa : ndarray float64, (x, y, z)
    """
    from dipy.reconst.dti import TensorModel
    from tqdm.auto import tqdm

    tm = TensorModel(dw.gtab, fit_method="WLS")
    vox = dw.data[mask]
    fa_vox = np.zeros(len(vox))
    for lo in tqdm(range(0, len(vox), FIT_CHUNK), desc="tensor fit", unit="chunk",
                   disable=not progress, leave=False):
        with np.errstate(divide="ignore", invalid="ignore"):
            fa_vox[lo:lo + FIT_CHUNK] = tm.fit(vox[lo:lo + FIT_CHUNK]).fa
    fa = np.zeros(mask.shape)
    fa[mask] = np.clip(np.nan_to_num(fa_vox, nan=0.0), 0.0, 1.0)
    return fa


def fit_peaks(dw: DwiData, mask: np.ndarray, *, model: str = "csa", sh_order: int = 6,
              relative_peak_threshold: float = 0.5, min_separation_angle: float = 25.0,
              response_roi_radii: int = 10, npeaks: int = 3, progress: bool = True) -> Any:
    """Fit a direction model in ``mask`` and extract ODF peaks and SH coefficients.

    The result is what :func:`dipy.direction.peaks_from_model` returns (a
    ``PeaksAndMetrics``: peak directions, values and indices, GFA, QA and the
    ODF's SH coefficients, descoteaux07 basis), computed in chunks of voxels
    (vectorised fits, a progress bar). :func:`track` uses ``shm_coeff``; the
    peaks serve QC and dipy's own trackers (``dipy.tracking.tracker``).

    Parameters
    ----------
    dw : DwiData
    mask : ndarray of bool
        Voxels to fit.
    model : {"csa", "csd", "dti"}
    sh_order, relative_peak_threshold, min_separation_angle, response_roi_radii
        See :func:`run_dti`.
    npeaks : int, default 3
        Peaks kept per voxel.
    progress : bool, default True

    Returns
    -------
    dipy.direction.peaks.PeaksAndMetrics
    """
    from dipy.data import default_sphere
    from dipy.direction.peaks import PeaksAndMetrics, peak_directions
    from dipy.reconst.odf import gfa
    from dipy.reconst.shm import sh_to_sf_matrix
    from tqdm.auto import tqdm

    check_option("model", model, MODELS)
    sphere = default_sphere
    fitter = _direction_model(dw, mask, model, sh_order, response_roi_radii)
    B, invB = sh_to_sf_matrix(sphere, sh_order_max=sh_order, return_inv=True)
    shape = mask.shape
    vox = dw.data[mask]
    n = len(vox)
    n_coef = (sh_order + 2) * (sh_order + 1) // 2
    shm = np.zeros((n, n_coef))
    gfa_v = np.zeros(n)
    dirs = np.zeros((n, npeaks, 3))
    vals = np.zeros((n, npeaks))
    inds = np.full((n, npeaks), -1, dtype=np.int32)
    qa = np.zeros((n, npeaks))
    for lo in tqdm(range(0, n, FIT_CHUNK), desc=f"{model} fit", unit="chunk",
                   disable=not progress, leave=False):
        hi = min(lo + FIT_CHUNK, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            odf = np.asarray(fitter.fit(vox[lo:hi]).odf(sphere), dtype=np.float64)
        odf = np.nan_to_num(odf, nan=0.0, posinf=0.0, neginf=0.0)
        shm[lo:hi] = odf @ invB
        with np.errstate(divide="ignore", invalid="ignore"):
            gfa_v[lo:hi] = np.nan_to_num(gfa(odf))
        for k in range(hi - lo):
            d, pk, ind = peak_directions(odf[k], sphere,
                                         relative_peak_threshold=relative_peak_threshold,
                                         min_separation_angle=min_separation_angle)
            m = min(npeaks, len(pk))
            if m:
                dirs[lo + k, :m] = d[:m]
                vals[lo + k, :m] = pk[:m]
                inds[lo + k, :m] = ind[:m]
                qa[lo + k, :m] = pk[:m] - odf[k].min()
    global_max = vals[:, 0].max() if n else 0.0
    if global_max > 0:
        qa /= global_max

    def volume(arr: np.ndarray, fill: float = 0) -> np.ndarray:
        full = np.full(shape + arr.shape[1:], fill, dtype=arr.dtype)
        full[mask] = arr
        return full

    pam = PeaksAndMetrics()
    pam.sphere = sphere
    pam.peak_dirs = volume(dirs)
    pam.peak_values = volume(vals)
    pam.peak_indices = volume(inds, -1)
    pam.gfa = volume(gfa_v)
    pam.qa = volume(qa)
    pam.shm_coeff = volume(shm)
    pam.B = B
    pam.odf = None
    return pam


def _direction_model(dw: DwiData, mask: np.ndarray, model: str, sh_order: int,
                     response_roi_radii: int) -> Any:
    if model == "dti":
        from dipy.reconst.dti import TensorModel

        return TensorModel(dw.gtab, fit_method="WLS")
    n_coef = (sh_order + 2) * (sh_order + 1) // 2
    n_dw = int((~dw.gtab.b0s_mask).sum())
    if n_dw < n_coef:
        raise ValueError(f"sh_order={sh_order} needs at least {n_coef} diffusion-weighted "
                         f"volumes, but the data has {n_dw}; lower sh_order.")
    if model == "csa":
        from dipy.reconst.shm import CsaOdfModel

        return CsaOdfModel(dw.gtab, sh_order_max=sh_order)
    from dipy.reconst.csdeconv import ConstrainedSphericalDeconvModel, auto_response_ssst

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            response, ratio = auto_response_ssst(
                dw.gtab, dw.data, roi_radii=int(response_roi_radii), fa_thr=0.7)
    except Exception as err:  # dipy fails when no voxel qualifies
        raise ValueError(
            "Could not estimate the CSD fibre response (no single-fibre voxel with FA > 0.7 "
            f"within {response_roi_radii} voxels of the image centre): {err}. Raise "
            "response_roi_radii or use model='csa'."
        ) from err
    if not np.all(np.isfinite(response[0])) or ratio <= 0:
        raise ValueError(
            "Could not estimate the CSD fibre response (no single-fibre voxel with FA > 0.7 "
            f"within {response_roi_radii} voxels of the image centre). Raise response_roi_radii "
            "or use model='csa'."
        )
    logger.info("CSD response: eigenvalues %s mm^2/s, S0 %.4g (ratio %.3f)",
                np.round(response[0], 6).tolist(), float(response[1]), ratio)
    return ConstrainedSphericalDeconvModel(dw.gtab, response, sh_order_max=sh_order)


def seed_points(mask: np.ndarray, affine: np.ndarray, seeds_per_voxel: int,
                seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``seeds_per_voxel`` points uniform at random in each voxel of ``mask``, in mm.

    Parameters
    ----------
    mask : ndarray of bool, (x, y, z)
    affine : ndarray (4, 4)
        Voxel-to-world.
    seeds_per_voxel : int
    seed : int, Generator or None
        Random state (the same seed gives the same points).

    Returns
    -------
    seeds : ndarray (n_voxels * seeds_per_voxel, 3)
        World coordinates (mm), voxel by voxel in C order.
    """
    rng = check_random_state(seed)
    ijk = np.argwhere(mask).astype(np.float64)
    pts = np.repeat(ijk, int(seeds_per_voxel), axis=0)
    pts += rng.random(pts.shape) - 0.5
    return pts @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]


def track(pam: Any, fa: np.ndarray, seeds: np.ndarray, affine: np.ndarray, *,
          tracking: str = "deterministic", max_angle: float = 30.0, fa_threshold: float = 0.2,
          step_size: float = 0.5, pmf_threshold: float = 0.1,
          relative_peak_threshold: float = 0.5, min_separation_angle: float = 25.0,
          seed: int = 0, progress: bool = True) -> Any:
    """Local tracking from ``seeds`` (mm) stopped where FA < ``fa_threshold``.

    ``pam.shm_coeff`` (from :func:`fit_peaks`) gives the directions; the
    options are those of :func:`run_dti`. dipy reseeds its generators at every
    seed point from ``seed``; the global ``random``/``numpy.random`` states are
    restored afterwards.

    Returns
    -------
    streamlines : nibabel.streamlines.ArraySequence
        In world (RAS+) mm. Only streamlines that ended at the stopping
        criterion or left the image.
    """
    from dipy.direction import ClosestPeakDirectionGetter, ProbabilisticDirectionGetter
    from dipy.tracking.local_tracking import LocalTracking
    from dipy.tracking.stopping_criterion import ThresholdStoppingCriterion
    from nibabel.streamlines import ArraySequence
    from tqdm.auto import tqdm

    check_option("tracking", tracking, TRACKINGS)
    kind = ClosestPeakDirectionGetter if tracking == "deterministic" else \
        ProbabilisticDirectionGetter
    getter = kind.from_shcoeff(pam.shm_coeff, max_angle=float(max_angle), sphere=pam.sphere,
                               pmf_threshold=float(pmf_threshold),
                               relative_peak_threshold=float(relative_peak_threshold),
                               min_separation_angle=float(min_separation_angle))
    criterion = ThresholdStoppingCriterion(np.ascontiguousarray(fa, dtype=np.float64),
                                           float(fa_threshold))
    maxlen = int(np.ceil(MAX_TRACK_LENGTH / step_size))
    out: list[np.ndarray] = []
    with _restore_global_rng(), tqdm(total=len(seeds), desc=f"{tracking} tracking",
                                     unit="seed", disable=not progress, leave=False) as bar:
        for lo in range(0, len(seeds), TRACK_CHUNK):
            chunk = seeds[lo:lo + TRACK_CHUNK]
            gen = LocalTracking(getter, criterion, chunk, affine, step_size, max_cross=1,
                                maxlen=maxlen, return_all=False, random_seed=int(seed))
            out.extend(np.asarray(s, dtype=np.float32) for s in gen if len(s) > 1)
            bar.update(len(chunk))
    return ArraySequence(out)


@contextmanager
def _quiet_dipy() -> Iterator[None]:
    """Silence dipy's notice that its (default) legacy SH basis will be deprecated.

    CSA/CSD models, the SH matrices and the probabilistic getter all use that
    basis by default, so they agree with one another; the notice is not
    actionable here.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The legacy descoteaux07 SH basis",
                                category=PendingDeprecationWarning)
        yield


@contextmanager
def _restore_global_rng() -> Iterator[None]:
    """dipy's tracking reseeds ``random`` and ``numpy.random``; put their states back."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


# ========================================================================= QC
def write_qc(conn: Connectome, path: str | os.PathLike[str]) -> Path:
    """Save a QC figure: the weights matrix and a nilearn glass-brain connectome.

    Parameters
    ----------
    conn : Connectome
        Centres in mm (nilearn draws them on an MNI glass brain).
    path : path-like
        PNG file.

    Returns
    -------
    Path
    """
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(12, 4.8))
    FigureCanvasAgg(fig)
    ax_m = fig.add_axes((0.06, 0.12, 0.3, 0.78))
    w = np.asarray(conn.weights)
    im = ax_m.imshow(np.log1p(w), cmap="viridis", interpolation="nearest")
    n = conn.n_regions
    if n <= 40:
        ax_m.set_xticks(range(n), conn.labels, rotation=90, fontsize=7)
        ax_m.set_yticks(range(n), conn.labels, fontsize=7)
    ax_m.set_xlabel("source region j")
    ax_m.set_ylabel("target region i")
    ax_m.set_title(f"log(1 + weights), {n} regions")
    fig.colorbar(im, ax=ax_m, fraction=0.046, pad=0.04)
    ax_g = fig.add_axes((0.42, 0.05, 0.56, 0.9))
    try:
        from nilearn import plotting

        sym = (w + w.T) / 2.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nilearn warns about matrix/colour details
            plotting.plot_connectome(sym, np.asarray(conn.centres), figure=fig, axes=ax_g,
                                     display_mode="ortho", node_size=20,
                                     title=f"{conn.name or 'connectome'}: edges",
                                     colorbar=False)
    except Exception as err:  # the matrix is the primary QC; log and keep it
        logger.warning("QC glass-brain plot failed (%s: %s); the figure has the matrix only.",
                       type(err).__name__, err)
        ax_g.set_axis_off()
    fig.savefig(path, dpi=100)
    return path


# ================================================================ provenance
def _write_provenance(path: Path, *, inputs: dict[str, Any], outputs: dict[str, Any],
                      parameters: dict[str, Any], stats: dict[str, Any],
                      timings: dict[str, float], connectome: Connectome) -> Path:
    """JSON sidecar (:mod:`.provenance` record) plus outputs, counts, timings, checksum."""
    from importlib import metadata

    from . import provenance

    records = [{"role": role, **provenance.file_record(p)}
               for role, p in inputs.items() if p is not None]
    record = provenance.make_provenance("dti", records, parameters)
    try:
        record["versions"]["trx-python"] = metadata.version("trx-python")
    except metadata.PackageNotFoundError:
        pass
    record["generated_by"] = "vbrain.pipelines.dti.run_dti"
    record["outputs"] = {k: None if v is None else Path(v).name for k, v in outputs.items()}
    record["stats"] = stats
    record["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    record["connectome"] = {"n_regions": connectome.n_regions,
                            "checksum": connectome.checksum(),
                            "labels": list(connectome.labels)}
    return provenance.write_json(path, record, overwrite=True)


# ================================================================== phantom
@dataclass(frozen=True)
class DwiPhantom:
    """A synthetic diffusion data set written by :func:`make_dwi_phantom`.

    Attributes
    ----------
    dwi, bval, bvec, labels : Path
        The 4-D NIfTI, FSL gradient files and the label image (NIfTI).
    atlas : vbrain.atlas.Atlas
        The parcellation (regions ``"P1"`` .. ``"P8"``).
    edges : dict of (str, str) to float
        The true connections (region pair) and their bundle lengths in mm.
    """

    dwi: Path
    bval: Path
    bvec: Path
    labels: Path
    atlas: Atlas
    edges: dict[tuple[str, str], float]


def make_dwi_phantom(out_dir: str | os.PathLike[str], *, snr: float = 30.0, bval: float = 1000.0,
                     n_directions: int = 60, seed: int = 0) -> DwiPhantom:
    """Write a small diffusion phantom with three known fibre bundles.

    A 32 x 32 x 12 grid of 2 mm voxels (centred on the origin): a "brain"
    (elliptic cylinder, isotropic tissue, D = 0.8e-3 mm^2/s) in an empty
    background, holding three bundles of 3 x 3 voxel cross-section (single
    fibre, eigenvalues (1.7, 0.3, 0.3)e-3 mm^2/s, dipy's multi-tensor
    model):

    - A along x (44 mm) from parcel P1 to P2 and B along y (44 mm) from P3 to
      P4, crossing A at 90 degrees (two fibres 50/50 in the crossing voxels);
    - C, an arc of radius 20 mm over 140 degrees (48.9 mm) from P5 to P6, in
      other slices;

    plus two parcels no bundle reaches (P7, P8). Parcels are boxes holding
    each bundle's last voxels and the tissue beyond. Signals: S0 = 100, two b0
    volumes and ``n_directions`` directions at ``bval`` (charge-dispersed,
    seeded), Rician noise of sigma = S0 / ``snr``.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``dti_phantom.nii.gz``, ``.bval``, ``.bvec`` and
        ``dti_phantom_labels.nii.gz`` (created).
    snr : float, default 30
        b0 signal-to-noise ratio (S0 / sigma).
    bval : float, default 1000
        s/mm^2.
    n_directions : int, default 60
    seed : int, default 0
        Noise and gradient directions.

    Returns
    -------
    DwiPhantom
    """
    import nibabel as nib
    from dipy.core.gradients import generate_bvecs, gradient_table
    from dipy.sims.voxel import multi_tensor

    rng = check_random_state(seed)
    snr = check_range("snr", snr, 0, low_inclusive=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shape = (32, 32, 12)
    vox = 2.0
    affine = np.diag([vox, vox, vox, 1.0])
    affine[:3, 3] = -vox * (np.array(shape) - 1) / 2.0
    bvecs = np.vstack([np.zeros((2, 3)), generate_bvecs(int(n_directions), iters=1000, rng=rng)])
    bvals = np.r_[0.0, 0.0, np.full(int(n_directions), float(bval))]
    gtab = gradient_table(bvals, bvecs=bvecs)
    s0 = 100.0
    fibre = np.array([1.7e-3, 0.3e-3, 0.3e-3])
    tissue = np.array([0.8e-3, 0.8e-3, 0.8e-3])

    def signal(angles: list[tuple[float, float]], fractions: list[float]) -> np.ndarray:
        sig, _ = multi_tensor(gtab, np.array([fibre] * len(angles)), S0=s0, angles=angles,
                              fractions=fractions, snr=None)
        return sig

    i, j, k = np.indices(shape)
    brain = ((i - 15.5) / 15.5) ** 2 + ((j - 15.5) / 15.5) ** 2 <= 1.0
    iso, _ = multi_tensor(gtab, np.array([tissue]), S0=s0, angles=[(0, 0)], fractions=[100],
                          snr=None)
    data = np.zeros(shape + (len(bvals),))
    data[brain] = iso
    a = (i >= 5) & (i <= 26) & (j >= 14) & (j <= 16) & (k >= 2) & (k <= 4)
    b = (j >= 5) & (j <= 26) & (i >= 14) & (i <= 16) & (k >= 2) & (k <= 4)
    data[a & ~b] = signal([(90, 0)], [100])            # along x
    data[b & ~a] = signal([(90, 90)], [100])           # along y
    data[a & b] = signal([(90, 0), (90, 90)], [50, 50])
    # arc C: centre (15.5, 15.5) voxels, radius 10 voxels, angles 200..340 degrees
    radius, t0, t1 = 10.0, np.deg2rad(200.0), np.deg2rad(340.0)
    dx, dy = i - 15.5, j - 15.5
    theta = np.mod(np.arctan2(dy, dx), 2 * np.pi)
    c = (np.abs(np.hypot(dx, dy) - radius) <= 1.2) & (theta >= t0) & (theta <= t1) & \
        (k >= 8) & (k <= 10)
    for idx in np.argwhere(c):
        th = theta[tuple(idx)]
        phi = np.rad2deg(th) + 90.0  # tangent direction in the xy plane
        data[tuple(idx)] = signal([(90, phi)], [100])
    sigma = s0 / snr
    noisy = np.sqrt((data + sigma * rng.standard_normal(data.shape)) ** 2
                    + (sigma * rng.standard_normal(data.shape)) ** 2)

    labels = np.zeros(shape, dtype=np.int16)

    def box(value: int, x: tuple[int, int], y: tuple[int, int], z: tuple[int, int]) -> None:
        labels[x[0]:x[1] + 1, y[0]:y[1] + 1, z[0]:z[1] + 1] = value

    box(1, (2, 7), (12, 18), (1, 5))    # A start
    box(2, (24, 29), (12, 18), (1, 5))  # A end
    box(3, (12, 18), (2, 7), (1, 5))    # B start
    box(4, (12, 18), (24, 29), (1, 5))  # B end
    box(5, (4, 9), (10, 15), (7, 11))   # C at 200 degrees: (6.1, 12.1)
    box(6, (22, 27), (10, 15), (7, 11))  # C at 340 degrees: (24.9, 12.1)
    box(7, (22, 27), (21, 26), (1, 5))  # unconnected
    box(8, (12, 17), (21, 26), (7, 11))  # unconnected

    dwi_p = out / "dti_phantom.nii.gz"
    bval_p = out / "dti_phantom.bval"
    bvec_p = out / "dti_phantom.bvec"
    lab_p = out / "dti_phantom_labels.nii.gz"
    img = nib.Nifti1Image(noisy.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, os.fspath(dwi_p))
    limg = nib.Nifti1Image(labels, affine)
    limg.header.set_xyzt_units("mm", "sec")
    nib.save(limg, os.fspath(lab_p))
    bval_p.write_text(" ".join(f"{v:g}" for v in bvals) + "\n")
    bvec_p.write_text("\n".join(" ".join(f"{v:.8f}" for v in row) for row in bvecs.T) + "\n")
    names = [f"P{n}" for n in range(1, 9)]
    atlas = Atlas(lab_p, names, name="dti phantom")
    edges = {("P1", "P2"): 22 * vox, ("P3", "P4"): 22 * vox,
             ("P5", "P6"): float(radius * vox * (t1 - t0))}
    return DwiPhantom(dwi_p, bval_p, bvec_p, lab_p, atlas, edges)
