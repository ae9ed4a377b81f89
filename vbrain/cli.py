"""The ``vbrain`` command: ``vbrain simulate`` and ``vbrain models``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
from ._check import suggest
from .coupling import COUPLINGS
from .models import REGISTRY, get_model

logger = logging.getLogger("vbrain")

_MONITORS = {"raw": "Raw", "tavg": "TemporalAverage", "subsample": "SubSample"}


def _key_values(items: Sequence[str], what: str) -> dict[str, float | np.ndarray]:
    """Parse ``name=value`` pairs; a value may be a comma-separated per-region list."""
    out: dict[str, float | np.ndarray] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"vbrain: {what} must look like name=value, got {item!r}.")
        try:
            values = [float(v) for v in value.split(",")]
        except ValueError:
            raise SystemExit(f"vbrain: {what} {name!r} needs a number, got {value!r}.") from None
        out[name] = values[0] if len(values) == 1 else np.array(values)
    return out


def _monitor(spec: str):
    from . import monitors

    kind, _, period = spec.partition(":")
    if kind not in _MONITORS:
        raise SystemExit(f"vbrain: unknown monitor {kind!r}.{suggest(kind, _MONITORS)} "
                         f"Use one of {sorted(_MONITORS)} (e.g. tavg:1.0).")
    cls = getattr(monitors, _MONITORS[kind])
    if kind == "raw":
        return cls()
    try:
        return cls(float(period)) if period else cls()
    except ValueError:
        raise SystemExit(f"vbrain: monitor period must be a number in ms, got {period!r}.") from None


def _simulate(args: argparse.Namespace) -> int:
    import vbrain as vb

    stem = args.output[:-3] if args.output.endswith(".nc") else args.output
    bold_path, eeg_path = f"{stem}_bold.nii.gz", f"{stem}_eeg.fif"
    try:
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
        noise = vb.noise.Additive(args.noise) if args.noise > 0 else None
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
                      progress=not args.quiet, checkpoint_every=args.checkpoint_every,
                      resume=args.resume)
        wall = time.perf_counter() - t0
        written = [args.output]
        if atlas is not None and res["bold"].sizes["time"] > 0:
            res.to_nifti(atlas).to_filename(bold_path)
            written.append(bold_path)
        if leadfield is not None and res["eeg"].sizes["time"] > 1:
            from .forward.sensors import save_raw

            save_raw(res.to_raw(leadfield), eeg_path, overwrite=True)
            written.append(eeg_path)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return 2
    except vb.SimulationDiverged as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        print(f"Partial output kept in {args.output}.", file=sys.stderr)
        return 3
    except vb.SimulationInterrupted as err:
        print(f"vbrain: {err}".replace("resume=True", "--resume"), file=sys.stderr)
        return 130
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
    return 0


def _models(args: argparse.Namespace) -> int:
    names = sorted(REGISTRY) if not args.name else [get_model(args.name).__name__]
    for name in names:
        cls = REGISTRY[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        states = ", ".join(f"{sv.name} [{sv.unit}]" for sv in cls.state_variables)
        print(f"{name}: {doc}")
        print(f"  state: {states}; coupled through: {', '.join(cls.coupling_variables)}")
        for pname, p in cls.parameters.items():
            print(f"  {pname:<14} = {p.default:<12g} [{p.unit}]  {p.doc}")
        print()
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from vbrain.pipelines.bids import run_pipeline

    try:
        outputs = run_pipeline(args.recipe, args.bids_dir, args.out_dir,
                               participant_label=args.participant_label or None,
                               overwrite=args.overwrite)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return 2
    print(f"vbrain pipeline {args.recipe}: wrote {len(outputs)} file(s) under {args.out_dir}")
    for path in outputs:
        print(f"  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vbrain`` command."""
    parser = argparse.ArgumentParser(prog="vbrain", description="Personalized virtual brains.")
    parser.add_argument("--version", action="version", version=f"vbrain {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="simulate a connectome-coupled network",
                         description="Simulate a network of region models on a connectome and "
                                     "write the monitors' output to a NetCDF file.")
    sim.add_argument("--config", default=None, metavar="MODEL_JSON",
                     help="start from a model written by `vbrain fit` (its model.json); "
                          "options given on the command line override it")
    sim.add_argument("--connectome", default="atlases:default",
                     help="atlases:NAME, a TVB .zip, a .npz or a folder of text matrices "
                          "(default: atlases:default, tvb-data's 76 regions)")
    sim.add_argument("--model", default="Generic2dOscillator", help="model name (see `vbrain models`)")
    sim.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="model parameter; VALUE may be a comma-separated per-region list")
    sim.add_argument("--coupling", default="Linear", help=f"one of {sorted(COUPLINGS)}")
    sim.add_argument("--coupling-param", action="append", default=[], metavar="NAME=VALUE",
                     help="coupling parameter (default Linear a=0.0152)")
    sim.add_argument("--duration", type=float, default=60_000.0, help="simulated time, ms")
    sim.add_argument("--dt", type=float, default=0.1, help="integration step, ms")
    sim.add_argument("--speed", type=float, default=4.0, help="conduction speed, mm/ms")
    sim.add_argument("--integrator", default="heun", choices=["heun", "euler", "rk4"])
    sim.add_argument("--noise", type=float, default=1e-3,
                     help="additive noise intensity D for every state variable, per ms "
                          "(default 1e-3; 0: deterministic)")
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--monitor", action="append", default=None, metavar="KIND[:PERIOD]",
                     help="raw, tavg:PERIOD_MS or subsample:PERIOD_MS (default tavg:1.0)")
    sim.add_argument("--bold-tr", type=float, default=2000.0,
                     help="simulate BOLD (Balloon-Windkessel) with this TR in ms and write it as a "
                          "4-D NIfTI through --atlas; 0 turns it off")
    sim.add_argument("--atlas", default="atlases:default",
                     help="label image whose regions match the connectome (for the BOLD NIfTI)")
    sim.add_argument("--eeg", default="standard_1020",
                     help="simulate EEG on this MNE montage (sphere head model) and write FIF; "
                          "'none' turns it off")
    sim.add_argument("--eeg-period", type=float, default=1.0, help="EEG sampling period, ms")
    sim.add_argument("-o", "--output", default="vbrain_simulation.nc",
                     help="output NetCDF file; BOLD and EEG go beside it as "
                          "<stem>_bold.nii.gz and <stem>_eeg.fif")
    sim.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    sim.add_argument("--checkpoint-every", type=float, default=None, metavar="MS",
                     help="write a checkpoint every MS simulated ms (Ctrl-C/SIGTERM always do)")
    sim.add_argument("--resume", action="store_true",
                     help="continue an interrupted run of the same command from its checkpoint")
    sim.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(func=_simulate)
    parser.simulate_parser = sim  # for --config: its values become this parser's defaults

    pipe = sub.add_parser("pipeline", help="run an ingest recipe (dti, fmri, eeg, all) on a BIDS dataset",
                          description="Turn a BIDS dataset into connectomes and fitting targets, "
                                      "written as BIDS derivatives.")
    pipe.add_argument("recipe", help="dti, fmri, eeg, all, or a recipe .toml file")
    pipe.add_argument("bids_dir", help="BIDS dataset folder")
    pipe.add_argument("out_dir", help="derivatives output folder")
    pipe.add_argument("--participant-label", nargs="+", default=[],
                      help="subjects to run (without 'sub-'); default all")
    pipe.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    pipe.set_defaults(func=_pipeline)

    from .fit.cli import register as register_fit

    register_fit(sub)

    mod = sub.add_parser("models", help="list the models, their parameters, defaults and units")
    mod.add_argument("name", nargs="?", help="show one model only")
    mod.set_defaults(func=_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vbrain`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="vbrain: %(message)s")
    if args.command == "simulate" and args.config:
        from .fit.personalize import load_model_config

        try:
            config = load_model_config(args.config)
        except (ValueError, FileNotFoundError) as err:
            print(f"vbrain: error: {err}", file=sys.stderr)
            return 2
        parser.simulate_parser.set_defaults(**config)
        args = parser.parse_args(argv)
    if args.command == "simulate":
        args.monitor = args.monitor or ["tavg:1.0"]
        if args.coupling == "Linear" and not args.coupling_param:
            args.coupling_param = ["a=0.0152"]
    try:
        return args.func(args)
    except ValueError as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
