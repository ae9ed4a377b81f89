"""Region time series -> voxel images: simulated BOLD as a 4-D NIfTI.

The one place where vbrain's ms become seconds: the NIfTI header carries the
repetition time in seconds (``pixdim[4]``, ``xyzt_units`` = mm + sec), as
nilearn, fMRIPrep and FSL expect.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .._check import check_array, check_range, suggest, validate_type
from ..atlas import Atlas

__all__ = ["bold_to_nifti"]

logger = logging.getLogger(__name__)


def bold_to_nifti(bold: Any, atlas: Atlas, *, tr: float | None = None) -> Any:
    """Write region time series into the voxels of their parcels: a 4-D NIfTI image.

    Parameters
    ----------
    bold : xarray.DataArray or ndarray
        Dims (time, region) or, as the BOLD monitors return it,
        (time, variable, region) with one variable. Regions are matched to
        the atlas by their ``region`` coordinate labels; an ndarray (or a
        DataArray without region labels) must list the atlas regions in
        the atlas order. One batch member at a time (``bold.isel(batch=0)``).
    atlas : Atlas
        The parcellation; its grid and affine become the image's.
    tr : float, optional
        Repetition time, ms. Default: the spacing of the ``time`` coordinate
        (ms), which must be uniform, or the array's ``tr_ms`` attribute.

    Returns
    -------
    nibabel.Nifti1Image
        float32, shape ``atlas.shape + (n_time,)``: every voxel of a parcel
        carries its region's series, background voxels 0 (so do parcels
        ``bold`` lacks, logged); affine = the atlas affine (mm); header
        ``pixdim[4]`` = tr / 1000 (s) and ``xyzt_units`` = ("mm", "sec").

    Raises
    ------
    ValueError
        For other dims, several variables or batch members, regions the
        atlas lacks (named), a region count that differs from the atlas
        (without labels), NaN/Inf values or values beyond float32, or a TR
        that cannot be determined or is not uniform.
    TypeError
        Values that are not numbers.

    Examples
    --------
    >>> img = bold_to_nifti(res["bold"].sel(time=slice(20_000, None)), atlas)  # doctest: +SKIP
    >>> img.to_filename("sim_bold.nii.gz")                                     # doctest: +SKIP
    """
    import nibabel as nib

    validate_type("atlas", atlas, Atlas)
    series, regions, times, attrs = _as_time_region(bold)
    n_time, n_reg = series.shape
    if regions is None:
        if n_reg != atlas.n_regions:
            raise ValueError(
                f"bold has {n_reg} regions but no region labels, and the atlas has "
                f"{atlas.n_regions} regions; give labels (a DataArray with a 'region' "
                "coordinate) or one series per atlas region in atlas order."
            )
        rows = np.arange(n_reg)
    else:
        position = {lab: i for i, lab in enumerate(atlas.labels)}
        missing = [r for r in regions if r not in position]
        if missing:
            shown = ", ".join(repr(r) for r in missing[:20]) + (" ..." if len(missing) > 20 else "")
            raise ValueError(
                f"The atlas has no parcel for {len(missing)} bold region(s): {shown}."
                f"{suggest(missing[0], atlas.labels)} Match the atlas to the connectome "
                "(Atlas.match) or check the labels."
            )
        if len(set(regions)) != len(regions):
            raise ValueError("bold's region labels are not unique.")
        rows = np.array([position[r] for r in regions])
        absent = [lab for lab in atlas.labels if lab not in set(regions)]
        if absent:
            logger.info("bold_to_nifti: %d atlas parcel(s) have no series and stay 0: %s",
                        len(absent), absent[:20])
    tr_ms = _repetition_time(tr, times, attrs)

    table = np.zeros((atlas.n_regions + 1, n_time), dtype=np.float32)
    table[rows + 1] = series.T  # row 0: background
    data = table[atlas.region_indices() + 1]  # (x, y, z, time), float32

    affine = atlas.affine
    img = nib.Nifti1Image(data, affine)
    header = img.header
    header.set_data_dtype(np.float32)
    header.set_xyzt_units("mm", "sec")
    zooms = tuple(float(z) for z in nib.affines.voxel_sizes(affine))
    header.set_zooms(zooms + (tr_ms / 1000.0,))
    src = getattr(atlas.image, "header", None)
    if src is not None and hasattr(src, "get_sform"):  # keep the atlas' space codes
        _, scode = src.get_sform(coded=True)
        _, qcode = src.get_qform(coded=True)
        img.set_sform(affine, code=int(scode) if scode else "aligned")
        img.set_qform(affine, code=int(qcode) if qcode else "aligned")
    header["descrip"] = b"vbrain simulated BOLD"
    return img


def _as_time_region(bold: Any) -> tuple[np.ndarray, list[str] | None, np.ndarray | None, dict]:
    """(series (time, region) float64, region labels or None, times (ms) or None, attrs)."""
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(bold, xr.DataArray):
        dims = list(bold.dims)
        if "batch" in dims:
            raise ValueError(f"bold has a batch dim of {bold.sizes['batch']} members; pass one "
                             "member, e.g. bold.isel(batch=0).")
        if "variable" in dims:
            if bold.sizes["variable"] != 1:
                raise ValueError(f"bold has {bold.sizes['variable']} variables; select one, e.g. "
                                 "bold.isel(variable=0).")
            bold = bold.isel(variable=0)
            dims.remove("variable")
        if sorted(dims) != ["region", "time"]:
            raise ValueError(f"bold must have dims (time, region) or (time, variable, region), "
                             f"but has {tuple(bold.dims)}.")
        bold = bold.transpose("time", "region")
        regions = None
        if "region" in bold.coords:
            labels = bold["region"].values
            if labels.dtype.kind in "USO":
                regions = [str(r) for r in labels]
        times = bold["time"].values.astype(np.float64) if "time" in bold.coords else None
        return _finite_float32(bold.values), regions, times, dict(bold.attrs)
    arr = _finite_float32(bold)
    if arr.ndim == 3 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 2:
        raise ValueError(f"bold must be (time, region) or (time, 1, region), got shape {arr.shape}.")
    return arr, None, None, {}


def _finite_float32(values: Any) -> np.ndarray:
    """float64 copy of ``values``; NaN/Inf or values float32 (the image's type) cannot hold raise."""
    arr = check_array("bold", values)
    big = np.abs(arr) > np.finfo(np.float32).max
    if np.any(big):
        raise ValueError(f"bold has {np.count_nonzero(big)} value(s) beyond the float32 range of "
                         f"the image, the first at index {tuple(int(i) for i in np.argwhere(big)[0])}.")
    return arr


def _repetition_time(tr: float | None, times: np.ndarray | None, attrs: dict) -> float:
    """TR in ms: given, else from uniform time stamps, else from a ``tr_ms`` attribute."""
    if tr is not None:
        return check_range("tr", tr, 0.0, low_inclusive=False)
    if times is not None and times.size >= 2:
        steps = np.diff(times)
        if np.any(steps <= 0):
            raise ValueError("bold's time stamps must increase, but they do not (e.g. at "
                             f"index {int(np.argmax(steps <= 0)) + 1}).")
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9) or steps[0] <= 0:
            raise ValueError(
                f"bold's time stamps are not uniformly spaced (steps from {steps.min():g} to "
                f"{steps.max():g} ms); pass tr= (ms) explicitly."
            )
        return float(steps[0])
    if "tr_ms" in attrs:
        return check_range("bold.attrs['tr_ms']", attrs["tr_ms"], 0.0, low_inclusive=False)
    raise ValueError("Cannot tell the repetition time from bold (fewer than 2 time stamps and "
                     "no 'tr_ms' attribute); pass tr= in ms.")
