"""The structural connectome: weights, tract lengths, region labels and centres.

Conventions (as in The Virtual Brain, TVB):

- ``weights[i, j]`` is the connection **from source region j to target
  region i**, so row ``i`` holds the inputs of region ``i``;
- tract lengths and centres are in mm, conduction speed in mm/ms, delays in
  ms; delay steps are ``np.rint(lengths / speed / dt)``;
- self-connections (the diagonal) are allowed and may have zero length.

File formats: TVB's zip (``weights.txt``, ``tract_lengths.txt``,
``centres.txt`` and optional ``areas.txt``, ``average_orientations.txt``,
``cortical.txt``, ``hemispheres.txt``; members may sit in a sub-folder or be
``.bz2`` compressed), a directory holding the same text files, numpy ``.npz``,
and plain whitespace- or comma-separated matrices.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import logging
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from vbrain._check import byte_size, check_array, check_option, check_range, suggest

__all__ = ["Connectome", "ConnectomeFileError"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Most members a connectome zip may hold (TVB's hold at most 8).
MAX_ZIP_MEMBERS = 256
#: Most bytes a connectome zip may expand to, summed over members (512 MiB).
MAX_UNCOMPRESSED_BYTES = 512 * 2**20

_CHUNK = 2**16

# File names written by to_tvb_zip/to_text; the readers recognise any name
# containing the keyword in _MEMBER_KEYWORDS (e.g. "weights.txt.bz2").
_TVB_FILES = {
    "weights": "weights.txt",
    "lengths": "tract_lengths.txt",
    "centres": "centres.txt",
    "areas": "areas.txt",
    "orientations": "average_orientations.txt",
    "cortical": "cortical.txt",
    "hemispheres": "hemispheres.txt",
}
_MEMBER_KEYWORDS = (
    ("lengths", ("tract", "length")),
    ("weights", ("weight",)),
    ("centres", ("centre", "center")),
    ("orientations", ("orientation",)),
    ("areas", ("area",)),
    ("cortical", ("cortical",)),
    ("hemispheres", ("hemisphere",)),
)
_NPZ_KEYS = {
    "weights": ("weights",),
    "lengths": ("tract_lengths", "lengths"),
    "labels": ("region_labels", "labels"),
    "centres": ("centres",),
    "areas": ("areas",),
    "orientations": ("orientations",),
    "cortical": ("cortical",),
    "hemispheres": ("hemispheres",),
    "name": ("name",),
}


class ConnectomeFileError(ValueError):
    """A connectome file is missing a part, corrupt, or unsafe to read."""


class Connectome:
    """A structural connectome: directed weighted graph of brain regions.

    Parameters
    ----------
    weights : array-like, shape (n_regions, n_regions)
        Connection strengths (arbitrary units, >= 0). ``weights[i, j]`` is the
        connection from source region ``j`` to target region ``i``.
    lengths : array-like, shape (n_regions, n_regions)
        Tract lengths in mm (>= 0).
    labels : sequence of str, optional
        One unique, non-empty name per region. Default ``"R0" .. "R{n-1}"``.
    centres : array-like, shape (n_regions, 3), optional
        Region centres in mm. Default all zeros.
    hemispheres : array-like of bool, shape (n_regions,), optional
        True for a right-hemisphere region (TVB's convention).
    cortical : array-like of bool, shape (n_regions,), optional
        True for a cortical region.
    areas : array-like, shape (n_regions,), optional
        Region areas in mm^2 (>= 0).
    orientations : array-like, shape (n_regions, 3), optional
        Average orientation (normal vector) of each region.
    name : str, default=""
        Free-text name, e.g. where the data came from. Not part of
        :meth:`checksum`.
    allow_zero_lengths : bool, default=False
        Accept non-zero weights on off-diagonal connections whose tract length
        is 0 mm (such connections then have no delay, as in TVB). By default
        they are an error, since a zero length usually means missing data.

    Attributes
    ----------
    weights, lengths, centres, areas, orientations : numpy.ndarray or None
        Read-only float64 copies of the inputs.
    hemispheres, cortical : numpy.ndarray of bool or None
        Read-only copies.
    labels : tuple of str
    name : str
    n_regions : int

    Raises
    ------
    ValueError
        If shapes disagree, values are NaN/Inf or negative, labels are
        duplicated or of the wrong count, or a non-zero off-diagonal weight
        has zero length (unless ``allow_zero_lengths``).
    TypeError
        If an input cannot be converted to numbers, or a label is not a str.

    Examples
    --------
    >>> import numpy as np
    >>> conn = Connectome([[0, 1], [2, 0]], [[0, 10], [10, 0]], ["a", "b"])
    >>> conn.delay_steps(speed=4.0, dt=0.1)
    array([[ 0, 25],
           [25,  0]])
    """

    def __init__(
        self,
        weights: Any,
        lengths: Any,
        labels: Sequence[str] | None = None,
        centres: Any = None,
        *,
        hemispheres: Any = None,
        cortical: Any = None,
        areas: Any = None,
        orientations: Any = None,
        name: str = "",
        allow_zero_lengths: bool = False,
    ) -> None:
        lengths = check_array("lengths", lengths, nonnegative=True)
        if lengths.ndim != 2 or lengths.shape[0] != lengths.shape[1]:
            raise ValueError(
                "lengths must be a square (n_regions, n_regions) matrix, but got "
                f"shape {lengths.shape}."
            )
        n = lengths.shape[0]
        if n == 0:
            raise ValueError("A connectome needs at least one region, but got 0.")
        weights = check_array("weights", weights, nonnegative=True)
        if weights.shape != (n, n):
            raise ValueError(
                f"weights must be {(n, n)} to match lengths, but got {weights.shape}."
            )
        self._labels = _check_labels(labels, n)
        if centres is None:
            centres = np.zeros((n, 3))
        self._weights = _frozen(weights)
        self._lengths = _frozen(lengths)
        self._centres = _frozen(_vector_array("centres", centres, (n, 3)))
        self._areas = _optional(
            areas, lambda v: _vector_array("areas", v, (n,), nonnegative=True)
        )
        self._orientations = _optional(
            orientations, lambda v: _vector_array("orientations", v, (n, 3))
        )
        self._hemispheres = _optional(hemispheres, lambda v: _bools("hemispheres", v, n))
        self._cortical = _optional(cortical, lambda v: _bools("cortical", v, n))
        if not isinstance(name, str):
            raise TypeError(f"name must be str, but got {type(name).__name__}.")
        self._name = name
        self._allow_zero_lengths = bool(allow_zero_lengths)
        if not self._allow_zero_lengths:
            self._check_zero_lengths()

    # ------------------------------------------------------------------ data
    @property
    def weights(self) -> np.ndarray:
        """Connection strengths, (n_regions, n_regions), target x source."""
        return self._weights

    @property
    def lengths(self) -> np.ndarray:
        """Tract lengths in mm, (n_regions, n_regions)."""
        return self._lengths

    @property
    def labels(self) -> tuple[str, ...]:
        """Region names, one per region."""
        return self._labels

    @property
    def centres(self) -> np.ndarray:
        """Region centres in mm, (n_regions, 3)."""
        return self._centres

    @property
    def hemispheres(self) -> np.ndarray | None:
        """True for right-hemisphere regions, (n_regions,), or None."""
        return self._hemispheres

    @property
    def cortical(self) -> np.ndarray | None:
        """True for cortical regions, (n_regions,), or None."""
        return self._cortical

    @property
    def areas(self) -> np.ndarray | None:
        """Region areas in mm^2, (n_regions,), or None."""
        return self._areas

    @property
    def orientations(self) -> np.ndarray | None:
        """Average region orientations, (n_regions, 3), or None."""
        return self._orientations

    @property
    def name(self) -> str:
        """Free-text name (not part of the checksum)."""
        return self._name

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return len(self._labels)

    def __repr__(self) -> str:
        n_edges = int(np.count_nonzero(self._weights))
        name = f"{self._name!r}, " if self._name else ""
        return (
            f"<Connectome {name}{self.n_regions} regions, {n_edges} non-zero "
            f"weights in [{self._weights.min():.4g}, {self._weights.max():.4g}], "
            f"lengths in [{self._lengths.min():.4g}, {self._lengths.max():.4g}] mm>"
        )

    def checksum(self) -> str:
        """Return a SHA-256 hex digest of the weights, lengths and labels.

        Two connectomes with the same digest simulate identically (for the
        same model, speed and dt); it is recorded in result provenance.

        Returns
        -------
        digest : str
            64 hexadecimal characters.
        """
        h = hashlib.sha256(b"vbrain.Connectome v1\n")
        h.update(f"{self.n_regions}\n".encode())
        h.update(self._weights.astype("<f8").tobytes())
        h.update(self._lengths.astype("<f8").tobytes())
        h.update("\x00".join(self._labels).encode("utf-8"))
        return h.hexdigest()

    # ---------------------------------------------------------------- delays
    def delays(self, speed: float) -> np.ndarray:
        """Return conduction delays in ms.

        Parameters
        ----------
        speed : float
            Conduction speed in mm/ms (= m/s), > 0.

        Returns
        -------
        delays : numpy.ndarray, shape (n_regions, n_regions)
            ``lengths / speed`` in ms.
        """
        speed = check_range("speed", speed, 0, low_inclusive=False)
        return self._lengths / speed

    def delay_steps(self, speed: float, dt: float) -> np.ndarray:
        """Return conduction delays in integration steps.

        Parameters
        ----------
        speed : float
            Conduction speed in mm/ms, > 0.
        dt : float
            Integration step in ms, > 0.

        Returns
        -------
        steps : numpy.ndarray of int64, shape (n_regions, n_regions)
            ``np.rint(lengths / speed / dt)``, exactly as TVB computes it
            (``np.rint`` rounds halves to even).
        """
        speed = check_range("speed", speed, 0, low_inclusive=False)
        dt = check_range("dt", dt, 0, low_inclusive=False)
        return np.rint(self._lengths / speed / dt).astype(np.int64)

    # ------------------------------------------------------------ transforms
    def normalized(self, mode: str) -> Connectome:
        """Return a copy with rescaled weights (lengths unchanged).

        Parameters
        ----------
        mode : {"max", "max_row_sum", "row_sum", "log"}
            - ``"max"``: divide all weights by the largest weight, so the
              maximum becomes 1 (TVB's ``scaled_weights(mode="tract")``).
            - ``"max_row_sum"``: divide all weights by the largest row sum (the
              total input of the most strongly driven region), which becomes 1
              (TVB's ``scaled_weights(mode="region")``: one global factor).
            - ``"row_sum"``: divide each row (the inputs of one target region,
              self-connection included) by its own sum, so each non-zero row
              sums to 1; all-zero rows stay zero.
            - ``"log"``: ``log(1 + w)`` element-wise (``np.log1p``), the usual
              compression of streamline counts; zeros stay zero.

        Returns
        -------
        conn : Connectome

        Raises
        ------
        ValueError
            For an unknown mode, or ``"max"`` / ``"max_row_sum"`` when all
            weights are zero.
        """
        check_option("mode", mode, ("max", "max_row_sum", "row_sum", "log"))
        w = self._weights
        if mode in ("max", "max_row_sum"):
            factor = w.max() if mode == "max" else w.sum(axis=1).max()
            if factor == 0:
                raise ValueError(
                    f"Cannot normalise by the {'maximum weight' if mode == 'max' else 'largest row sum'}: "
                    "all weights are zero."
                )
            new = w / factor
        elif mode == "row_sum":
            sums = w.sum(axis=1, keepdims=True)
            new = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
        else:
            new = np.log1p(w)
        return self._replace(weights=new)

    def thresholded(
        self, value: float | None = None, *, proportion: float | None = None
    ) -> Connectome:
        """Return a copy with weak off-diagonal weights set to zero.

        Give exactly one of ``value`` or ``proportion``. Self-connections (the
        diagonal) and all tract lengths are left unchanged.

        Parameters
        ----------
        value : float, optional
            Absolute threshold (weight units, >= 0): off-diagonal weights
            below ``value`` become 0; weights equal to it are kept.
        proportion : float, optional
            Fraction in [0, 1] of the non-zero off-diagonal weights to keep,
            the strongest first; ``round(proportion * n_nonzero)`` are kept and
            ties at the cut are resolved by position (row-major order).

        Returns
        -------
        conn : Connectome

        Raises
        ------
        ValueError
            If both or neither are given, or a value is out of range.
        """
        if (value is None) == (proportion is None):
            raise ValueError(
                "Give exactly one of value (an absolute weight threshold) or "
                f"proportion (fraction of edges to keep), but got value={value!r} "
                f"and proportion={proportion!r}."
            )
        w = self._weights.copy()
        off = ~np.eye(self.n_regions, dtype=bool)
        if value is not None:
            value = check_range("value", value, 0)
            w[off & (w < value)] = 0.0
        else:
            proportion = check_range("proportion", proportion, 0, 1)
            edges = np.flatnonzero(off & (w > 0))
            n_keep = int(np.floor(proportion * edges.size + 0.5))
            order = np.argsort(-w.flat[edges], kind="stable")
            w.flat[edges[order[n_keep:]]] = 0.0
        return self._replace(weights=w)

    def subset(self, regions: Sequence[str | int] | np.ndarray) -> Connectome:
        """Return the connectome restricted to (and ordered as) ``regions``.

        Parameters
        ----------
        regions : sequence of str or int, or boolean mask
            Region labels, or indices in ``range(n_regions)``, or a boolean
            array of length ``n_regions``. Duplicates are not allowed.

        Returns
        -------
        conn : Connectome
            All per-region fields are sliced the same way.

        Raises
        ------
        ValueError
            For an unknown label (with a suggestion), a duplicate, or an empty
            selection.
        IndexError
            For an index out of range.
        """
        idx = self._region_indices(regions)
        grid = np.ix_(idx, idx)

        def take(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else arr[idx]

        return Connectome(
            self._weights[grid],
            self._lengths[grid],
            [self._labels[i] for i in idx],
            self._centres[idx],
            hemispheres=take(self._hemispheres),
            cortical=take(self._cortical),
            areas=take(self._areas),
            orientations=take(self._orientations),
            name=self._name,
            allow_zero_lengths=self._allow_zero_lengths,
        )

    # ------------------------------------------------------------------ I/O
    @classmethod
    def load(
        cls, source: PathLike, *, allow_zero_lengths: bool | None = None
    ) -> Connectome:
        """Load a connectome from bundled data or a file, by its form.

        Parameters
        ----------
        source : str or path-like
            - ``"atlases:default"`` or ``"atlases:NAME"``: a bundled connectome
              (see ``vbrain.atlases.available()``);
            - a path ending in ``.zip``: TVB's zip format
              (:meth:`from_tvb_zip`);
            - a path ending in ``.npz``: :meth:`from_npz`;
            - a directory holding ``weights.txt`` and ``tract_lengths.txt``
              (and optionally the other TVB text files, as written by
              :meth:`to_text`).
        allow_zero_lengths : bool, optional
            See :class:`Connectome`. Default: True for bundled data (which is
            used as published; tvb-data's 192-region set has such edges),
            False for files.

        Returns
        -------
        conn : Connectome
        """
        if isinstance(source, str) and source.startswith("atlases:"):
            from vbrain import atlases

            atlas = source[len("atlases:") :]
            path = atlases.connectome_path(atlas)
            allow = True if allow_zero_lengths is None else allow_zero_lengths
            conn = cls._load_path(path, source, allow)
            n_zero = conn._count_zero_length_edges()
            if n_zero:
                logger.info(
                    "%s has %d non-zero weight(s) on zero-length connections; "
                    "they have no delay.",
                    source,
                    n_zero,
                )
            return conn._replace(name=source)
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                "source must be a str or path-like, but got "
                f"{type(source).__name__}."
            )
        return cls._load_path(Path(source), source, bool(allow_zero_lengths))

    @classmethod
    def _load_path(
        cls, path: Path, source: PathLike, allow_zero_lengths: bool
    ) -> Connectome:
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return cls.from_tvb_zip(path, allow_zero_lengths=allow_zero_lengths)
        if suffix == ".npz":
            return cls.from_npz(path, allow_zero_lengths=allow_zero_lengths)
        if path.is_dir():
            return cls._from_dir(path, allow_zero_lengths=allow_zero_lengths)
        from vbrain import atlases

        raise ValueError(
            f"Cannot load a connectome from {str(source)!r}: expected "
            "'atlases:NAME' (NAME one of "
            f"{atlases.available()}), a TVB '.zip' file, a '.npz' file, or a "
            "directory holding weights.txt and tract_lengths.txt."
            + ("" if path.exists() else " (No such file or directory.)")
        )

    def save(self, path: PathLike) -> Path:
        """Save to a file whose suffix picks the format.

        Parameters
        ----------
        path : str or path-like
            Ending in ``.zip`` (TVB's format, :meth:`to_tvb_zip`) or ``.npz``
            (:meth:`to_npz`). For text files use :meth:`to_text`.

        Returns
        -------
        path : pathlib.Path
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return self.to_tvb_zip(path)
        if suffix == ".npz":
            return self.to_npz(path)
        raise ValueError(
            "save() picks the format from the suffix, '.zip' (TVB) or '.npz', "
            f"but got {path.name!r}. For text files use to_text(directory)."
        )

    @classmethod
    def from_tvb_zip(
        cls,
        path: PathLike,
        *,
        allow_zero_lengths: bool = False,
        max_bytes: int = MAX_UNCOMPRESSED_BYTES,
    ) -> Connectome:
        """Read TVB's connectivity zip, safely and without extracting it.

        Members are recognised by name: ``*weight*`` (required),
        ``*tract*``/``*length*`` (required), ``*centre*``/``*center*``
        (lines ``label x y z``, mm), ``*orientation*``, ``*area*``,
        ``*cortical*``, ``*hemisphere*``; ``.bz2`` members are decompressed;
        members may be in a sub-folder; others (e.g. ``info.txt``) are ignored.

        Parameters
        ----------
        path : str or path-like
            The zip file.
        allow_zero_lengths : bool, default=False
            See :class:`Connectome`.
        max_bytes : int, default=512 MiB
            Most bytes the members may expand to in total; checked against the
            zip headers and again while reading.

        Returns
        -------
        conn : Connectome
            Named after the file.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ConnectomeFileError
            If the archive is corrupt or truncated; has absolute, ``..`` or
            symlink members, too many members or too much data; lacks weights
            or tract lengths; or its contents are malformed.
        """
        path = _existing_file(path)
        try:
            with zipfile.ZipFile(path) as zf:
                infos = _checked_members(zf, path, max_bytes)
                found = _classify(infos, lambda i: i.filename, path, "archive")
                budget = [max_bytes]
                texts = {
                    key: (f"{path.name}:{info.filename}",
                          _read_member(zf, info, path, budget))
                    for key, info in found.items()
                }
        except zipfile.BadZipFile as err:
            raise ConnectomeFileError(
                f"{path} is not a valid zip archive (it may be truncated or "
                f"corrupt): {err}"
            ) from None
        return cls._from_texts(
            texts, str(path), name=path.stem, allow_zero_lengths=allow_zero_lengths
        )

    def to_tvb_zip(self, path: PathLike) -> Path:
        """Write TVB's connectivity zip (readable by TVB and :meth:`from_tvb_zip`).

        Values are written with 17 significant digits, so reading the file
        back gives the same float64 numbers.

        Parameters
        ----------
        path : str or path-like
            Output file; overwritten if it exists.

        Returns
        -------
        path : pathlib.Path

        Raises
        ------
        ValueError
            If a label contains whitespace (``centres.txt`` cannot hold it).
        """
        path = Path(path)
        files = self._tvb_texts()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for fname, text in files.items():
                zf.writestr(fname, text.encode("utf-8"))
        logger.info("Wrote %d-region connectome to %s", self.n_regions, path)
        return path

    def to_text(self, directory: PathLike) -> Path:
        """Write TVB's text files into a directory (created if needed).

        Writes ``weights.txt``, ``tract_lengths.txt``, ``centres.txt`` and,
        when present, ``areas.txt``, ``average_orientations.txt``,
        ``cortical.txt``, ``hemispheres.txt``. ``Connectome.load(directory)``
        reads them back exactly.

        Parameters
        ----------
        directory : str or path-like

        Returns
        -------
        directory : pathlib.Path
        """
        directory = Path(directory)
        files = self._tvb_texts()
        directory.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            (directory / fname).write_text(text, encoding="utf-8")
        return directory

    @classmethod
    def from_text(
        cls,
        weights_path: PathLike,
        lengths_path: PathLike,
        labels: PathLike | Sequence[str] | None = None,
        centres: PathLike | Any = None,
        *,
        allow_zero_lengths: bool = False,
    ) -> Connectome:
        """Read plain-text matrices (whitespace-, comma- or semicolon-separated).

        The delimiter is sniffed per file from its first data line: ``,`` if
        present, else ``;``, else any whitespace. Blank lines and lines
        starting with ``#`` are skipped.

        Parameters
        ----------
        weights_path, lengths_path : str or path-like
            Square matrices; weights are target x source, lengths in mm.
        labels : str, path-like or sequence of str, optional
            A file with one label per line, or the labels themselves.
        centres : str, path-like or array-like, optional
            A file of lines ``label x y z`` (TVB's centres.txt; its labels are
            used when ``labels`` is None) or ``x y z``, or an (n, 3) array (mm).
        allow_zero_lengths : bool, default=False
            See :class:`Connectome`.

        Returns
        -------
        conn : Connectome
        """
        wpath = _existing_file(weights_path)
        lpath = _existing_file(lengths_path)
        weights = _parse_matrix(_read_text_file(wpath), str(wpath), sniff=True)
        lengths = _parse_matrix(_read_text_file(lpath), str(lpath), sniff=True)
        if isinstance(labels, (str, os.PathLike)):
            lab_path = _existing_file(labels)
            labels = [
                line.strip()
                for line in _read_text_file(lab_path).splitlines()
                if line.strip()
            ]
        if isinstance(centres, (str, os.PathLike)):
            cpath = _existing_file(centres)
            file_labels, centres = _parse_centres(_read_text_file(cpath), str(cpath))
            if labels is None:
                labels = file_labels
        try:
            return cls(
                weights,
                lengths,
                labels,
                centres,
                name=wpath.stem,
                allow_zero_lengths=allow_zero_lengths,
            )
        except (ValueError, TypeError) as err:
            raise ConnectomeFileError(f"{wpath}, {lpath}: {err}") from None

    @classmethod
    def from_npz(
        cls, path: PathLike, *, allow_zero_lengths: bool = False
    ) -> Connectome:
        """Read a numpy ``.npz`` file (never unpickles).

        Keys: ``weights`` and ``tract_lengths`` (or ``lengths``) required;
        ``region_labels`` (or ``labels``), ``centres``, ``areas``,
        ``orientations``, ``cortical``, ``hemispheres``, ``name`` optional;
        other keys are ignored.

        Parameters
        ----------
        path : str or path-like
        allow_zero_lengths : bool, default=False
            See :class:`Connectome`.

        Returns
        -------
        conn : Connectome
        """
        path = _existing_file(path)
        try:
            with zipfile.ZipFile(path) as zf:
                _checked_members(zf, path, MAX_UNCOMPRESSED_BYTES)
            with np.load(path, allow_pickle=False) as npz:
                keys = list(npz.files)
                fields: dict[str, Any] = {}
                for field, names in _NPZ_KEYS.items():
                    for key in names:
                        if key in keys:
                            fields[field] = npz[key]
                            break
        except ConnectomeFileError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as err:
            raise ConnectomeFileError(
                f"Could not read {path} as a .npz connectome (corrupt, truncated, "
                f"or holding pickled objects): {err}"
            ) from None
        missing = [f for f in ("weights", "lengths") if f not in fields]
        if missing:
            wanted = " and ".join(repr(_NPZ_KEYS[f][0]) for f in missing)
            raise ConnectomeFileError(
                f"{path} has no {wanted} array; it holds: {', '.join(keys) or 'nothing'}."
            )
        name = fields.pop("name", None)
        name = str(name) if name is not None else path.stem
        labels = fields.pop("labels", None)
        if labels is not None:
            labels = [str(s) for s in np.atleast_1d(labels)]
        try:
            return cls(
                fields.pop("weights"),
                fields.pop("lengths"),
                labels,
                fields.pop("centres", None),
                name=name,
                allow_zero_lengths=allow_zero_lengths,
                **fields,
            )
        except (ValueError, TypeError) as err:
            raise ConnectomeFileError(f"{path}: {err}") from None

    def to_npz(self, path: PathLike) -> Path:
        """Write a compressed ``.npz`` (keys as read by :meth:`from_npz`).

        Parameters
        ----------
        path : str or path-like
            Output file, written as given (no suffix is added).

        Returns
        -------
        path : pathlib.Path
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "weights": self._weights,
            "tract_lengths": self._lengths,
            "centres": self._centres,
            "region_labels": np.array(self._labels, dtype=str),
            "name": np.array(self._name, dtype=str),
        }
        for key in ("areas", "orientations", "cortical", "hemispheres"):
            value = getattr(self, key)
            if value is not None:
                arrays[key] = value
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    # -------------------------------------------------------------- private
    @classmethod
    def _from_dir(cls, directory: Path, *, allow_zero_lengths: bool) -> Connectome:
        files = sorted(p for p in directory.iterdir() if p.is_file())
        found = _classify(files, lambda p: p.name, directory, "directory")
        texts = {key: (str(p), _read_text_file(p)) for key, p in found.items()}
        return cls._from_texts(
            texts,
            str(directory),
            name=directory.name,
            allow_zero_lengths=allow_zero_lengths,
        )

    @classmethod
    def _from_texts(
        cls,
        texts: dict[str, tuple[str, str]],
        source: str,
        *,
        name: str,
        allow_zero_lengths: bool,
    ) -> Connectome:
        """Build from TVB text files: ``texts[key] = (where, content)``."""
        fields: dict[str, Any] = {}
        for key in ("weights", "lengths", "orientations"):
            if key in texts:
                fields[key] = _parse_matrix(texts[key][1], texts[key][0])
        for key in ("areas", "cortical", "hemispheres"):
            if key in texts:
                fields[key] = _parse_matrix(texts[key][1], texts[key][0]).ravel()
        labels = None
        if "centres" in texts:
            where, content = texts["centres"]
            labels, fields["centres"] = _parse_centres(content, where)
        try:
            conn = cls(
                fields.pop("weights"),
                fields.pop("lengths"),
                labels,
                fields.pop("centres", None),
                name=name,
                allow_zero_lengths=allow_zero_lengths,
                **fields,
            )
        except (ValueError, TypeError) as err:
            raise ConnectomeFileError(f"{source}: {err}") from None
        logger.info("Read %d-region connectome from %s", conn.n_regions, source)
        return conn

    def _tvb_texts(self) -> dict[str, str]:
        """The TVB text files of this connectome, ``{file name: content}``."""
        bad = [lab for lab in self._labels if any(c.isspace() for c in lab)]
        if bad:
            raise ValueError(
                "TVB's centres.txt cannot hold labels containing whitespace, but "
                f"got {bad[0]!r}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
                + ". Rename the regions or save as .npz."
            )
        out = {
            _TVB_FILES["weights"]: _format_matrix(self._weights),
            _TVB_FILES["lengths"]: _format_matrix(self._lengths),
            _TVB_FILES["centres"]: "".join(
                f"{lab} {x!r} {y!r} {z!r}\n"
                for lab, (x, y, z) in zip(self._labels, self._centres.tolist())
            ),
        }
        if self._areas is not None:
            out[_TVB_FILES["areas"]] = _format_matrix(self._areas[:, None])
        if self._orientations is not None:
            out[_TVB_FILES["orientations"]] = _format_matrix(self._orientations)
        for key in ("cortical", "hemispheres"):
            value = getattr(self, key)
            if value is not None:
                out[_TVB_FILES[key]] = "".join(f"{int(v)}\n" for v in value)
        return out

    def _replace(self, **changes: Any) -> Connectome:
        fields = {
            "weights": self._weights,
            "lengths": self._lengths,
            "labels": self._labels,
            "centres": self._centres,
            "hemispheres": self._hemispheres,
            "cortical": self._cortical,
            "areas": self._areas,
            "orientations": self._orientations,
            "name": self._name,
            "allow_zero_lengths": self._allow_zero_lengths,
        }
        fields.update(changes)
        weights = fields.pop("weights")
        lengths = fields.pop("lengths")
        labels = fields.pop("labels")
        centres = fields.pop("centres")
        return Connectome(weights, lengths, labels, centres, **fields)

    def _zero_length_mask(self) -> np.ndarray:
        off = ~np.eye(self.n_regions, dtype=bool)
        return off & (self._weights != 0) & (self._lengths == 0)

    def _count_zero_length_edges(self) -> int:
        return int(np.count_nonzero(self._zero_length_mask()))

    def _check_zero_lengths(self) -> None:
        bad = np.argwhere(self._zero_length_mask())
        if bad.size == 0:
            return
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"weights has {len(bad)} non-zero off-diagonal connection(s) with zero "
            f"tract length, the first from {self._labels[j]!r} (source {j}) to "
            f"{self._labels[i]!r} (target {i}): weight {float(self._weights[i, j])!r}, "
            "length 0 mm. Give the tract length, set the weight to 0, or pass "
            "allow_zero_lengths=True to accept zero-delay connections (as TVB does)."
        )

    def _region_indices(self, regions: Any) -> list[int]:
        n = self.n_regions
        if isinstance(regions, (str, bytes)):
            raise TypeError(
                "regions must be a sequence of labels or indices, not a single "
                f"string; use [{regions!r}]."
            )
        arr = np.asarray(regions)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise ValueError(
                    f"A boolean regions mask must have shape ({n},), but got {arr.shape}."
                )
            idx = [int(i) for i in np.flatnonzero(arr)]
        else:
            lookup = {lab: k for k, lab in enumerate(self._labels)}
            idx = []
            for item in list(regions):
                if isinstance(item, str):
                    if item not in lookup:
                        raise ValueError(
                            f"Unknown region label {item!r} (not among the {n} "
                            f"labels).{suggest(item, self._labels)}"
                        )
                    idx.append(lookup[item])
                elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                    if not 0 <= item < n:
                        raise IndexError(
                            f"Region index {int(item)} is out of range: expected "
                            f"0 <= index < {n}."
                        )
                    idx.append(int(item))
                else:
                    raise TypeError(
                        "regions must hold labels (str) or indices (int), but got "
                        f"{item!r} of type {type(item).__name__}."
                    )
            seen: set[int] = set()
            for k in idx:
                if k in seen:
                    raise ValueError(
                        f"Region {self._labels[k]!r} (index {k}) is selected twice."
                    )
                seen.add(k)
        if not idx:
            raise ValueError("regions selects no region; select at least one.")
        return idx


# ---------------------------------------------------------------- validation
def _frozen(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        arr += 0.0  # turn -0.0 into 0.0 so equal values hash equally
    arr.setflags(write=False)
    return arr


def _optional(
    value: Any, convert: Callable[[Any], np.ndarray]
) -> np.ndarray | None:
    return None if value is None else _frozen(convert(value))


def _vector_array(
    name: str, value: Any, shape: tuple[int, ...], *, nonnegative: bool = False
) -> np.ndarray:
    arr = check_array(name, value, nonnegative=nonnegative)
    if arr.shape != shape:
        raise ValueError(
            f"{name} must be {shape} (one {'row' if len(shape) > 1 else 'value'} "
            f"per region), but got {arr.shape}."
        )
    return arr


def _bools(name: str, value: Any, n: int) -> np.ndarray:
    arr = np.array(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be ({n},) (one per region), but got {arr.shape}.")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold booleans or 0/1, but got dtype {arr.dtype}.")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise ValueError(
            f"{name} must hold booleans or 0/1, but got {arr[bad[0]].item()!r} at index "
            f"{int(bad[0])}."
        )
    return arr.astype(bool)


def _check_labels(labels: Any, n: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"R{i}" for i in range(n))
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            "labels must be a sequence of str (one per region), not a single string."
        )
    labels = list(labels.ravel()) if isinstance(labels, np.ndarray) else list(labels)
    if len(labels) != n:
        raise ValueError(
            f"labels must have {n} entries (one per region), but got {len(labels)}."
        )
    out = []
    for k, lab in enumerate(labels):
        if not isinstance(lab, str):
            raise TypeError(
                f"labels must be str, but label {k} is {lab!r} of type "
                f"{type(lab).__name__}."
            )
        if not lab or "\x00" in lab:
            raise ValueError(
                f"labels must be non-empty and free of NUL characters, but label "
                f"{k} is {lab!r}."
            )
        out.append(str(lab))
    if len(set(out)) != n:
        first: dict[str, int] = {}
        for k, lab in enumerate(out):
            if lab in first:
                raise ValueError(
                    f"labels must be unique, but {lab!r} appears at indices "
                    f"{first[lab]} and {k}."
                )
            first[lab] = k
    return tuple(out)


# --------------------------------------------------------------- file safety
def _existing_file(path: PathLike) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, but got {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"Connectome file {str(path)!r} {what}.")
    return path


def _checked_members(
    zf: zipfile.ZipFile, path: Path, max_bytes: int
) -> list[zipfile.ZipInfo]:
    """Reject unsafe archives from their headers; return the file members."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ConnectomeFileError(
            f"{path} holds {len(infos)} members, more than the {MAX_ZIP_MEMBERS} "
            "a connectome archive may hold."
        )
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            raise ConnectomeFileError(
                f"{path} is unsafe: member {name!r} has an absolute path."
            )
        if ".." in parts:
            raise ConnectomeFileError(
                f"{path} is unsafe: member {name!r} points outside the archive ('..')."
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ConnectomeFileError(
                f"{path} is unsafe: member {name!r} is a symbolic link."
            )
        total += info.file_size
        if total > max_bytes:
            raise ConnectomeFileError(
                f"{path} declares more than {byte_size(max_bytes)} of uncompressed data "
                f"(reached at member {name!r}, {byte_size(info.file_size)}); refusing "
                "to read it."
            )
    return [i for i in infos if not i.is_dir()]


def _classify(
    items: Sequence[Any], name_of: Callable[[Any], str], where: Path, kind: str
) -> dict[str, Any]:
    """Map TVB keys ("weights", ...) to the archive members / files holding them."""
    found: dict[str, Any] = {}
    names = [name_of(item) for item in items]
    for item, full in zip(items, names):
        base = re.split(r"[\\/]", full)[-1]
        if full.startswith("__MACOSX") or base.startswith("._"):
            continue
        stem = base.lower()
        if stem.endswith(".bz2"):
            stem = stem[:-4]
        stem = stem.rsplit(".", 1)[0]
        for key, words in _MEMBER_KEYWORDS:
            if any(w in stem for w in words):
                if key in found:
                    raise ConnectomeFileError(
                        f"{where} is ambiguous: both {name_of(found[key])!r} and "
                        f"{full!r} look like the {key} file."
                    )
                found[key] = item
                break
        else:
            logger.debug("Ignoring %r in %s", full, where)
    missing = [k for k in ("weights", "lengths") if k not in found]
    if missing:
        want = " and ".join(_TVB_FILES[k] for k in missing)
        raise ConnectomeFileError(
            f"{kind.capitalize()} {where} has no {want} (required); it holds: "
            f"{', '.join(names) if names else 'nothing'}."
        )
    return found


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: list[int]
) -> str:
    """Read one member within the remaining byte budget; decode to text."""
    where = f"{path}:{info.filename}"
    limit = budget[0]
    chunks = []
    size = 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ConnectomeFileError(
                        f"{where} expands beyond the {byte_size(limit)} still allowed; "
                        "refusing to read it."
                    )
                chunks.append(chunk)
    except ConnectomeFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as err:
        raise ConnectomeFileError(
            f"Could not read {where} (corrupt, truncated or encrypted): {err}"
        ) from None
    data = b"".join(chunks)
    if info.filename.lower().endswith(".bz2"):
        data = _bunzip(data, limit, where)
    budget[0] -= len(data)
    return _decode(data, where)


def _bunzip(data: bytes, limit: int, where: str) -> bytes:
    dec = bz2.BZ2Decompressor()
    try:
        out = dec.decompress(data, max_length=limit + 1)
    except (OSError, EOFError, ValueError) as err:
        raise ConnectomeFileError(f"{where} is not valid bzip2 data: {err}") from None
    if len(out) > limit:
        raise ConnectomeFileError(
            f"{where} decompresses beyond the {byte_size(limit)} still allowed; "
            "refusing to read it."
        )
    if not dec.eof:
        raise ConnectomeFileError(f"{where} is truncated bzip2 data.")
    return out


# ------------------------------------------------------------------- parsing
def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.info("%s is not UTF-8; decoding it as Latin-1.", where)
        return data.decode("latin-1")


def _read_text_file(path: Path) -> str:
    return _decode(path.read_bytes(), str(path))


def _sniff_delimiter(line: str) -> str | None:
    if "," in line:
        return ","
    if ";" in line:
        return ";"
    return None


def _parse_matrix(text: str, where: str, *, sniff: bool = False) -> np.ndarray:
    """Parse rows of numbers; errors name ``where``, the line and the token."""
    rows: list[list[float]] = []
    delimiter: str | None = None
    first_line = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not rows and sniff:
            delimiter = _sniff_delimiter(line)
        tokens = [t.strip() for t in line.split(delimiter)]
        if delimiter is not None and tokens and tokens[-1] == "":
            tokens.pop()
        try:
            row = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            raise ConnectomeFileError(
                f"{where}, line {lineno}: could not read {bad!r} as a number."
            ) from None
        if rows and len(row) != len(rows[0]):
            raise ConnectomeFileError(
                f"{where}, line {lineno}: expected {len(rows[0])} values (as on "
                f"line {first_line}), but found {len(row)}."
            )
        if not rows:
            first_line = lineno
        rows.append(row)
    if not rows:
        raise ConnectomeFileError(f"{where} holds no numbers.")
    return np.array(rows, dtype=np.float64)


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_centres(text: str, where: str) -> tuple[list[str] | None, np.ndarray]:
    """Parse ``label x y z`` (TVB) or ``x y z`` lines; extra columns are ignored."""
    labels: list[str] = []
    coords: list[list[float]] = []
    with_labels: bool | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        has_label = not (len(tokens) == 3 and all(_is_float(t) for t in tokens))
        if with_labels is None:
            with_labels = has_label
        elif has_label != with_labels:
            raise ConnectomeFileError(
                f"{where}, line {lineno}: mixes lines with and without labels."
            )
        values = tokens[1:4] if has_label else tokens
        if len(values) < 3:
            raise ConnectomeFileError(
                f"{where}, line {lineno}: expected 'label x y z', but found "
                f"{raw.strip()!r}."
            )
        try:
            coords.append([float(v) for v in values])
        except ValueError:
            bad = next(t for t in values if not _is_float(t))
            raise ConnectomeFileError(
                f"{where}, line {lineno}: could not read {bad!r} as a coordinate."
            ) from None
        if has_label:
            labels.append(tokens[0])
    if not coords:
        raise ConnectomeFileError(f"{where} holds no centres.")
    return (labels if with_labels else None), np.array(coords, dtype=np.float64)


def _format_matrix(arr: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, arr, fmt="%.17g")
    return buf.getvalue()
