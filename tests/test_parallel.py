"""Dask execution: equal to the serial sweep, retries, resuming a killed sweep, cohorts.

Most tests use a LocalCluster with ``processes=False`` (workers are threads
of the test process: they start in well under a second); one test uses
worker processes (``processes=True``, the default of ``vbrain.parallel``),
which takes ~10 s on 2 cores to spawn the workers and import vbrain in them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.fit import FCCorrelation, evaluate, functional_connectivity, grid_search
from vbrain.parallel import get_client, map_cohort, run_points

distributed = pytest.importorskip("dask.distributed")

#: a module the tests and a child process both import: a counting, optionally slow or flaky,
#: objective (its pickle must be the same in both, so it cannot live in __main__)
HELPERS = textwrap.dedent('''
    import os, time, uuid
    import numpy as np
    import vbrain as vb
    from vbrain.fit import FCDistance

    class Counting(FCDistance):
        """FCDistance that records each call (one per sweep) as a file; may sleep or fail once."""

        def __init__(self, target, log_dir, sleep=0.0, flaky=False):
            super().__init__(target, monitor="tavg", variable="V")
            self.log_dir, self.sleep, self.flaky = str(log_dir), sleep, flaky

        def __call__(self, simulated):
            key = "_".join(f"{v:.6g}" for v in simulated["tavg"]["coupling__a"].values)
            os.makedirs(self.log_dir, exist_ok=True)
            if self.flaky and not os.path.exists(os.path.join(self.log_dir, "failed-" + key)):
                open(os.path.join(self.log_dir, "failed-" + key), "w").close()
                raise RuntimeError("flaky task " + key)
            open(os.path.join(self.log_dir, f"call-{key}-{uuid.uuid4().hex}"), "w").close()
            time.sleep(self.sleep)
            return super().__call__(simulated)

    def connectome(n=8, seed=0):
        rng = np.random.default_rng(seed)
        w = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.6)
        np.fill_diagonal(w, 0.0)
        lengths = rng.uniform(5.0, 40.0, (n, n))
        lengths = (lengths + lengths.T) / 2
        np.fill_diagonal(lengths, 0.0)
        return vb.Connectome(w, lengths)

    def problem(log_dir, sleep=0.0, flaky=False):
        conn = connectome()
        sim = vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0), vb.coupling.Linear(),
                            dt=0.5, seed=1, noise=vb.noise.Additive(1e-3),
                            monitors=[vb.monitors.TemporalAverage(10.0)])
        obj = Counting(np.eye(conn.n_regions), log_dir, sleep=sleep, flaky=flaky)
        return sim, obj, {"coupling__a": np.linspace(0.0, 0.35, 8)}
''')


@pytest.fixture()
def helpers(tmp_path, monkeypatch):
    (tmp_path / "fit_helpers.py").write_text(HELPERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import fit_helpers

    return importlib.reload(fit_helpers)


def calls(log_dir: Path) -> int:
    return len(list(Path(log_dir).glob("call-*"))) if Path(log_dir).exists() else 0


@pytest.fixture(scope="module")
def threads_client():
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=False,
                            dashboard_address=":0") as client:
        yield client


@pytest.fixture(scope="module")
def bold_problem():
    conn = vb.Connectome.load("atlases:default")
    sim = vb.Simulation(conn, vb.models.ReducedWongWang(w=0.9, I_o=0.3), vb.coupling.Linear(),
                        dt=0.5, seed=1, noise=vb.noise.Additive(1e-4),
                        monitors=[vb.monitors.Bold(tr=500.0), vb.monitors.TemporalAverage(10.0)])
    fc = functional_connectivity(sim.set_params(coupling__a=0.007).run(
        5000.0, progress=False).bold.isel(variable=0).values)
    obj = FCCorrelation(fc, monitor="bold", transient=1000.0)
    return sim, obj, np.linspace(0.0, 0.012, 7)


def test_local_cluster_threads_equals_serial(bold_problem, threads_client):
    """76 regions, BOLD FC: 7 points in tasks of 3, 3 and 1 == one serial sweep, bit for bit."""
    sim, obj, a = bold_problem
    serial = grid_search(sim, 5000.0, obj, coupling__a=a, progress=False)
    dask = grid_search(sim, 5000.0, obj, coupling__a=a, client=threads_client, batch_size=3,
                       progress=False)
    np.testing.assert_array_equal(dask.values, serial.values)
    assert np.all(np.isfinite(serial.values))
    seeds = [5, 6, 7, 8, 9, 10, 11]
    s1 = evaluate(sim, 5000.0, obj, {"coupling__a": a}, seeds=seeds, progress=False)
    s2 = evaluate(sim, 5000.0, obj, {"coupling__a": a}, seeds=seeds, client=threads_client,
                  batch_size=2, progress=False)
    np.testing.assert_array_equal(s1, s2)


def test_local_cluster_processes_equals_serial(bold_problem):
    """The default cluster kind: single-threaded worker processes."""
    sim, obj, a = bold_problem
    serial = grid_search(sim, 5000.0, obj, coupling__a=a, progress=False)
    scores = run_points(sim, 5000.0, obj, {"coupling__a": a}, client="local", n_workers=2,
                        processes=True, progress=False)
    np.testing.assert_array_equal(scores, serial.values)


def test_failed_tasks_are_retried(helpers, tmp_path, threads_client):
    logs = tmp_path / "logs"
    sim, obj, grid = helpers.problem(logs, flaky=True)
    scores = grid_search(sim, 500.0, obj, client=threads_client, batch_size=3, retries=1,
                         progress=False, **grid)
    assert len(list(logs.glob("failed-*"))) == 3  # every task failed once ...
    assert calls(logs) == 3  # ... and succeeded on its retry
    ref_sim, ref_obj, _ = helpers.problem(tmp_path / "ref")
    np.testing.assert_array_equal(scores.values,
                                  grid_search(ref_sim, 500.0, ref_obj, progress=False,
                                              **grid).values)
    # without retries the failure is reported; the tasks that succeeded are kept on disk
    logs2 = tmp_path / "logs2"
    sim, obj, grid = helpers.problem(logs2, flaky=True)
    with pytest.raises(RuntimeError, match="3 of 3 sweep tasks failed after 0 retries"):
        grid_search(sim, 500.0, obj, client=threads_client, batch_size=3, retries=0,
                    out_dir=tmp_path / "out", progress=False, **grid)
    scores = grid_search(sim, 500.0, obj, client=threads_client, batch_size=3, retries=0,
                         out_dir=tmp_path / "out", progress=False, **grid)
    assert np.all(np.isfinite(scores.values))


CHILD = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    from dask.distributed import Client
    from vbrain.fit import grid_search
    import fit_helpers

    if __name__ == "__main__":
        sim, obj, grid = fit_helpers.problem(sys.argv[2], sleep=0.4)
        with Client(n_workers=1, threads_per_worker=1, processes=False,
                    dashboard_address=":0") as client:
            grid_search(sim, 500.0, obj, client=client, out_dir=sys.argv[3], batch_size=1,
                        progress=False, **grid)
        print("finished")
''')


def test_killed_sweep_resumes_without_recomputing(helpers, tmp_path, threads_client):
    """SIGKILL a Dask sweep half-way; the rerun computes only the tasks not on disk."""
    logs, out = tmp_path / "logs", tmp_path / "sweep"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(logs), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    try:
        while len(list((out / "tasks").glob("task-*.npz"))) < 3:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.time() < deadline, "the child sweep did not start"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
    done = len(list((out / "tasks").glob("task-*.npz")))
    assert 3 <= done < 8, "the kill came too late to test resumption"
    before = calls(logs)
    sim, obj, grid = helpers.problem(logs, sleep=0.0)
    obj.sleep = 0.4  # the same objective as the child's (its pickle fingerprints the sweep)
    scores = grid_search(sim, 500.0, obj, client=threads_client, out_dir=out, batch_size=1,
                         progress=False, **grid)
    assert calls(logs) - before == 8 - done  # only the missing points ran
    assert len(list((out / "tasks").glob("task-*.npz"))) == 8
    ref_sim, ref_obj, _ = helpers.problem(tmp_path / "ref")
    np.testing.assert_array_equal(scores.values,
                                  grid_search(ref_sim, 500.0, ref_obj, progress=False,
                                              **grid).values)
    # a finished sweep reruns from disk alone
    grid_search(sim, 500.0, obj, client="sync", out_dir=out, progress=False, **grid)
    assert calls(logs) - before == 8 - done


def test_store_refuses_a_different_sweep(helpers, tmp_path):
    sim, obj, grid = helpers.problem(tmp_path / "logs")
    out = tmp_path / "sweep"
    grid_search(sim, 500.0, obj, out_dir=out, batch_size=4, progress=False, **grid)
    assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["task-000000.npz",
                                                                 "task-000001.npz"]
    with pytest.raises(ValueError, match="different sweep"):
        grid_search(sim, 600.0, obj, out_dir=out, batch_size=4, progress=False, **grid)
    n = calls(tmp_path / "logs")
    run_points(sim, 600.0, obj, grid, client="sync", out_dir=out, chunk_size=4, overwrite=True,
               progress=False)
    assert calls(tmp_path / "logs") == n + 2


def square(x):
    return x * x


def test_map_cohort_resumes(tmp_path, threads_client):
    out = tmp_path / "cohort"
    assert map_cohort(square, [1, 2, 3], client="sync", out_dir=out) == [1, 4, 9]
    (out / "item-000001.npz").unlink()
    assert map_cohort(square, [1, 2, 3], client=threads_client, out_dir=out) == [1, 4, 9]
    with pytest.raises(ValueError, match="another cohort"):
        map_cohort(square, [1, 2], client="sync", out_dir=out)
    assert map_cohort(square, [4], client=threads_client) == [16]


def make_object(x):
    return {"id": x, "thing": object()}


def summary(x):
    return {"id": x, "scores": np.arange(3.0) * x, "best": (x, "a"), "ok": True, "none": None}


def test_map_cohort_stores_plain_data_without_pickles(tmp_path):
    out = tmp_path / "cohort"
    first = map_cohort(summary, [1, 2], client="sync", out_dir=out)
    (out / "item-000000.pkl").write_bytes(b"not read")  # a planted pickle is never loaded
    again = map_cohort(summary, [1, 2], client="sync", out_dir=out)  # both read back from disk
    for a, b in zip(first, again):
        assert a.keys() == b.keys() and a["best"] == b["best"] and b["none"] is None
        np.testing.assert_array_equal(a["scores"], b["scores"])
    assert sorted(f.name for f in out.glob("item-*.npz")) == ["item-000000.npz",
                                                              "item-000001.npz"]
    with pytest.raises(TypeError, match="plain data"):
        map_cohort(make_object, [1], client="sync", out_dir=tmp_path / "other")


def test_get_client_errors():
    with pytest.raises(TypeError, match="scheduler address"):
        get_client("somewhere")
    with pytest.raises(ValueError, match="n_workers must be >= 1"):
        get_client(n_workers=0)
