"""Reading and validating experiment files: every problem at once, each with its key path."""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._check import suggest
from .schema import (
    _TOP,
    _TYPE_NAMES,
    FORMAT,
    MONITORS,
    SCHEMA,
    ExperimentError,
    Key,
)
from .toml import to_toml

__all__ = ["Experiment", "load_experiment"]


# -- validation -----------------------------------------------------------------------------------
def _type_ok(key: Key, value: Any) -> bool:
    num = (int, float)
    if key.type in ("str", "path"):
        return isinstance(value, str)
    if key.type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if key.type == "float":
        return isinstance(value, num) and not isinstance(value, bool)
    if key.type == "bool":
        return isinstance(value, bool)
    if key.type == "table":
        return isinstance(value, Mapping)
    if key.type == "number|list":
        items = value if isinstance(value, list) else [value]
        return bool(items) and all(isinstance(v, num) and not isinstance(v, bool) for v in items)
    if key.type == "str list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key.type == "str|int list":
        return isinstance(value, list) and all(isinstance(v, (str, int)) and
                                               not isinstance(v, bool) for v in value)
    raise AssertionError(key.type)  # pragma: no cover - schema typo


def _check_key(path: str, key: Key, value: Any, problems: list) -> Any:
    """Check one value against its key; append problems; return the value (floats as float)."""
    if not _type_ok(key, value):
        problems.append((path, (f"must be {_TYPE_NAMES[key.type]}, but got "
                               f"{type(value).__name__} {value!r}.")))
        return value
    if key.type == "float":
        value = float(value)
    values = value if isinstance(value, list) else [value]
    if key.allowed is not None:
        for v in values:
            if v not in key.allowed:
                hint = suggest(v, key.allowed) if isinstance(v, str) else ""
                problems.append((path, (f"{v!r} is not allowed.{hint} Allowed: "
                                       f"{list(key.allowed)}.")))
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not math.isfinite(v):
                problems.append((path, f"must be finite, but got {v}."))
            elif key.low is not None and (v < key.low or (key.low_open and v == key.low)):
                problems.append((path, (f"must be {'>' if key.low_open else '>='} {key.low:g}, "
                                       f"but got {v:g}.")))
            elif key.high is not None and v > key.high:
                problems.append((path, f"must be <= {key.high:g}, but got {v:g}."))
    return value


def _check_table(path: str, table: Any, keys: Mapping[str, Key], problems: list,
                 *, fill: bool = True) -> dict:
    """Check a table's keys and values; return it with defaults filled in."""
    if not isinstance(table, Mapping):
        problems.append((path, f"must be a table, but got {type(table).__name__} {table!r}."))
        return {}
    out = {}
    for name, value in table.items():
        where = f"{path}.{name}" if path else name
        if name not in keys:
            problems.append((where, (f"unknown key.{suggest(name, keys)} Allowed keys: "
                                    f"{sorted(keys)}.")))
            continue
        out[name] = _check_key(where, keys[name], value, problems)
    if fill:
        for name, key in keys.items():
            if name not in out and key.default is not None:
                out[name] = list(key.default) if isinstance(key.default, list) else key.default
    return out


def _check_parameters(path: str, params: Mapping, valid: Mapping, owner: str,
                      problems: list, per_region: bool) -> dict:
    out = {}
    for name, value in params.items():
        where = f"{path}.{name}"
        if name not in valid:
            problems.append((where, (f"{owner} has no parameter {name!r}.{suggest(name, valid)} "
                                    f"Allowed: {list(valid)}.")))
            continue
        key = Key("number|list" if per_region else "float")
        out[name] = _check_key(where, key, value, problems)
    return out


def _validate(raw: Mapping[str, Any], base: Path, where: str) -> dict:
    """The checked experiment with defaults filled in; raises ExperimentError listing problems."""
    from ..coupling import COUPLINGS
    from ..models import REGISTRY

    problems: list[tuple[str, str]] = []
    for name in raw:
        if name not in _TOP:
            problems.append((name, (f"unknown table.{suggest(name, _TOP)} Allowed tables: "
                                   f"{list(_TOP)}.")))
    if raw.get("format", FORMAT) != FORMAT:
        problems.append(("format", f"must be {FORMAT!r}, but got {raw['format']!r}."))
    cfg: dict[str, Any] = {"format": FORMAT}
    for section, keys in SCHEMA.items():
        present = section in raw
        if section in ("pipeline", "fit", "dask") and not present:
            continue  # optional steps: absent means not run
        cfg[section] = _check_table(section, raw.get(section, {}), keys, problems)

    model_cls = None
    name = cfg["model"].get("name")
    if isinstance(name, str):
        by_lower = {k.lower(): k for k in REGISTRY}
        if name.lower() not in by_lower:
            problems.append(("model.name", (f"unknown model {name!r}.{suggest(name, REGISTRY)} "
                                           f"Allowed: {sorted(REGISTRY)}.")))
        else:
            cfg["model"]["name"] = by_lower[name.lower()]
            model_cls = REGISTRY[cfg["model"]["name"]]
    params = cfg["model"].get("parameters") or {}
    if model_cls is not None and isinstance(params, Mapping):
        cfg["model"]["parameters"] = _check_parameters(
            "model.parameters", params, model_cls.parameters, model_cls.__name__, problems, True)
    coupling_cls = None
    cname = cfg["coupling"].get("name")
    if isinstance(cname, str):
        if cname not in COUPLINGS:
            problems.append(("coupling.name", (f"unknown coupling {cname!r}."
                                              f"{suggest(cname, COUPLINGS)} Allowed: "
                                              f"{sorted(COUPLINGS)}.")))
        else:
            coupling_cls = COUPLINGS[cname]
    cparams = cfg["coupling"].get("parameters") or {}
    if coupling_cls is not None and isinstance(cparams, Mapping):
        cfg["coupling"]["parameters"] = _check_parameters(
            "coupling.parameters", cparams, coupling_cls.parameters, cname, problems, False)
    # the resolved file spells out every parameter, so it does not depend on future defaults
    if model_cls is not None:
        cfg["model"]["parameters"] = {k: list(p.default) if p.size > 1 else p.default
                                      for k, p in model_cls.parameters.items()} \
            | dict(cfg["model"].get("parameters") or {})
    if coupling_cls is not None:
        cfg["coupling"]["parameters"] = {k: p.default for k, p in coupling_cls.parameters.items()} \
            | dict(cfg["coupling"].get("parameters") or {})

    integ = cfg["integration"]
    if integ.get("integrator") == "rk4" and np.any(np.asarray(integ.get("noise", 0)) > 0):
        problems.append(("integration.integrator", ("'rk4' is deterministic; with noise > 0 use "
                                                   "'heun' or 'euler' (or set noise = 0).")))
    conn = cfg["connectome"]
    if "threshold" in conn and "threshold_proportion" in conn:
        problems.append(("connectome.threshold", ("give threshold or threshold_proportion, "
                                                 "not both.")))

    cfg["monitors"] = _validate_monitors(raw.get("monitors"), model_cls, problems)
    cfg["stimuli"] = _validate_stimuli(raw.get("stimuli"), model_cls, base, problems)
    cfg["insets"] = _validate_insets(raw.get("insets"), problems)
    _validate_subject(cfg, base, problems)
    if "pipeline" in cfg:
        _validate_pipeline(cfg, base, problems)
    if "fit" in cfg:
        _validate_fit(cfg, model_cls, coupling_cls, base, problems)
    if "dask" in cfg:
        sched = cfg["dask"].get("scheduler", "none")
        if isinstance(sched, str) and sched not in ("none", "sync", "local") and "://" not in sched:
            problems.append(("dask.scheduler", (f"must be 'none', 'sync', 'local' or an address "
                                               f"like 'tcp://host:8786', but got {sched!r}.")))
    folder = cfg["outputs"].get("folder")
    if isinstance(folder, str):
        cfg["outputs"]["folder"] = str(_resolve(folder, base))
    if problems:
        raise ExperimentError(where, problems)
    return cfg


def _validate_monitors(monitors: Any, model_cls: Any, problems: list) -> list[dict]:
    if monitors is None:
        return [{"kind": "tavg", "period": 1.0}]
    if not isinstance(monitors, list) or not all(isinstance(m, Mapping) for m in monitors):
        problems.append(("monitors", ("must be an array of tables ([[monitors]]), but got "
                                     f"{type(monitors).__name__}.")))
        return []
    out = []
    for i, mon in enumerate(monitors):
        path = f"monitors[{i}]"
        kind = mon.get("kind")
        if kind not in MONITORS:
            hint = suggest(kind, MONITORS) if isinstance(kind, str) else ""
            problems.append((f"{path}.kind", (f"{'missing' if kind is None else repr(kind)}: "
                                             f"must be one of {list(MONITORS)}.{hint}")))
            continue
        body = {k: v for k, v in mon.items() if k != "kind"}
        checked = _check_table(path, body, MONITORS[kind], problems)
        if model_cls is not None:
            names = model_cls.state_names()
            for k in ("variables", "variable"):
                vals = checked.get(k)
                for v in ([vals] if isinstance(vals, str) else vals or []):
                    if v not in names:
                        problems.append((f"{path}.{k}", (f"{model_cls.__name__} has no state "
                                                        f"variable {v!r}.{suggest(v, names)} "
                                                        f"Allowed: {list(names)}.")))
        out.append({"kind": kind, **checked})
    kinds = [m["kind"] for m in out]
    for k in set(kinds):
        if kinds.count(k) > 1:
            problems.append(("monitors", (f"two monitors of kind {k!r}: each output needs its "
                                         "own name; keep one.")))
    return out


def _stimulus_module() -> Any:
    try:
        from .. import stimulus
    except ImportError:
        return None
    return stimulus


def _class_kwargs(cls: Any) -> tuple[list[str], list[str]]:
    """(all keyword names, required names) of a class constructor."""
    sig = inspect.signature(cls)
    names, required = [], []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        names.append(p.name)
        if p.default is p.empty:
            required.append(p.name)
    return names, required


def _stimulus_kinds(module: Any) -> dict[str, dict[str, Any]]:
    """Waveform and pattern classes of :mod:`vbrain.stimulus` by kind."""
    groups = {"waveform": ("PulseTrain", "Pulse", "PairedPulse", "Sinusoid", "Ramp",
                           "NoiseWaveform", "ArrayWaveform"),
              "pattern": ("RegionWeights", "Labels", "FieldMap", "Electrode")}
    return {g: {n: getattr(module, n) for n in names if hasattr(module, n)}
            for g, names in groups.items()}


def _validate_stimuli(stimuli: Any, model_cls: Any, base: Path, problems: list) -> list[dict]:
    if not stimuli:
        return []
    if not isinstance(stimuli, list) or not all(isinstance(s, Mapping) for s in stimuli):
        problems.append(("stimuli", "must be an array of tables ([[stimuli]])."))
        return []
    module = _stimulus_module()
    if module is None:
        problems.append(("stimuli", ("stimuli need vbrain.stimulus, which this installation "
                                    "lacks; remove the [[stimuli]] tables.")))
        return []
    kinds = _stimulus_kinds(module)
    out = []
    for i, stim in enumerate(stimuli):
        path = f"stimuli[{i}]"
        for k in stim:
            if k not in ("waveform", "pattern", "variable"):
                problems.append((f"{path}.{k}", (f"unknown key.{suggest(k, ['waveform', 'pattern', 'variable'])} "
                                                "Allowed keys: ['pattern', 'variable', 'waveform'].")))
        entry: dict[str, Any] = {}
        for group in ("waveform", "pattern"):
            spec = stim.get(group)
            if not isinstance(spec, Mapping):
                problems.append((f"{path}.{group}", (f"must be a table with a kind (one of "
                                                    f"{list(kinds[group])}), e.g. {{kind = "
                                                    f"\"{next(iter(kinds[group]), '?')}\", ...}}.")))
                continue
            kind = spec.get("kind")
            if kind not in kinds[group]:
                hint = suggest(kind, kinds[group]) if isinstance(kind, str) else ""
                problems.append((f"{path}.{group}.kind", (f"{kind!r} is not a {group}.{hint} "
                                                         f"Allowed: {list(kinds[group])}.")))
                continue
            names, required = _class_kwargs(kinds[group][kind])
            for k in spec:
                if k != "kind" and k not in names:
                    problems.append((f"{path}.{group}.{k}", (f"{kind} has no argument {k!r}."
                                                            f"{suggest(k, names)} Allowed: "
                                                            f"{names}.")))
            missing = [k for k in required if k not in spec]
            for k in missing:
                problems.append((f"{path}.{group}.{k}", f"{kind} needs {k!r}."))
            spec = dict(spec)
            for k in ("image", "atlas"):  # FieldMap's files, relative to the experiment file
                if isinstance(spec.get(k), str) and not spec[k].startswith("atlases:"):
                    spec[k] = str(_resolve(spec[k], base))
            if not missing and all(k == "kind" or k in names for k in spec):
                try:  # the classes check their own values (ranges, shapes)
                    kinds[group][kind](**{k: v for k, v in spec.items() if k != "kind"})
                except (ValueError, TypeError, FileNotFoundError) as err:
                    problems.append((f"{path}.{group}", str(err)))
            entry[group] = spec
        var = stim.get("variable")
        if var is not None:
            given = [var] if isinstance(var, str) else var
            if not isinstance(given, list) or not given or \
                    not all(isinstance(v, str) for v in given):
                problems.append((f"{path}.variable", f"must be a state variable name or a "
                                                     f"list of names, got {var!r}."))
            elif model_cls is not None:
                names = model_cls.state_names()
                for v in given:
                    if v not in names:
                        problems.append((f"{path}.variable", (
                            f"{model_cls.__name__} has no state variable {v!r}."
                            f"{suggest(v, names)} Allowed: {list(names)}.")))
            entry["variable"] = var
        out.append(entry)
    return out


#: keys of an [[insets]] table besides its lists
INSET_KEYS = {"region": Key("str", None, "label of the region the inset replaces"),
              "dt": Key("float", 0.1, "the inset's step, ms (must divide integration.dt)", 0.0,
                        low_open=True),
              "seed": Key("int", 1, "seed of the inset's connectivity and Poisson inputs", low=0),
              "record_every": Key("float", 1.0, "sampling period of the saved rates and LFP, ms",
                                  0.0, low_open=True)}
#: lists of an [[insets]] table: the Network method (or bridge group) each entry calls
INSET_LISTS = {"populations": "add_population", "connections": "connect",
               "poisson": "add_poisson", "inputs": "bridge", "outputs": "bridge"}


def _inset_calls() -> dict[str, Any]:
    from ..spiking import Network

    return {k: getattr(Network, m) for k, m in INSET_LISTS.items() if m != "bridge"}


def _bridges() -> dict[str, dict[str, Any]]:
    from .. import bridges

    return {"inputs": {n: getattr(bridges, n) for n in ("RateToPoisson", "RateToCurrent")},
            "outputs": {n: getattr(bridges, n) for n in ("SpikesToRate", "SpikesToSynaptic",
                                                         "MeanPotential")}}


def _validate_insets(insets: Any, problems: list) -> list[dict]:
    """[[insets]]: a point-neuron Network per region, with its bridges; names checked here."""
    if not insets:
        return []
    if not isinstance(insets, list) or not all(isinstance(i, Mapping) for i in insets):
        problems.append(("insets", "must be an array of tables ([[insets]])."))
        return []
    from ..spiking import MODELS

    calls, bridges = _inset_calls(), _bridges()
    out, regions = [], []
    for i, inset in enumerate(insets):
        path = f"insets[{i}]"
        scalars = {k: v for k, v in inset.items() if k not in INSET_LISTS}
        entry = _check_table(path, scalars, INSET_KEYS, problems)
        if "region" not in entry:
            problems.append((f"{path}.region", "needed: the label of the region to replace."))
        regions.append(entry.get("region"))
        for group in INSET_LISTS:
            items = inset.get(group, [])
            if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
                problems.append((f"{path}.{group}",
                                 f"must be an array of tables ([[insets.{group}]])."))
                entry[group] = []
                continue
            for j, item in enumerate(items):
                where = f"{path}.{group}[{j}]"
                args = dict(item)
                if group in bridges:
                    kind = args.pop("kind", None)
                    if kind not in bridges[group]:
                        hint = suggest(kind, bridges[group]) if isinstance(kind, str) else ""
                        problems.append((f"{where}.kind",
                                         (f"{kind!r} is not an {group[:-1]} bridge.{hint} "
                                         f"Allowed: {list(bridges[group])}.")))
                        continue
                    func = bridges[group][kind]
                else:
                    func = calls[group]
                names, required = _class_kwargs(func)
                names = [n for n in names if n != "self"]
                for k in args:
                    if k not in names:
                        problems.append((f"{where}.{k}",
                                         f"unknown argument.{suggest(k, names)} Allowed: {names}."))
                for k in required:
                    if k != "self" and k not in args:
                        problems.append((f"{where}.{k}", "needed."))
                model = args.get("model")
                if group == "populations" and isinstance(model, str) and model not in MODELS:
                    problems.append((f"{where}.model",
                                     (f"unknown neuron model {model!r}.{suggest(model, MODELS)} "
                                     f"Allowed: {sorted(MODELS)}.")))
            entry[group] = [dict(x) for x in items]
        if not entry["populations"]:
            problems.append((f"{path}.populations",
                             "needed: at least one [[insets.populations]] (name, model, n)."))
        out.append(entry)
    for r in sorted({r for r in regions if r is not None and regions.count(r) > 1}):
        problems.append(("insets", f"region {r!r} has two insets; keep one."))
    return out


def _resolve(path: str, base: Path) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (base / p).resolve()


def _validate_subject(cfg: dict, base: Path, problems: list) -> None:
    subj = cfg["subject"]
    for k in ("bids", "fmri", "eeg", "fc", "fcd"):
        if isinstance(subj.get(k), str):
            p = _resolve(subj[k], base)
            if not p.exists():
                problems.append((f"subject.{k}", f"no file or folder at {p}."))
            subj[k] = str(p)
    for k in ("connectome", "atlas"):
        v = subj.get(k)
        if isinstance(v, str) and not v.startswith("atlases:"):
            p = _resolve(v, base)
            if not p.exists():
                problems.append((f"subject.{k}", (f"no file or folder at {p} (or use "
                                                 "atlases:NAME for bundled data).")))
            subj[k] = str(p)
    if "bids" in subj and "participant" not in subj:
        problems.append(("subject.participant", ("needed with subject.bids: the subject label "
                                                "(without 'sub-').")))
    if "participant" in subj:
        subj["participant"] = subj["participant"].removeprefix("sub-")
    if "bids" in subj and "pipeline" not in cfg:
        cfg["pipeline"] = {"recipe": SCHEMA["pipeline"]["recipe"].default}


def _validate_pipeline(cfg: dict, base: Path, problems: list) -> None:
    from vbrain.pipelines import bids as bids_mod

    pipe = cfg["pipeline"]
    recipe = pipe.get("recipe")
    if not isinstance(recipe, str):
        return
    if recipe.endswith(".toml") or os.sep in recipe:
        recipe = pipe["recipe"] = str(_resolve(recipe, base))
    try:
        spec, _, _ = bids_mod.load_recipe(recipe)
    except (ValueError, FileNotFoundError) as err:
        problems.append(("pipeline.recipe", str(err)))
        return
    subj = cfg["subject"]
    if not any(k in subj for k in ("bids", "fmri", "eeg")):
        problems.append(("pipeline", ("a pipeline needs subject data: subject.bids (with "
                                     "participant), subject.fmri or subject.eeg.")))
    for step in bids_mod.STEPS:
        over = pipe.get(step)
        if over is None:
            continue
        if step not in spec:
            problems.append((f"pipeline.{step}", (f"the recipe {recipe!r} has no [{step}] step "
                                                 f"(it has {[s for s in bids_mod.STEPS if s in spec]}).")))
            continue
        merged = {**spec[step], **over}
        try:
            _step_params(step, merged, recipe)
        except ValueError as err:
            problems.append((f"pipeline.{step}", str(err)))


def _step_params(step: str, table: Mapping, where: str) -> tuple[dict, dict]:
    """(selection keys, function parameters) of one recipe step; unknown keys raise."""
    from vbrain.pipelines import bids as bids_mod

    if step == "dti":
        from vbrain.pipelines.dti import run_dti as func

        selection = bids_mod._DTI_KEYS
    elif step == "fmri":
        from vbrain.pipelines.fmri import fmri_targets as func

        selection = bids_mod._FMRI_KEYS
    else:
        from vbrain.pipelines.eeg import eeg_targets as func

        selection = bids_mod._EEG_KEYS
    return bids_mod._split_params(step, dict(table), selection, func, where)


def _validate_fit(cfg: dict, model_cls: Any, coupling_cls: Any, base: Path,
                  problems: list) -> None:
    fit = cfg["fit"]
    params = fit.get("params")
    if not params:
        problems.append(("fit.params", ("needed: the parameters to fit, e.g. "
                                       "params = {\"coupling.a\" = [0.0, 0.05, 8]}.")))
        params = {}
    valid = (["noise", "speed"] + [f"model.{k}" for k in (model_cls.parameters if model_cls else ())]
             + [f"coupling.{k}" for k in (coupling_cls.parameters if coupling_cls else ())])
    for name, rng in params.items():
        where = f"fit.params.{name}"
        qualified = name if "." in name or name in ("noise", "speed") else None
        if qualified is None:
            hits = [v for v in valid if v.split(".")[-1] == name]
            if len(hits) > 1:
                problems.append((where, f"{name!r} is ambiguous: write one of {hits}."))
                continue
            if len(hits) == 1:
                qualified = hits[0]
        if qualified not in valid:
            problems.append((where, f"cannot fit {name!r}.{suggest(name, valid)} Allowed: {valid}."))
            continue
        ok = (isinstance(rng, list) and len(rng) in (2, 3)
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng)
              and all(math.isfinite(v) for v in rng) and rng[0] <= rng[1]
              and (len(rng) == 2 or (isinstance(rng[2], int) and rng[2] >= 1)))
        if not ok:
            problems.append((where, (f"must be [low, high] or [low, high, n] with low <= high and "
                                    f"an integer n >= 1, but got {rng!r}.")))
        elif len(rng) == 2 and rng[0] == rng[1]:
            problems.append((where, "an optimiser needs low < high."))
    signal = fit.get("signal", "bold")
    kind, _, period = str(signal).partition(":")
    if kind not in ("bold", "tavg") or (period and not _is_number(period)):
        problems.append(("fit.signal", (f"must be 'bold' or 'tavg[:PERIOD_MS]', but got "
                                       f"{signal!r}.")))
    var = fit.get("variable")
    if model_cls is not None:
        names = model_cls.state_names()
        if var is not None and var not in names:
            problems.append(("fit.variable", (f"{model_cls.__name__} has no state variable "
                                             f"{var!r}.{suggest(var, names)} Allowed: "
                                             f"{list(names)}.")))
        elif var is None and kind == "tavg" and len(names) > 1:
            problems.append(("fit.variable", (f"needed with signal {signal!r}: "
                                             f"{model_cls.__name__} has the state variables "
                                             f"{list(names)}.")))
    for k, w in (fit.get("weights") or {}).items():
        if k not in ("fc", "fcd", "psd"):
            problems.append((f"fit.weights.{k}", (f"unknown target kind.{suggest(k, ['fc', 'fcd', 'psd'])} "
                                                 "Allowed: ['fc', 'fcd', 'psd'].")))
        elif not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            problems.append((f"fit.weights.{k}", f"must be a number >= 0, but got {w!r}."))
    targets = fit.get("targets")
    if targets:
        fit["targets"] = [_resolve_target(t, base) for t in targets]
        for t in fit["targets"]:
            path = t.partition("=")[2] if "=" in t and not os.path.exists(t) else t
            if not os.path.exists(path):
                problems.append(("fit.targets", f"no file at {path}."))
    elif not any(k in cfg["subject"] for k in ("fc", "fcd", "fmri", "eeg", "bids")):
        problems.append(("fit.targets", ("nothing to fit to: give fit.targets or subject data "
                                        "(subject.fc, subject.fmri, subject.eeg or subject.bids).")))
    duration = fit.get("duration", cfg["integration"].get("duration"))
    if isinstance(duration, float) and fit.get("transient", 0.0) >= duration:
        problems.append(("fit.transient", (f"must be shorter than the fit duration "
                                          f"({duration:g} ms), but got {fit['transient']:g}.")))


def _resolve_target(t: str, base: Path) -> str:
    head, sep, tail = t.partition("=")
    if sep and head in ("fc", "fcd", "psd"):
        return f"{head}={_resolve(tail, base)}"
    return str(_resolve(t, base))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- reading --------------------------------------------------------------------------------------
def _toml_loads(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def _parse_override(item: str) -> tuple[list[str], Any]:
    path, sep, value = item.partition("=")
    if not sep or not path.strip():
        raise ExperimentError("--set", [("", f"must look like KEY.PATH=VALUE, got {item!r}.")])
    try:
        parsed = _toml_loads(f"v = {value.strip()}")["v"]
    except Exception:  # noqa: BLE001 - not a TOML value: take the text as a string
        parsed = value.strip()
    return path.strip().split("."), parsed


@dataclass
class Experiment:
    """A validated experiment.

    Attributes
    ----------
    config : dict
        Every table with defaults filled in and paths absolute (what
        :func:`to_toml` writes as the resolved file).
    source : pathlib.Path or None
        The file it was read from.
    """

    config: dict
    source: Path | None = None

    @property
    def output_folder(self) -> Path:
        """Where the run writes."""
        return Path(self.config["outputs"]["folder"])

    def to_toml(self) -> str:
        """The resolved experiment as TOML (``vbrain run`` reads it back)."""
        return to_toml(self.config)


def load_experiment(source: str | os.PathLike | Mapping[str, Any], *,
                    overrides: Sequence[str] = (), base_dir: str | os.PathLike | None = None,
                    ) -> Experiment:
    """Read and validate an experiment (no work is done).

    Parameters
    ----------
    source : path-like or dict
        A TOML file, or its parsed content.
    overrides : sequence of str
        ``"table.key=VALUE"`` items (VALUE in TOML syntax, bare words as
        strings) applied before validation, e.g. ``"integration.duration=2000"``.
    base_dir : path-like, optional
        Folder relative paths refer to (default: the file's folder, or the
        current folder for a dict).

    Returns
    -------
    Experiment

    Raises
    ------
    ExperimentError
        Invalid TOML, or any key that is unknown, of the wrong type, out of
        range or inconsistent; all problems at once, each with its key path.
    FileNotFoundError
        ``source`` is a path to nothing.
    """
    path = None
    if isinstance(source, Mapping):
        raw = json.loads(json.dumps(source))  # a deep copy of plain data
        where = "experiment"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"No experiment file at {os.fspath(path)!r}.")
        where = os.fspath(path)
        try:
            raw = _toml_loads(path.read_text(encoding="utf-8"))
        except Exception as err:  # noqa: BLE001 - tomllib/tomli TOMLDecodeError
            raise ExperimentError(where, [("", f"not valid TOML: {err}")]) from None
    for item in overrides:
        keys, value = _parse_override(item)
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ExperimentError("--set", [(".".join(keys), ("cannot set a key inside a "
                                                                 "non-table value."))])
        node[keys[-1]] = value
    base = Path(base_dir) if base_dir is not None else (path.parent if path else Path.cwd())
    return Experiment(_validate(raw, base.resolve(), where), path)
