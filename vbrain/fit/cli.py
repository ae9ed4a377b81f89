"""``vbrain fit``: fit a model to a subject's targets; write the personalized model and a report.

Wired into the ``vbrain`` command by :func:`register` (called from
``vbrain.cli.build_parser``)::

    vbrain fit sub-01_fmri_targets.nc --model ReducedWongWang --model-param w=0.9 \\
        --model-param I_o=0.3 --param coupling.a=0:0.02:32 --noise 1e-4 \\
        --duration 300000 --transient 20000 --out fit-sub-01

    vbrain fit fc=fc.npy fcd=fcd.npy --param a=0.001:0.02 --method de --workers 2 --out fit

Targets: see :func:`vbrain.fit.personalize.load_targets` (``.nc`` from the
pipelines, ``.npy``/``.csv`` matrices, ``KIND=PATH``). The grid's finished
sweeps are kept in ``OUT/sweep/``: running the same command again after an
interruption resumes without recomputing them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger("vbrain")

__all__ = ["register"]


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()
             ) -> argparse.ArgumentParser:
    """Add the ``fit`` subcommand to the ``vbrain`` command's subparsers; return its parser.

    ``parents`` carry the options every command shares (``-q``/``-v``).
    """
    from ..fit.personalize import METHODS

    p = subparsers.add_parser(
        "fit", parents=list(parents), formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="outputs (in --out):\n"
               "  fitted_params.json       fitted values, goodness of fit, settings, versions\n"
               "  model.json + connectome.zip   the personalized model "
               "(vbrain simulate --config model.json)\n"
               "  landscape.nc / history.nc     grid scores / optimiser candidates with losses\n"
               "  report.html, report.md, *.png the fit report\n"
               "  sweep/                   finished grid tasks (a re-run resumes from them)\n\n"
               "Units: time in ms, speed in mm/ms, noise D in (unit of the variable)^2/ms, "
               "frequencies in Hz.",
        help="fit a model to a subject's FC/FCD/spectra; write the model and a report",
        description="Fit model parameters to empirical targets (FC, FCD, EEG spectra) with "
                    "batched sweeps; write the fitted parameters (JSON), the model "
                    "(model.json + connectome.zip, re-runnable with `vbrain simulate --config "
                    "model.json`) and a report (HTML/Markdown + PNG).")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="target files: a pipelines .nc (fc, fcd, psd), or .npy/.csv/.tsv "
                        "matrices (an FC unless prefixed: fcd=FILE, psd=FILE)")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--connectome", default="atlases:default",
                   help="atlases:NAME, a TVB .zip, a .npz or a folder of text matrices")
    p.add_argument("--model", default="ReducedWongWang", help="model name (see `vbrain models`)")
    p.add_argument("--model-param", action="append", default=[], metavar="NAME=VALUE",
                   help="fixed model parameter; VALUE may be a comma-separated per-region list")
    p.add_argument("--coupling", default="Linear", help="coupling function")
    p.add_argument("--coupling-param", action="append", default=[], metavar="NAME=VALUE",
                   help="fixed coupling parameter")
    p.add_argument("--param", action="append", default=[], required=True,
                   metavar="NAME=LO:HI[:N]",
                   help="parameter to fit: coupling.a, model.w, noise, speed, or a bare name "
                        "of the model or coupling; N grid points (default 8 for grids)")
    p.add_argument("--method", default=None, choices=list(METHODS),
                   help="grid (default when every --param has N), de (default otherwise), "
                        "grid+de (grid, then DE around its best point), cma")
    p.add_argument("--noise", type=float, default=1e-4,
                   help="additive noise intensity D for every state variable, "
                        "(unit of the variable)^2/ms (default 1e-4)")
    p.add_argument("--dt", type=float, default=0.1, help="integration step, ms")
    p.add_argument("--speed", type=float, default=4.0, help="conduction speed, mm/ms")
    p.add_argument("--integrator", default="heun", choices=["heun", "euler", "rk4"],
                   help="scheme (default heun; rk4 only without noise)")
    p.add_argument("--seed", type=int, default=42, help="seed of every candidate's run")
    p.add_argument("--duration", type=float, default=60_000.0,
                   help="simulated ms per candidate")
    p.add_argument("--transient", type=float, default=20_000.0,
                   help="initial ms discarded before scoring (BOLD settles in ~20 s)")
    p.add_argument("--signal", default="bold", metavar="bold|tavg[:PERIOD]",
                   help="FC/FCD from simulated BOLD (default) or from a temporal average of "
                        "the neural state (tavg:10 = 10 ms windows)")
    p.add_argument("--variable", default=None, help="state variable for --signal tavg")
    p.add_argument("--bold-tr", type=float, default=None,
                   help="BOLD TR, ms (default: the targets' TR, else 2000)")
    p.add_argument("--fc-metric", default="corr", choices=["corr", "rmse"],
                   help="FC term: 1 - Pearson r (default) or RMSE of the upper triangles")
    p.add_argument("--weight", action="append", default=[], metavar="KIND=W",
                   help="weight of a target kind (fc, fcd, psd) in the loss (default 1)")
    p.add_argument("--fcd-window", default=None,
                   help="FCD window: ms or '60 s' / '30 vol' (default: the target's)")
    p.add_argument("--fcd-step", default=None, help="FCD step (default: the target's)")
    p.add_argument("--eeg-montage", default="standard_1020",
                   help="montage for a PSD target without sensor positions")
    p.add_argument("--eeg-period", type=float, default=4.0, help="EEG sampling period, ms")
    p.add_argument("--popsize", type=int, default=10, help="DE/CMA population setting")
    p.add_argument("--maxiter", type=int, default=10, help="DE/CMA generations")
    p.add_argument("--batch-size", type=int, default=None,
                   help="largest batch of one sweep (memory grows with it)")
    p.add_argument("--fic", action="store_true",
                   help="re-tune J_i per candidate (feedback inhibition control, "
                        "ReducedWongWangExcInh)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="run the sweeps on a local Dask cluster of N worker processes")
    where.add_argument("--scheduler", default=None,
                       help="run the sweeps on the Dask scheduler at this address "
                            "(tcp://host:8786)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    if not parents:  # standalone use: the shared -q of the vbrain command
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _signal_monitor(spec: str, tr: float):
    import vbrain as vb

    kind, _, period = spec.partition(":")
    if kind == "bold":
        return vb.monitors.Bold(tr=tr), "bold"
    if kind == "tavg":
        try:
            return vb.monitors.TemporalAverage(float(period) if period else 10.0), "tavg"
        except ValueError:
            raise ValueError(f"--signal tavg:PERIOD needs a number of ms, got {period!r}.") \
                from None
    raise ValueError(f"--signal must be bold or tavg[:PERIOD], got {spec!r}.")


def run(args: argparse.Namespace) -> int:
    """Execute ``vbrain fit`` (the subcommand's ``func``)."""
    import vbrain as vb

    from .._check import suggest
    from ..cli import _key_values
    from ..coupling import COUPLINGS
    from ..models import get_model
    from .personalize import check_duration, fit, load_targets, parse_param_range

    try:
        check_duration(args.duration, args.transient)
        targets = load_targets(args.targets)
        conn = vb.Connectome.load(args.connectome)
        model = get_model(args.model)(**_key_values(args.model_param, "--model-param"))
        if args.coupling not in COUPLINGS:
            raise ValueError(f"Unknown coupling {args.coupling!r}."
                             f"{suggest(args.coupling, COUPLINGS)} Available: {sorted(COUPLINGS)}.")
        coupling = COUPLINGS[args.coupling](**_key_values(args.coupling_param, "--coupling-param"))
        specs = [parse_param_range(s, model, coupling) for s in args.param]
        params = {name: (lo, hi) + ((n,) if n is not None else ()) for name, lo, hi, n in specs}
        if len(params) != len(specs):
            raise ValueError("A parameter is given twice with --param.")
        method = args.method or ("grid" if all(n is not None for *_, n in specs) else "de")
        tr = args.bold_tr or targets.get("tr_ms") or 2000.0
        signal, monitor = _signal_monitor(args.signal, float(tr))
        monitors = [signal]
        if "psd" in targets:
            from ..forward import LeadField

            ds = targets.get("_eeg_dataset")
            montage = args.eeg_montage
            if ds is not None:
                from vbrain.pipelines.eeg import info_from_targets

                montage = info_from_targets(ds)
            monitors.append(vb.monitors.EEG(LeadField.sphere(conn, montage=montage),
                                            period=args.eeg_period))
        weights = {}
        for item in args.weight:
            k, _, w = item.partition("=")
            try:
                weights[k] = float(w)
            except ValueError:
                raise ValueError(f"--weight must look like KIND=NUMBER, got {item!r}.") from None
        noise = vb.noise.Additive(args.noise) if args.noise > 0 else None
        sim = vb.Simulation(conn, model, coupling, speed=args.speed, dt=args.dt,
                            integrator=args.integrator, noise=noise, seed=args.seed,
                            monitors=monitors)
        client = None
        if args.workers is not None:
            from ..parallel import get_client

            client, _ = get_client(n_workers=args.workers)
        elif args.scheduler is not None:
            client = args.scheduler
        from pathlib import Path

        out = Path(args.out)
        for name in ("fitted_params.json", "model.json"):
            if (out / name).exists() and not args.overwrite:
                raise FileExistsError(f"{out / name} exists; pass --overwrite to replace it.")
        t0 = time.perf_counter()
        try:
            result = fit(sim, args.duration, targets, params, method=method,
                         transient=args.transient, monitor=monitor, variable=args.variable,
                         weights=weights, fc_metric=args.fc_metric, fcd_window=args.fcd_window,
                         fcd_step=args.fcd_step, popsize=args.popsize, maxiter=args.maxiter,
                         batch_size=args.batch_size, fic=args.fic or None, client=client,
                         out_dir=out / "sweep" if method in ("grid", "grid+de") else None,
                         progress=False if args.quiet else None)
        finally:
            if client is not None and not isinstance(client, str):
                client.close()
        wall = time.perf_counter() - t0
        paths = result.save(out, overwrite=args.overwrite)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as err:
        print(f"vbrain: error: {err}", file=sys.stderr)
        return 2  # bad usage or input (vbrain.cli.EXIT_USAGE)
    except RuntimeError as err:  # failed Dask tasks, FIC that cannot be tuned
        print(f"vbrain: error: {err}", file=sys.stderr)
        return 1  # runtime failure (vbrain.cli.EXIT_FAILURE)
    print(f"vbrain fit: {type(model).__name__} on {conn.name or args.connectome} "
          f"({conn.n_regions} regions), {method}, {wall:.1f} s")
    for k, v in result.best.items():
        shown = f"{float(v):.6g}" if np.ndim(v) == 0 else f"(per-region, mean {np.mean(v):.4g})"
        print(f"  {k.replace('__', '.')} = {shown}")
    print("  goodness of fit: " + ", ".join(f"{k} {v:.4g}" for k, v in result.goodness.items()))
    print(f"wrote {out}: " + ", ".join(sorted(p.name for p in paths.values())))
    print(f"re-run: vbrain simulate --config {out / 'model.json'}")
    return 0
