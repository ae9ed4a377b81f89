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

    # -- files ----------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write one NetCDF-4 file, one group per monitor (atomic: temp file + rename)."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        tmp = path.with_name(path.name + ".partial")
        with h5netcdf.File(tmp, "w") as f:
            for k, v in {**self.attrs, "status": self.status}.items():
                f.attrs[k] = _attr_value(v)
            f.attrs["monitors"] = json.dumps(list(self.data))
        for name, da in self.data.items():
            da.to_netcdf(tmp, mode="a", group=name, engine="h5netcdf")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Result:
        """Read a result written by :meth:`save` or a streamed run."""
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
            with xr.open_dataarray(path, group=name, engine="h5netcdf") as da:
                data[name] = da.load()
        return cls(data, attrs, status)


def to_dataarray(name: str, times: np.ndarray, samples: np.ndarray, variables: tuple[str, ...],
                 units: tuple[str, ...], regions: tuple[str, ...],
                 batch_coords: dict[str, np.ndarray] | None, attrs: dict[str, Any]) -> xr.DataArray:
    """Label a monitor's samples (time, variable, region, batch) as a DataArray."""
    coords: dict[str, Any] = {
        "time": ("time", times, {"units": "ms", "long_name": "time"}),
        "variable": list(variables),
        "unit": ("variable", list(units)),
        "region": list(regions),
    }
    dims = ["time", "variable", "region", "batch"]
    if batch_coords is None:
        samples = samples[..., 0]
        dims = dims[:3]
    else:
        coords["batch"] = np.arange(samples.shape[-1])
        for key, val in batch_coords.items():
            val = np.asarray(val)
            if val.ndim == 1:
                coords[key] = ("batch", val)
    return xr.DataArray(samples, dims=dims, coords=coords, name=name,
                        attrs={k: _attr_value(v) for k, v in attrs.items()})
