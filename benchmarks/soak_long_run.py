"""Soak test: one simulated hour on a ~1000-region connectome, streamed, interrupted, resumed.

What it does
------------
1. Builds a 1000-region connectome (tvb-data has none that large):

   - *parcels*: the grey-matter voxels of the bundled MNI152 2 mm parcellation
     (``atlases/tvb76_mni152_2mm.nii.gz``, every voxel with a label) are split
     into ``--regions`` parcels by k-means (seeded farthest-point start, then
     Lloyd iterations): a Voronoi parcellation whose centroids are the region
     centres, in MNI mm. Labels are ``L_0001`` ... / ``R_0001`` ... by the
     side of the midline.
   - *weights*: the exponential distance rule (EDR, Ercsey-Ravasz et al. 2013,
     Neuron 80:184-197): each source region sends ``--axons`` axons whose
     targets are drawn with probability proportional to ``exp(-lambda d)``
     (``d`` the distance between centres, mm; ``lambda`` = ``--edr-lambda``
     per mm); ``weights[i, j]`` is the fraction of j's axons ending in i. Most
     weight stays near the source, so the graph is sparse (about 3.5 % of pairs
     with the default 100 axons).
   The driver builds it once and saves it (``connectome.npz`` in the work
   folder); every child process loads that file.
   - *lengths*: the Euclidean distance between centres, mm.

2. Simulates ``--minutes`` (default 60) of ReducedWongWang dynamics (Linear
   coupling a = 0.2, speed 4 mm/ms, stochastic Heun at dt = 1 ms, noise
   D = 1e-5 / ms, seed 7) with a ``Bold(tr=720)`` (Balloon-Windkessel) and a
   ``TemporalAverage(100)`` monitor, streaming to NetCDF with
   ``Simulation.run(out=..., checkpoint_every=60 s)`` (1/20 of shorter runs):

   a. *reference*: a child process runs it uninterrupted;
   b. *interrupted*: a second child runs it to another file and is sent
      SIGINT once its checkpoint shows ``--interrupt-at`` of the steps done
      (progress, not wall time: the machine's load varies); it must
      stop with ``SimulationInterrupted``, leaving ``<out>.partial`` and
      ``<out>.ckpt.npz`` and no ``<out>``;
   c. *resumed*: a third child repeats the call of (b) with ``resume=True``.

3. Compares the resumed file with the reference: every monitor's samples
   and times bit for bit (``np.array_equal`` on the raw float64), the global
   attributes, and the two files' SHA-256 (HDF5 byte layout may differ even
   when every value is equal; both are reported).

4. Reports each child's wall time, peak RSS (``resource.getrusage``
   ``ru_maxrss``) and RSS sampled from ``/proc/self/status`` every few
   seconds (flat RSS = bounded memory), and the output sizes. ``--json``
   writes the numbers to a file.

dt = 1 ms is fine for this model: its fastest rate, 1/tau_s + gamma H with H
at most ~0.1 kHz, is below 0.1 per ms, and the state is bounded to [0, 1].

How to run
----------
::

    python benchmarks/soak_long_run.py --minutes 1          # quick check, ~1-2 min
    python benchmarks/soak_long_run.py                      # the hour: ~15-25 min on 2 cores
    python benchmarks/soak_long_run.py --workdir /tmp/soak --json soak.json --keep
    # again, reusing the uninterrupted reference.nc kept in --workdir (same settings):
    python benchmarks/soak_long_run.py --workdir /tmp/soak --reuse-reference --keep

Everything runs on one thread per process (``NUMBA_NUM_THREADS=1`` etc.).
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS",
                                    "OPENBLAS_NUM_THREADS")})

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: exit code of a child stopped by a signal (after writing its checkpoint)
_INTERRUPTED = 3


# --- the connectome ------------------------------------------------------------------------
def grey_matter_points() -> np.ndarray:
    """MNI mm coordinates (n_voxels, 3) of every labelled voxel of the bundled parcellation."""
    from importlib.resources import files

    import nibabel as nib

    img = nib.load(str(files("vbrain.atlases") / "tvb76_mni152_2mm.nii.gz"))
    ijk = np.argwhere(np.asarray(img.dataobj) > 0)
    return nib.affines.apply_affine(img.affine, ijk)


def parcel_centres(points: np.ndarray, n: int, seed: int, iterations: int = 15) -> np.ndarray:
    """Centroids (n, 3) of an ``n``-parcel k-means (Voronoi) split of ``points``, mm."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    # farthest-point start: evenly spread seeds, then Lloyd iterations pull them to centroids
    chosen = [int(rng.integers(len(points)))]
    dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(n - 1):
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.linalg.norm(points - points[chosen[-1]], axis=1))
    centres = points[chosen].copy()
    for _ in range(iterations):
        owner = cKDTree(centres).query(points)[1]
        counts = np.bincount(owner, minlength=n)
        sums = np.zeros((n, 3))
        np.add.at(sums, owner, points)
        keep = counts > 0
        centres[keep] = sums[keep] / counts[keep, None]
    return centres


def edr_connectome(n: int = 1000, *, edr_lambda: float = 0.19, axons: int = 100,
                   seed: int = 0):
    """An exponential-distance-rule connectome on ``n`` grey-matter parcel centres.

    Parameters
    ----------
    n : int
        Number of regions.
    edr_lambda : float
        Decay of the axon length distribution, 1/mm.
    axons : int
        Axons drawn per source region; ``weights[i, j]`` = fraction of j's axons in i.
    seed : int
        Seeds the parcellation start and the axon draws.
    """
    import vbrain as vb

    centres = parcel_centres(grey_matter_points(), n, seed)
    d = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
    rng = np.random.default_rng(seed + 1)
    weights = np.zeros((n, n))
    for j in range(n):
        p = np.exp(-edr_lambda * d[:, j])
        p[j] = 0.0
        targets = rng.choice(n, size=axons, p=p / p.sum())
        weights[:, j] = np.bincount(targets, minlength=n) / axons
    side = np.where(centres[:, 0] >= 0, "R", "L")
    labels = [f"{s}_{i + 1:04d}" for i, s in enumerate(side)]
    return vb.Connectome(weights, d, labels, centres, hemispheres=side == "R",
                         name=f"EDR lambda={edr_lambda}/mm on {n} MNI152 grey-matter parcels")


# --- one run (in a child process) -----------------------------------------------------------
def _simulation(conn):
    import vbrain as vb

    return vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.2),
                         speed=4.0, dt=1.0, integrator="heun",
                         noise=vb.noise.Additive(1e-5), seed=7,
                         monitors=[vb.monitors.Bold(tr=720.0), vb.monitors.TemporalAverage(100.0)])


def _rss_sampler(samples: list, stop: threading.Event, every: float) -> None:
    """Record (wall s, VmRSS MiB) from /proc/self/status until ``stop`` is set."""
    t0 = time.perf_counter()
    while not stop.is_set():
        try:
            with open("/proc/self/status") as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            samples.append((round(time.perf_counter() - t0, 1), round(kib / 1024, 1)))
        except (OSError, StopIteration):
            pass
        stop.wait(every)


def child(args: argparse.Namespace) -> None:
    """Run the simulation once (fresh or ``--resume``) and print a JSON line of numbers."""
    import vbrain as vb

    conn = vb.Connectome.load(args.connectome)
    samples: list = []
    stop = threading.Event()
    sampler = threading.Thread(target=_rss_sampler, args=(samples, stop, 5.0), daemon=True)
    sampler.start()
    print("running", flush=True)  # the driver times its signal from here
    t0 = time.perf_counter()
    status, code = "complete", 0
    try:
        _simulation(conn).run(args.minutes * 60_000.0, out=args.out, progress=False,
                              checkpoint_every=min(60_000.0, args.minutes * 3_000.0),
                              resume=args.resume)
    except vb.SimulationInterrupted as err:
        status, code = f"interrupted: {err}", _INTERRUPTED
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    print(json.dumps({
        "status": status, "wall_s": round(wall, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_samples_mib": samples,
        "n_regions": conn.n_regions, "n_connections": int(np.count_nonzero(conn.weights)),
    }), flush=True)
    sys.exit(code)


# --- the driver -----------------------------------------------------------------------------
def _spawn(args: argparse.Namespace, out: Path, resume: bool) -> subprocess.Popen:
    """Start a child on ``args.connectome``; return once it starts simulating."""
    cmd = [sys.executable, __file__, "--child", "--out", str(out),
           "--minutes", str(args.minutes), "--connectome", str(args.connectome)]
    if resume:
        cmd.append("--resume")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "running":
        raise SystemExit(f"child did not start: {line}{proc.communicate()[0]}")
    return proc


def _finish(proc: subprocess.Popen, what: str, expect: int) -> dict:
    out, _ = proc.communicate()
    if proc.returncode != expect:
        raise SystemExit(f"{what}: child exited with {proc.returncode}, expected {expect}:\n{out}")
    report = json.loads(out.strip().splitlines()[-1])
    rss = [r for _, r in report["rss_samples_mib"]]
    print(f"{what:12s} wall {report['wall_s']:8.1f} s   peak RSS {report['peak_rss_mib']:7.1f} MiB"
          f"   sampled RSS {min(rss, default=0):.0f}-{max(rss, default=0):.0f} MiB"
          f"   {report['status'][:60]}", flush=True)
    return report


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def compare(ref: Path, other: Path) -> dict:
    """Every monitor's samples, times and coordinates, and the global attributes, bit for bit."""
    import vbrain as vb

    a, b = vb.Result.load(ref, lazy=True), vb.Result.load(other, lazy=True)
    out = {"status": [a.status, b.status], "attrs_equal": a.attrs == b.attrs, "monitors": {}}
    for name in a.data:
        x, y = a[name], b[name]
        out["monitors"][name] = {
            "shape": list(x.shape),
            "values_identical": bool(np.array_equal(x.values, y.values)),
            "bytes_identical": x.values.tobytes() == y.values.tobytes(),
            "time_identical": bool(np.array_equal(x.time.values, y.time.values)),
            "finite": bool(np.all(np.isfinite(x.values))),
            "range": [float(x.min()), float(x.max())],
        }
        x.close()
        y.close()
    out["file_sha256_identical"] = _sha256(ref) == _sha256(other)
    out["identical"] = out["attrs_equal"] and all(
        m["bytes_identical"] and m["time_identical"] for m in out["monitors"].values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes")
    parser.add_argument("--regions", type=int, default=1000)
    parser.add_argument("--edr-lambda", type=float, default=0.19, help="EDR decay, 1/mm")
    parser.add_argument("--axons", type=int, default=100, help="axons drawn per source region")
    parser.add_argument("--seed", type=int, default=0, help="connectome seed")
    parser.add_argument("--interrupt-at", type=float, default=0.45,
                        help="send SIGINT once this fraction of the steps is checkpointed")
    parser.add_argument("--reuse-reference", action="store_true",
                        help="keep a complete reference.nc of the same run in --workdir")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the output files")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--connectome", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="vbrain_soak_"))
    work.mkdir(parents=True, exist_ok=True)
    ref, run = work / "reference.nc", work / "interrupted.nc"
    for p in [*work.glob("*.nc*"), work / "connectome.npz"]:
        if not (args.reuse_reference and p == ref):
            p.unlink(missing_ok=True)
    t_build = time.perf_counter()
    conn = edr_connectome(args.regions, edr_lambda=args.edr_lambda, axons=args.axons,
                          seed=args.seed)
    t_build = time.perf_counter() - t_build
    args.connectome = conn.save(work / "connectome.npz")
    w = conn.weights
    out_degree = np.count_nonzero(w, axis=0)
    steps = _simulation(conn).connectome.delay_steps(4.0, 1.0)
    print(f"connectome: {conn.n_regions} regions, {np.count_nonzero(w)} connections "
          f"({np.count_nonzero(w) / conn.n_regions ** 2:.2%}), out-degree "
          f"{out_degree.min()}-{out_degree.max()} (median {np.median(out_degree):.0f}), "
          f"lengths of connections {conn.lengths[w > 0].min():.1f}-"
          f"{conn.lengths[w > 0].max():.1f} mm, max delay {steps[w > 0].max()} steps; "
          f"built in {t_build:.1f} s")
    print(f"simulating {args.minutes:g} min = {int(args.minutes * 60_000)} steps of 1 ms; "
          f"work folder {work}", flush=True)

    results: dict = {"args": {k: str(v) for k, v in vars(args).items()},
                     "connectome": {"n_regions": conn.n_regions,
                                    "n_connections": int(np.count_nonzero(w)),
                                    "out_degree_median": float(np.median(out_degree)),
                                    "max_delay_steps": int(steps[w > 0].max()),
                                    "build_s": round(t_build, 1)}}
    t0 = time.perf_counter()
    if args.reuse_reference and ref.is_file():
        import vbrain as vb

        old = vb.Result.load(ref, lazy=True)
        if old.status != "complete" or old.attrs.get("connectome_sha256") != conn.checksum() \
                or int(old.attrs.get("n_steps", -1)) != round(args.minutes * 60_000):
            raise SystemExit(f"{ref} is not a complete reference of this run; drop "
                             "--reuse-reference")
        print(f"reference    reused {ref}", flush=True)
        results["reference"] = {"reused": str(ref)}
    else:
        results["reference"] = _finish(_spawn(args, ref, False), "reference", 0)

    proc = _spawn(args, run, False)
    ckpt = Path(str(run) + ".ckpt.npz")
    target = args.interrupt_at * args.minutes * 60_000  # steps of 1 ms
    while proc.poll() is None:
        time.sleep(1.0)
        try:
            with np.load(ckpt) as z:  # written atomically (temporary file + rename)
                if int(z["step"]) >= target:
                    break
        except (OSError, ValueError, KeyError):
            continue
    if proc.poll() is not None:
        raise SystemExit("the run to interrupt finished before the signal; lower --interrupt-at")
    proc.send_signal(signal.SIGINT)
    results["interrupted"] = _finish(proc, "interrupted", _INTERRUPTED)
    partial, ckpt = Path(str(run) + ".partial"), Path(str(run) + ".ckpt.npz")
    left = {"out_exists": run.exists(), "partial_exists": partial.exists(),
            "checkpoint_exists": ckpt.exists()}
    if partial.exists():
        import h5netcdf

        with h5netcdf.File(partial, "r") as f:
            left["partial_status"] = str(f.attrs["status"])
            left["partial_samples"] = {g: f[g].dimensions["time"].size for g in f.groups}
    results["left_after_interrupt"] = left
    print(f"after SIGINT: {left}", flush=True)
    if run.exists() or not (partial.exists() and ckpt.exists()):
        raise SystemExit("interruption did not leave <out>.partial + checkpoint only")

    results["resumed"] = _finish(_spawn(args, run, True), "resumed", 0)
    results["leftovers_after_resume"] = sorted(p.name for p in work.iterdir()
                                               if p.name.startswith(run.name + "."))
    results["comparison"] = compare(ref, run)
    results["file_mib"] = round(ref.stat().st_size / 2**20, 1)
    results["total_wall_s"] = round(time.perf_counter() - t0, 1)
    cmp = results["comparison"]
    for name, m in cmp["monitors"].items():
        print(f"{name:5s} shape {m['shape']}: values identical {m['bytes_identical']}, "
              f"times identical {m['time_identical']}, finite {m['finite']}, "
              f"range {m['range'][0]:.4g}..{m['range'][1]:.4g}")
    print(f"global attributes equal {cmp['attrs_equal']}; file SHA-256 identical "
          f"{cmp['file_sha256_identical']}; file size {results['file_mib']} MiB; "
          f"leftovers after resume {results['leftovers_after_resume']}")
    print(f"RESULT: resumed output {'IS' if cmp['identical'] else 'is NOT'} bit-identical to the "
          f"uninterrupted run; total {results['total_wall_s']:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if not args.keep:
        for p in work.glob("*.nc*"):
            p.unlink()
    if not cmp["identical"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
