"""How each output was made: inputs (with SHA-256), parameters, software versions.

Every pipeline output is a NetCDF-4 file (an ``xarray.Dataset``) with a JSON
sidecar of the same stem. The provenance record is one dict, stored twice:
in the sidecar (readable without Python) and as the JSON string attribute
``provenance`` of the dataset (it travels with the file)::

    {
      "step": "fmri",                         # which pipeline made it
      "created": "2026-01-01T12:00:00Z",      # UTC
      "inputs": [{"path": ..., "sha256": ..., "bytes": ...}, ...],
      "parameters": {...},                    # every parameter, defaults included
      "versions": {"vbrain": ..., "python": ..., "numpy": ..., "nilearn": ..., "mne": ...}
    }

Paths are stored relative to ``root`` when given (e.g. the BIDS dataset), so
a record does not leak where the data sat on one machine.

Reading back: :func:`load_dataset` returns the dataset with
``ds.attrs["provenance"]`` parsed into a dict.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["file_record", "load_dataset", "make_provenance", "save_dataset", "sha256",
           "versions", "write_json"]

logger = logging.getLogger(__name__)

#: packages whose versions every record lists (those not installed are skipped)
PACKAGES = ("vbrain", "numpy", "scipy", "nibabel", "nilearn", "mne", "xarray", "h5netcdf",
            "pandas", "dipy", "edfio")

_CHUNK = 2**20


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def file_record(path: str | os.PathLike, root: str | os.PathLike | None = None) -> dict:
    """``{"path", "sha256", "bytes"}`` of an input file; ``path`` relative to ``root`` if inside it."""
    p = Path(path)
    shown = p
    if root is not None:
        try:
            shown = p.resolve().relative_to(Path(root).resolve())
        except ValueError:
            shown = p
    return {"path": shown.as_posix(), "sha256": sha256(p), "bytes": p.stat().st_size}


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages in :data:`PACKAGES` that are installed."""
    out = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def make_provenance(step: str, inputs: Iterable[Any] = (), parameters: Mapping | None = None,
                    *, root: str | os.PathLike | None = None) -> dict:
    """A provenance record (see the module notes).

    Parameters
    ----------
    step : str
        The pipeline step ("fmri", "eeg", "dti", ...).
    inputs : iterable of path-like or dict
        Input files (hashed here) or ready records (dicts, kept as they are).
    parameters : mapping, optional
        The parameters used; made JSON-safe (numpy scalars and arrays to
        lists, paths to strings).
    root : path-like, optional
        Input paths are recorded relative to it.

    Returns
    -------
    dict
    """
    records = [dict(i) if isinstance(i, Mapping) else file_record(i, root) for i in inputs]
    return {
        "step": str(step),
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": records,
        "parameters": _jsonable(dict(parameters or {})),
        "versions": versions(),
    }


def write_json(path: str | os.PathLike, data: Mapping, *, overwrite: bool = False) -> Path:
    """Write ``data`` as indented JSON (atomic: a temporary file, then a rename)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(_jsonable(dict(data)), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def save_dataset(ds: Any, path: str | os.PathLike, provenance: Mapping | None = None, *,
                 sidecar: Mapping | None = None, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a dataset to NetCDF-4 (h5netcdf) and its JSON sidecar.

    Parameters
    ----------
    ds : xarray.Dataset
        Attributes that are dicts or lists are stored as JSON strings
        (NetCDF attributes are scalars, strings or 1-D arrays).
    path : path-like
        File name ending in ``.nc``; the sidecar is the same stem + ``.json``.
    provenance : mapping, optional
        The record from :func:`make_provenance`; default
        ``ds.attrs["provenance"]``.
    sidecar : mapping, optional
        Extra sidecar keys (BIDS ``Description``, ``Sources``, ...), written
        before ``"vbrain"`` (which holds the provenance).
    overwrite : bool, default False
        Replace existing files.

    Returns
    -------
    (data path, sidecar path)

    Raises
    ------
    ValueError
        A suffix other than ``.nc``.
    FileExistsError
        A file exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"save_dataset writes NetCDF: the file name must end in .nc, but got "
                         f"{path.name!r}.")
    json_path = path.with_suffix(".json")
    for p in (path, json_path):
        if p.exists() and not overwrite:
            raise FileExistsError(f"{p} exists; pass overwrite=True to replace it.")
    prov = dict(provenance) if provenance is not None else _parsed(ds.attrs.get("provenance"))
    out = ds.copy()
    out.attrs = {k: _attr(v) for k, v in ds.attrs.items()}
    out.attrs["provenance"] = json.dumps(_jsonable(prov or {}))
    for name in list(out.variables):
        out[name].attrs = {k: _attr(v) for k, v in out[name].attrs.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    out.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    os.replace(tmp, path)
    meta = dict(sidecar or {})
    meta["vbrain"] = prov or {}
    write_json(json_path, meta, overwrite=True)
    logger.info("wrote %s (+ %s)", path, json_path.name)
    return path, json_path


def load_dataset(path: str | os.PathLike) -> Any:
    """Read a dataset written by :func:`save_dataset`; JSON attributes come back as dicts/lists.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No dataset at {os.fspath(path)!r}.")
    ds = xr.load_dataset(path, engine="h5netcdf")
    for key, value in list(ds.attrs.items()):
        parsed = _parsed(value)
        if parsed is not None:
            ds.attrs[key] = parsed
    return ds


# -- helpers ---------------------------------------------------------------------
def _parsed(value: Any) -> Any:
    """A dict/list from a JSON string attribute, the dict itself, or None."""
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return None


def _attr(value: Any) -> Any:
    """A NetCDF-storable attribute: dicts, lists of mixed things, None, bools -> JSON/str."""
    if isinstance(value, (dict, tuple, list)):
        return json.dumps(_jsonable(value))
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, Path):
        return value.as_posix()
    return value


def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, tuples and sets to JSON types (recursively)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return Path(obj).as_posix()
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj
