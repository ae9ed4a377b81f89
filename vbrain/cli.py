"""The ``vbrain`` command: ``run``, ``simulate``, ``pipeline``, ``fit``, ``models``.

Exit codes (:data:`EXIT_CODES`, also in ``vbrain --help``): 0 success; 1 a
runtime failure (an unexpected error, failed Dask tasks); 2 bad usage or
invalid input (command line, experiment file, data files, existing outputs
without ``--overwrite``); 3 the simulation diverged (the output computed
before is kept); 130 interrupted (Ctrl-C/SIGTERM; ``--resume`` continues a
streamed ``simulate``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
from ._check import check_range, suggest
from .coupling import COUPLINGS
from .models import REGISTRY, get_model

logger = logging.getLogger("vbrain")

#: exit codes scripts can rely on
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILURE: "runtime failure (an unexpected error; failed Dask tasks)",
    EXIT_USAGE: "bad usage or invalid input: command line, experiment file, data files, "
                "outputs that exist without --overwrite",
    EXIT_DIVERGED: "the simulation diverged (NaN/Inf); the output computed before is kept",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); `simulate --resume` continues",
}
_INPUT_ERRORS = (ValueError, TypeError, FileExistsError, FileNotFoundError, NotADirectoryError,
                 IsADirectoryError)

_MONITORS = {"raw": "Raw", "tavg": "TemporalAverage", "subsample": "SubSample",
             "spatial": "SpatialAverage", "global": "GlobalAverage",
             "coupling": "AfferentCoupling"}


def _key_values(items: Sequence[str], what: str) -> dict[str, float | np.ndarray]:
    """Parse ``name=value`` pairs; a value may be a comma-separated per-region list."""
    out: dict[str, float | np.ndarray] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} must look like name=value, got {item!r}.")
        try:
            values = [float(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(f"{what} {name!r} needs a number, got {value!r}.") from None
        out[name] = values[0] if len(values) == 1 else np.array(values)
    return out


def _monitor(spec: str):
    from . import monitors

    kind, _, period = spec.partition(":")
    if kind not in _MONITORS:
        raise ValueError(f"unknown monitor {kind!r}.{suggest(kind, _MONITORS)} "
                         f"Use one of {sorted(_MONITORS)} (e.g. tavg:1.0).")
    cls = getattr(monitors, _MONITORS[kind])
    if kind == "raw" or (kind == "coupling" and not period):
        return cls()
    try:
        return cls(float(period)) if period else cls()
    except ValueError:
        raise ValueError(f"monitor period must be a number in ms, got {period!r}.") from None


def _simulate(args: argparse.Namespace) -> int:
    import vbrain as vb

    stem = args.output[:-3] if args.output.endswith(".nc") else args.output
    bold_path, eeg_path = f"{stem}_bold.nii.gz", f"{stem}_eeg.fif"
    try:
        # 0 switches noise/BOLD off; anything else must be a real, non-negative value
        check_range("noise (--noise)", args.noise, 0.0)
        check_range("bold_tr (--bold-tr)", args.bold_tr, 0.0)
        for path in (args.output, bold_path if args.bold_tr > 0 else None,
                     eeg_path if args.eeg != "none" else None):
            if path and os.path.exists(path) and not args.overwrite:
                raise FileExistsError(f"{path} exists; pass --overwrite to replace it.")
        conn = vb.Connectome.load(args.connectome)
        model = get_model(args.model)(**_key_values(args.param, "--param"))
        if args.coupling not in COUPLINGS:
            raise ValueError(f"Unknown coupling {args.coupling!r}.{suggest(args.coupling, COUPLINGS)} "
                             f"Available: {sorted(COUPLINGS)}.")
        coupling = COUPLINGS[args.coupling](**_key_values(args.coupling_param, "--coupling-param"))
        noise = vb.noise.Additive(args.noise, args.noise_tau) if args.noise > 0 else None
        monitors = [_monitor(m) for m in args.monitor]
        atlas = leadfield = None
        if args.bold_tr > 0:
            from .atlas import Atlas

            atlas = Atlas.load(args.atlas).match(conn)
            monitors.append(vb.monitors.Bold(tr=args.bold_tr))
        if args.eeg != "none":
            from .forward import LeadField

            leadfield = LeadField.sphere(conn, montage=args.eeg)
            monitors.append(vb.monitors.EEG(leadfield, period=args.eeg_period))
        sim = vb.Simulation(conn, model, coupling, speed=args.speed, dt=args.dt,
                            integrator=args.integrator, noise=noise, seed=args.seed,
                            monitors=monitors)
        t0 = time.perf_counter()
        res = sim.run(args.duration, out=args.output, overwrite=args.overwrite,
                      progress=False if args.quiet else None,
                      checkpoint_every=args.checkpoint_every,
                      resume=args.resume)
        wall = time.perf_counter() - t0
        written = [args.output]
        if atlas is not None and res["bold"].sizes["time"] > 0:
            tmp = f"{bold_path}.partial.nii.gz"  # atomic: never a half-written image
            res.to_nifti(atlas).to_filename(tmp)
            os.replace(tmp, bold_path)
            written.append(bold_path)
        if leadfield is not None and res["eeg"].sizes["time"] > 1:
            from .forward.sensors import save_raw

            save_raw(res.to_raw(leadfield), eeg_path, overwrite=True)
            written.append(eeg_path)
    except _INPUT_ERRORS as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except vb.SimulationDiverged as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        print(f"Partial output kept in {args.output}.", file=sys.stderr)
        return EXIT_DIVERGED
    except vb.SimulationInterrupted as err:
        print(f"vbrain: {err}".replace("resume=True", "--resume"), file=sys.stderr)
        return EXIT_INTERRUPTED
    n_steps = int(round(args.duration / args.dt))
    print(f"vbrain {__version__}: {type(model).__name__} on {conn.name or args.connectome} "
          f"({conn.n_regions} regions), {type(coupling).__name__} coupling, {args.integrator}, "
          f"dt={args.dt} ms, speed={args.speed} mm/ms")
    print(f"simulated {args.duration:g} ms in {wall:.2f} s "
          f"({wall / (n_steps * conn.n_regions) * 1e9:.0f} ns per region-step, compile included)")
    for name in res.keys():
        da = res[name]
        print(f"  {name}: {dict(da.sizes)}" + (f" [{da.attrs['units']}]" if "units" in da.attrs else ""))
        if "variable" not in da.dims or da.sizes["time"] == 0:
            continue
        for var in da["variable"].values:
            x = np.asarray(da.sel(variable=var).values)
            unit = str(da["unit"].sel(variable=var).values) if "unit" in da.coords else ""
            print(f"    {var} [{unit}]: mean {x.mean():.4g}, std {x.std():.4g}, "
                  f"range [{x.min():.4g}, {x.max():.4g}]")
    print("wrote " + ", ".join(written))
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    names = sorted(REGISTRY) if not args.name else [get_model(args.name).__name__]
    for name in names:
        cls = REGISTRY[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        states = ", ".join(f"{sv.name} [{sv.unit}]" for sv in cls.state_variables)
        print(f"{name}: {doc}")
        stimulated = cls.stimulus_variables or cls.coupling_variables
        print(f"  state: {states}; coupled through: {', '.join(cls.coupling_variables)}"
              + ("" if stimulated == cls.coupling_variables
                 else f"; stimuli drive: {', '.join(stimulated)}"))
        for pname, p in cls.parameters.items():
            default = (f"{p.default:<12g}" if p.size == 1
                       else "(" + ", ".join(f"{v:g}" for v in p.default) + ")")
            print(f"  {pname:<14} = {default} [{p.unit}]  {p.doc}")
        print()
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from vbrain.pipelines.bids import run_pipeline

    try:
        outputs = run_pipeline(args.recipe, args.bids_dir, args.out_dir,
                               participant_label=args.participant_label or None,
                               overwrite=args.overwrite)
    except _INPUT_ERRORS as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"vbrain pipeline {args.recipe}: wrote {len(outputs)} file(s) under {args.out_dir}")
    for path in outputs:
        print(f"  {path}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from .experiment import ExperimentError, describe_schema, load_experiment, run_experiment
    from .simulation import SimulationDiverged

    if args.schema:
        print(describe_schema())
        return EXIT_OK
    if args.experiment is None:
        print("vbrain run: error: give an experiment file (or --schema).", file=sys.stderr)
        return EXIT_USAGE
    overrides = list(args.set)
    if args.output is not None:
        overrides.append(f"outputs.folder={json.dumps(os.path.abspath(args.output))}")
    if args.overwrite:
        overrides.append("outputs.overwrite=true")
    if args.scheduler is not None:
        overrides.append(f"dask.scheduler={json.dumps(args.scheduler)}")
    try:
        exp = load_experiment(args.experiment, overrides=overrides)
        if args.check:
            print(f"{args.experiment}: valid; would write into {exp.output_folder}")
            return EXIT_OK
        t0 = time.perf_counter()
        record = run_experiment(exp, progress=False if args.quiet else None)
    except ExperimentError as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SimulationDiverged as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        print(f"The output computed before, the report and run.json are in "
              f"{exp.output_folder}.", file=sys.stderr)
        return EXIT_DIVERGED
    print(f"vbrain run {exp.config['experiment']['name']!r}: {record.status} in "
          f"{time.perf_counter() - t0:.1f} s ("
          + ", ".join(f"{k} {v:.1f} s" for k, v in record.seconds.items()) + ")")
    for role, path in record.outputs.items():
        print(f"  {role:<12} {path}")
    print(f"re-run: vbrain run {record.outputs['experiment']} --overwrite")
    return EXIT_OK


_UNITS = "Units: time in ms, lengths in mm, conduction speed in mm/ms, rates in Hz."


def _epilog() -> str:
    codes = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())
    return (f"{_UNITS}\n\nexit codes:\n{codes}\n\n"
            "Quick start: `vbrain simulate` (the main job on bundled data) or "
            "`vbrain run examples/experiment.toml` (a whole study from one file). "
            "Each command's --help lists its inputs, outputs and units.")


def _common() -> argparse.ArgumentParser:
    """-q/--quiet and -v/--verbose, accepted before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    loud = common.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", default=None,
                      help="no progress bars and no log messages on stderr, only errors (the "
                           "summary on stdout stays)")
    loud.add_argument("-v", "--verbose", action="count", default=None,
                      help="log each step (-vv: debug); show tracebacks of failures")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vbrain`` command."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="vbrain", formatter_class=fmt, epilog=_epilog(),
        description="Personalized virtual brains: simulate connectome-coupled region models, "
                    "turn subject data (BIDS: DWI, fMRI, EEG) into connectomes and targets, "
                    "fit models to them, and run whole experiments from one TOML file.")
    parser.add_argument("--version", action="version", version=f"vbrain {__version__}")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", dest="g_quiet", action="store_true",
                      help="no progress bars and no log messages on stderr, only errors (the "
                           "summary on stdout stays)")
    loud.add_argument("-v", "--verbose", dest="g_verbose", action="count", default=0,
                      help="log each step (-vv: debug); show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common()

    run = sub.add_parser(
        "run", parents=[common], formatter_class=fmt,
        help="run a whole experiment described by one TOML file",
        description="Run an experiment file end to end: subject data -> pipeline -> "
                    "connectome -> fit -> simulation (with stimuli) -> BOLD NIfTI / EEG FIF -> "
                    "HTML report. The file is validated completely before any work; every "
                    "problem is reported with its key path (model.parameters.a) and the allowed "
                    "values.",
        epilog="outputs (in [outputs] folder):\n"
               "  simulation.nc            every monitor (NetCDF-4, one group each; time in ms)\n"
               "  simulation_bold.nii.gz   simulated BOLD as a 4-D NIfTI (with a bold monitor)\n"
               "  simulation_eeg.fif       simulated EEG/MEG as MNE Raw (with an eeg/meg monitor)\n"
               "  report.html              self-contained report (opens offline)\n"
               "  fit/                     fitted model and fit report (with [fit])\n"
               "  derivatives/             pipeline outputs (with subject.bids)\n"
               "  experiment.toml          the resolved experiment: re-run it with vbrain run\n"
               "  run.json                 versions, input and output sha256, timings, status\n\n"
               f"{_UNITS}\nSee `vbrain run --schema` for every key, and examples/experiment.toml.")
    run.add_argument("experiment", nargs="?", help="experiment file (.toml)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a key before validation, VALUE in TOML syntax "
                          "(e.g. --set integration.duration=2000 --set model.name=JansenRit)")
    run.add_argument("-o", "--output", default=None, metavar="DIR",
                     help="output folder (overrides outputs.folder)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace existing outputs (outputs.overwrite = true)")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="run on Dask: 'local', 'sync' or tcp://host:8786 (overrides "
                          "dask.scheduler)")
    run.add_argument("--check", action="store_true",
                     help="validate the file and exit (0 valid, 2 invalid); nothing is run")
    run.add_argument("--schema", action="store_true",
                     help="print every table and key with its type, default, unit and meaning")
    run.set_defaults(func=_run)

    sim = sub.add_parser(
        "simulate", parents=[common], formatter_class=fmt,
        help="simulate a connectome-coupled network (the main job)",
        description="Simulate a network of region models on a connectome and write the "
                    "monitors' output to a NetCDF file, simulated BOLD as a 4-D NIfTI and "
                    "simulated EEG as a FIF file.",
        epilog="outputs:\n"
               "  OUTPUT.nc                every monitor (NetCDF-4, one group each; time in ms)\n"
               "  STEM_bold.nii.gz         BOLD, 4-D NIfTI on --atlas (unless --bold-tr 0)\n"
               "  STEM_eeg.fif             EEG in volts, MNE Raw (unless --eeg none)\n\n"
               f"{_UNITS}")
    sim.add_argument("--config", default=None, metavar="MODEL_JSON",
                     help="start from a model written by `vbrain fit` (its model.json); "
                          "options given on the command line override it")
    sim.add_argument("--connectome", default="atlases:default",
                     help="atlases:NAME, a TVB .zip, a .npz or a folder of text matrices "
                          "(weights, tract lengths in mm, centres in mm; default: "
                          "atlases:default, tvb-data's 76 regions)")
    sim.add_argument("--model", default="Generic2dOscillator",
                     help="model name (see `vbrain models`; default Generic2dOscillator)")
    sim.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="model parameter in the unit `vbrain models` lists; VALUE may be a "
                          "comma-separated per-region list")
    sim.add_argument("--coupling", default="Linear", help=f"one of {sorted(COUPLINGS)}")
    sim.add_argument("--coupling-param", action="append", default=[], metavar="NAME=VALUE",
                     help="coupling parameter (default Linear a=0.0152)")
    sim.add_argument("--duration", type=float, default=60_000.0,
                     help="simulated time, ms (default 60000)")
    sim.add_argument("--dt", type=float, default=0.1, help="integration step, ms (default 0.1)")
    sim.add_argument("--speed", type=float, default=4.0,
                     help="conduction speed, mm/ms (default 4.0); delays = length / speed")
    sim.add_argument("--integrator", default="heun", choices=["heun", "euler", "rk4"],
                     help="scheme (default heun; rk4 only without noise)")
    sim.add_argument("--noise", type=float, default=1e-3,
                     help="additive noise intensity D for every state variable, "
                          "(unit of the variable)^2/ms (default 1e-3; 0: deterministic)")
    sim.add_argument("--noise-tau", type=float, default=0.0,
                     help="correlation time of the noise in ms (default 0: white; > 0: "
                          "exponentially correlated, TVB's ntau)")
    sim.add_argument("--seed", type=int, default=42,
                     help="seed of the initial history and the noise (default 42)")
    sim.add_argument("--monitor", action="append", default=None, metavar="KIND[:PERIOD]",
                     help="raw, tavg:PERIOD_MS, subsample:PERIOD_MS, spatial:PERIOD_MS (means "
                          "over cortical/subcortical regions), global:PERIOD_MS or coupling"
                          "[:PERIOD_MS] (each region's coupling input; default tavg:1.0)")
    sim.add_argument("--bold-tr", type=float, default=2000.0,
                     help="simulate BOLD (Balloon-Windkessel) with this TR in ms and write it as a "
                          "4-D NIfTI through --atlas; 0 turns it off (default 2000)")
    sim.add_argument("--atlas", default="atlases:default",
                     help="label image whose regions match the connectome (for the BOLD NIfTI)")
    sim.add_argument("--eeg", default="standard_1020",
                     help="simulate EEG (volts) on this MNE montage (sphere head model) and "
                          "write FIF; 'none' turns it off (default standard_1020)")
    sim.add_argument("--eeg-period", type=float, default=1.0,
                     help="EEG sampling period, ms (default 1.0, i.e. 1000 Hz)")
    sim.add_argument("-o", "--output", default="vbrain_simulation.nc",
                     help="output NetCDF file; BOLD and EEG go beside it as "
                          "<stem>_bold.nii.gz and <stem>_eeg.fif")
    sim.add_argument("--overwrite", action="store_true", help="replace existing output files")
    sim.add_argument("--checkpoint-every", type=float, default=None, metavar="MS",
                     help="write a checkpoint every MS simulated ms (Ctrl-C/SIGTERM always do)")
    sim.add_argument("--resume", action="store_true",
                     help="continue an interrupted run of the same command from its checkpoint")
    sim.set_defaults(func=_simulate)
    parser.simulate_parser = sim  # for --config: its values become this parser's defaults

    pipe = sub.add_parser(
        "pipeline", parents=[common], formatter_class=fmt,
        help="run an ingest recipe (dti, fmri, eeg, all) on a BIDS dataset",
        description="Turn a BIDS dataset into connectomes and fitting targets, written as BIDS "
                    "derivatives with JSON sidecars (inputs with sha256, parameters, versions).",
        epilog="outputs (under OUT_DIR/sub-<label>/):\n"
               "  dwi/..._dti/connectome.zip          connectome (weights, tract lengths in mm)\n"
               "  func/..._desc-targets_bold.nc       region series, FC, FCD (TR in ms)\n"
               "  eeg/..._desc-targets_eeg.nc         spectra (Hz), band powers, envelope FC\n\n"
               f"{_UNITS}")
    pipe.add_argument("recipe", help="dti, fmri, eeg, all, or a recipe .toml file")
    pipe.add_argument("bids_dir", help="BIDS dataset folder")
    pipe.add_argument("out_dir", help="derivatives output folder")
    pipe.add_argument("--participant-label", nargs="+", default=[],
                      help="subjects to run (without 'sub-'); default all")
    pipe.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    pipe.set_defaults(func=_pipeline)

    from .fit.cli import register as register_fit

    register_fit(sub, parents=[common])

    mod = sub.add_parser("models", parents=[common],
                         help="list the models, their parameters, defaults and units",
                         description="List every region model: state variables with units, "
                                     "coupled variables, and each parameter's default and unit.")
    mod.add_argument("name", nargs="?", help="show one model only")
    mod.set_defaults(func=_models)
    return parser


def _configure(args: argparse.Namespace) -> None:
    """Merge the global and per-command -q/-v; set the log level."""
    args.quiet = bool(args.g_quiet or getattr(args, "quiet", None))
    args.verbose = int(args.g_verbose or 0) + int(getattr(args, "verbose", None) or 0)
    level = (logging.ERROR if args.quiet else logging.DEBUG if args.verbose > 1
             else logging.INFO if args.verbose else logging.WARNING)
    logging.basicConfig(level=level, format="vbrain: %(message)s")
    logging.getLogger("vbrain").setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vbrain`` command; returns an exit code (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure(args)
    if args.command == "simulate" and args.config:
        from .fit.personalize import load_model_config

        try:
            config = load_model_config(args.config)
        except (ValueError, FileNotFoundError) as err:
            print(f"vbrain: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        parser.simulate_parser.set_defaults(**config)
        args = parser.parse_args(argv)
        _configure(args)
    if args.command == "simulate":
        args.monitor = args.monitor or ["tavg:1.0"]
        if args.coupling == "Linear" and not args.coupling_param:
            args.coupling_param = ["a=0.0152"]
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("vbrain: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _INPUT_ERRORS as err:
        if args.verbose:
            logger.exception("bad input")
        print(f"vbrain: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # the documented exit code 1, not a traceback
        if args.verbose:
            logger.exception("failure")
        print(f"vbrain: error: {type(err).__name__}: {err}"
              + ("" if args.verbose else " (run with -v for the traceback)"), file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
