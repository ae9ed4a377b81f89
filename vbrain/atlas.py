"""Parcellations: a label image and the names of its parcels (regions).

An :class:`Atlas` ties a 3-D integer label image (NIfTI, any image nibabel
reads) to region names, so that region-level quantities (a connectome's
regions, simulated BOLD) can be placed in voxel space and voxel data reduced
to regions. Conventions:

- label value 0 is the background; every other value named in ``labels`` is
  one parcel (region); the region order is the order of ``labels`` (a list:
  values 1, 2, ...; a dict: its insertion order), and :meth:`Atlas.match`
  reorders to a connectome's regions;
- world coordinates come from the image affine and are in mm (an image whose
  NIfTI header declares metres or microns is rescaled to mm);
- volumes in mm^3.

Readers of label tables (FreeSurfer LUT, FSL XML, TSV) and resampling to
another grid build on this class (``Atlas.from_*`` constructors), keeping
``Atlas(image, labels)`` the one way in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._check import check_option, suggest

__all__ = ["Atlas"]

logger = logging.getLogger(__name__)

#: NIfTI spatial units -> factor to mm
_TO_MM = {"mm": 1.0, "meter": 1000.0, "micron": 1e-3, "unknown": 1.0, None: 1.0}


class Atlas:
    """A parcellation: a 3-D integer label image and its region names.

    Parameters
    ----------
    image : nibabel image or path-like
        The label image (3-D; trailing axes of length 1 are dropped). Its
        values must be integers (integer dtype, or a float image holding
        whole numbers, as many tools store labels); 0 is the background.
    labels : dict of int to str, or sequence of str
        Region names: ``{label value: name}`` (region order = dict order), or
        a list of names for the values 1, 2, ..., n in that order.
    unnamed : {"error", "background"}, default "error"
        What to do with non-zero image values that ``labels`` does not name:
        raise, or treat those voxels as background.
    name : str, optional
        A name for the atlas (e.g. "aal", "desikan-killiany").

    Attributes
    ----------
    labels : tuple of str
        Region names, in region order.
    values : ndarray of int64
        The label value of each region.
    affine : ndarray (4, 4)
        Voxel to world (mm) transform.
    shape : tuple of 3 int
        Image grid.

    Raises
    ------
    ValueError
        If the image is not 3-D, holds non-integer values, has non-zero values
        ``labels`` does not name (with ``unnamed="error"``), if a named value
        has no voxel (an empty parcel), or if ``labels`` is malformed
        (duplicate or empty names, value 0 or negative).

    Examples
    --------
    >>> atlas = Atlas("parcellation.nii.gz", {1: "lh_V1", 2: "rh_V1"})  # doctest: +SKIP
    >>> atlas.region_volumes()                                         # doctest: +SKIP
    array([5123., 5087.])
    >>> atlas = atlas.match(conn)          # region order of the connectome  # doctest: +SKIP
    """

    def __init__(self, image: Any, labels: Mapping[int, str] | Sequence[str], *,
                 unnamed: str = "error", name: str = "") -> None:
        check_option("unnamed", unnamed, ("error", "background"))
        self._image = _load_image(image)
        self.name = str(name)
        self.unnamed = unnamed
        data = _integer_labels(self._image)
        self._values, self._labels = _check_labels(labels)
        present, counts = np.unique(data, return_counts=True)
        extra = np.setdiff1d(present[present != 0], self._values)
        if extra.size and unnamed == "error":
            shown = ", ".join(str(int(v)) for v in extra[:20]) + (" ..." if extra.size > 20 else "")
            raise ValueError(
                f"The label image has {extra.size} non-zero value(s) that labels does not name: "
                f"[{shown}]. Name them in labels, set those voxels to 0, or pass "
                "unnamed='background' to ignore them."
            )
        found = set(present.tolist())
        empty = [i for i, v in enumerate(self._values.tolist()) if v not in found]
        if empty:
            shown = ", ".join(f"{self._labels[i]!r} (value {int(self._values[i])})"
                              for i in empty[:20])
            raise ValueError(
                f"{len(empty)} parcel(s) named in labels have no voxels in the label image "
                f"(empty parcels): {shown}. Remove them from labels or check the image."
            )
        lookup = dict(zip(present.tolist(), counts.tolist()))
        self._counts = np.array([lookup[int(v)] for v in self._values], dtype=np.int64)
        # voxel -> region index (-1: background or unnamed)
        index = np.full(present.shape, -1, dtype=np.int32)
        position = {int(v): i for i, v in enumerate(self._values)}
        for j, v in enumerate(present.tolist()):
            index[j] = position.get(int(v), -1)
        self._region_index = index[np.searchsorted(present, data)]
        self._affine = _affine_mm(self._image)

    # -- properties -----------------------------------------------------
    @property
    def image(self) -> Any:
        """The label image as given (a nibabel image)."""
        return self._image

    @property
    def labels(self) -> tuple[str, ...]:
        """Region names, in region order."""
        return self._labels

    @property
    def values(self) -> np.ndarray:
        """Label value of each region (int64, region order)."""
        return self._values.copy()

    @property
    def n_regions(self) -> int:
        """Number of regions (named parcels)."""
        return len(self._labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxel grid of the label image."""
        return tuple(int(s) for s in self._region_index.shape)

    @property
    def affine(self) -> np.ndarray:
        """Voxel (i, j, k) to world (x, y, z) mm transform, (4, 4)."""
        return self._affine.copy()

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel, mm^3."""
        (a, b, c), (d, e, f), (g, h, i) = self._affine[:3, :3].tolist()
        # cofactor expansion: exact for the usual axis-aligned affines (np.linalg.det is not)
        return abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g))

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Atlas{name}: {self.n_regions} regions on a {self.shape} grid>"

    # -- region measures -------------------------------------------------
    def region_indices(self) -> np.ndarray:
        """The region index of every voxel (int32, image shape; -1 for background)."""
        return self._region_index.copy()

    def region_volumes(self) -> np.ndarray:
        """Volume of each region, mm^3 (voxel count x voxel volume), in region order."""
        return self._counts * self.voxel_volume

    def region_centres(self) -> np.ndarray:
        """Centre of mass of each region's voxels in world coordinates, mm, (n_regions, 3).

        The mean of the voxel centres, mapped through the affine; for a
        non-convex parcel it may lie outside the parcel.
        """
        idx = self._region_index.ravel()
        keep = idx >= 0
        ijk = np.indices(self.shape).reshape(3, -1)[:, keep]
        sums = np.stack([np.bincount(idx[keep], weights=c, minlength=self.n_regions)
                         for c in ijk], axis=1)
        mean_ijk = sums / self._counts[:, None]
        return mean_ijk @ self._affine[:3, :3].T + self._affine[:3, 3]

    # -- alignment with a connectome --------------------------------------
    def match(self, connectome: Any) -> Atlas:
        """Return this atlas with the regions of ``connectome``, in its order.

        Parameters
        ----------
        connectome : Connectome or sequence of str
            Anything with ``labels``, or the region names themselves.

        Returns
        -------
        Atlas
            Same image; region order = the connectome's. Parcels the connectome
            does not have are treated as background (logged).

        Raises
        ------
        ValueError
            Naming the connectome regions the atlas has no parcel for.
        """
        names = getattr(connectome, "labels", connectome)
        if isinstance(names, str) or not isinstance(names, Sequence | np.ndarray):
            raise TypeError("match() needs a Connectome or a sequence of region names, "
                            f"but got {type(connectome).__name__}.")
        names = [str(n) for n in names]
        position = {lab: i for i, lab in enumerate(self._labels)}
        missing = [n for n in names if n not in position]
        if missing:
            hint = suggest(missing[0], self._labels)
            shown = ", ".join(repr(n) for n in missing[:20]) + (" ..." if len(missing) > 20 else "")
            raise ValueError(
                f"The atlas has no parcel for {len(missing)} of the {len(names)} connectome "
                f"region(s): {shown}.{hint} Atlas regions: {list(self._labels[:10])}"
                f"{' ...' if self.n_regions > 10 else ''}."
            )
        if len(set(names)) != len(names):
            raise ValueError("The connectome's region labels are not unique; cannot match them.")
        dropped = [lab for lab in self._labels if lab not in set(names)]
        if dropped:
            logger.info("Atlas.match: %d atlas parcel(s) not in the connectome become background: %s",
                        len(dropped), dropped[:20])
        table = {int(self._values[position[n]]): n for n in names}
        return Atlas(self._image, table, unnamed="background", name=self.name)


# -- helpers ----------------------------------------------------------------------
def _load_image(image: Any) -> Any:
    import nibabel as nib

    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise FileNotFoundError(f"No label image at {os.fspath(image)!r}.")
        return nib.load(os.fspath(image))
    if not hasattr(image, "dataobj") or not hasattr(image, "affine"):
        raise TypeError("image must be a nibabel image or a path to one, but got "
                        f"{type(image).__name__}.")
    if image.affine is None:
        raise ValueError("The label image has no affine (voxel to world transform).")
    return image


def _integer_labels(image: Any) -> np.ndarray:
    """The image data as int64 labels, 3-D; errors for other shapes and non-integers."""
    shape = tuple(image.shape)
    squeezed = shape[:3] + tuple(s for s in shape[3:] if s != 1)
    if len(squeezed) != 3:
        raise ValueError(
            f"The label image must be 3-D (x, y, z), but got a {len(shape)}-D image of shape "
            f"{shape}. Take one volume, e.g. image.slicer[..., 0]."
        )
    data = np.asarray(image.dataobj).reshape(squeezed)
    kind = data.dtype.kind
    if kind == "b":
        return data.astype(np.int64)
    if kind in "iu":
        return data.astype(np.int64)
    if kind != "f":
        raise ValueError(f"The label image must hold integer label values, but its data type "
                         f"is {data.dtype}.")
    bad = ~np.isfinite(data) | (data != np.round(data))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"The label image must hold integer label values, but {int(bad.sum())} voxel(s) "
            f"hold non-integer values, e.g. {float(data[first]):g} at voxel {first} (dtype "
            f"{data.dtype}). Is this a probabilistic (4-D or continuous) atlas? Use a "
            "maximum-probability (discrete) version."
        )
    return data.astype(np.int64)


def _check_labels(labels: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """(values, names) from a dict value -> name or a list of names for 1..n."""
    if isinstance(labels, Mapping):
        items = list(labels.items())
    elif isinstance(labels, Sequence) and not isinstance(labels, str) or \
            isinstance(labels, np.ndarray):
        items = [(i + 1, n) for i, n in enumerate(labels)]
    else:
        raise TypeError("labels must be a dict {label value: name} or a list of names, "
                        f"but got {type(labels).__name__}.")
    if not items:
        raise ValueError("labels is empty: an atlas needs at least one region.")
    values, names = [], []
    for value, name in items:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"Label values must be integers, but got {value!r} for {name!r}.")
        if value <= 0:
            raise ValueError(f"Label values must be positive (0 is the background), but "
                             f"{name!r} has value {value}.")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"Region names must be non-empty strings, but value {value} "
                             f"has {name!r}.")
        values.append(int(value))
        names.append(name)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"Region names must be unique, but {dup} appear more than once.")
    return np.array(values, dtype=np.int64), tuple(names)


def _affine_mm(image: Any) -> np.ndarray:
    """The image affine with world units in mm (NIfTI headers may declare metres/microns)."""
    affine = np.array(image.affine, dtype=np.float64)
    units = None
    header = getattr(image, "header", None)
    if header is not None and hasattr(header, "get_xyzt_units"):
        units = header.get_xyzt_units()[0]
    factor = _TO_MM.get(units, 1.0)
    if factor != 1.0:
        affine[:3] *= factor
    return affine
