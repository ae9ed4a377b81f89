"""Simulation results: one labelled array per monitor, with provenance, saved as NetCDF.

Each monitor's output is an ``xarray.DataArray`` with dims
``(time, variable, region)`` — plus ``batch`` for sweeps — time in ms,
coordinates carrying labels and units, attrs carrying provenance. On disk a
result is one NetCDF-4 file with one group per monitor, readable by xarray
(``xr.open_dataarray(path, group="tavg", engine="h5netcdf")``) and any NetCDF tool.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5netcdf
import numpy as np
import xarray as xr


def _attr_value(v: Any) -> Any:
    """NetCDF-safe attribute value (numbers and strings as is, the rest as JSON)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) \
            and not -2**63 <= int(v) < 2**63:
        return str(int(v))  # no HDF5 type holds it (e.g. a 128-bit seed)
    if isinstance(v, (str, int, float, np.integer, np.floating)):
        return v
    return json.dumps(v, default=lambda o: np.asarray(o).tolist())


class Result:
    """Outputs of a run, keyed by monitor name (``res["tavg"]`` or ``res.tavg``).

    Parameters
    ----------
    data : dict of str to xarray.DataArray
    attrs : dict
        Provenance (vbrain version, model, parameters, seed, connectome checksum...).
    status : str
        "complete", or why the run stopped early (e.g. divergence).
    """

    def __init__(self, data: dict[str, xr.DataArray], attrs: dict[str, Any],
                 status: str = "complete") -> None:
        self.data = dict(data)
        self.attrs = dict(attrs)
        self.status = status

    def __getitem__(self, name: str) -> xr.DataArray:
        try:
            return self.data[name]
        except KeyError:
            raise KeyError(f"No monitor output {name!r}; this result has {list(self.data)}.") from None

    def __getattr__(self, name: str) -> xr.DataArray:
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"'Result' object has no attribute {name!r}")

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def keys(self):
        """Monitor names."""
        return self.data.keys()

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {dict(v.sizes)}" for k, v in self.data.items())
        return f"<Result {self.status} {{{parts}}}>"

    # -- the field's objects ----------------------------------------------
    def to_nifti(self, atlas: Any, name: str = "bold") -> Any:
        """Simulated BOLD as a 4-D ``nibabel.Nifti1Image`` through ``atlas`` (region -> voxels).

        See :func:`vbrain.forward.bold_to_nifti`.
        """
        from .forward.nifti import bold_to_nifti

        return bold_to_nifti(self[name], atlas)

    def to_raw(self, leadfield: Any, name: str = "eeg", **kwargs: Any) -> Any:
        """Simulated sensor data as an ``mne.io.RawArray`` (montage, channel types, sfreq).

        ``kwargs`` go to :func:`vbrain.forward.sensors.to_raw` (observation
        noise, average reference, seed).
        """
        from .forward.sensors import to_raw

        return to_raw(self[name], leadfield, **kwargs)

    # -- files ----------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write one NetCDF-4 file, one group per monitor (atomic: temp file + rename).

        On an error nothing is left behind: neither ``path`` nor ``<path>.partial``.
        """
        for name, da in self.data.items():
            if da.dtype.kind not in "biuf":
                raise TypeError(f"Result output {name!r} must hold numbers, but its dtype is "
                                f"{da.dtype}.")
        writer = ResultWriter(path, {k: v[:0].rename(k) for k, v in self.data.items()},
                              self.attrs, overwrite=overwrite)
        try:
            for name, da in self.data.items():
                writer.append(name, da["time"].values, da.values)
        except BaseException:
            writer.discard()
            raise
        return writer.close(self.status)

    @classmethod
    def load(cls, path: str | os.PathLike, *, lazy: bool = False) -> Result:
        """Read a result written by :meth:`save` or a streamed run.

        Parameters
        ----------
        path : path-like
        lazy : bool
            Leave the samples on disk until used (for outputs larger than memory).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No result file at {path}.")
        try:
            with h5netcdf.File(path, "r") as f:
                attrs = dict(f.attrs)
                names = json.loads(attrs.pop("monitors"))
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"{path} is not a vbrain result file: {err}") from None
        status = str(attrs.pop("status", "complete"))
        data = {}
        for name in names:
            da = xr.open_dataarray(path, group=name, engine="h5netcdf")
            if not lazy:
                with da:
                    da = da.load()
            data[name] = da
        return cls(data, attrs, status)


class ResultWriter:
    """Stream monitor samples into a NetCDF-4 file while a run goes on.

    The file is written as ``<path>.partial`` and renamed to ``path`` by
    :meth:`close`, so an interrupted run never leaves a file that looks
    complete; its ``status`` attribute says how the run ended.

    Parameters
    ----------
    path : path-like
        Final file name.
    templates : dict of str to xarray.DataArray
        Per monitor, an empty (zero-length time) labelled array giving dims,
        coordinates and attributes.
    attrs : dict
        Provenance written as global attributes.
    overwrite : bool
        Replace an existing file at ``path``.
    """

    def __init__(self, path: str | os.PathLike, templates: dict[str, xr.DataArray],
                 attrs: dict[str, Any], *, overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it.")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"Output folder {self.path.parent} does not exist.")
        self.tmp = self.path.with_name(self.path.name + ".partial")
        try:
            with h5netcdf.File(self.tmp, "w") as f:
                for k, v in attrs.items():
                    try:
                        f.attrs[k] = _attr_value(v)
                    except (TypeError, ValueError) as err:
                        raise ValueError(f"Result attribute {k!r} cannot be stored in NetCDF "
                                         f"({err}): {v!r}") from None
                f.attrs["monitors"] = json.dumps(list(templates))
                f.attrs["status"] = "running"
            for name, da in templates.items():
                if "/" in name:
                    raise ValueError(f"Monitor output name {name!r} cannot hold '/' "
                                     "(it names a NetCDF group).")
                da.to_netcdf(self.tmp, mode="a", group=name, engine="h5netcdf",
                             unlimited_dims=["time"])
        except BaseException:  # nothing half-made stays behind
            self.tmp.unlink(missing_ok=True)
            raise
        self._file = h5netcdf.File(self.tmp, "a")

    @classmethod
    def reopen(cls, path: str | os.PathLike, sizes: dict[str, int]) -> ResultWriter:
        """Continue an interrupted ``<path>.partial`` file, cut back to ``sizes`` samples.

        Parameters
        ----------
        path : path-like
            The final file name the interrupted run was writing.
        sizes : dict of str to int
            Per monitor, the number of samples a checkpoint recorded; samples
            written after it are dropped.
        """
        self = cls.__new__(cls)
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".partial")
        if not self.tmp.is_file():
            raise FileNotFoundError(f"Cannot resume: {self.tmp} (the interrupted output) is missing.")
        try:
            self._file = h5netcdf.File(self.tmp, "a")
        except OSError as err:
            raise ValueError(f"Cannot resume: {self.tmp} (the interrupted output) is unreadable "
                             f"({err}); delete it and its checkpoint and start over.") from None
        for name, size in sizes.items():
            held = self._file[name].dimensions["time"].size
            if held < int(size):  # growing would fill the gap with NaN and call it complete
                self._file.close()
                raise ValueError(
                    f"Cannot resume: {self.tmp} holds {held} {name!r} samples but its checkpoint "
                    f"recorded {int(size)} (the process died before they reached the disk); "
                    "delete the partial file and its checkpoint and start over.")
            self._file[name].resize_dimension("time", int(size))
        self._file.attrs["status"] = "running"
        return self

    def sizes(self) -> dict[str, int]:
        """Samples written so far, per monitor."""
        return {name: self._file[name].dimensions["time"].size
                for name in json.loads(self._file.attrs["monitors"])}

    def flush(self) -> None:
        """Push what was appended to disk (HDF5 data and metadata, then the OS buffers)."""
        self._file.flush()
        h5 = self._file._h5file  # h5netcdf's flush() leaves the HDF5 file itself unflushed
        h5.flush()
        os.fsync(h5.id.get_vfd_handle())

    def add(self, name: str, da: xr.DataArray) -> None:
        """Write a whole labelled array (e.g. a spike raster) as one more group."""
        self._file.close()
        da.to_netcdf(self.tmp, mode="a", group=name, engine="h5netcdf", unlimited_dims=["time"])
        self._file = h5netcdf.File(self.tmp, "a")
        self._file.attrs["monitors"] = json.dumps(json.loads(self._file.attrs["monitors"]) + [name])

    def suspend(self) -> Path:
        """Close without moving into place (the run will be resumed); return the partial file."""
        self._file.attrs["status"] = "interrupted"
        self._file.close()
        return self.tmp

    def append(self, name: str, times: np.ndarray, samples: np.ndarray) -> None:
        """Append samples (time first) to monitor ``name``."""
        if len(times) == 0:
            return
        group = self._file[name]
        n0 = group.dimensions["time"].size
        group.resize_dimension("time", n0 + len(times))
        group["time"][n0:] = times
        group[name][n0:] = samples

    def discard(self) -> None:
        """Close and delete the partial file (a write failed; nothing is kept)."""
        self._file.close()
        self.tmp.unlink(missing_ok=True)

    def close(self, status: str = "complete") -> Path:
        """Record how the run ended, close and move the file into place."""
        self._file.attrs["status"] = status
        self._file.close()
        os.replace(self.tmp, self.path)
        return self.path


def label_samples(name: str, times: np.ndarray, samples: np.ndarray,
                  space: list[tuple[str, list, dict[str, list]]],
                  batch_coords: dict[str, np.ndarray] | None,
                  attrs: dict[str, Any]) -> xr.DataArray:
    """Label a monitor's samples (time, *space, batch) as a DataArray.

    Parameters
    ----------
    name : str
        Monitor output name.
    times : array (n_samples,), ms
    samples : array (n_samples, *space sizes, n_batch)
    space : list of (dim, labels, extra coordinates along that dim)
        E.g. ``[("variable", ["V", "W"], {"unit": ["1", "1"]}), ("region", labels, {})]``.
    batch_coords : dict or None
        Swept values per batch member; None drops the batch axis (a single run).
    attrs : dict
        Attributes of the array (e.g. ``units``, the monitor's repr).
    """
    coords: dict[str, Any] = {"time": ("time", times, {"units": "ms", "long_name": "time"})}
    dims = ["time"]
    for dim, labels, extra in space:
        dims.append(dim)
        coords[dim] = list(labels)
        for key, values in extra.items():
            coords[key] = (dim, list(values))
    if batch_coords is None:
        samples = samples[..., 0]
    else:
        dims.append("batch")
        coords["batch"] = np.arange(samples.shape[-1])
        for key, val in batch_coords.items():
            val = np.asarray(val)
            if val.ndim == 1:
                coords[key] = ("batch", val)
    return xr.DataArray(samples, dims=dims, coords=coords, name=name,
                        attrs={k: _attr_value(v) for k, v in attrs.items()})
