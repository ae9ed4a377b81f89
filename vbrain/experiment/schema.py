"""The experiment file's schema: every table and key, its type, default, unit and meaning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FORMAT", "MONITORS", "OUTPUT_FILES", "SCHEMA", "ExperimentError", "Key",
           "describe_schema"]

FORMAT = "vbrain-experiment/1"


class ExperimentError(ValueError):
    """An experiment file is invalid; ``problems`` lists every ``(key path, message)``."""

    def __init__(self, where: str, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"  {path}: {msg}" if path else f"  {msg}" for path, msg in self.problems]
        n = len(self.problems)
        super().__init__(f"{where}: {n} problem{'s' if n > 1 else ''}:\n" + "\n".join(lines))


@dataclass(frozen=True)
class Key:
    """One key of the schema.

    Parameters
    ----------
    type : str
        "str", "path", "int", "float", "bool", "number|list" (a number or a
        list of numbers), "str|int list", "str list", "table".
    default : object
        Value when the key is absent (None: not used unless given).
    doc : str
        Meaning, with the unit.
    low, high : float, optional
        Allowed range (``low_open``: low excluded).
    allowed : tuple, optional
        Allowed values.
    """

    type: str
    default: Any = None
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    allowed: tuple | None = None


_TYPE_NAMES = {"str": "a string", "path": "a path (string)", "int": "an integer",
               "float": "a number", "bool": "true or false", "table": "a table",
               "number|list": "a number or a list of numbers", "str list": "a list of strings",
               "str|int list": "a list of labels or indices"}
_SCHEMES = ("heun", "euler", "rk4")
#: outputs a run can write
OUTPUT_FILES = ("netcdf", "bold_nifti", "eeg_fif", "report", "fit")

SCHEMA: dict[str, dict[str, Key]] = {
    "experiment": {
        "name": Key("str", "experiment", "name shown in the report and run.json"),
        "description": Key("str", "", "free text"),
    },
    "subject": {
        "connectome": Key("str", "atlases:default",
                          "atlases:NAME, a TVB .zip, a .npz or a folder of text matrices; "
                          "replaced by the DTI pipeline's connectome when [pipeline] makes one"),
        "atlas": Key("str", "atlases:default",
                     "parcellation matching the connectome (BOLD NIfTI, glass brain, fMRI)"),
        "bids": Key("path", None, "BIDS dataset folder; the [pipeline] recipe runs on it"),
        "participant": Key("str", None, "BIDS subject label (without 'sub-'); needed with bids"),
        "fmri": Key("path", None, "a 4-D BOLD NIfTI (processed by the fmri pipeline step) or a "
                                  "targets .nc written by `vbrain pipeline`"),
        "eeg": Key("path", None, "a raw EEG recording (.fif/.edf/.bdf/.vhdr/.set; processed by "
                                 "the eeg step) or a targets .nc written by `vbrain pipeline`"),
        "fc": Key("path", None, "empirical FC matrix (.npy/.csv), regions x regions"),
        "fcd": Key("path", None, "empirical FCD matrix (.npy/.csv), windows x windows"),
    },
    "pipeline": {
        "recipe": Key("str", "all", "bundled recipe (dti, fmri, eeg, all) or a recipe .toml path"),
        "fmri": Key("table", None, "overrides of the recipe's [fmri] keys"),
        "eeg": Key("table", None, "overrides of the recipe's [eeg] keys"),
        "dti": Key("table", None, "overrides of the recipe's [dti] keys"),
    },
    "connectome": {
        "normalise": Key("str", "none", "weight scaling", allowed=("none", "max", "row_sum",
                                                                   "log")),
        "threshold": Key("float", None, "drop off-diagonal weights below this (weight units)",
                         low=0.0),
        "threshold_proportion": Key("float", None, "keep this fraction of the strongest edges",
                                    low=0.0, high=1.0),
        "subset": Key("str|int list", None, "keep only these regions (labels or indices)"),
    },
    "model": {
        "name": Key("str", "Generic2dOscillator", "region model (see `vbrain models`)"),
        "parameters": Key("table", None, "model parameters: a number, or one per region"),
    },
    "coupling": {
        "name": Key("str", "Linear", "coupling function"),
        "parameters": Key("table", None, "coupling parameters (numbers)"),
    },
    "integration": {
        "dt": Key("float", 0.1, "integration step, ms", low=0.0, low_open=True),
        "speed": Key("float", 4.0, "conduction speed, mm/ms", low=0.0, low_open=True),
        "duration": Key("float", 10_000.0, "simulated time, ms", low=0.0, low_open=True),
        "seed": Key("int", 42, "seed of the initial history and the noise", low=0),
        "integrator": Key("str", "heun", "scheme", allowed=_SCHEMES),
        "noise": Key("number|list", 1e-3, "additive noise intensity D per state variable, "
                                          "(unit of the variable)^2/ms; 0 = deterministic",
                     low=0.0),
        "noise_tau": Key("float", 0.0, "correlation time of the noise, ms (0: white; > 0: "
                                       "exponentially correlated, TVB's ntau)", low=0.0),
    },
    "fit": {
        "params": Key("table", None, "parameters to fit: {\"coupling.a\" = [lo, hi] or "
                                     "[lo, hi, n]}; names coupling.X, model.X, noise, speed"),
        "targets": Key("str list", None, "target files (default: the subject's fc/fcd/fmri/eeg)"),
        "method": Key("str", None, "search (default grid when every range has n, else de)",
                      allowed=("grid", "de", "grid+de", "cma")),
        "duration": Key("float", None, "simulated ms per candidate (default: integration."
                                       "duration)", low=0.0, low_open=True),
        "transient": Key("float", 0.0, "initial ms discarded before scoring", low=0.0),
        "signal": Key("str", "bold", "bold, or tavg[:PERIOD_MS] (neural FC)"),
        "variable": Key("str", None, "state variable for signal tavg"),
        "bold_tr": Key("float", None, "BOLD TR of the candidates, ms (default: the targets')",
                       low=0.0, low_open=True),
        "fc_metric": Key("str", "corr", "FC term", allowed=("corr", "rmse")),
        "weights": Key("table", None, "weight per target kind (fc, fcd, psd), default 1"),
        "popsize": Key("int", 10, "DE/CMA population setting", low=1),
        "maxiter": Key("int", 10, "DE/CMA generations", low=1),
        "batch_size": Key("int", None, "largest batch of one sweep", low=1),
        "use_fitted": Key("bool", True, "simulate the fitted model (else the file's values)"),
    },
    "outputs": {
        "folder": Key("path", "vbrain_run", "output folder (relative to the experiment file)"),
        "files": Key("str list", list(OUTPUT_FILES), "what to write", allowed=OUTPUT_FILES),
        "overwrite": Key("bool", False, "replace existing outputs"),
    },
    "dask": {
        "scheduler": Key("str", "none", "none (in process), sync, local (a LocalCluster) or a "
                                        "scheduler address tcp://host:8786"),
        "n_workers": Key("int", None, "workers of a local cluster", low=1),
    },
}

#: keys of each [[monitors]] kind (besides ``kind``)
MONITORS: dict[str, dict[str, Key]] = {
    "tavg": {"period": Key("float", 1.0, "window and sampling period, ms", 0.0, low_open=True),
             "variables": Key("str list", None, "state variables (default all)")},
    "subsample": {"period": Key("float", 1.0, "sampling period, ms", 0.0, low_open=True),
                  "variables": Key("str list", None, "state variables (default all)")},
    "raw": {"variables": Key("str list", None, "state variables (default all)")},
    "spatial": {"period": Key("float", 1.0, "sampling period, ms", 0.0, low_open=True),
                "mask": Key("str", "cortical", "groups of regions averaged: the connectome's "
                            "cortical or hemispheres flags", allowed=("cortical", "hemispheres")),
                "variables": Key("str list", None, "state variables (default all)")},
    "global": {"period": Key("float", 1.0, "sampling period, ms", 0.0, low_open=True),
               "variables": Key("str list", None, "state variables (default all)")},
    "coupling": {"period": Key("float", None, "averaging window, ms (default: every step)", 0.0,
                               low_open=True),
                 "variables": Key("str list", None, "coupling variables (default all)")},
    "bold": {"tr": Key("float", 2000.0, "repetition time, ms", 0.0, low_open=True),
             "variable": Key("str", None, "driving state variable (default the model's)"),
             "coefficients": Key("str", "stephan2007", "Balloon-Windkessel parameter set",
                                 allowed=("stephan2007", "friston2003"))},
    "bold_hrf": {"tr": Key("float", 2000.0, "repetition time, ms", 0.0, low_open=True),
                 "variable": Key("str", None, "driving state variable (default the model's)")},
    "eeg": {"montage": Key("str", "standard_1020", "MNE montage name (sphere head model)"),
            "period": Key("float", 1.0, "sampling period, ms", 0.0, low_open=True)},
    "meg": {"system": Key("str", "neuromag", "MEG system shipped with MNE",
                          allowed=("neuromag", "ctf151", "ctf275")),
            "period": Key("float", 1.0, "sampling period, ms", 0.0, low_open=True)},
}
_MONITOR_CLASSES = {"tavg": "TemporalAverage", "subsample": "SubSample", "raw": "Raw",
                    "spatial": "SpatialAverage", "global": "GlobalAverage",
                    "coupling": "AfferentCoupling",
                    "bold": "Bold", "bold_hrf": "BoldHRF", "eeg": "EEG", "meg": "MEG"}
_TOP = tuple(SCHEMA) + ("monitors", "stimuli", "insets", "format")


def describe_schema() -> str:
    """Every table and key of an experiment file with its type, default and meaning."""
    lines = [f"format = {FORMAT!r} (optional)"]

    def block(title: str, keys: Mapping[str, Key]) -> None:
        lines.append("")
        lines.append(title)
        for k, key in keys.items():
            extra = []
            if key.default is not None:
                extra.append(f"default {key.default!r}")
            if key.allowed:
                extra.append(f"one of {list(key.allowed)}")
            if key.low is not None:
                extra.append(f"{'>' if key.low_open else '>='} {key.low:g}")
            if key.high is not None:
                extra.append(f"<= {key.high:g}")
            tail = f" ({'; '.join(extra)})" if extra else ""
            lines.append(f"  {k:<22} {_TYPE_NAMES[key.type]}: {key.doc}{tail}")

    for section, keys in SCHEMA.items():
        block(f"[{section}]", keys)
    for kind, keys in MONITORS.items():
        block(f"[[monitors]] kind = {kind!r}", keys)
    lines += ["", ("[[stimuli]]  waveform = {kind = ..., <arguments>}, pattern = {kind = ..., "
                   "<arguments>}, variable = <state variable(s)>: the classes of vbrain.stimulus"),
              "", ("[[insets]]  region, dt (ms), seed, record_every (ms), and arrays of tables: "
                   "populations (Network.add_population: name, model, n, params), connections "
                   "(Network.connect), poisson (Network.add_poisson), inputs / outputs (bridges "
                   "by kind: RateToPoisson, RateToCurrent / SpikesToRate, SpikesToSynaptic, "
                   "MeanPotential)")]
    return "\n".join(lines)
