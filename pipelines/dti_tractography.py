"""Tractogram -> structural connectome.

A tractogram (streamlines in world coordinates, mm) and a parcellation
(:class:`vbrain.atlas.Atlas`) in the same space give a
:class:`vbrain.Connectome`:

1. each streamline's two end points are mapped to the voxel that contains them
   (nearest voxel centre: ``floor(ijk + 0.5)``, as
   :func:`dipy.tracking.utils.connectivity_matrix` does), and that voxel's
   region is the end point's region; an end point in the background (label 0)
   may optionally take the region of the nearest labelled voxel within
   ``search_radius`` mm (tracking usually stops at the white-matter boundary,
   just short of a grey-matter parcel);
2. every streamline whose two ends are assigned adds one to the (symmetric)
   count of its region pair and its length (mm, summed along its points) to
   the pair's length total;
3. weights are the counts, optionally normalised (by the pair's mean region
   volume, or by the total count) and compressed with ``log1p``; tract lengths
   are the mean length of the pair's streamlines (0 where no streamline).

With ``search_radius=0`` and ``self_connections=True`` the counts equal
dipy's ``connectivity_matrix(streamlines, affine, labels)`` restricted to the
atlas regions (a test checks this).

Readers: ``.trk`` and ``.tck`` through :mod:`nibabel.streamlines` (points in
RAS+ mm), ``.trx`` through trx-python (points in RAS+ mm); the reference
(voxel-to-RAS+ affine and grid shape) stored in ``.trk`` and ``.trx`` files
must match the atlas. ``.tck`` files carry no reference, so only a coarse
check is possible: most end points must fall inside the atlas grid.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vbrain._check import check_option, check_range
from vbrain.atlas import Atlas
from vbrain.connectome import Connectome

__all__ = [
    "WEIGHTINGS",
    "TractogramData",
    "connectome_from_tractogram",
    "load_tractogram",
    "save_trk",
    "streamline_lengths",
]

logger = logging.getLogger(__name__)

#: Accepted values of ``weighting``.
WEIGHTINGS = ("count", "count_per_volume", "fraction")

#: Tolerance (mm) when comparing a tractogram's reference affine with the atlas's
#: (.trx stores it as float32).
AFFINE_ATOL = 1e-3

_EXTENSIONS = (".trk", ".tck", ".trx")


@dataclass(frozen=True)
class TractogramData:
    """Streamlines in RAS+ mm with where they came from.

    Attributes
    ----------
    streamlines : nibabel.streamlines.ArraySequence
        Points in world (RAS+) coordinates, mm.
    affine : ndarray (4, 4) or None
        Voxel-to-RAS+ affine of the reference image the tractogram was made
        on, when known.
    shape : tuple of 3 int or None
        Grid shape of the reference image, when known.
    source : str
        The file name, or a description of the object given.
    """

    streamlines: Any
    affine: np.ndarray | None
    shape: tuple[int, int, int] | None
    source: str


@dataclass
class _Counts:
    """Pair counts and length sums (internal; run_dti records the stats)."""

    counts: np.ndarray
    length_sums: np.ndarray
    stats: dict[str, int | float] = field(default_factory=dict)


# ------------------------------------------------------------------- reading
def load_tractogram(tractogram: Any, *, affine: Any = None) -> TractogramData:
    """Read streamlines (RAS+ mm) and their reference from a file or an object.

    Parameters
    ----------
    tractogram : path-like or object
        A ``.trk``, ``.tck`` or ``.trx`` file; a nibabel ``TractogramFile``
        (``nib.streamlines.load`` result) or ``Tractogram``; a dipy
        ``StatefulTractogram``; a trx ``TrxFile``; or streamlines themselves
        (a nibabel/dipy ``ArraySequence`` or a sequence of (n_points, 3)
        arrays) in world coordinates (mm).
    affine : array-like (4, 4), optional
        Voxel-to-world affine of the image the streamlines were tracked on.
        Only for bare streamlines and ``Tractogram`` objects (files and
        stateful objects carry their own reference); checked against the
        atlas when given.

    Returns
    -------
    TractogramData

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    ValueError
        For an unknown extension, a corrupt or truncated file, malformed
        streamlines, or ``affine`` given with an object that has its own.
    """
    import nibabel as nib
    from nibabel.streamlines.tractogram_file import TractogramFile

    ref_affine = None if affine is None else _check_affine("affine", affine)
    if isinstance(tractogram, (str, os.PathLike)):
        if ref_affine is not None:
            raise ValueError(
                f"affine is only for bare streamlines: the file {os.fspath(tractogram)!r} "
                "carries its own reference (or none, for .tck)."
            )
        return _load_path(Path(tractogram))
    kind = type(tractogram).__name__
    if isinstance(tractogram, TractogramFile):
        header = tractogram.header
        ref_affine, shape = None, None
        if isinstance(tractogram, nib.streamlines.TrkFile):
            ref_affine, shape = _trk_reference(header)
        return TractogramData(_as_sequence(tractogram.streamlines, kind), ref_affine, shape,
                              f"a nibabel {kind}")
    if isinstance(tractogram, nib.streamlines.Tractogram):
        if tractogram.affine_to_rasmm is None:
            raise ValueError(
                "The nibabel Tractogram has affine_to_rasmm=None: its points are in an unknown "
                "space. Set tractogram.affine_to_rasmm = np.eye(4) if they are in RAS+ mm (or "
                "the voxel-to-RAS+ affine if they are in voxel coordinates)."
            )
        world = tractogram.copy().to_world()
        return TractogramData(_as_sequence(world.streamlines, kind), ref_affine, None,
                              "a nibabel Tractogram")
    if _is_stateful(tractogram):
        if ref_affine is not None:
            raise ValueError("affine is not accepted with a StatefulTractogram: it carries its "
                             "own reference (sft.affine).")
        return _from_stateful(tractogram)
    if _is_trx(tractogram):
        if ref_affine is not None:
            raise ValueError("affine is not accepted with a TrxFile: it carries its own "
                             "reference (header VOXEL_TO_RASMM).")
        return _from_trx(tractogram, "a TrxFile")
    return TractogramData(_as_sequence(tractogram, kind), ref_affine, None, f"streamlines ({kind})")


def _load_path(path: Path) -> TractogramData:
    import nibabel as nib

    if not path.is_file():
        raise FileNotFoundError(f"No tractogram file at {os.fspath(path)!r}.")
    ext = path.suffix.lower()
    if ext not in _EXTENSIONS:
        raise ValueError(
            f"Unsupported tractogram file {os.fspath(path)!r}: expected one of "
            f"{list(_EXTENSIONS)}, got {ext or 'no extension'!r}."
        )
    if ext == ".trx":
        import trx.trx_file_memmap as tmm

        try:
            trx_file = tmm.load(os.fspath(path))
        except Exception as err:  # trx raises many kinds for corrupt zips
            raise ValueError(f"Could not read the .trx file {os.fspath(path)!r} "
                             f"(truncated or not a TRX zip?): {err}") from err
        try:
            return _from_trx(trx_file, os.fspath(path))
        finally:
            trx_file.close()
    try:
        tfile = nib.streamlines.load(os.fspath(path), lazy_load=False)
    except Exception as err:  # nibabel raises HeaderError, ValueError, EOFError...
        raise ValueError(f"Could not read the tractogram file {os.fspath(path)!r} "
                         f"(truncated or not a valid {ext} file?): "
                         f"{type(err).__name__}: {err}") from err
    ref_affine, shape = (None, None)
    if ext == ".trk":
        ref_affine, shape = _trk_reference(tfile.header, os.fspath(path))
    return TractogramData(_as_sequence(tfile.streamlines, os.fspath(path)), ref_affine, shape,
                          os.fspath(path))


def _trk_reference(header: Any, source: str = "the .trk header") -> tuple[Any, Any]:
    """(affine, shape) from a TrackVis header; (None, None) when it is unset."""
    aff = np.asarray(header["voxel_to_rasmm"], dtype=np.float64)
    dims = tuple(int(d) for d in np.asarray(header["dimensions"]).ravel()[:3])
    if not np.any(dims) or not np.all(np.isfinite(aff)) or abs(np.linalg.det(aff[:3, :3])) == 0:
        logger.warning("%s has no usable reference (dimensions %s); the space cannot be checked.",
                       source, dims)
        return None, None
    return aff, dims


def _is_stateful(obj: Any) -> bool:
    return type(obj).__name__ == "StatefulTractogram" and hasattr(obj, "to_rasmm")


def _is_trx(obj: Any) -> bool:
    return type(obj).__name__ == "TrxFile" and hasattr(obj, "header")


def _from_stateful(sft: Any) -> TractogramData:
    import copy

    from dipy.io.stateful_tractogram import Origin, Space

    if sft.space != Space.RASMM or sft.origin != Origin.NIFTI:
        sft = copy.deepcopy(sft)
        sft.to_rasmm()
        sft.to_center()
    shape = tuple(int(d) for d in sft.dimensions)
    return TractogramData(_as_sequence(sft.streamlines, "StatefulTractogram"),
                          np.asarray(sft.affine, dtype=np.float64), shape,
                          "a dipy StatefulTractogram")


def _from_trx(trx_file: Any, source: str) -> TractogramData:
    header = trx_file.header
    aff = np.asarray(header["VOXEL_TO_RASMM"], dtype=np.float64)
    shape = tuple(int(d) for d in np.asarray(header["DIMENSIONS"]).ravel()[:3])
    # copy out of the memmap before the file is closed
    streamlines = _as_sequence(trx_file.streamlines, source, copy=True)
    return TractogramData(streamlines, aff, shape, source)


def _as_sequence(streamlines: Any, source: str, *, copy: bool = False) -> Any:
    """An ArraySequence of float64 (n, 3) points; errors name the source."""
    from nibabel.streamlines import ArraySequence

    if isinstance(streamlines, ArraySequence):
        seq = streamlines.copy() if copy or streamlines.is_sliced_view else streamlines
    else:
        try:
            items = [np.asarray(s, dtype=np.float64) for s in streamlines]
        except (TypeError, ValueError) as err:
            raise TypeError(f"Could not read streamlines from {source}: expected a sequence of "
                            f"(n_points, 3) arrays ({err}).") from None
        for k, s in enumerate(items):
            if s.ndim != 2 or s.shape[1] != 3:
                raise ValueError(f"Streamline {k} of {source} must be an (n_points, 3) array "
                                 f"of coordinates in mm, but got shape {s.shape}.")
        seq = ArraySequence(items)
    data = np.asarray(seq._data)
    if data.size and (data.ndim != 2 or data.shape[1] != 3):
        raise ValueError(f"Streamline points of {source} must be 3-D coordinates, but got "
                         f"points of shape {data.shape[1:]}.")
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f"{source} has NaN/Inf streamline coordinates.")
    return seq


# -------------------------------------------------------------- connectome
def streamline_lengths(streamlines: Any) -> np.ndarray:
    """Length of each streamline in mm: the sum of its segment lengths.

    Parameters
    ----------
    streamlines : ArraySequence or sequence of (n_points, 3) arrays
        Points in mm.

    Returns
    -------
    lengths : ndarray of float64, (n_streamlines,)
        0 for a streamline of fewer than two points.
    """
    seq = _as_sequence(streamlines, "streamlines")
    n = len(seq)
    if n == 0:
        return np.zeros(0)
    data = np.asarray(seq._data, dtype=np.float64)
    offsets = np.asarray(seq._offsets, dtype=np.int64)
    counts = np.asarray(seq._lengths, dtype=np.int64)
    seg = np.sqrt(np.sum(np.diff(data, axis=0) ** 2, axis=1)) if len(data) > 1 else np.zeros(0)
    # cumulative arc length per point; a streamline's length = cum[last] - cum[first]
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    first = offsets
    last = offsets + np.maximum(counts, 1) - 1
    out = cum[last] - cum[first]
    out[counts < 2] = 0.0
    return out


def connectome_from_tractogram(
    tractogram: Any,
    atlas: Atlas,
    *,
    affine: Any = None,
    weighting: str = "count",
    log: bool = False,
    min_length: float = 0.0,
    max_length: float | None = None,
    search_radius: float = 0.0,
    self_connections: bool = False,
    name: str = "",
    verbose: bool | str | int | None = None,
) -> Connectome:
    """Build a structural connectome from streamlines and a parcellation.

    Parameters
    ----------
    tractogram : path-like or object
        A ``.trk``, ``.tck`` or ``.trx`` file, or an object (see
        :func:`load_tractogram`): points in world (RAS+) mm, in the atlas's
        space.
    atlas : vbrain.atlas.Atlas
        The parcellation, on the grid the tractogram refers to. Regions,
        their order, labels and centres (mm) come from it.
    affine : array-like (4, 4), optional
        For bare streamlines: the voxel-to-world affine of the image they
        were tracked on, checked against ``atlas.affine``.
    weighting : {"count", "count_per_volume", "fraction"}, default "count"
        - ``"count"``: number of streamlines joining regions i and j;
        - ``"count_per_volume"``: ``count / ((V_i + V_j) / 2)`` with the
          region volumes ``V`` in mm^3 (streamlines per mm^3), which removes
          the bias of large parcels catching more end points (in the spirit
          of Hagmann et al. 2008, who divide by the mean of the two regions'
          surface areas);
        - ``"fraction"``: ``count / total``, the total being the number of
          streamlines counted in the matrix (each pair once), so the upper
          triangle (with the diagonal) sums to 1.
    log : bool, default False
        Apply ``log1p`` to the weights after ``weighting``.
    min_length, max_length : float, default 0 and None (no limit)
        Keep streamlines whose length (mm, along the points) lies in
        ``[min_length, max_length]``.
    search_radius : float, default 0
        In mm. An end point in a background voxel takes the region of the
        nearest labelled voxel whose centre lies within this distance of the
        end point's voxel centre (Euclidean, with the atlas voxel sizes);
        0 assigns only end points inside a parcel.
    self_connections : bool, default False
        Count streamlines with both ends in the same region on the diagonal.
        By default they are dropped (the diagonal stays zero).
    name : str, optional
        Connectome name; default "tractogram <source>".
    verbose : bool, str, int or None
        Log level for this call (``logging`` names or numbers; True = INFO).

    Returns
    -------
    Connectome
        ``weights`` symmetric, ``lengths`` in mm (mean streamline length per
        pair; 0 where no streamline), ``labels`` and ``centres`` (mm) from
        the atlas.

    Raises
    ------
    ValueError
        Empty tractogram, no streamline joining two regions, a reference
        (affine or grid) that does not match the atlas, most end points
        outside the atlas grid, or a bad option.
    TypeError
        If ``atlas`` is not a vbrain Atlas.
    """
    with _log_level(verbose):
        check_option("weighting", weighting, WEIGHTINGS)
        data = load_tractogram(tractogram, affine=affine)
        counted = _count_pairs(data, atlas, min_length=min_length, max_length=max_length,
                               search_radius=search_radius, self_connections=self_connections)
        return _connectome(counted, atlas, weighting=weighting, log=log,
                           name=name or f"tractogram {data.source}")


def _count_pairs(data: TractogramData, atlas: Atlas, *, min_length: float,
                 max_length: float | None, search_radius: float,
                 self_connections: bool) -> _Counts:
    if not isinstance(atlas, Atlas):
        raise TypeError(f"atlas must be a vbrain Atlas, but got {type(atlas).__name__}.")
    min_length = check_range("min_length", min_length, 0)
    if max_length is not None:
        max_length = check_range("max_length", max_length, min_length)
    search_radius = check_range("search_radius", search_radius, 0)
    source = data.source
    check_reference(data.affine, data.shape, atlas, source)
    seq = data.streamlines
    n = len(seq)
    if n == 0:
        raise ValueError(f"The tractogram {source} is empty: it holds no streamlines.")

    lengths = streamline_lengths(seq)
    pts = np.asarray(seq._data, dtype=np.float64)
    offsets = np.asarray(seq._offsets, dtype=np.int64)
    npts = np.asarray(seq._lengths, dtype=np.int64)
    empty = npts == 0
    if empty.all():
        raise ValueError(f"The tractogram {source} is empty: its {n} streamline(s) have no "
                         "points.")
    safe_off = np.where(empty, 0, offsets)
    ends = np.concatenate([pts[safe_off], pts[safe_off + np.maximum(npts, 1) - 1]])
    regions, outside = _regions_at(ends, atlas, search_radius)
    n_out = int(outside.sum())
    if n_out > ends.shape[0] // 2:
        lo, hi = ends.min(axis=0), ends.max(axis=0)
        raise ValueError(
            f"{n_out} of the {ends.shape[0]} streamline end points of {source} lie outside the "
            f"atlas grid {atlas.shape}: the tractogram and the atlas are not in the same space "
            f"(end points span {np.round(lo, 1).tolist()} to {np.round(hi, 1).tolist()} mm; "
            f"the atlas grid spans {_grid_extent(atlas)} mm). Streamlines must be in world "
            "(RAS+) mm in the atlas's space."
        )
    r0, r1 = regions[:n], regions[n:]
    keep = ~empty & (lengths >= min_length)
    if max_length is not None:
        keep &= lengths <= max_length
    n_short = int((~empty & ~keep).sum())
    assigned = keep & (r0 >= 0) & (r1 >= 0)
    same = assigned & (r0 == r1)
    if not self_connections:
        assigned &= r0 != r1
    n_reg = atlas.n_regions
    i = np.minimum(r0[assigned], r1[assigned]).astype(np.int64)
    j = np.maximum(r0[assigned], r1[assigned]).astype(np.int64)
    flat = i * n_reg + j
    upper = np.bincount(flat, minlength=n_reg * n_reg).reshape(n_reg, n_reg).astype(np.float64)
    lsum = np.bincount(flat, weights=lengths[assigned],
                       minlength=n_reg * n_reg).reshape(n_reg, n_reg)
    counts = upper + upper.T - np.diag(np.diag(upper))
    length_sums = lsum + lsum.T - np.diag(np.diag(lsum))
    stats = {
        "n_streamlines": int(n),
        "n_counted": int(assigned.sum()),
        "n_empty": int(empty.sum()),
        "n_length_filtered": n_short,
        "n_unassigned": int((keep & ~((r0 >= 0) & (r1 >= 0))).sum()),
        "n_self": int(same.sum()),
        "n_end_points_outside_grid": n_out,
    }
    logger.info("Tractogram %s: %d streamlines; %d counted between regions, %d with an end "
                "outside every parcel, %d outside the length range, %d within one region (%s), "
                "%d end points outside the grid.", source, n, stats["n_counted"],
                stats["n_unassigned"], n_short, stats["n_self"],
                "kept" if self_connections else "dropped", n_out)
    if stats["n_counted"] == 0:
        raise ValueError(
            f"No streamline of {source} joins two atlas regions ({n} streamlines: "
            f"{stats['n_unassigned']} with an end outside every parcel, {n_short} outside the "
            f"length range [{min_length}, {max_length}] mm, {stats['n_self']} within one "
            "region). Check the space of the atlas, or raise search_radius."
        )
    return _Counts(counts, length_sums, stats)


def _connectome(counted: _Counts, atlas: Atlas, *, weighting: str, log: bool,
                name: str) -> Connectome:
    counts = counted.counts
    lengths = np.divide(counted.length_sums, counts, out=np.zeros_like(counts), where=counts > 0)
    if weighting == "count":
        weights = counts.copy()
    elif weighting == "count_per_volume":
        vol = np.asarray(atlas.region_volumes(), dtype=np.float64)
        weights = counts / ((vol[:, None] + vol[None, :]) / 2.0)
    else:
        weights = counts / counted.stats["n_counted"]
    if log:
        weights = np.log1p(weights)
    return Connectome(weights, lengths, list(atlas.labels), atlas.region_centres(), name=name)


# ----------------------------------------------------------------- geometry
def check_reference(affine: np.ndarray | None, shape: tuple[int, ...] | None, atlas: Atlas,
                    source: str) -> None:
    """Raise ValueError when a reference grid (affine, shape) differs from the atlas's.

    ``None`` entries (unknown reference) are not checked.
    """
    if shape is not None and tuple(shape) != tuple(atlas.shape):
        raise ValueError(
            f"The reference grid of {source} has shape {tuple(shape)}, but the atlas grid has "
            f"shape {tuple(atlas.shape)}: they are not in the same space. Resample the atlas "
            "onto the diffusion/tractogram reference image (nearest neighbour)."
        )
    if affine is not None and not np.allclose(affine, atlas.affine, rtol=0, atol=AFFINE_ATOL):
        raise ValueError(
            f"The reference affine of {source} differs from the atlas affine (tolerance "
            f"{AFFINE_ATOL} mm): they are not in the same space.\n{source}:\n"
            f"{np.array2string(np.asarray(affine), precision=4)}\natlas:\n"
            f"{np.array2string(atlas.affine, precision=4)}\nResample the atlas onto the "
            "reference image (nearest neighbour), or register the two."
        )


def _regions_at(points: np.ndarray, atlas: Atlas,
                search_radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Region index (-1: none) of each world point, and whether it is off the grid."""
    index = atlas.region_indices()
    shape = np.array(index.shape)
    inv = np.linalg.inv(atlas.affine)
    ijk = np.floor(points @ inv[:3, :3].T + inv[:3, 3] + 0.5).astype(np.int64)
    outside = np.any((ijk < 0) | (ijk >= shape), axis=1)
    regions = np.full(len(points), -1, dtype=np.int64)
    inside = ~outside
    vox = ijk[inside]
    regions[inside] = index[vox[:, 0], vox[:, 1], vox[:, 2]]
    if search_radius > 0 and np.any(regions[inside] < 0):
        from scipy import ndimage

        sizes = np.sqrt(np.sum(atlas.affine[:3, :3] ** 2, axis=0))
        dist, nearest = ndimage.distance_transform_edt(
            index < 0, sampling=sizes, return_distances=True, return_indices=True)
        bg = np.flatnonzero(inside)[regions[inside] < 0]
        v = ijk[bg]
        d = dist[v[:, 0], v[:, 1], v[:, 2]]
        near = nearest[:, v[:, 0], v[:, 1], v[:, 2]]
        hit = d <= search_radius
        regions[bg[hit]] = index[near[0, hit], near[1, hit], near[2, hit]]
    return regions, outside


def _grid_extent(atlas: Atlas) -> str:
    corners = np.array([[i, j, k] for i in (0, atlas.shape[0] - 1)
                        for j in (0, atlas.shape[1] - 1) for k in (0, atlas.shape[2] - 1)])
    xyz = corners @ atlas.affine[:3, :3].T + atlas.affine[:3, 3]
    return f"{np.round(xyz.min(axis=0), 1).tolist()} to {np.round(xyz.max(axis=0), 1).tolist()}"


def _check_affine(name: str, affine: Any) -> np.ndarray:
    arr = np.asarray(affine, dtype=np.float64)
    if arr.shape != (4, 4) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite (4, 4) voxel-to-world matrix, but got shape "
                         f"{arr.shape}.")
    return arr


# ------------------------------------------------------------------- writing
def save_trk(streamlines: Any, path: str | os.PathLike[str], affine: Any,
             shape: tuple[int, int, int]) -> Path:
    """Write streamlines (RAS+ mm) to a TrackVis ``.trk`` file with its reference.

    Parameters
    ----------
    streamlines : ArraySequence or sequence of (n_points, 3) arrays
        Points in world (RAS+) mm.
    path : path-like
        Output file (``.trk``).
    affine : array-like (4, 4)
        Voxel-to-RAS+ affine of the reference image.
    shape : tuple of 3 int
        Grid shape of the reference image.

    Returns
    -------
    Path
    """
    import nibabel as nib
    from nibabel.orientations import aff2axcodes

    affine = _check_affine("affine", affine)
    seq = _as_sequence(streamlines, "streamlines")
    tractogram = nib.streamlines.Tractogram(seq, affine_to_rasmm=np.eye(4))
    header = {
        "voxel_to_rasmm": affine,
        "dimensions": tuple(int(s) for s in shape),
        "voxel_sizes": tuple(float(v) for v in np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))),
        "voxel_order": "".join(aff2axcodes(affine)),
    }
    path = Path(path)
    nib.streamlines.save(tractogram, os.fspath(path), header=header)
    return path


# -------------------------------------------------------------------- logging
class _log_level:
    """Context manager: set this package's log level for one call (``verbose=``)."""

    _names = {True: logging.INFO, False: logging.WARNING}

    def __init__(self, verbose: Any) -> None:
        self.level = None
        if verbose is None:
            return
        if isinstance(verbose, bool):
            self.level = self._names[verbose]
        elif isinstance(verbose, str):
            level = logging.getLevelName(verbose.upper())
            if not isinstance(level, int):
                raise ValueError(f"verbose must be a logging level name such as 'INFO', but got "
                                 f"{verbose!r}.")
            self.level = level
        elif isinstance(verbose, int):
            self.level = verbose
        else:
            raise TypeError(f"verbose must be None, a bool, a level name or number, but got "
                            f"{verbose!r}.")

    def __enter__(self) -> _log_level:
        self._logger = logging.getLogger("vbrain.pipelines")
        self._old = self._logger.level
        if self.level is not None:
            self._logger.setLevel(self.level)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._logger.setLevel(self._old)
