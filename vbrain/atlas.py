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

Readers: :meth:`Atlas.load` takes a label image (path, nibabel image, a
nilearn atlas object, or ``"atlases:NAME"`` for a bundled atlas) and a label
table (:func:`read_label_table`: FreeSurfer LUT, BIDS-style TSV, or a plain
list of names), and ends in ``Atlas(image, labels)``, the one constructor.
:meth:`Atlas.resample_to` puts an atlas on another grid (nearest neighbour);
:meth:`Atlas.save` writes the image and a TSV table.

Label table formats (:func:`read_label_table`)
----------------------------------------------
FreeSurfer LUT (``FreeSurferColorLUT.txt``)
    ``#`` comments; one region a line: ``index name R G B A`` (whitespace
    separated, colours 0-255). Index 0 (``Unknown``) is the background.
TSV (BIDS ``*_dseg.tsv``)
    Tab-separated with a header holding ``index`` and ``name`` columns (other
    columns are ignored). A row with index 0 is the background.
Plain list
    One name a line (blank lines and ``#`` comments skipped): values 1, 2, ...
    in line order.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._check import check_option, suggest

__all__ = ["Atlas", "read_label_table"]

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

    # -- readers, grids, files ---------------------------------------------
    @classmethod
    def load(cls, image: Any, labels: Any = None, *, unnamed: str = "error",
             empty: str | None = None, name: str | None = None) -> Atlas:
        """Read a parcellation: a label image and a label table, in any of the usual forms.

        Parameters
        ----------
        image : path-like, nibabel image, nilearn atlas object or str
            The label image (NIfTI, MGZ, any 3-D image nibabel reads); a
            nilearn atlas (an object or dict with ``maps`` and ``labels``
            and/or ``lut``, as ``nilearn.datasets.fetch_atlas_*`` return);
            or ``"atlases:NAME"`` for a bundled atlas (``"atlases:default"``:
            the 76 regions of the default connectome on the MNI152 2 mm grid;
            see ``vbrain.atlases.available_atlases()``).
        labels : dict, sequence of str, path-like or None, default None
            ``{value: name}``; names for the values 1..n; or the path of a
            label table (FreeSurfer LUT, BIDS-style TSV, plain list: see
            the module notes and :func:`read_label_table`). None: the nilearn
            object's ``lut``/``labels``, the bundled atlas' table, or a table
            beside the image with the same stem (``x.nii.gz`` -> ``x.tsv`` or
            ``x.txt``).
        unnamed : {"error", "background"}, default "error"
            Non-zero image values the table does not name: an error, or
            background.
        empty : {"error", "drop"} or None, default None
            Table entries with no voxel in the image: an error, or dropped
            (logged). None means "drop" for FreeSurfer LUTs and nilearn atlas
            objects (tables that name more than one image holds) and "error"
            otherwise.
        name : str, optional
            Atlas name; default the bundled name or the image file's stem.

        Returns
        -------
        Atlas

        Raises
        ------
        FileNotFoundError
            A missing image or table, or no table beside the image.
        TypeError
            An in-memory image without ``labels``.
        ValueError
            The :class:`Atlas` checks (labels missing from the table, empty
            parcels, non-integer or non-3-D data), a malformed table, a
            truncated image, a probabilistic nilearn atlas; each names the
            file(s) involved.

        Examples
        --------
        >>> atlas = Atlas.load("atlases:default")                    # doctest: +SKIP
        >>> atlas = Atlas.load("aparc+aseg.mgz", "FreeSurferColorLUT.txt")  # doctest: +SKIP
        >>> atlas = Atlas.load(nilearn.datasets.fetch_atlas_aal())   # doctest: +SKIP
        """
        check_option("unnamed", unnamed, ("error", "background"))
        if empty is not None:
            check_option("empty", empty, ("error", "drop"))
        table_fmt = "given"
        if isinstance(image, str) and image.startswith("atlases:"):
            from vbrain import atlases

            key = image[len("atlases:"):]
            img_path, table_path = atlases.atlas_path(key)
            if labels is None:
                labels = table_path
            image, name = img_path, name or atlases._resolve_atlas(key)
        elif _is_nilearn_atlas(image):
            image, from_obj = _nilearn_maps_labels(image)
            if labels is None:
                labels, table_fmt = from_obj, "nilearn"
        where = _describe(image)
        if labels is None:
            labels = _sidecar_table(image)
        if isinstance(labels, (str, os.PathLike)):
            table_path = Path(labels)
            labels, table_fmt = _read_table(table_path)
            where += f" with label table {os.fspath(table_path)!r}"
        if empty is None:
            empty = "drop" if table_fmt in ("lut", "nilearn") else "error"
        if name is None:
            name = _stem(image) if isinstance(image, (str, os.PathLike)) else ""
        img = _load_image(image)
        try:
            if empty == "drop" and isinstance(labels, Mapping | Sequence | np.ndarray) \
                    and not isinstance(labels, str):
                labels = _drop_absent(labels, img)
            return cls(img, labels, unnamed=unnamed, name=name)
        except ValueError as err:
            if str(err).startswith("Cannot read the data of the label image"):
                raise
            raise ValueError(f"{where}: {err}") from None

    def resample_to(self, target: Any, *, empty: str = "error") -> Atlas:
        """This atlas on another voxel grid, by nearest-neighbour resampling.

        Parameters
        ----------
        target : nibabel image, path-like, Atlas or (affine, shape)
            The grid to resample to: an image (3-D or 4-D; only its header is
            read), another atlas, or a (4, 4) affine (mm) and a shape (the
            first three entries are used).
        empty : {"error", "drop"}, default "error"
            Regions that lose all their voxels on the new grid (small parcels
            on a coarse grid, or grids that barely overlap): an error naming
            them, or dropped (logged).

        Returns
        -------
        Atlas
            Same labels and name, on the target grid (``self`` when the grids
            already agree to 1e-6 mm). Uses
            ``nilearn.image.resample_img(..., interpolation="nearest")``.

        Raises
        ------
        ValueError
            A target that is not a 3-D/4-D grid, or empty regions (with
            ``empty="error"``).
        """
        import nibabel as nib
        from nilearn.image import resample_img

        check_option("empty", empty, ("error", "drop"))
        affine, shape = _target_grid(target)
        if shape == self.shape and np.allclose(affine, self._affine, rtol=0, atol=1e-6):
            return self
        data = np.where(self._region_index >= 0, self._values[self._region_index], 0)
        dtype = np.int16 if self._values.max() <= np.iinfo(np.int16).max else np.int32
        src = nib.Nifti1Image(data.astype(dtype), self._affine)
        try:
            out = resample_img(src, target_affine=affine, target_shape=shape,
                               interpolation="nearest", force_resample=True, copy_header=True)
            out_data = np.asarray(out.dataobj).astype(dtype)
        except ValueError as err:  # nilearn: the target field of view misses the data
            if "field of view" not in str(err):
                raise
            out_data = np.zeros(shape, dtype=dtype)
        out = nib.Nifti1Image(out_data, affine)
        out.header.set_xyzt_units("mm")
        table = dict(zip(self._values.tolist(), self._labels))
        present = set(np.unique(np.asarray(out.dataobj)).tolist())
        lost = [n for v, n in table.items() if v not in present]
        if lost and empty == "error":
            shown = ", ".join(repr(n) for n in lost[:20]) + (" ..." if len(lost) > 20 else "")
            raise ValueError(
                f"Resampling the atlas to the {shape} grid leaves {len(lost)} region(s) without "
                f"voxels: {shown}. The grids may not overlap (check both affines) or the target "
                "voxels are too coarse; pass empty='drop' to drop those regions.")
        if lost:
            logger.info("Atlas.resample_to: dropped %d region(s) without voxels on the new "
                        "grid: %s", len(lost), lost[:20])
            table = {v: n for v, n in table.items() if v in present}
        return Atlas(out, table, name=self.name)

    def same_grid(self, other: Any, *, atol: float = 1e-3) -> bool:
        """True when ``other`` (image, path, Atlas or (affine, shape)) has this atlas' grid.

        Shapes must be equal (first three axes) and affines agree within
        ``atol`` mm.
        """
        affine, shape = _target_grid(other)
        return shape == self.shape and bool(np.allclose(affine, self._affine, rtol=0, atol=atol))

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the label image (NIfTI, integer) and a BIDS-style label table beside it.

        Parameters
        ----------
        path : path-like
            Image file name ending in ``.nii`` or ``.nii.gz``; the table is
            the same stem with ``.tsv`` (columns ``index``, ``name``).
        overwrite : bool, default False
            Replace existing files.

        Returns
        -------
        (image path, table path) : tuple of pathlib.Path
            :meth:`Atlas.load` on the image path reads both back.

        Raises
        ------
        ValueError
            Another suffix.
        FileExistsError
            A file exists and ``overwrite`` is False.
        """
        import nibabel as nib

        path = Path(path)
        if not (path.name.endswith(".nii") or path.name.endswith(".nii.gz")):
            raise ValueError(f"Atlas.save writes NIfTI: the file name must end in .nii or "
                             f".nii.gz, but got {path.name!r}.")
        table = path.with_name(_stem(path) + ".tsv")
        for p in (path, table):
            if p.exists() and not overwrite:
                raise FileExistsError(f"{p} exists; pass overwrite=True to replace it.")
        data = np.where(self._region_index >= 0, self._values[self._region_index], 0)
        dtype = np.int16 if self._values.max() <= np.iinfo(np.int16).max else np.int32
        img = nib.Nifti1Image(data.astype(dtype), self._affine)
        img.header.set_xyzt_units("mm")
        src = getattr(self._image, "header", None)
        if src is not None and hasattr(src, "get_sform"):
            _, code = src.get_sform(coded=True)
            if code:
                img.set_sform(self._affine, code=int(code))
                img.set_qform(self._affine, code=int(code))
        bad = [n for n in self._labels if any(c in n for c in "\t\r\n")]
        if bad:
            raise ValueError(f"Region names written to a TSV table cannot hold tabs or line "
                             f"breaks, but got {bad[:5]}; rename them first.")
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = ["index\tname"] + [f"{int(v)}\t{n}" for v, n in zip(self._values, self._labels)]
        # atomic: temporary files renamed into place, the table first (the image names it)
        tmp_img = path.with_name(f".{path.name}.{os.getpid()}.tmp{''.join(path.suffixes)}")
        tmp_table = table.with_name(f".{table.name}.{os.getpid()}.tmp")
        try:
            img.to_filename(tmp_img)
            tmp_table.write_text("\n".join(rows) + "\n", encoding="utf-8")
            os.replace(tmp_table, table)
            os.replace(tmp_img, path)
        finally:
            tmp_img.unlink(missing_ok=True)
            tmp_table.unlink(missing_ok=True)
        return path, table


def read_label_table(path: str | os.PathLike) -> dict[int, str]:
    """Read a label table: FreeSurfer LUT, BIDS-style TSV or a plain list of names.

    Parameters
    ----------
    path : path-like
        The table (formats in the module notes); the format is recognised
        from the content.

    Returns
    -------
    dict of int to str
        ``{label value: name}`` in file order, without the background (0).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A TSV without ``index``/``name`` columns, a malformed line (its number
        is given), duplicate values or names, or no entries; each names the file.
    """
    return _read_table(Path(path))[0]


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
    try:
        data = np.asarray(image.dataobj).reshape(squeezed)
    except (EOFError, OSError, ValueError, zlib.error) as err:
        msg = " ".join(str(err).split())
        raise ValueError(f"Cannot read the data of the {_describe(image)}: {msg}. The file may "
                         "be truncated or corrupt.") from None
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
    with np.errstate(all="ignore"):
        det = np.linalg.det(affine[:3, :3]) if np.all(np.isfinite(affine)) else np.nan
    if not (np.isfinite(det) and det != 0.0):
        raise ValueError("The label image's affine must be a finite, invertible voxel-to-world "
                         f"matrix (non-zero voxel sizes), but got\n{affine}.")
    return affine


# -- label tables, nilearn atlases, grids -------------------------------------------
_NIFTI_SUFFIXES = (".nii.gz", ".nii", ".mgz", ".mgh", ".img", ".hdr")


def _stem(path: Any) -> str:
    name = Path(path).name
    for suffix in _NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _describe(image: Any) -> str:
    """'label image 'path'' or 'the label image' for in-memory images."""
    if isinstance(image, (str, os.PathLike)):
        return f"label image {os.fspath(image)!r}"
    fname = image.get_filename() if hasattr(image, "get_filename") else None
    return f"label image {fname!r}" if fname else "the label image (in memory)"


def _sidecar_table(image: Any) -> Path:
    """The label table beside an image file: same stem + .tsv or .txt."""
    if not isinstance(image, (str, os.PathLike)):
        raise TypeError("labels is needed for an in-memory image: give a dict, a list of "
                        "names or the path of a label table.")
    image = Path(image)
    tried = [image.with_name(_stem(image) + ext) for ext in (".tsv", ".txt")]
    for cand in tried:
        if cand.is_file():
            return cand
    raise FileNotFoundError(
        f"No label table for {os.fspath(image)!r}: looked for "
        f"{[os.fspath(t) for t in tried]}. Pass labels= (a dict, a list of names, or the path "
        "of a FreeSurfer LUT, TSV or names file).")


def _read_table(path: Path) -> tuple[dict[int, str], str]:
    """({value: name}, format) with format "lut", "tsv", "index-name" or "list"."""
    import re

    if not path.is_file():
        raise FileNotFoundError(f"No label table at {os.fspath(path)!r}.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"The label table {os.fspath(path)!r} is not UTF-8 text: byte "
                         f"{err.object[err.start]:#04x} at offset {err.start}.") from None
    lines = [(i + 1, ln.rstrip("\r")) for i, ln in enumerate(text.split("\n"))]
    lines = [(i, ln) for i, ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    where = f"label table {os.fspath(path)!r}"
    if not lines:
        raise ValueError(f"The {where} has no entries.")
    first = lines[0][1]
    header = [h.strip().lower() for h in first.split("\t")]
    items: list[tuple[int, str, int]] = []
    if path.suffix.lower() == ".tsv" or ("\t" in first and "name" in header):
        if "index" not in header or "name" not in header:
            raise ValueError(f"The {where} must be tab-separated with 'index' and 'name' columns "
                             f"(BIDS dseg.tsv style), but its header is {first.split(chr(9))}.")
        ci, cn = header.index("index"), header.index("name")
        for lineno, ln in lines[1:]:
            cells = ln.split("\t")
            if len(cells) <= max(ci, cn):
                raise ValueError(f"The {where}, line {lineno}: expected {len(header)} "
                                 f"tab-separated columns, got {len(cells)}: {ln!r}.")
            try:
                value = int(cells[ci].strip())
            except ValueError:
                raise ValueError(f"The {where}, line {lineno}: index must be an integer, got "
                                 f"{cells[ci]!r}.") from None
            items.append((value, cells[cn].strip(), lineno))
        fmt = "tsv"
    elif re.match(r"^\s*-?\d+\s+\S", first):
        pattern = re.compile(r"^\s*(-?\d+)\s+(\S+)((?:\s+\S+)*)\s*$")
        colours = True
        for lineno, ln in lines:
            m = pattern.match(ln)
            if m is None:
                raise ValueError(f"The {where}, line {lineno}: expected 'index name [R G B A]' "
                                 f"(FreeSurfer LUT), got {ln!r}.")
            rest = m.group(3).split()
            colours &= len(rest) in (3, 4) and all(t.isdigit() for t in rest)
            items.append((int(m.group(1)), m.group(2), lineno))
        fmt = "lut" if colours else "index-name"
    else:
        items = [(k + 1, ln.strip(), lineno) for k, (lineno, ln) in enumerate(lines)]
        fmt = "list"
    table: dict[int, str] = {}
    seen: dict[str, int] = {}
    for value, name, lineno in items:
        if value == 0:
            continue  # background
        if value < 0:
            raise ValueError(f"The {where}, line {lineno}: label values must be >= 0, got {value}.")
        if not name:
            raise ValueError(f"The {where}, line {lineno}: empty name for value {value}.")
        if value in table:
            raise ValueError(f"The {where}, line {lineno}: value {value} appears twice "
                             f"({table[value]!r} and {name!r}).")
        if name in seen:
            raise ValueError(f"The {where}, line {lineno}: name {name!r} appears twice (values "
                             f"{seen[name]} and {value}).")
        table[value] = name
        seen[name] = value
    if not table:
        raise ValueError(f"The {where} names no region (only the background).")
    return table, fmt


def _is_nilearn_atlas(obj: Any) -> bool:
    if isinstance(obj, (str, os.PathLike)):
        return False
    if isinstance(obj, Mapping):
        return "maps" in obj
    return hasattr(obj, "maps") and not hasattr(obj, "dataobj")


def _nilearn_maps_labels(obj: Any) -> tuple[Any, dict[int, str]]:
    """(maps image or path, {value: name}) from a nilearn atlas Bunch / Atlas object."""
    def get(key: str) -> Any:
        if isinstance(obj, Mapping):
            return obj.get(key)
        return getattr(obj, key, None)

    maps = get("maps")
    kind = get("atlas_type")
    if kind == "probabilistic":
        raise ValueError("This nilearn atlas is probabilistic (4-D maps); an Atlas needs a "
                         "deterministic (label) image. Use a maximum-probability version.")
    lut = get("lut")
    if lut is not None and hasattr(lut, "columns") and {"index", "name"} <= set(lut.columns):
        pairs = [(int(i), str(n)) for i, n in zip(lut["index"], lut["name"])]
    else:
        names = get("labels")
        if names is None:
            raise ValueError("The nilearn atlas object has neither 'lut' nor 'labels'.")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        indices = get("indices")
        if indices is not None and len(indices) == len(names):
            pairs = [(int(i), n) for i, n in zip(indices, names)]
        elif names and names[0].strip().lower() in ("background", "unknown", "bg"):
            pairs = list(enumerate(names))
        else:
            pairs = [(i + 1, n) for i, n in enumerate(names)]
    table = {v: n for v, n in pairs if v != 0 and n.strip().lower() != "background"}
    return maps, table


def _drop_absent(labels: Any, image: Any) -> Any:
    """Labels without the entries whose value has no voxel in the image (logged)."""
    values, names = _check_labels(labels)
    present = set(np.unique(_integer_labels(image)).tolist())
    keep = [i for i, v in enumerate(values.tolist()) if v in present]
    if len(keep) < len(values):
        logger.info("Atlas.load: %d table entries have no voxel in the image and are dropped",
                    len(values) - len(keep))
    return {int(values[i]): names[i] for i in keep}


def _target_grid(target: Any) -> tuple[np.ndarray, tuple[int, int, int]]:
    """(affine in mm, 3-D shape) of an image, path, Atlas or (affine, shape)."""
    if isinstance(target, Atlas):
        return target.affine, target.shape
    if isinstance(target, tuple) and len(target) == 2 and not hasattr(target, "dataobj"):
        affine = np.asarray(target[0], dtype=np.float64)
        shape = tuple(int(s) for s in target[1])
        if affine.shape != (4, 4) or len(shape) < 3:
            raise ValueError(f"target as (affine, shape) needs a (4, 4) affine and a shape of at "
                             f"least 3 entries, got {affine.shape} and {shape}.")
        return affine, shape[:3]
    if isinstance(target, (str, os.PathLike)) and not os.path.isfile(target):
        raise FileNotFoundError(f"No image at {os.fspath(target)!r} to resample to.")
    img = _load_image(target)
    shape = tuple(int(s) for s in img.shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"The target image must be 3-D or 4-D, but has shape {shape}.")
    return _affine_mm(img), shape[:3]
