"""Experiment files: one TOML file describes a whole study; ``vbrain run`` executes it.

An experiment file has these tables (every key optional unless stated; units
as in the rest of vbrain: ms, mm, mm/ms, Hz)::

    [experiment]     name, description
    [subject]        connectome, atlas, bids + participant, fmri, eeg, fc, fcd
    [pipeline]       recipe (dti/fmri/eeg/all or a .toml), [pipeline.fmri|eeg|dti] overrides
    [connectome]     normalise, threshold, threshold_proportion, subset
    [model]          name, [model.parameters]
    [coupling]       name, [coupling.parameters]
    [integration]    dt (ms), speed (mm/ms), duration (ms), seed, integrator, noise
    [[monitors]]     kind = tavg | subsample | raw | spatial | global | coupling | bold | bold_hrf
                     | eeg | meg,
                     + its keys
    [[stimuli]]      waveform = {kind = ...}, pattern = {kind = ...}, variable
    [[insets]]       region, dt, [[insets.populations]], connections, poisson, inputs, outputs
    [fit]            params = {"coupling.a" = [lo, hi, n]}, method, duration, ...
    [outputs]        folder, files, overwrite
    [dask]           scheduler = "none" | "sync" | "local" | "tcp://host:8786", n_workers

:data:`SCHEMA` holds every key with its type, default, unit and meaning
(``vbrain run --schema`` prints it; stimuli, insets and pipeline overrides
are checked against the signatures of the classes and functions they call). :func:`load_experiment` reads a file and
validates it completely before any work: every problem is reported at once,
each naming its key path (``model.parameters.a``) and the allowed values.
:func:`run_experiment` then runs the steps (subject data -> pipeline ->
connectome -> fit -> simulation -> outputs -> report) and writes, next to the
outputs, ``experiment.toml`` (the resolved file: defaults filled in, paths
absolute; ``vbrain run`` re-runs it) and ``run.json`` (versions, input and
output checksums, timings, status).
"""

from .runner import RunRecord, run_experiment
from .schema import FORMAT, MONITORS, SCHEMA, ExperimentError, Key, describe_schema
from .toml import to_toml
from .validate import Experiment, load_experiment

__all__ = ["FORMAT", "MONITORS", "SCHEMA", "Experiment", "ExperimentError", "Key", "RunRecord",
           "describe_schema", "load_experiment", "run_experiment", "to_toml"]
