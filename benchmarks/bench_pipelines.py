"""Time each step of the 76-region fMRI pipeline on a synthetic 200-volume MNI image.

What is measured
----------------
Input: a 4-D float32 NIfTI on the MNI152 2 mm grid (99 x 117 x 95 x 200,
0.9 GB in memory, written gzipped to a temporary folder), made from 76 known
region signals through the shipped atlas (``atlases:default``), plus an
fMRIPrep-style confounds TSV (8 default columns). TR 2 s. The steps, each
timed once in this order, after a warm-up on 5 volumes that pays the one-off
imports (nilearn, scikit-learn):

1. ``atlas``: ``Atlas.load("atlases:default")``;
2. ``read``: ``nibabel.load`` + the data into memory (gunzip);
3. ``series``: :func:`region_series`: ``NiftiLabelsMasker`` (region means)
   + detrend, band-pass 0.01-0.1 Hz, confound regression, z-score;
4. ``fc``: Pearson FC; ``fc_partial``: partial correlation (Ledoit-Wolf);
5. ``fcd``: 60 s windows, 2 s step (71 windows);
6. ``save``: provenance (SHA-256 of the inputs) + NetCDF-4 and JSON sidecar;

then ``end-to-end``: :func:`fmri_targets` from the file path + ``save_dataset``
(what ``vbrain pipeline fmri`` does per run). The target is the whole
pipeline under a minute on this machine. The recovered FC is checked against
the known one (float32 voxels around 1000: agreement to ~1e-5).

How to run
----------
::

    python benchmarks/bench_pipelines.py                 # ~1 min (writing the image included)
    python benchmarks/bench_pipelines.py --volumes 100 --json out.json
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")})

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from vbrain.pipelines.fmri import (  # noqa: E402
    DEFAULT_CONFOUNDS,
    fcd,
    fmri_targets,
    functional_connectivity,
    region_series,
)
from vbrain.pipelines.provenance import make_provenance, save_dataset  # noqa: E402

from vbrain.atlas import Atlas  # noqa: E402

TR_S = 2.0


def make_inputs(folder: Path, n_vol: int, seed: int = 0) -> tuple[Path, Path, np.ndarray]:
    """Write the synthetic image and confounds; return their paths and the known FC."""
    atlas = Atlas.load("atlases:default")
    rng = np.random.default_rng(seed)
    t = np.arange(n_vol) * TR_S
    slow = np.column_stack([np.sin(2 * np.pi * f * t + p) for f, p in
                            zip(rng.uniform(0.015, 0.08, 76), rng.uniform(0, 6.3, 76))])
    mix = rng.standard_normal((76, 76)) * 0.3 + np.eye(76)
    series = slow @ mix
    table = np.zeros((77, n_vol), np.float32)
    table[1:] = series.T + 1000.0
    img = nib.Nifti1Image(table[atlas.region_indices() + 1], atlas.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((2.0, 2.0, 2.0, TR_S))
    bold = folder / "sub-01_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz"
    img.to_filename(bold)
    conf = pd.DataFrame(rng.standard_normal((n_vol, len(DEFAULT_CONFOUNDS))) * 1e-3,
                        columns=list(DEFAULT_CONFOUNDS))
    conf_path = folder / "sub-01_task-rest_desc-confounds_timeseries.tsv"
    conf.to_csv(conf_path, sep="\t", index=False)
    return bold, conf_path, np.corrcoef(series.T)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and print the per-step times."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--volumes", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None, help="also write the times here")
    args = ap.parse_args(argv)

    out: dict = {"volumes": args.volumes, "grid": [99, 117, 95], "regions": 76}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        bold, conf, known = make_inputs(folder, args.volumes)
        out["setup_write_inputs_s"] = time.perf_counter() - t0
        out["image_bytes_on_disk"] = bold.stat().st_size

        # warm-up: imports and first calls on a 5-volume cut
        t0 = time.perf_counter()
        small = nib.load(bold).slicer[..., :5]
        region_series(small, Atlas.load("atlases:default"), standardize=False, detrend=False)
        out["warmup_imports_s"] = time.perf_counter() - t0

        steps: dict[str, float] = {}

        def timed(name, func, *a, **k):
            t = time.perf_counter()
            value = func(*a, **k)
            steps[name] = time.perf_counter() - t
            return value

        atlas = timed("atlas", Atlas.load, "atlases:default")

        def read():
            img = nib.load(bold)
            return nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine, img.header)

        img = timed("read", read)
        series = timed("series", region_series, img, atlas, confounds=conf, low_pass=0.1,
                       high_pass=0.01)
        fc = timed("fc", functional_connectivity, series, "pearson")
        part = timed("fc_partial", functional_connectivity, series, "partial")
        dyn = timed("fcd", fcd, series, "60 s", "2 s")

        def save():
            import xarray as xr

            ds = xr.Dataset({"series": series, "fc": fc, "fc_partial": part, "fcd": dyn})
            prov = make_provenance("fmri", [bold, conf], {"benchmark": True})
            return save_dataset(ds, folder / "steps_targets.nc", prov)

        timed("save", save)
        out["steps_s"] = steps
        out["steps_total_s"] = sum(steps.values())

        t0 = time.perf_counter()
        ds = fmri_targets(bold, "atlases:default", confounds=conf, low_pass=0.1, high_pass=0.01,
                          root=folder)
        save_dataset(ds, folder / "e2e_targets.nc")
        out["end_to_end_s"] = time.perf_counter() - t0
        out["fcd_windows"] = int(ds.sizes["window_i"])

        # correctness: without cleaning the recovered FC is the known one
        raw = fmri_targets(img, atlas, detrend=False, standardize=False, fc=("pearson",),
                           compute_fcd=False)
        out["fc_vs_known_max_abs_diff"] = float(np.abs(raw["fc"].values - known).max())

    width = max(len(k) for k in steps) + 2
    print(f"76-region fMRI pipeline, {args.volumes} volumes on the MNI152 2 mm grid "
          f"(99 x 117 x 95), TR {TR_S:g} s")
    print(f"  (setup: writing the inputs {out['setup_write_inputs_s']:.1f} s, "
          f"{out['image_bytes_on_disk'] / 2**20:.0f} MiB gzipped; warm-up/imports "
          f"{out['warmup_imports_s']:.1f} s)")
    for k, v in steps.items():
        print(f"  {k:<{width}} {v:7.2f} s")
    print(f"  {'sum of steps':<{width}} {out['steps_total_s']:7.2f} s")
    print(f"  {'end-to-end':<{width}} {out['end_to_end_s']:7.2f} s  (fmri_targets(path) + save; "
          f"target < 60 s: {'met' if out['end_to_end_s'] < 60 else 'NOT met'})")
    print(f"  recovered FC vs known FC (no cleaning, float32 voxels): max |diff| "
          f"{out['fc_vs_known_max_abs_diff']:.1e}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
