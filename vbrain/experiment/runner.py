"""Running a validated experiment: subject data -> pipeline -> connectome -> fit ->
simulation -> outputs -> report, recorded in ``experiment.toml`` and ``run.json``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._check import suggest
from .schema import _MONITOR_CLASSES, ExperimentError
from .toml import to_toml
from .validate import Experiment, _step_params, _stimulus_kinds, _stimulus_module, load_experiment

logger = logging.getLogger(__name__)

__all__ = ["RunRecord", "run_experiment"]


@dataclass
class RunRecord:
    """What a run produced.

    Attributes
    ----------
    folder : pathlib.Path
        The output folder.
    status : str
        "complete", or why the simulation stopped ("diverged at t=... ms ...").
    outputs : dict of str to pathlib.Path
        Files written, by role (``simulation``, ``bold_nifti``, ``eeg_fif``,
        ``report``, ``experiment``, ``record``, ``fit_*``).
    result : Result or None
        The simulation's output.
    fit : FitResult or None
        The fit, when the experiment has a [fit] table.
    seconds : dict of str to float
        Wall time per step.
    """

    folder: Path
    status: str = "complete"
    outputs: dict[str, Path] = field(default_factory=dict)
    result: Any = None
    fit: Any = None
    seconds: dict[str, float] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_records(paths: Sequence[Path]) -> list[dict]:
    out = []
    for p in paths:
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in files:
            out.append({"path": str(q), "sha256": _sha256(q), "bytes": q.stat().st_size})
    return out


def _planned_outputs(cfg: Mapping[str, Any]) -> dict[str, Path]:
    folder = Path(cfg["outputs"]["folder"])
    files = set(cfg["outputs"]["files"])
    kinds = {m["kind"] for m in cfg["monitors"]}
    out = {"experiment": folder / "experiment.toml", "record": folder / "run.json"}
    if "netcdf" in files:
        out["simulation"] = folder / "simulation.nc"
    if "bold_nifti" in files and kinds & {"bold", "bold_hrf"}:
        out["bold_nifti"] = folder / "simulation_bold.nii.gz"
    if "eeg_fif" in files and kinds & {"eeg", "meg"}:
        out["eeg_fif"] = folder / "simulation_eeg.fif"
    if "report" in files:
        out["report"] = folder / "report.html"
    if "fit" in files and "fit" in cfg:
        out["fit"] = folder / "fit"
    if "pipeline" in cfg:
        out["derivatives"] = folder / "derivatives"
    return out


class _Steps:
    """Times each step and advances an overall progress bar."""

    def __init__(self, names: Sequence[str], progress: bool | None) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=len(names), desc="vbrain run", unit="step", leave=False,
                        disable=False if progress else (True if progress is False else None))
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        steps = self

        class _Step:
            def __enter__(self):
                steps.bar.set_postfix_str(name)
                self.t0 = time.perf_counter()
                logger.info("run: %s ...", name)

            def __exit__(self, *exc):
                steps.seconds[name] = round(time.perf_counter() - self.t0, 3)
                steps.bar.update(1)
                logger.info("run: %s done in %.2f s", name, steps.seconds[name])

        return _Step()

    def close(self) -> None:
        self.bar.close()


def _subject_targets(cfg: dict, folder: Path, progress: bool | None,
                     overwrite: bool) -> tuple[dict, str, list[Path]]:
    """Fitting/report targets, the connectome source and the inputs used."""
    subj, inputs = cfg["subject"], []
    sources: list[Any] = []
    conn_src = subj["connectome"]
    pipe = cfg.get("pipeline")
    recipe: dict = {}
    if pipe is not None:
        from vbrain.pipelines.bids import STEPS, load_recipe

        spec, _, name = load_recipe(pipe["recipe"])
        recipe = {"recipe": {"name": name, "description": "from vbrain run"}}
        for step in STEPS:
            if step in spec:
                recipe[step] = {**spec[step], **(pipe.get(step) or {})}
    if "bids" in subj:
        from vbrain.pipelines.bids import run_pipeline

        folder.mkdir(parents=True, exist_ok=True)
        recipe_path = folder / "recipe.toml"
        recipe_path.write_text(to_toml(recipe))
        written = run_pipeline(recipe_path, subj["bids"], folder / "derivatives",
                               participant_label=[subj["participant"]], overwrite=overwrite)
        inputs.append(Path(subj["bids"]) / f"sub-{subj['participant']}")
        zips = [p for p in written if p.name == "connectome.zip"]
        if zips:
            conn_src = str(zips[0])
        for suffix in ("_bold.nc", "_eeg.nc"):
            found = sorted(p for p in written if p.name.endswith(suffix))
            if len(found) > 1:
                logger.warning("run: %d %s targets; using %s", len(found), suffix, found[0].name)
            if found:
                sources.append(str(found[0]))
    for kind in ("fmri", "eeg"):
        if kind not in subj:
            continue
        path = Path(subj[kind])
        inputs.append(path)
        if path.suffix == ".nc":
            sources.append(str(path))
            continue
        _, params = _step_params(kind, recipe.get(kind, {}), "pipeline")
        if kind == "fmri":
            from vbrain.pipelines.fmri import fmri_targets

            params = {k: v for k, v in params.items() if k != "resample_atlas"}
            sources.append(fmri_targets(str(path), subj["atlas"], resample_atlas=True, **params))
        else:
            from vbrain.pipelines.eeg import eeg_targets

            montage = recipe.get("eeg", {}).get("fallback_montage") or None
            sources.append(eeg_targets(str(path), montage=montage,
                                       **{k: v for k, v in params.items() if k != "progress"},
                                       progress=bool(progress)))
    for kind in ("fc", "fcd"):
        if kind in subj:
            inputs.append(Path(subj[kind]))
            sources.append(f"{kind}={subj[kind]}")
    for src in (conn_src, subj["atlas"]):
        if not src.startswith("atlases:"):
            inputs.append(Path(src))
    if not sources:
        return {}, conn_src, inputs
    from ..fit.personalize import load_targets

    return load_targets(sources), conn_src, inputs


def _connectome(cfg: dict, source: str) -> Any:
    from ..connectome import Connectome

    c = cfg["connectome"]
    conn = Connectome.load(source)
    if c.get("subset"):
        conn = conn.subset(c["subset"])
    if c.get("normalise", "none") != "none":
        conn = conn.normalized(c["normalise"])
    if "threshold" in c:
        conn = conn.thresholded(c["threshold"])
    elif "threshold_proportion" in c:
        conn = conn.thresholded(proportion=c["threshold_proportion"])
    return conn


def _monitors(cfg: dict, conn: Any) -> tuple[list, Any]:
    from .. import monitors as mons

    out, leadfield = [], None
    for m in cfg["monitors"]:
        kind = m["kind"]
        cls = getattr(mons, _MONITOR_CLASSES[kind])
        if kind in ("tavg", "subsample", "global", "coupling"):
            out.append(cls(m.get("period"), variables=m.get("variables")))
        elif kind == "spatial":
            out.append(cls(m["period"], mask=m["mask"], variables=m.get("variables")))
        elif kind == "raw":
            out.append(cls(m.get("variables")))
        elif kind == "bold":
            out.append(cls(tr=m["tr"], variable=m.get("variable"),
                           coefficients=m["coefficients"]))
        elif kind == "bold_hrf":
            out.append(cls(tr=m["tr"], variable=m.get("variable")))
        else:
            from ..forward import LeadField

            leadfield = (LeadField.sphere(conn, montage=m["montage"]) if kind == "eeg"
                         else LeadField.sphere(conn, meg=m["system"]))
            out.append(cls(leadfield, period=m["period"]))
    return out, leadfield


def _stimuli(cfg: dict, conn: Any) -> list:
    """The [[stimuli]] as vbrain.stimulus objects, checked against the connectome."""
    if not cfg["stimuli"]:
        return []
    module = _stimulus_module()
    kinds = _stimulus_kinds(module)
    out = []
    for i, s in enumerate(cfg["stimuli"]):
        wave = {k: v for k, v in s["waveform"].items() if k != "kind"}
        pat = {k: v for k, v in s["pattern"].items() if k != "kind"}
        stim = module.Stimulus(kinds["waveform"][s["waveform"]["kind"]](**wave),
                               kinds["pattern"][s["pattern"]["kind"]](**pat),
                               s.get("variable"))
        try:
            stim.weights(conn)
        except (ValueError, TypeError) as err:
            raise ExperimentError("experiment", [(f"stimuli[{i}].pattern", str(err))]) from None
        out.append(stim)
    return out


def _insets(cfg: dict, conn: Any) -> dict:
    """The [[insets]] as {region label: vbrain.cosim.Inset} around point-neuron Networks."""
    if not cfg["insets"]:
        return {}
    from ..cosim import Inset
    from ..spiking import Network
    from .validate import _bridges

    bridges, out = _bridges(), {}
    labels = list(conn.labels)
    for i, spec in enumerate(cfg["insets"]):
        path = f"insets[{i}]"
        if spec["region"] not in labels:
            raise ExperimentError("experiment", [(f"{path}.region", (
                f"no region {spec['region']!r} in the connectome."
                f"{suggest(spec['region'], labels)}"))])
        try:
            net = Network(dt=spec["dt"], seed=spec["seed"])
            for pop in spec["populations"]:
                pop = dict(pop)
                net.add_population(pop.pop("name"), pop.pop("model"), pop.pop("n"), **pop)
            for c in spec["connections"]:
                c = dict(c)
                net.connect(c.pop("source"), c.pop("target"), **c)
            for p in spec["poisson"]:
                p = dict(p)
                net.add_poisson(p.pop("target"), p.pop("rate"), **p)
            made = {}
            for group in ("inputs", "outputs"):
                made[group] = [bridges[group][b["kind"]](**{k: v for k, v in b.items()
                                                            if k != "kind"})
                               for b in spec[group]] or None
        except (ValueError, TypeError) as err:
            raise ExperimentError("experiment", [(path, str(err))]) from None
        out[spec["region"]] = Inset(net, made["inputs"], made["outputs"],
                                    record_every=spec["record_every"])
    return out


def _simulation(cfg: dict, conn: Any, monitors: list, stimuli: list) -> Any:
    import vbrain as vb

    from ..coupling import COUPLINGS
    from ..models import REGISTRY

    params = {k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
              for k, v in cfg["model"]["parameters"].items()}
    for k, v in params.items():
        if np.ndim(v) and np.shape(v) != (conn.n_regions,):
            raise ExperimentError("experiment", [(f"model.parameters.{k}", (
                f"a per-region list needs {conn.n_regions} values (one per region of the "
                f"connectome), but has {np.size(v)}."))])
    model = REGISTRY[cfg["model"]["name"]](**params)
    coupling = COUPLINGS[cfg["coupling"]["name"]](**cfg["coupling"]["parameters"])
    integ = cfg["integration"]
    nsig = np.asarray(integ["noise"], dtype=np.float64)
    noise = vb.noise.Additive(nsig, integ["noise_tau"]) if np.any(nsig > 0) else None
    kw = {"stimuli": stimuli} if stimuli else {}
    insets = _insets(cfg, conn)
    if insets:
        kw["insets"] = insets
    return vb.Simulation(conn, model, coupling, speed=integ["speed"], dt=integ["dt"],
                         integrator=integ["integrator"], noise=noise, seed=integ["seed"],
                         monitors=monitors, **kw)


def _client(cfg: dict) -> tuple[Any, bool]:
    """(client for vbrain.parallel, owned) from the [dask] table; (None, False) without one."""
    d = cfg.get("dask")
    if d is None or d["scheduler"] == "none":
        return None, False
    if d["scheduler"] == "sync":
        return "sync", False
    from ..parallel import get_client

    return get_client(d["scheduler"], n_workers=d.get("n_workers"))


def _fit(cfg: dict, sim: Any, targets: dict, folder: Path, client: Any, progress: Any,
         overwrite: bool) -> Any:
    import copy

    import vbrain as vb

    from ..fit.personalize import fit, parse_param_range

    f = cfg["fit"]
    if f.get("targets"):
        from ..fit.personalize import load_targets

        targets = load_targets(f["targets"])
    if not targets:
        raise ExperimentError("experiment", [("fit", ("no fitting target was found in the "
                                                     "subject data."))])
    ranges = {}
    for name, rng in f["params"].items():
        qual, lo, hi, n = parse_param_range(f"{name}={':'.join(str(v) for v in rng)}",
                                            sim.model, sim.coupling)
        ranges[qual] = (lo, hi) + ((n,) if n is not None else ())
    method = f.get("method") or ("grid" if all(len(r) == 3 for r in ranges.values()) else "de")
    kind, _, period = f["signal"].partition(":")
    tr = f.get("bold_tr") or targets.get("tr_ms") or 2000.0
    fit_sim = copy.deepcopy(sim)
    mons = [vb.monitors.Bold(tr=float(tr)) if kind == "bold"
            else vb.monitors.TemporalAverage(float(period) if period else 10.0)]
    if "psd" in targets:
        from ..forward import LeadField

        montage = "standard_1020"
        if targets.get("_eeg_dataset") is not None:
            from vbrain.pipelines.eeg import info_from_targets

            montage = info_from_targets(targets["_eeg_dataset"])
        mons.append(vb.monitors.EEG(LeadField.sphere(sim.connectome, montage=montage),
                                    period=4.0))
    fit_sim.monitors = tuple(mons)
    duration = f.get("duration") or cfg["integration"]["duration"]
    out = folder / "fit" if "fit" in cfg["outputs"]["files"] else None
    result = fit(fit_sim, duration, targets, ranges, method=method, transient=f["transient"],
                 monitor=kind, variable=f.get("variable"), weights=f.get("weights"),
                 fc_metric=f["fc_metric"], popsize=f["popsize"], maxiter=f["maxiter"],
                 batch_size=f.get("batch_size"), client=client, progress=progress,
                 out_dir=out / "sweep" if out is not None and method in ("grid", "grid+de")
                 else None)
    if out is not None:
        result.save(out, overwrite=overwrite)
    return result


def _apply_fit(sim: Any, best: Mapping[str, Any]) -> None:
    from ..noise import Additive

    for k, v in best.items():
        if k == "noise__nsig":  # (the noise keeps its kind and correlation time)
            sim.noise = Additive(float(v)) if sim.noise is None else sim.noise.with_nsig(float(v))
        elif k.startswith("model__"):
            sim.model.set_params(**{k[7:]: v})
        else:
            sim.set_params(**{k: float(v)})


def _simulate_task(sim: Any, duration: float) -> Any:
    """Run on a Dask worker: the whole simulation in memory, returned to the caller."""
    return sim.run(duration, progress=False)


def run_experiment(experiment: Experiment | str | os.PathLike, *, progress: bool | None = None,
                   overrides: Sequence[str] = ()) -> RunRecord:
    """Run an experiment end to end and record it.

    Parameters
    ----------
    experiment : Experiment or path-like
        A validated experiment, or a TOML file (validated first).
    progress : bool, optional
        Progress bars (default: when writing to a terminal).
    overrides : sequence of str
        With a path: ``"table.key=VALUE"`` items (see :func:`load_experiment`).

    Returns
    -------
    RunRecord

    Raises
    ------
    ExperimentError
        Invalid file (before any work), or input data that does not fit it
        (e.g. a per-region list of the wrong length).
    FileExistsError
        Outputs exist and ``outputs.overwrite`` is false (before any work).
    SimulationDiverged
        The simulation diverged; the outputs computed before, the report and
        the record are written first (``run.json`` status says so).
    """
    from ..simulation import SimulationDiverged

    exp = experiment if isinstance(experiment, Experiment) else \
        load_experiment(experiment, overrides=overrides)
    cfg = exp.config
    folder = exp.output_folder
    overwrite = cfg["outputs"]["overwrite"]
    planned = _planned_outputs(cfg)
    if not overwrite:
        for p in planned.values():
            if p.exists():
                raise FileExistsError(f"{p} exists; set outputs.overwrite = true (or pass "
                                      "--overwrite) to replace it.")
    names = (["subject data"] + ["fit"] * ("fit" in cfg) +
             ["simulation", "outputs"] + ["report"] * ("report" in planned))
    steps = _Steps(names, progress)
    record = RunRecord(folder)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    client, owned = _client(cfg)
    diverged = None
    try:
        with steps("subject data"):
            targets, conn_src, inputs = _subject_targets(cfg, folder, progress, overwrite)
            conn = _connectome(cfg, conn_src)
            monitors, leadfield = _monitors(cfg, conn)
            sim = _simulation(cfg, conn, monitors, _stimuli(cfg, conn))
            sim._validate()
        folder.mkdir(parents=True, exist_ok=True)
        if "fit" in cfg:
            with steps("fit"):
                record.fit = _fit(cfg, sim, targets, folder, client, progress, overwrite)
                if cfg["fit"]["use_fitted"]:
                    _apply_fit(sim, record.fit.best)
                if "fit" in planned:
                    record.outputs["fit"] = planned["fit"]
        duration = cfg["integration"]["duration"]
        with steps("simulation"):
            try:
                if client is None or client == "sync":
                    res = sim.run(duration, out=planned.get("simulation"), overwrite=overwrite,
                                  progress=progress)
                else:
                    res = client.submit(_simulate_task, sim, duration, pure=False).result()
                    if "simulation" in planned:
                        res.save(planned["simulation"], overwrite=overwrite)
            except SimulationDiverged as err:
                diverged, res = err, err.result
            record.result, record.status = res, res.status
            if "simulation" in planned:
                record.outputs["simulation"] = planned["simulation"]
        with steps("outputs"):
            atlas = _matched_atlas(cfg, conn) if {"bold_nifti", "report"} & set(planned) \
                else None
            _write_forward(res, conn, atlas, planned, leadfield, record)
        if "report" in planned:
            with steps("report"):
                from ..report import write_run_report

                record.outputs["report"] = write_run_report(
                    res, planned["report"], connectome=conn, atlas=atlas, leadfield=leadfield,
                    targets=targets, stimuli=getattr(sim, "stimuli", None) or None,
                    title=cfg["experiment"]["name"], description=cfg["experiment"]["description"],
                    fit=record.fit, settings=_settings_rows(cfg, sim))
    finally:
        steps.close()
        if owned:
            client.close()
    record.seconds = steps.seconds
    _write_record(exp, record, planned, inputs, started)
    if diverged is not None:
        raise diverged
    return record


def _matched_atlas(cfg: dict, conn: Any) -> Any:
    from ..atlas import Atlas

    try:
        return Atlas.load(cfg["subject"]["atlas"]).match(conn)
    except (ValueError, FileNotFoundError) as err:
        logger.warning("run: the atlas does not match the connectome (%s); no brain images",
                       err)
        return None


def _write_forward(res: Any, conn: Any, atlas: Any, planned: dict, leadfield: Any,
                   record: RunRecord) -> None:
    """The BOLD NIfTI (through the atlas) and the sensor FIF, when asked and possible."""
    if "bold_nifti" in planned and atlas is not None:
        name = "bold" if "bold" in res else "bold_hrf"
        if res[name].sizes["time"] > 0:
            res.to_nifti(atlas, name=name).to_filename(planned["bold_nifti"])
            record.outputs["bold_nifti"] = planned["bold_nifti"]
    if "eeg_fif" in planned and leadfield is not None:
        name = "eeg" if "eeg" in res else "meg"
        if res[name].sizes["time"] > 1:
            from ..forward.sensors import save_raw

            save_raw(res.to_raw(leadfield, name=name), planned["eeg_fif"], overwrite=True)
            record.outputs["eeg_fif"] = planned["eeg_fif"]


def _settings_rows(cfg: dict, sim: Any) -> list[tuple[str, str]]:
    """Key settings of the run as (name, value with unit) rows for the report."""
    integ, conn = cfg["integration"], sim.connectome
    params = ", ".join(f"{k}={_short(v)}" for k, v in sim.model.get_params().items()
                       if k in cfg["model"]["parameters"])
    rows = [("model", f"{type(sim.model).__name__}" + (f" ({params})" if params else "")),
            ("coupling", f"{type(sim.coupling).__name__} " + ", ".join(
                f"{k}={_short(v)}" for k, v in sim.coupling.get_params().items())),
            ("connectome", (f"{conn.name or cfg['subject']['connectome']} ({conn.n_regions} "
                           "regions)")),
            ("integration", (f"{integ['integrator']}, dt = {integ['dt']:g} ms, speed = "
                            f"{integ['speed']:g} mm/ms, duration = {integ['duration']:g} ms, "
                            f"seed {integ['seed']}")),
            ("noise", repr(sim.noise) if sim.noise is not None else "none (deterministic)"),
            ("monitors", ", ".join(repr(m) for m in sim.monitors))]
    return rows


def _short(v: Any) -> str:
    return f"{float(v):g}" if np.ndim(v) == 0 else f"per-region (mean {np.mean(v):.4g})"


def _write_record(exp: Experiment, record: RunRecord, planned: dict, inputs: list[Path],
                  started: str) -> None:
    """experiment.toml (resolved, re-runnable) and run.json (versions, checksums, status)."""
    from vbrain.pipelines.provenance import versions

    folder = record.folder
    folder.mkdir(parents=True, exist_ok=True)
    planned["experiment"].write_text(
        "# Resolved by vbrain run: defaults filled in, paths absolute. Re-run with\n"
        f"#   vbrain run {planned['experiment']} --overwrite\n" + exp.to_toml())
    record.outputs["experiment"] = planned["experiment"]
    srcs = list(inputs) + ([exp.source] if exp.source is not None else [])
    outputs = {k: {"path": str(p), "sha256": _sha256(p)} if p.is_file() else {"path": str(p)}
               for k, p in record.outputs.items()}
    data = {
        "format": "vbrain-run/1",
        "experiment": exp.config["experiment"]["name"],
        "status": record.status,
        "started": started, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": record.seconds,
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0].endswith("vbrain") else "",
        "vbrain_version": __version__,
        "versions": versions(),
        "inputs": _input_records(srcs),
        "outputs": outputs,
    }
    if record.fit is not None:
        data["fit"] = {"best": {k: np.asarray(v).tolist() for k, v in record.fit.best.items()},
                       "goodness_of_fit": record.fit.goodness}
    tmp = planned["record"].with_name("run.json.partial")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, planned["record"])
    record.outputs["record"] = planned["record"]
