"""Run pipeline recipes on a BIDS dataset and write BIDS-derivatives-style outputs.

``run_pipeline("fmri", bids_dir, out_dir)`` (the CLI's ``vbrain pipeline``)
finds the subjects (``sub-*``, optionally restricted with
``participant_label``), their files by BIDS entities (a small parser; no
pybids needed), runs each step of the recipe on each subject and writes::

    <out_dir>/dataset_description.json            DatasetType "derivative", GeneratedBy vbrain
    <out_dir>/sub-01[/ses-1]/func/sub-01_task-rest_atlas-<A>_desc-targets_bold.nc   (+ .json)
    <out_dir>/sub-01[/ses-1]/eeg/sub-01_task-rest_desc-targets_eeg.nc               (+ .json)
    <out_dir>/sub-01[/ses-1]/dwi/sub-01_atlas-<A>_dti/connectome.zip, tractogram.trk, qc.png,
                                                     connectome.json

Every ``.nc`` is an ``xarray.Dataset`` (:mod:`vbrain.pipelines.fmri`,
:mod:`vbrain.pipelines.eeg`); its JSON sidecar holds BIDS ``Description`` and
``Sources`` and, under ``"vbrain"``, the provenance: inputs with SHA-256
(paths relative to the BIDS folder), every parameter, the recipe file and
the software versions.

Recipes
-------
TOML files: the bundled ``dti``, ``fmri``, ``eeg`` and ``all`` (in
``vbrain/pipelines/recipes/``, see :func:`available_recipes`) or a path. A
recipe has an optional ``[recipe]`` table (``name``, ``description``) and
one table per step it runs, ``[dti]``, ``[fmri]``, ``[eeg]``, holding that
step's parameters: the keyword arguments of
:func:`~vbrain.pipelines.fmri.fmri_targets`,
:func:`~vbrain.pipelines.eeg.eeg_targets` or
:func:`vbrain.pipelines.dti.run_dti`, plus the selection keys below.
Unknown keys are errors (with a suggestion).

``[fmri]`` selection keys: ``task`` (label, ``"*"`` = any; default
``"rest"``), ``space`` and ``desc`` (entity filters, ``""`` = any; e.g.
``"MNI152NLin2009cAsym"`` and ``"preproc"`` for fMRIPrep outputs),
``atlas`` (``"atlases:NAME"`` or a path), ``confounds`` (``"auto"``: use the
run's ``desc-confounds_timeseries.tsv`` when present; ``true``: required;
``false``), ``tangent`` (add tangent-space FC over all runs processed,
variable ``fc_tangent``). The TR comes from ``tr`` (ms) if given, else the
BIDS sidecar ``RepetitionTime`` (s, converted to ms here), else the header.

``[eeg]`` selection keys: ``task``; ``montage`` (``"auto"``: positions from
the subject's ``*_electrodes.tsv`` when present, else ``fallback_montage``
(an MNE name) for a recording without positions; or an MNE montage name);
``use_channels_tsv`` (channels with ``status`` ``bad`` in ``*_channels.tsv``
are bad). ``[eeg.bands]`` maps band names to ``[low, high]`` Hz.

``[dti]`` selection keys: ``atlas`` (``"atlases:NAME"``, a path, or
``"subject:dseg"`` for the subject's ``*_dseg.nii.gz`` in ``dwi/`` or
``anat/``), ``resample_atlas`` (nearest-neighbour to the DWI grid). It needs
:func:`vbrain.pipelines.dti.run_dti` (called as ``run_dti(dwi, bval, bvec,
atlas, out_dir, **params)``); without it the step raises a clear error, but
only when a subject has diffusion data to process.
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbrain._check import suggest

from .provenance import file_record, save_dataset, versions, write_json

__all__ = ["BIDSFile", "available_recipes", "find_subjects", "load_recipe", "parse_entities",
           "run_pipeline", "subject_files"]

logger = logging.getLogger(__name__)

BIDS_VERSION = "1.9.0"
STEPS = ("dti", "fmri", "eeg")
#: entity keys in BIDS order (used to name outputs)
ENTITY_ORDER = ("sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "echo", "space")
_EXTENSIONS = (".nii.gz", ".nii", ".tsv.gz", ".tsv", ".json", ".edf", ".bdf", ".vhdr", ".vmrk",
               ".eeg", ".set", ".fdt", ".fif", ".bval", ".bvec", ".trk", ".tck", ".trx")
_EEG_EXT = (".edf", ".bdf", ".vhdr", ".set", ".fif")

# selection keys per step (the rest goes to the step's function)
_FMRI_KEYS = {"task": "rest", "space": "", "desc": "", "atlas": "atlases:default",
              "confounds": "auto", "tangent": False}
_EEG_KEYS = {"task": "rest", "montage": "auto", "fallback_montage": "", "use_channels_tsv": True}
_DTI_KEYS = {"atlas": "atlases:default", "resample_atlas": False}
_NOT_FROM_RECIPE = {"img", "raw", "confounds", "root", "verbose", "dwi", "bval", "bvec", "atlas",
                    "out_dir", "montage", "bads"}


# -- BIDS files -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BIDSFile:
    """A file in a BIDS dataset with its parsed name.

    Attributes
    ----------
    path : pathlib.Path
    entities : dict of str to str
        ``{"sub": "01", "task": "rest", ...}`` in file-name order.
    suffix : str
        E.g. ``"bold"``, ``"eeg"``, ``"dwi"``, ``"T1w"``.
    extension : str
        E.g. ``".nii.gz"``.
    datatype : str
        The folder: ``"anat"``, ``"func"``, ``"dwi"``, ``"eeg"``.
    """

    path: Path
    entities: dict
    suffix: str
    extension: str
    datatype: str

    def matches(self, **filters: str) -> bool:
        """True when every filter (entity=value) holds; "" or "*" matches anything."""
        return all(v in ("", "*", None) or self.entities.get(k) == str(v)
                   for k, v in filters.items())


def parse_entities(name: str) -> tuple[dict[str, str], str, str]:
    """Split a BIDS file name into (entities, suffix, extension).

    Examples
    --------
    >>> parse_entities("sub-01_ses-2_task-rest_run-1_bold.nii.gz")
    ({'sub': '01', 'ses': '2', 'task': 'rest', 'run': '1'}, 'bold', '.nii.gz')
    """
    ext = next((e for e in _EXTENSIONS if name.endswith(e)), Path(name).suffix)
    stem = name[: len(name) - len(ext)] if ext else name
    parts = stem.split("_")
    entities, suffix = {}, ""
    for i, part in enumerate(parts):
        if "-" in part:
            key, _, value = part.partition("-")
            entities[key] = value
        elif i == len(parts) - 1:
            suffix = part
    return entities, suffix, ext


def find_subjects(bids_dir: str | os.PathLike, participant_label: Any = None) -> list[str]:
    """Subject labels (without ``sub-``) in a BIDS folder, optionally a selection.

    Parameters
    ----------
    bids_dir : path-like
    participant_label : str or sequence of str, optional
        Labels with or without the ``sub-`` prefix.

    Returns
    -------
    list of str
        Sorted labels.

    Raises
    ------
    FileNotFoundError
        No such folder.
    ValueError
        No ``sub-*`` folder, or a requested label that is absent (with a
        suggestion and the available labels).
    """
    root = Path(bids_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"No BIDS folder at {os.fspath(root)!r}.")
    found = sorted(p.name[4:] for p in root.glob("sub-*") if p.is_dir())
    if not found:
        raise ValueError(f"{os.fspath(root)!r} has no sub-* folders: is it a BIDS dataset?")
    if participant_label is None:
        return found
    wanted = [participant_label] if isinstance(participant_label, str) else list(participant_label)
    labels = [w.removeprefix("sub-") for w in wanted]
    for lab in labels:
        if lab not in found:
            raise ValueError(f"Participant {lab!r} is not in {os.fspath(root)!r}."
                             f"{suggest(lab, found)} Subjects: {found}.")
    return sorted(dict.fromkeys(labels))


def subject_files(bids_dir: str | os.PathLike, label: str) -> list[BIDSFile]:
    """Every file of one subject in ``anat``, ``func``, ``dwi`` and ``eeg`` (sessions included)."""
    root = Path(bids_dir) / f"sub-{label}"
    out = []
    for folder in [root, *sorted(root.glob("ses-*"))]:
        for datatype in ("anat", "func", "dwi", "eeg"):
            d = folder / datatype
            if not d.is_dir():
                continue
            for p in sorted(d.iterdir()):
                if p.is_file() and p.name.startswith(f"sub-{label}_"):
                    ent, suffix, ext = parse_entities(p.name)
                    out.append(BIDSFile(p, ent, suffix, ext, datatype))
    return out


def _sidecar_metadata(f: BIDSFile, bids_dir: Path) -> dict:
    """BIDS JSON metadata of a file, with inheritance (top level -> subject -> session -> file)."""
    candidates = []
    dirs = [bids_dir, bids_dir / f"sub-{f.entities['sub']}"]
    if "ses" in f.entities:
        dirs.append(dirs[-1] / f"ses-{f.entities['ses']}")
    dirs.append(f.path.parent)
    for d in dict.fromkeys(dirs):
        for j in sorted(d.glob("*.json")) if d.is_dir() else []:
            ent, suffix, _ = parse_entities(j.name)
            if suffix == f.suffix and all(f.entities.get(k) == v for k, v in ent.items()):
                candidates.append((len(ent), j))
    meta: dict = {}
    for _, j in sorted(candidates, key=lambda c: c[0]):
        try:
            meta.update(json.loads(j.read_text(encoding="utf-8")))
        except json.JSONDecodeError as err:
            raise ValueError(f"The BIDS sidecar {os.fspath(j)!r} is not valid JSON: {err}") \
                from None
    return meta


def _prefix(entities: dict, keys: Sequence[str] = ENTITY_ORDER) -> str:
    return "_".join(f"{k}-{entities[k]}" for k in keys if k in entities)


def _label(text: str) -> str:
    """A BIDS label (alphanumeric) from a name such as 'tvb76_mni152'."""
    return re.sub(r"[^A-Za-z0-9]", "", text) or "atlas"


# -- recipes ------------------------------------------------------------------------------
def _recipe_dir() -> Any:
    return importlib.resources.files("vbrain.pipelines") / "recipes"


def available_recipes() -> list[str]:
    """Names of the bundled recipes (``dti``, ``eeg``, ``fmri``, ``all``)."""
    return sorted(p.name[:-5] for p in _recipe_dir().iterdir() if p.name.endswith(".toml"))


def _toml_loads(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def load_recipe(recipe: str | os.PathLike) -> tuple[dict, Path | None, str]:
    """Read and check a recipe.

    Parameters
    ----------
    recipe : str or path-like
        A bundled name (:func:`available_recipes`) or the path of a TOML file.

    Returns
    -------
    recipe : dict
        Parsed TOML.
    path : pathlib.Path or None
        The file read (for the provenance).
    name : str

    Raises
    ------
    ValueError
        An unknown name ("Did you mean ...?"), invalid TOML, unknown tables,
        or no step; each names the recipe.
    """
    text, path = None, None
    if isinstance(recipe, os.PathLike) or (isinstance(recipe, str) and
                                            (recipe.endswith(".toml") or os.sep in recipe)):
        path = Path(recipe)
        if not path.is_file():
            raise FileNotFoundError(f"No recipe file at {os.fspath(path)!r}.")
        text = path.read_text(encoding="utf-8")
        name = path.stem
    elif isinstance(recipe, str):
        names = available_recipes()
        if recipe not in names:
            raise ValueError(f"Unknown recipe {recipe!r}.{suggest(recipe, names)} Bundled "
                             f"recipes: {names}; or give the path of a .toml file.")
        res = _recipe_dir() / f"{recipe}.toml"
        text = res.read_text(encoding="utf-8")
        path = Path(str(res))
        name = recipe
    else:
        raise TypeError(f"recipe must be a name or a path, but got {type(recipe).__name__}.")
    try:
        data = _toml_loads(text)
    except Exception as err:  # noqa: BLE001 - tomllib/tomli TOMLDecodeError
        raise ValueError(f"The recipe {os.fspath(path)!r} is not valid TOML: {err}") from None
    allowed = ("recipe",) + STEPS
    for key in data:
        if key not in allowed:
            raise ValueError(f"The recipe {os.fspath(path)!r} has an unknown table [{key}]."
                             f"{suggest(key, allowed)} Tables: {list(allowed)}.")
    if not any(s in data for s in STEPS):
        raise ValueError(f"The recipe {os.fspath(path)!r} has no step: add a [dti], [fmri] "
                         "or [eeg] table.")
    meta = data.get("recipe", {})
    return data, path, str(meta.get("name", name))


def _split_params(step: str, table: dict, selection: dict, func: Any, where: str) \
        -> tuple[dict, dict]:
    """(selection values with defaults, parameters for ``func``); unknown keys are errors."""
    accepted = [p for p in inspect.signature(func).parameters if p not in _NOT_FROM_RECIPE]
    valid = list(selection) + accepted
    sel = dict(selection)
    params = {}
    for key, value in table.items():
        if key in selection:
            sel[key] = value
        elif key in accepted:
            params[key] = value
        else:
            raise ValueError(f"The recipe {where}: [{step}] has an unknown key {key!r}."
                             f"{suggest(key, valid)} Keys: {sorted(valid)}.")
    return sel, params


# -- the runner -----------------------------------------------------------------------------
def run_pipeline(recipe: str | Path, bids_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 participant_label: Any = None, *, overwrite: bool = False) -> list[Path]:
    """Run a recipe on a BIDS dataset; write BIDS-derivatives-style outputs.

    Parameters
    ----------
    recipe : str or path
        ``"dti"``, ``"fmri"``, ``"eeg"``, ``"all"`` or the path of a TOML
        recipe (module notes).
    bids_dir : path-like
        The BIDS dataset (raw, or derivatives such as fMRIPrep's, which use
        the same layout).
    out_dir : path-like
        Where the derivatives go (created).
    participant_label : str or sequence of str, optional
        Subjects to process (with or without ``sub-``); default all.
    overwrite : bool, default False
        Replace existing outputs; otherwise an existing output is an error
        (raised before that run is computed).

    Returns
    -------
    list of pathlib.Path
        Files written (``dataset_description.json`` when it was written,
        data files and sidecars).

    Raises
    ------
    ValueError
        Unknown recipe / keys (with "Did you mean"), unknown participants, no
        input for any step, and every input error of the steps (naming the
        file).
    FileExistsError
        An output exists and ``overwrite`` is False.
    RuntimeError
        The recipe has a ``[dti]`` step, a subject has diffusion data, and
        the DTI pipeline is not available.
    """
    from tqdm.auto import tqdm

    spec, recipe_path, name = load_recipe(recipe)
    bids = Path(bids_dir)
    subjects = find_subjects(bids, participant_label)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    desc = out / "dataset_description.json"
    if overwrite or not desc.exists():
        written.append(write_json(desc, _dataset_description(name, bids), overwrite=True))
    recipe_rec = file_record(recipe_path) if recipe_path is not None else None
    if recipe_rec is not None:
        if isinstance(recipe, str) and recipe in available_recipes():
            recipe_rec["path"] = f"vbrain.pipelines/recipes/{recipe}.toml"
        recipe_rec["role"] = "recipe"
    where = os.fspath(recipe_path) if recipe_path else str(recipe)
    ctx = _Context(bids, out, name, recipe_rec, overwrite, where)
    fmri_done: list[tuple[Path, Any]] = []
    n_inputs = 0
    for label in tqdm(subjects, desc=f"vbrain {name}", unit="subject", disable=len(subjects) < 2):
        files = subject_files(bids, label)
        if "dti" in spec:
            paths, n = _run_dti(ctx, label, files, spec["dti"])
            written += paths
            n_inputs += n
        if "fmri" in spec:
            done, n = _run_fmri(ctx, label, files, spec["fmri"])
            fmri_done += done
            written += [p for d in done for p in (d[0], d[0].with_suffix(".json"))]
            n_inputs += n
        if "eeg" in spec:
            paths, n = _run_eeg(ctx, label, files, spec["eeg"])
            written += paths
            n_inputs += n
    if n_inputs == 0:
        raise ValueError(
            f"Recipe {name!r} found no input in {os.fspath(bids)!r} for subject(s) "
            f"{subjects}: {_expected(spec)}.")
    if "fmri" in spec and spec["fmri"].get("tangent", False):
        _add_tangent(ctx, fmri_done, spec["fmri"])
    logger.info("run_pipeline %s: %d file(s) written in %s", name, len(written), out)
    return written


@dataclass
class _Context:
    bids: Path
    out: Path
    name: str
    recipe_rec: dict | None
    overwrite: bool
    where: str

    def target(self, label: str, entities: dict, datatype: str, stem: str) -> Path:
        d = self.out / f"sub-{label}"
        if "ses" in entities:
            d = d / f"ses-{entities['ses']}"
        return d / datatype / stem

    def check_free(self, *paths: Path) -> None:
        if self.overwrite:
            return
        for p in paths:
            if p.exists():
                raise FileExistsError(f"{p} exists; pass overwrite=True (--overwrite) to "
                                      "replace it.")

    def provenance(self, prov: dict) -> dict:
        prov = dict(prov)
        prov["recipe"] = self.name
        if self.recipe_rec is not None:
            prov["inputs"] = list(prov.get("inputs", [])) + [self.recipe_rec]
        prov["bids_dir"] = self.bids.name
        return prov


def _expected(spec: dict) -> str:
    parts = []
    if "dti" in spec:
        parts.append("dwi/*_dwi.nii[.gz] with .bval/.bvec")
    if "fmri" in spec:
        t = spec["fmri"].get("task", "rest")
        parts.append(f"func/*_task-{t}*_bold.nii[.gz]")
    if "eeg" in spec:
        t = spec["eeg"].get("task", "rest")
        parts.append(f"eeg/*_task-{t}*_eeg.(edf|bdf|vhdr|set|fif)")
    return "expected " + "; ".join(parts)


def _dataset_description(name: str, bids: Path) -> dict:
    import vbrain

    uri = bids.resolve().as_uri()
    return {
        "Name": f"vbrain {name} derivatives",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "vbrain", "Version": vbrain.__version__,
                         "Description": f"vbrain pipeline recipe '{name}'"}],
        "SourceDatasets": [{"URL": uri}],
        "DatasetLinks": {"raw": uri},
    }


def _sources(bids: Path, *paths: Path) -> list[str]:
    out = []
    for p in paths:
        try:
            out.append("bids:raw:" + p.resolve().relative_to(bids.resolve()).as_posix())
        except ValueError:
            out.append(p.resolve().as_uri())
    return out


def _related(files: list[BIDSFile], f: BIDSFile, suffixes: Sequence[str], *,
             keys: Sequence[str] = ("sub", "ses", "task", "acq", "run"),
             desc: str | None = None, ext: Sequence[str] = (".tsv",)) -> BIDSFile | None:
    """The file sharing ``f``'s entities ``keys`` with one of ``suffixes`` (most specific first)."""
    best = None
    for g in files:
        if g.suffix not in suffixes or g.extension not in ext or g.path.parent != f.path.parent:
            continue
        if desc is not None and g.entities.get("desc") != desc:
            continue
        # g may omit entities (BIDS inheritance) but must not contradict f's
        if all(g.entities.get(k) in (None, f.entities.get(k)) for k in keys):
            score = sum(k in g.entities for k in keys)
            if best is None or score > best[0]:
                best = (score, g)
    return None if best is None else best[1]


# -- steps -------------------------------------------------------------------------------
def _run_fmri(ctx: _Context, label: str, files: list[BIDSFile], table: dict) \
        -> tuple[list[tuple[Path, Any]], int]:
    from vbrain.atlas import Atlas

    from .fmri import fmri_targets

    sel, params = _split_params("fmri", table, _FMRI_KEYS, fmri_targets, ctx.where)
    if sel["confounds"] not in ("auto", True, False):
        raise ValueError(f"The recipe {ctx.where}: [fmri] confounds must be 'auto', true or "
                         f"false, but got {sel['confounds']!r}.")
    runs = [f for f in files if f.datatype == "func" and f.suffix == "bold"
            and f.extension in (".nii.gz", ".nii")
            and f.matches(task=sel["task"], space=sel["space"], desc=sel["desc"])]
    if not runs:
        logger.info("sub-%s: no fMRI run for task %r", label, sel["task"])
        return [], 0
    atlas = Atlas.load(sel["atlas"])
    done = []
    for f in runs:
        stem = f"{_prefix(f.entities)}_atlas-{_label(atlas.name)}_desc-targets_bold.nc"
        target = ctx.target(label, f.entities, "func", stem)
        ctx.check_free(target, target.with_suffix(".json"))
        conf = None
        if sel["confounds"] in ("auto", True):
            c = _related(files, f, ("timeseries", "regressors"), desc="confounds")
            if c is None and sel["confounds"] is True:
                raise ValueError(f"No confounds file for {os.fspath(f.path)!r}: expected "
                                 f"{_prefix(f.entities, ('sub', 'ses', 'task', 'acq', 'run'))}"
                                 "_desc-confounds_timeseries.tsv beside it (recipe confounds = "
                                 "true).")
            conf = None if c is None else c.path
        run_params = dict(params)
        if run_params.get("tr") is None:
            meta = _sidecar_metadata(f, ctx.bids)
            if "RepetitionTime" in meta:
                run_params["tr"] = float(meta["RepetitionTime"]) * 1000.0  # BIDS s -> vbrain ms
        ds = fmri_targets(f.path, atlas, confounds=conf, root=ctx.bids, **run_params)
        prov = ctx.provenance(ds.attrs["provenance"])
        sources = [f.path] + ([conf] if conf is not None else [])
        sidecar = {"Description": "vbrain fMRI fitting targets: region series, FC, FCD "
                                  "(xarray Dataset, NetCDF-4)",
                   "Sources": _sources(ctx.bids, *sources), "Atlas": atlas.name}
        ds.attrs["provenance"] = prov
        save_dataset(ds, target, prov, sidecar=sidecar, overwrite=ctx.overwrite)
        done.append((target, sidecar))
    return done, len(runs)


def _add_tangent(ctx: _Context, done: list[tuple[Path, Any]], table: dict) -> None:
    from .fmri import tangent_connectivity
    from .provenance import load_dataset

    if len(done) < 2:
        logger.info("tangent FC skipped: it needs at least 2 runs, got %d", len(done))
        return
    datasets = [load_dataset(p) for p, _ in done]
    covariance = table.get("covariance", "ledoit_wolf")
    mats = tangent_connectivity([d["series"] for d in datasets], covariance=covariance)
    group = [p.name for p, _ in done]
    for (path, sidecar), ds, mat in zip(done, datasets, mats):
        ds["fc_tangent"] = mat
        prov = dict(ds.attrs["provenance"])
        prov["tangent_group"] = group
        ds.attrs["provenance"] = prov
        save_dataset(ds, path, prov, sidecar=sidecar, overwrite=True)


def _companions(path: Path) -> list[Path]:
    """Files a recording's header points to (BrainVision .vmrk/.eeg, EEGLAB .fdt)."""
    ext = {".vhdr": (".vmrk", ".eeg"), ".set": (".fdt",)}.get(path.suffix.lower(), ())
    return [path.with_suffix(e) for e in ext if path.with_suffix(e).is_file()]


def _electrode_montage(files: list[BIDSFile], f: BIDSFile) -> tuple[Any, list[Path]]:
    """(DigMontage, files read) from the subject's *_electrodes.tsv (+ coordsystem.json units),
    or (None, [])."""
    import mne
    import pandas as pd

    elec = [g for g in files if g.datatype == "eeg" and g.suffix == "electrodes"
            and g.extension == ".tsv" and g.path.parent == f.path.parent]
    if not elec:
        return None, []
    e = elec[0]
    used = [e.path]
    table = pd.read_csv(e.path, sep="\t", na_values=["n/a"])
    for col in ("name", "x", "y", "z"):
        if col not in table.columns:
            raise ValueError(f"The electrodes file {os.fspath(e.path)!r} needs columns name, x, "
                             f"y, z; it has {list(table.columns)}.")
    units = "m"
    coord = [g for g in files if g.suffix == "coordsystem" and g.extension == ".json"
             and g.path.parent == f.path.parent]
    if coord:
        used.append(coord[0].path)
        meta = json.loads(coord[0].path.read_text(encoding="utf-8"))
        units = meta.get("EEGCoordinateSystemUnits", "m")
    scale = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}.get(units)
    if scale is None:
        raise ValueError(f"EEGCoordinateSystemUnits {units!r} in {os.fspath(coord[0].path)!r} "
                         "must be m, cm or mm.")
    table = table.dropna(subset=["x", "y", "z"])
    pos = {str(r.name): [r.x * scale, r.y * scale, r.z * scale] for r in table.itertuples()}
    logger.info("%s: %d electrode positions from %s (taken as MNE head coordinates)",
                f.path.name, len(pos), e.path.name)
    return mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head"), used


def _run_eeg(ctx: _Context, label: str, files: list[BIDSFile], table: dict) \
        -> tuple[list[Path], int]:
    import pandas as pd

    from .eeg import eeg_targets, read_eeg

    sel, params = _split_params("eeg", table, _EEG_KEYS, eeg_targets, ctx.where)
    runs = [f for f in files if f.datatype == "eeg" and f.suffix == "eeg"
            and f.extension in _EEG_EXT and f.matches(task=sel["task"])]
    if not runs:
        logger.info("sub-%s: no EEG recording for task %r", label, sel["task"])
        return [], 0
    written = []
    for f in runs:
        stem = f"{_prefix(f.entities)}_desc-targets_eeg.nc"
        target = ctx.target(label, f.entities, "eeg", stem)
        ctx.check_free(target, target.with_suffix(".json"))
        bads: list[str] = []
        sources = [f.path, *_companions(f.path)]
        roles = ["eeg recording"] * len(sources)
        if sel["use_channels_tsv"]:
            ch = _related(files, f, ("channels",))
            if ch is not None:
                tab = pd.read_csv(ch.path, sep="\t", na_values=["n/a"], keep_default_na=False)
                if "status" in tab.columns and "name" in tab.columns:
                    bads = [str(n) for n, s in zip(tab["name"], tab["status"])
                            if str(s).strip().lower() == "bad"]
                sources.append(ch.path)
                roles.append("channels")
        montage: Any = None
        if sel["montage"] == "auto":
            montage, used = _electrode_montage(files, f)
            sources += used
            roles += ["electrodes"] * len(used)
        elif sel["montage"]:
            montage = sel["montage"]
        raw = read_eeg(f.path, montage=montage)
        if montage is None and sel["montage"] == "auto" and sel["fallback_montage"] \
                and raw.get_montage() is None:
            montage = sel["fallback_montage"]
            raw = read_eeg(raw, montage=montage)
        bads = [b for b in bads if b in raw.ch_names]
        ds = eeg_targets(raw, bads=bads, root=ctx.bids, **params)
        recs = [file_record(p, ctx.bids) for p in sources]
        for r, role in zip(recs, roles):
            r["role"] = role
        prov = dict(ds.attrs["provenance"])
        prov["inputs"] = recs
        shown = montage if isinstance(montage, (str, type(None))) else "electrodes.tsv"
        prov["parameters"]["montage"] = shown
        ds.attrs["parameters"]["montage"] = shown
        prov = ctx.provenance(prov)
        ds.attrs["source"] = f.path.name
        ds.attrs["provenance"] = prov
        sidecar = {"Description": "vbrain EEG fitting targets: Welch spectra, band powers, "
                                  "amplitude-envelope connectivity, sensor positions (xarray "
                                  "Dataset, NetCDF-4)",
                   "Sources": _sources(ctx.bids, *sources)}
        written += list(save_dataset(ds, target, prov, sidecar=sidecar, overwrite=ctx.overwrite))
    return written, len(runs)


def _dti_function(where: str) -> Any:
    try:
        module = importlib.import_module("vbrain.pipelines.dti")
    except ImportError as err:
        raise RuntimeError(f"The recipe {where} has a [dti] step, but the dti pipeline is not "
                           f"available (vbrain.pipelines.dti could not be imported: {err}).") \
            from None
    func = getattr(module, "run_dti", None)
    if func is None:
        raise RuntimeError(f"The recipe {where} has a [dti] step, but the dti pipeline is not "
                           "available (vbrain.pipelines.dti has no run_dti).")
    return func


def _run_dti(ctx: _Context, label: str, files: list[BIDSFile], table: dict) \
        -> tuple[list[Path], int]:
    from vbrain.atlas import Atlas

    dwis = [f for f in files if f.datatype == "dwi" and f.suffix == "dwi"
            and f.extension in (".nii.gz", ".nii")]
    if not dwis:
        logger.info("sub-%s: no diffusion data", label)
        return [], 0
    run_dti = _dti_function(ctx.where)
    sel, params = _split_params("dti", table, _DTI_KEYS, run_dti, ctx.where)
    written: list[Path] = []
    for f in dwis:
        stem = f.path.name[: -len(f.extension)]
        bval = f.path.with_name(stem + ".bval")
        bvec = f.path.with_name(stem + ".bvec")
        for p, what in ((bval, "b-values"), (bvec, "b-vectors")):
            if not p.is_file():
                raise ValueError(f"No {what} for {os.fspath(f.path)!r}: expected "
                                 f"{os.fspath(p)!r}.")
        if sel["atlas"] == "subject:dseg":
            dseg = [g for g in files if g.suffix == "dseg" and g.extension in (".nii.gz", ".nii")
                    and g.datatype in ("dwi", "anat")]
            if not dseg:
                raise ValueError(f"The recipe {ctx.where} asks for atlas 'subject:dseg', but "
                                 f"sub-{label} has no *_dseg.nii[.gz] in dwi/ or anat/.")
            atlas = Atlas.load(min(dseg, key=lambda g: g.datatype != "dwi").path)
        else:
            atlas = Atlas.load(sel["atlas"])
        if sel["resample_atlas"]:
            atlas = atlas.resample_to(f.path)
        ent = {k: v for k, v in f.entities.items() if k != "desc"}
        folder = ctx.target(label, ent, "dwi", f"{_prefix(ent)}_atlas-{_label(atlas.name)}_dti")
        ctx.check_free(folder / "connectome.zip")
        result = run_dti(f.path, bval, bvec, atlas, folder, **params)
        written += [p for p in (getattr(result, "connectome_path", None),
                                getattr(result, "tractogram_path", None),
                                getattr(result, "qc_path", None),
                                getattr(result, "provenance_path", None)) if p is not None]
        extra = {"Description": "vbrain structural connectome from diffusion MRI (run_dti)",
                 "Sources": _sources(ctx.bids, f.path, bval, bvec),
                 "vbrain": ctx.provenance({"step": "dti", "inputs": [
                     file_record(p, ctx.bids) for p in (f.path, bval, bvec)],
                     "parameters": {**params, **sel}, "versions": versions()})}
        written.append(write_json(folder.with_name(folder.name + ".json"), extra,
                                  overwrite=True))
    return written, len(dwis)
