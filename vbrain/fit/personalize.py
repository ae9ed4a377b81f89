"""From a subject's targets to a personalized model: fit, save, reload.

:func:`fit` builds the objective from the targets (FC, FCD, spectra), runs a
search (grid, differential evolution, both, or CMA-ES) and returns a
:class:`FitResult`; :meth:`FitResult.save` writes

``fitted_params.json``
    The fitted values, the goodness of fit (every objective at the best
    point), the search settings and provenance.
``model.json`` + ``connectome.zip``
    The personalized model as a ``vbrain simulate`` experiment: the
    connectome (TVB zip) and every setting of the simulation with the fitted
    values in place. :func:`load_model_config` turns it into the arguments
    of ``vbrain simulate`` (``vbrain simulate --config model.json``);
    :func:`load_simulation` into a :class:`vbrain.Simulation`.
``landscape.nc``
    Grid scores over the parameters (grid searches), and/or ``history.nc``:
    every candidate an optimiser evaluated with its loss.
``report.html``, ``report.md``, ``*.png``
    The report (:mod:`vbrain.fit.report`).

Targets are plain arrays or the pipelines' outputs: a dict
``{"fc": ..., "fcd": ..., "psd": ...}``, an ``xarray.Dataset`` from
:func:`vbrain.pipelines.fmri.fmri_targets` / :func:`~vbrain.pipelines.eeg.eeg_targets`,
or files (:func:`load_targets`: ``.npy``, ``.csv``, ``.nc``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._check import check_option, check_range, suggest
from .objectives import (
    Combined,
    FCCorrelation,
    FCDistance,
    FCDKSDistance,
    Objective,
    SpectralDistance,
)
from .search import GROUPED, best_params, cma_search, de_search, grid_search

logger = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "TARGET_KINDS",
    "FitResult",
    "fit",
    "load_model_config",
    "load_simulation",
    "load_targets",
    "parse_param_range",
]

TARGET_KINDS = ("fc", "fcd", "psd")
METHODS = ("grid", "de", "grid+de", "cma")
CONFIG_FORMAT = "vbrain-model/1"


# -- targets ----------------------------------------------------------------------------------
def _read_table(path: Path) -> Any:
    """A numeric matrix from CSV/TSV/text (optionally with a header row and label column)."""
    import xarray as xr

    delim = "," if path.suffix.lower() == ".csv" else None
    try:
        return np.loadtxt(path, delimiter=delim, ndmin=2)
    except ValueError:
        pass
    import pandas as pd

    table = pd.read_csv(path, sep="," if delim else r"\s+", index_col=0, engine="python")
    try:
        values = table.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path} is not a numeric matrix (with an optional header row and "
                         f"label column): {err}") from None
    labels = [str(c) for c in table.columns]
    if values.shape[0] == values.shape[1]:
        return xr.DataArray(values, dims=("region_i", "region_j"),
                            coords={"region_i": labels, "region_j": labels})
    return values


def _kind_of(da: Any) -> str | None:
    dims = tuple(getattr(da, "dims", ()))
    for kind, d in (("fc", {"region_i", "region_j"}), ("fcd", {"window_i", "window_j"}),
                    ("psd", {"sensor", "frequency"})):
        if set(dims) == d:
            return kind
    return None


def load_targets(sources: Any) -> dict[str, Any]:
    """Collect fitting targets from files, datasets, arrays.

    Parameters
    ----------
    sources : path, "KIND=path", Dataset, dict or a list of them
        - ``*.nc``: a pipelines dataset (its ``fc``, ``fcd`` and ``psd``
          variables) or a single labelled array (kind from its dims);
        - ``*.npy`` / ``*.csv`` / ``*.tsv`` / ``*.txt``: a square matrix is an
          FC; prefix ``fcd=`` / ``psd=`` to say otherwise (``fcd=win.npy``);
        - an ``xarray.Dataset`` or a dict ``{"fc": ..., "fcd": ..., "psd": ...}``.

    Returns
    -------
    dict
        Keys among ``"fc"``, ``"fcd"``, ``"psd"``; values arrays or DataArrays
        (the FC/FCD DataArrays keep their attrs: labels, window sizes, TR).
        ``"tr_ms"`` is added when a dataset gives the repetition time, and
        ``"_eeg_dataset"`` when one holds a PSD with sensor positions (the EEG
        montage of the lead field).

    Raises
    ------
    ValueError
        Unknown kind or format, a file with no target, two sources of the
        same kind.
    FileNotFoundError
        A missing file.
    """
    import xarray as xr

    items = sources if isinstance(sources, (list, tuple)) else [sources]
    out: dict[str, Any] = {}

    def put(kind: str, value: Any, where: str) -> None:
        if kind in out:
            raise ValueError(f"Two {kind!r} targets (the second from {where}); give one.")
        out[kind] = value

    for item in items:
        if isinstance(item, Mapping):
            for k, v in item.items():
                if k == "tr_ms":
                    out[k] = float(v)
                    continue
                if k == "_eeg_dataset":  # a load_targets result passed on
                    out[k] = v
                    continue
                check_option("target kind", k, TARGET_KINDS)
                put(k, v, "a dict")
            continue
        if isinstance(item, xr.Dataset):
            _from_dataset(item, put, "a dataset", out)
            continue
        if isinstance(item, xr.DataArray):
            kind = _kind_of(item)
            if kind is None:
                raise ValueError(f"Cannot tell the target kind of a DataArray with dims "
                                 f"{item.dims}; pass a dict {{'fc': ...}}.")
            put(kind, item, "a DataArray")
            continue
        kind, path = None, str(item)
        head, sep, tail = path.partition("=")
        if sep and head in TARGET_KINDS:
            kind, path = head, tail
        elif sep and not os.path.exists(path):
            raise ValueError(f"Unknown target kind {head!r}.{suggest(head, TARGET_KINDS)} Use "
                             f"one of {list(TARGET_KINDS)}, as KIND=PATH.")
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"No target file at {path!r}.")
        suffix = p.suffix.lower()
        if suffix == ".nc":
            try:
                from vbrain.pipelines.provenance import load_dataset

                ds = load_dataset(p)
            except Exception:  # noqa: BLE001 - not a pipelines file: plain NetCDF
                ds = xr.load_dataset(p, engine="h5netcdf")
            if kind is not None:
                var = kind if kind in ds else next(iter(ds.data_vars))
                put(kind, ds[var], path)
            else:
                _from_dataset(ds, put, path, out)
        elif suffix == ".npy":
            put(kind or "fc", np.load(p, allow_pickle=False), path)
        elif suffix in (".csv", ".tsv", ".txt"):
            put(kind or "fc", _read_table(p), path)
        else:
            raise ValueError(f"Unknown target file type {p.suffix!r} ({path}); use .npy, .csv, "
                             ".tsv, .txt or .nc.")
    if not any(k in out for k in TARGET_KINDS):
        raise ValueError("No fitting target found: give an FC (and optionally FCD, PSD).")
    return out


def _from_dataset(ds: Any, put: Any, where: str, out: dict) -> None:
    found = False
    for kind in TARGET_KINDS:
        if kind in ds.data_vars:
            put(kind, ds[kind], where)
            found = True
    if not found:
        for name in ds.data_vars:
            kind = _kind_of(ds[name])
            if kind is not None:
                put(kind, ds[name], where)
                found = True
    if "tr_ms" in ds.attrs and "tr_ms" not in out:
        out["tr_ms"] = float(ds.attrs["tr_ms"])
    if kind_has_psd(ds):
        out.setdefault("_eeg_dataset", ds)
    if not found:
        raise ValueError(f"{where} holds no fc, fcd or psd variable (it has "
                         f"{list(ds.data_vars)}).")


def kind_has_psd(ds: Any) -> bool:
    """Whether a dataset carries an EEG PSD with sensor positions (for a lead field)."""
    return "psd" in ds.data_vars and "sensor_position" in ds.data_vars


# -- parameters -------------------------------------------------------------------------------
def parse_param_range(spec: str, model: Any = None, coupling: Any = None,
                      ) -> tuple[str, float, float, int | None]:
    """Parse ``NAME=LO:HI[:N]`` into (qualified name, low, high, N or None).

    ``NAME`` is ``coupling.a`` / ``coupling__a``, ``model.w`` / ``model__w``,
    ``noise`` (``noise__nsig``), ``speed``, or a bare parameter name found in
    exactly one of the model and the coupling.
    """
    name, sep, rng = spec.partition("=")
    parts = rng.split(":")
    if not sep or not name or len(parts) not in (2, 3):
        raise ValueError(f"--param must look like NAME=LO:HI or NAME=LO:HI:N, got {spec!r}.")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise ValueError(f"--param {spec!r}: LO and HI must be numbers and N an integer.") \
            from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo or (n is not None and n < 1):
        raise ValueError(f"--param {spec!r}: need finite LO <= HI and N >= 1.")
    if n is None and hi == lo:
        raise ValueError(f"--param {spec!r}: an optimiser needs LO < HI.")
    return _qualify(name.replace(".", "__"), model, coupling), lo, hi, n


def _qualify(name: str, model: Any, coupling: Any) -> str:
    if name == "noise":
        return "noise__nsig"
    if "__" in name or name in GROUPED or model is None:
        return name
    in_model = name in model.parameters
    in_coupling = coupling is not None and name in coupling.parameters
    if in_model and in_coupling:
        raise ValueError(f"Parameter {name!r} exists in the model and in the coupling; write "
                         f"model.{name} or coupling.{name}.")
    if in_model:
        return f"model__{name}"
    if in_coupling:
        return f"coupling__{name}"
    valid = [f"model.{k}" for k in model.parameters] + \
            ([f"coupling.{k}" for k in coupling.parameters] if coupling is not None else [])
    raise ValueError(f"Unknown parameter {name!r}.{suggest(name, list(model.parameters))} "
                     f"Valid: {valid + ['noise', 'speed']}.")


# -- the fit -------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """A fitted model and how it was found.

    Attributes
    ----------
    best : dict
        Fitted parameter values (qualified names: ``coupling__a``, ...).
    goodness : dict of str to float
        Every objective at the best point (``fc_corr`` is a correlation;
        the others are losses) and the total ``loss``.
    sim : Simulation
        The simulation with the fitted values in place (seed, monitors kept).
    duration : float
        Simulated ms per candidate.
    objective : Objective
        The (combined) objective that was minimised as a loss.
    targets : dict
        The targets used.
    scores : xarray.DataArray or None
        Grid scores (loss) over the grid.
    search : SearchResult or None
        The optimiser's result (history of candidates).
    simulated : dict
        Features of the fitted model's run: ``fc`` (n, n), ``fcd`` (values),
        ``psd`` (log10, with ``psd_freqs``), for the report.
    settings : dict
        The search settings (method, ranges, objective weights...).
    """

    best: dict[str, Any]
    goodness: dict[str, float]
    sim: Any
    duration: float
    objective: Objective
    targets: dict[str, Any]
    scores: Any = None
    search: Any = None
    simulated: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def save(self, out_dir: str | os.PathLike, *, report: bool = True,
             overwrite: bool = False) -> dict[str, Path]:
        """Write parameters, model, landscape and report into ``out_dir``; return the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"params": out / "fitted_params.json", "model": out / "model.json",
                 "connectome": out / "connectome.zip"}
        for p in paths.values():
            if p.exists() and not overwrite:
                raise FileExistsError(f"{p} exists; pass overwrite=True (--overwrite).")
        self.sim.connectome.save(paths["connectome"])
        _write_json(paths["model"], model_config(self))
        _write_json(paths["params"], {
            "fitted": _jsonable(self.best), "goodness_of_fit": self.goodness,
            "settings": _jsonable(self.settings), "duration_ms": self.duration,
            "seed": self.sim.seed, "objective": repr(self.objective),
            "vbrain_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })
        if self.scores is not None:
            paths["landscape"] = out / "landscape.nc"
            _save_nc(self.scores, paths["landscape"])
        if self.search is not None:
            paths["history"] = out / "history.nc"
            _save_nc(self.search.history, paths["history"])
        if report:
            from .report import write_report

            paths.update(write_report(self, out))
        logger.info("fit: wrote %s", ", ".join(str(p) for p in paths.values()))
        return paths


def _save_nc(obj: Any, path: Path) -> None:
    obj = obj.copy()
    obj.attrs = {k: v if isinstance(v, (str, int, float, np.integer, np.floating))
                 else json.dumps(_jsonable(v)) for k, v in obj.attrs.items()}
    tmp = path.with_name(path.name + ".partial")
    obj.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(_jsonable(data), indent=2) + "\n")
    os.replace(tmp, path)


def build_objective(targets: Mapping[str, Any], *, monitor: str = "bold",
                    variable: str | None = None, transient: float = 0.0,
                    weights: Mapping[str, float] | None = None, fc_metric: str = "corr",
                    fcd_window: Any = None, fcd_step: Any = None,
                    psd_fmin: float | None = None, psd_fmax: float | None = None,
                    ) -> Objective:
    """The combined loss for a set of targets.

    ``fc`` enters as ``1 - r`` (``fc_metric="corr"``) or the FC RMSE
    (``"rmse"``); ``fcd`` as the KS distance; ``psd`` as the spectral
    distance of the ``"eeg"`` output. ``weights`` per kind (default 1).
    """
    check_option("fc_metric", fc_metric, ("corr", "rmse"))
    weights = {k: 1.0 for k in TARGET_KINDS} | dict(weights or {})
    for k in weights:
        check_option("weights key", k, TARGET_KINDS)
    terms: list[tuple[float, Objective]] = []
    if "fc" in targets:
        cls = FCCorrelation if fc_metric == "corr" else FCDistance
        terms.append((weights["fc"], cls(targets["fc"], monitor=monitor, variable=variable,
                                         transient=transient)))
    if "fcd" in targets:
        terms.append((weights["fcd"], FCDKSDistance(targets["fcd"], window=fcd_window,
                                                    step=fcd_step, monitor=monitor,
                                                    variable=variable, transient=transient)))
    if "psd" in targets:
        terms.append((weights["psd"], SpectralDistance(targets["psd"], fmin=psd_fmin,
                                                       fmax=psd_fmax, monitor="eeg",
                                                       transient=transient)))
    if not terms:
        raise ValueError("No target to fit: give fc (and optionally fcd, psd).")
    return Combined(terms)


def fit(sim: Any, duration: float, targets: Any, params: Mapping[str, Sequence[float]], *,
        method: str = "grid", transient: float = 0.0, monitor: str = "bold",
        variable: str | None = None, weights: Mapping[str, float] | None = None,
        fc_metric: str = "corr", fcd_window: Any = None, fcd_step: Any = None,
        popsize: int = 10, maxiter: int = 10, batch_size: int | None = None,
        threads: int | None = None, fic: Any = None, client: Any = None,
        out_dir: Any = None, retries: int = 2, progress: bool | None = None,
        rng: int = 0) -> FitResult:
    """Fit a simulation's parameters to a subject's targets.

    Parameters
    ----------
    sim : Simulation
        The model (connectome, region model, coupling, noise, seed, monitors:
        include a ``Bold`` monitor for BOLD FC/FCD, ``TemporalAverage`` for
        neural FC, ``EEG`` for spectra).
    duration : float
        Simulated ms per candidate.
    targets : see :func:`load_targets`
    params : dict of str to (low, high) or (low, high, n)
        Searched parameters (``coupling__a``, ``model__w``, ``noise__nsig``,
        ``speed``); ``n`` grid points per axis for grid searches.
    method : {"grid", "de", "grid+de", "cma"}, default "grid"
        "grid": the Cartesian grid; "de"/"cma": differential evolution /
        CMA-ES within the bounds; "grid+de": the grid, then differential
        evolution within one grid step around the best grid point.
    transient : float, default 0.0
        Initial ms discarded before scoring.
    monitor, variable
        Output (and state variable) the FC/FCD objectives read.
    weights : dict, optional
        Weight per target kind in the combined loss (default 1 each).
    fc_metric : {"corr", "rmse"}, default "corr"
        FC term: ``1 - r`` or the RMSE of the upper triangles.
    fcd_window, fcd_step : optional
        FCD windows (default: the target's, else 60 s / 2 s).
    popsize, maxiter, rng
        Optimiser settings (DE: ``popsize`` x dimensions per generation).
    batch_size, threads, fic, client, out_dir, retries, progress
        As in :func:`vbrain.fit.search.grid_search` (``out_dir`` makes the
        grid resumable).

    Returns
    -------
    FitResult
    """
    check_option("method", method, METHODS)
    tg = load_targets(targets)
    objective = build_objective(tg, monitor=monitor, variable=variable, transient=transient,
                                weights=weights, fc_metric=fc_metric, fcd_window=fcd_window,
                                fcd_step=fcd_step)
    loss = objective.as_loss()
    ranges = {k: tuple(float(x) for x in v[:2]) + ((int(v[2]),) if len(v) > 2 else ())
              for k, v in params.items()}
    if not ranges:
        raise ValueError("params must name at least one parameter to fit.")
    common = {"threads": threads, "fic": fic, "client": client, "progress": progress}
    scores = search = None
    if method in ("grid", "grid+de"):
        grids = {}
        for k, r in ranges.items():
            n = r[2] if len(r) > 2 else 8
            grids[k] = np.linspace(r[0], r[1], n) if n > 1 else np.array([r[0]])
        scores = grid_search(sim, duration, loss, batch_size=batch_size, out_dir=out_dir,
                             retries=retries, **common, **grids)
        best = best_params(scores)
        if method == "grid+de":
            bounds = {}
            for k, g in grids.items():
                step = (g[-1] - g[0]) / max(1, len(g) - 1)
                lo = max(ranges[k][0], best[k] - step) if step > 0 else best[k] * 0.9
                hi = min(ranges[k][1], best[k] + step) if step > 0 else best[k] * 1.1
                bounds[k] = (lo, hi) if hi > lo else (lo, lo + abs(lo) * 1e-3 + 1e-12)
            search = de_search(sim, duration, loss, bounds, popsize=popsize, maxiter=maxiter,
                               rng=rng, batch_size=batch_size, retries=retries,
                               x0=best, **common)
            if search.loss <= float(np.nanmin(scores.values)):
                best = search.best
    else:
        bounds = {k: r[:2] for k, r in ranges.items()}
        runner = de_search if method == "de" else cma_search
        search = runner(sim, duration, loss, bounds, popsize=popsize, maxiter=maxiter, rng=rng,
                        batch_size=batch_size, retries=retries, **common)
        best = search.best
    fitted = _with_params(sim, best)
    if fic:
        from .search import fic_inhibition

        J, ok = fic_inhibition(fitted, {}, fic)
        if not ok[0]:
            raise RuntimeError(f"FIC cannot be tuned at the fitted parameters {best}.")
        fitted.model.set_params(J_i=J[0])
    goodness, simulated = _assess(fitted, duration, objective)
    settings = {"method": method, "ranges": ranges, "transient_ms": transient,
                "monitor": monitor, "variable": variable, "weights": dict(weights or {}),
                "fc_metric": fc_metric, "popsize": popsize, "maxiter": maxiter,
                "targets": sorted(k for k in tg if k in TARGET_KINDS),
                "fic": repr(fic) if fic else None}
    return FitResult(best, goodness, fitted, float(duration), objective, tg, scores, search,
                     simulated, settings)


def _with_params(sim: Any, best: Mapping[str, Any]) -> Any:
    """A copy of ``sim`` with fitted values set (noise and per-region arrays included)."""
    from ..noise import Additive

    out = copy.deepcopy(sim)
    for k, v in best.items():
        if k == "noise__nsig":  # (the noise keeps its kind and correlation time)
            out.noise = Additive(float(v)) if out.noise is None else out.noise.with_nsig(float(v))
        elif k.startswith("model__"):
            out.model.set_params(**{k[7:]: v})
        elif k.startswith("coupling__"):
            out.coupling.set_params(**{k[10:]: float(v)})
        else:
            out.set_params(**{k: float(v)})
    return out


def _assess(sim: Any, duration: float, objective: Combined) -> tuple[dict, dict]:
    """Run the fitted model once; every objective's value and the features for the report."""
    p = next(iter(sim.coupling.parameters))
    res = sim.sweep(duration, progress=False, **{f"coupling__{p}": [sim.coupling.get_params()[p]]})
    goodness: dict[str, float] = {}
    simulated: dict[str, Any] = {}
    for _, obj in objective.terms:
        goodness[obj.name] = float(obj(res)[0])
        feats, ctx = obj.features(res)
        f = feats[0]
        if f is None:
            continue
        if isinstance(obj, (FCCorrelation, FCDistance)):
            simulated["fc"] = f
        elif isinstance(obj, FCDKSDistance):
            simulated["fcd"] = f
        elif isinstance(obj, SpectralDistance):
            simulated["psd"], simulated["psd_target"] = f, ctx["target"]
            simulated["psd_freqs"] = ctx["freqs"]
    goodness["loss"] = float(objective(res)[0])
    return goodness, simulated


# -- the saved model ------------------------------------------------------------------------------
def model_config(result: FitResult) -> dict[str, Any]:
    """The fitted model as an experiment description (what ``model.json`` holds)."""
    sim = result.sim
    defaults = {k: p.default for k, p in sim.model.parameters.items()}
    model_params = {}
    for k, v in sim.model.get_params().items():
        if np.ndim(v) or v != defaults[k] or f"model__{k}" in result.best:
            model_params[k] = np.asarray(v).tolist()
    nsig = np.asarray(sim.noise.nsig) if sim.noise is not None else np.array(0.0)
    bold = [m for m in sim.monitors if type(m).__name__ == "Bold"]
    return {
        "format": CONFIG_FORMAT,
        "connectome": "connectome.zip",
        "model": type(sim.model).__name__,
        "model_params": model_params,
        "coupling": type(sim.coupling).__name__,
        "coupling_params": sim.coupling.get_params(),
        "noise": float(nsig) if nsig.ndim == 0 else nsig.tolist(),
        "dt": sim.dt, "speed": sim.speed, "integrator": sim.integrator,
        "seed": sim.seed, "duration": result.duration,
        "bold_tr": float(bold[0].tr) if bold else 0.0,
        "fitted": _jsonable(result.best),
        "goodness_of_fit": result.goodness,
        "vbrain_version": __version__,
    }


def _read_config(path: str | os.PathLike) -> tuple[dict[str, Any], Path]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No model file at {p}.")
    try:
        cfg = json.loads(p.read_text())
    except ValueError as err:
        raise ValueError(f"{p} is not a JSON model file: {err}") from None
    if not isinstance(cfg, dict) or cfg.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{p} is not a vbrain model file (format {CONFIG_FORMAT!r}, written by "
                         "`vbrain fit`).")
    return cfg, p


def _connectome_source(cfg: Mapping[str, Any], path: Path) -> str:
    src = str(cfg["connectome"])
    if src.startswith("atlases:"):
        return src
    full = (path.parent / src) if not os.path.isabs(src) else Path(src)
    if not full.exists():
        raise FileNotFoundError(f"The model's connectome {src!r} is not beside {path} "
                                f"(looked for {full}).")
    return str(full.resolve())


def _fmt(v: Any) -> str:
    arr = np.asarray(v, dtype=np.float64)
    return ",".join(repr(float(x)) for x in arr.ravel()) if arr.ndim else repr(float(arr))


def load_model_config(path: str | os.PathLike) -> dict[str, Any]:
    """Arguments of ``vbrain simulate`` from a ``model.json`` written by ``vbrain fit``.

    Parameters
    ----------
    path : path-like
        The ``model.json`` (its ``connectome.zip`` must be beside it).

    Returns
    -------
    dict
        Keyed by ``vbrain simulate``'s argument names (argparse ``dest``),
        values as argparse gives them: ``connectome`` (absolute path),
        ``model``, ``param`` (list of ``"name=value"``, per-region values
        comma-separated), ``coupling``, ``coupling_param``, ``noise``,
        ``dt``, ``speed``, ``integrator``, ``seed``, ``duration``, ``bold_tr``.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file or connectome; not a vbrain model file; per-state
        noise the command line cannot express.
    """
    cfg, p = _read_config(path)
    noise = np.asarray(cfg.get("noise", 0.0), dtype=np.float64)
    if noise.ndim:
        raise ValueError(f"{p}: the noise is per state variable/region; `vbrain simulate` takes "
                         "one intensity. Use vbrain.fit.load_simulation() from Python.")
    return {
        "connectome": _connectome_source(cfg, p),
        "model": str(cfg["model"]),
        "param": [f"{k}={_fmt(v)}" for k, v in cfg.get("model_params", {}).items()],
        "coupling": str(cfg.get("coupling", "Linear")),
        "coupling_param": [f"{k}={_fmt(v)}" for k, v in cfg.get("coupling_params", {}).items()],
        "noise": float(noise),
        "dt": float(cfg.get("dt", 0.1)),
        "speed": float(cfg.get("speed", 4.0)),
        "integrator": str(cfg.get("integrator", "heun")),
        "seed": int(cfg["seed"]) if cfg.get("seed") is not None else 42,
        "duration": float(cfg.get("duration", 60_000.0)),
        "bold_tr": float(cfg.get("bold_tr", 2000.0)),
    }


def load_simulation(path: str | os.PathLike, *, monitors: Sequence[Any] | None = None) -> Any:
    """The fitted model of a ``model.json`` as a :class:`vbrain.Simulation`.

    Parameters
    ----------
    path : path-like
        ``model.json`` written by ``vbrain fit`` / :meth:`FitResult.save`.
    monitors : sequence of Monitor, optional
        Default: ``Bold(tr)`` when the model was fitted on BOLD, plus
        ``TemporalAverage(1.0)``.

    Returns
    -------
    Simulation
    """
    import vbrain as vb

    from ..coupling import COUPLINGS
    from ..models import get_model

    cfg, p = _read_config(path)
    conn = vb.Connectome.load(_connectome_source(cfg, p))
    model = get_model(cfg["model"])(**{k: np.asarray(v, dtype=np.float64) if np.ndim(v) else v
                                       for k, v in cfg.get("model_params", {}).items()})
    coupling = COUPLINGS[cfg.get("coupling", "Linear")](**cfg.get("coupling_params", {}))
    noise = np.asarray(cfg.get("noise", 0.0), dtype=np.float64)
    if monitors is None:
        monitors = [vb.monitors.TemporalAverage(1.0)]
        if float(cfg.get("bold_tr", 0.0)) > 0:
            monitors.append(vb.monitors.Bold(tr=float(cfg["bold_tr"])))
    return vb.Simulation(conn, model, coupling, speed=float(cfg.get("speed", 4.0)),
                         dt=float(cfg.get("dt", 0.1)),
                         integrator=str(cfg.get("integrator", "heun")),
                         noise=vb.noise.Additive(noise) if np.any(noise > 0) else None,
                         seed=cfg.get("seed"), monitors=list(monitors))


def check_duration(duration: float, transient: float) -> None:
    """Raise when the transient leaves nothing to score."""
    check_range("duration", duration, 0.0, low_inclusive=False)
    if transient >= duration:
        raise ValueError(f"transient ({transient:g} ms) must be shorter than duration "
                         f"({duration:g} ms).")
