"""Time of each step of the DWI phantom pipeline (``vbrain.pipelines.dti.run_dti``).

What is measured
----------------
The diffusion phantom of ``make_dwi_phantom`` (32 x 32 x 12 voxels of 2 mm,
2 b0 + 60 directions at b = 1000 s/mm^2, three bundles, 8 parcels, Rician
noise, seed 0) through ``run_dti`` in several configurations (default: CSA +
deterministic, CSD + probabilistic, DTI + deterministic; 2 seeds per
white-matter voxel, step 0.5 mm). For each, one cold run (first in the
process: imports, dipy's sphere and SH matrices) and the median of
``--repeat`` warm runs of each step:

``load`` (NIfTI + bval/bvec, checks), ``mask`` (median_otsu), ``tensor``
(WLS tensor -> FA), ``model`` (CSA/CSD/DTI fit and peaks in the tracking
mask), ``tracking`` (dipy LocalTracking), ``connectome`` (end points ->
regions -> weights and lengths), ``write`` (TVB zip, .trk, QC figure, JSON).

Printed: a table of step times (s), the totals, and the end-to-end wall time of
the whole phantom pipeline (phantom written + every configuration run once,
cold) against the project target (under a minute). No peers: dipy is the
engine here, so the interest is where time goes.

How to run
----------
::

    python benchmarks/bench_dti.py                   # ~45 s on 2 cores
    python benchmarks/bench_dti.py --repeat 1 --configs csa:deterministic
    python benchmarks/bench_dti.py --json dti_timings.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

STEPS = ("load", "mask", "tensor", "model", "tracking", "connectome", "write")
TARGET_S = 60.0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+",
                        default=["csa:deterministic", "csd:probabilistic", "dti:deterministic"],
                        help="model:tracking pairs")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per configuration")
    parser.add_argument("--seeds-per-voxel", type=int, default=2)
    parser.add_argument("--no-qc", action="store_true", help="skip the QC figure")
    parser.add_argument("--json", type=Path, help="write the timings here")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    t0 = time.perf_counter()
    from vbrain.pipelines.dti import make_dwi_phantom, run_dti
    t_import = time.perf_counter() - t0

    results: dict = {"import_s": t_import, "configs": {}}
    with tempfile.TemporaryDirectory(prefix="bench_dti_") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        ph = make_dwi_phantom(tmp / "phantom", seed=0)
        results["phantom_s"] = time.perf_counter() - t0

        def run(cfg: str, k: int):
            model, tracking = cfg.split(":")
            t = time.perf_counter()
            res = run_dti(ph.dwi, ph.bval, ph.bvec, ph.atlas, tmp / f"{model}_{tracking}_{k}",
                          model=model, tracking=tracking,
                          seeds_per_voxel=args.seeds_per_voxel, seed=0, qc=not args.no_qc,
                          progress=False)
            return res, time.perf_counter() - t

        cold = {cfg: run(cfg, 0) for cfg in args.configs}
        results["end_to_end_s"] = time.perf_counter() - t_start
        for cfg in args.configs:
            warm = [run(cfg, k + 1) for k in range(args.repeat)]
            res0, wall0 = cold[cfg]
            med = {s: statistics.median(r.timings[s] for r, _ in warm) if warm else
                   res0.timings[s] for s in STEPS}
            results["configs"][cfg] = {
                "cold": {**{s: res0.timings[s] for s in STEPS}, "total": wall0},
                "warm_median": {**med, "total": statistics.median(w for _, w in warm)
                                if warm else wall0},
                "stats": res0.stats,
            }

    _print(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


def _print(results: dict, args: argparse.Namespace) -> None:
    print(f"DWI phantom pipeline (run_dti), {args.seeds_per_voxel} seeds/voxel, "
          f"QC figure {'off' if args.no_qc else 'on'}, warm = median of {args.repeat}")
    print(f"import vbrain.pipelines.dti: {results['import_s']:.2f} s; phantom written in "
          f"{results['phantom_s']:.2f} s")
    head = f"{'configuration':24s} {'run':5s}" + "".join(f"{s:>11s}" for s in STEPS) + \
        f"{'total':>9s}"
    print(head)
    print("-" * len(head))
    for cfg, r in results["configs"].items():
        for kind in ("cold", "warm_median"):
            row = r[kind]
            print(f"{cfg:24s} {kind[:4]:5s}" + "".join(f"{row[s]:11.3f}" for s in STEPS)
                  + f"{row['total']:9.2f}")
        st = r["stats"]
        print(f"{'':30s}seeds {st['n_seeds']}, streamlines {st['n_streamlines']}, counted "
              f"{st['n_counted']} between regions")
    e2e = results["end_to_end_s"]
    verdict = "within" if e2e < TARGET_S else "OVER"
    print(f"\nEnd to end (import + phantom + {len(results['configs'])} cold runs): {e2e:.1f} s "
          f"-> {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
