"""Reproducibility: one seed, the same bits whatever the execution layout.

Equivalent tests that already live beside their modules (listed in docs/hardening.md, not
repeated here):

- chunk sizes: ``test_simulation.py::test_chunk_size_does_not_change_results`` (Raw and
  TemporalAverage, chunks of 1, 7, 250 and the default, with and without noise),
  ``test_bold.py::test_chunk_size_does_not_change_output``,
  ``test_sensors.py::test_chunk_invariance_bit_identical``, and
  ``test_simulation.py::test_interrupted_run_resumes_bit_identically`` (resume with
  another chunk size);
- batch sizes: ``test_simulation.py::test_batch_members_equal_their_single_runs`` and
  ``::test_batch_per_region_parameters_and_seeds`` (each member == its single run);
- thread counts: ``test_simulation.py::test_threaded_sweep_equals_single_threaded_sweep``
  (threads 1 vs 2 with a common seed).

Here: thread counts 1/2/3 with one seed per member (uneven groups), Dask sweeps with 1
and 2 local workers against the serial sweep (the arrays, not only scores as in
test_parallel.py), and the same run in a fresh process compiling its kernel cold.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb

#: a 12-region random connectome with delays up to ~24 steps: cheap, but every code path
#: (long and short delays, noise, batch) is exercised
N = 12


def connectome(seed: int = 3) -> vb.Connectome:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (N, N)) * (rng.uniform(size=(N, N)) < 0.5)
    np.fill_diagonal(w, 0.0)
    lengths = rng.uniform(2.0, 60.0, (N, N))
    lengths = (lengths + lengths.T) / 2
    np.fill_diagonal(lengths, 0.0)
    return vb.Connectome(w, lengths)


def simulation() -> vb.Simulation:
    return vb.Simulation(connectome(), vb.models.ReducedWongWang(), vb.coupling.Linear(),
                         dt=0.5, noise=vb.noise.Additive(1e-4), seed=11,
                         monitors=[vb.monitors.TemporalAverage(2.0), vb.monitors.Bold(tr=100.0)])


A = np.linspace(0.0, 0.3, 7)
SEEDS = [11, 12, 13, 14, 15, 16, 17]
DURATION = 400.0


def test_thread_counts_with_per_member_seeds():
    sim = simulation()
    ref = sim.sweep(DURATION, coupling__a=A, seeds=SEEDS, threads=1, progress=False)
    for threads in (2, 3):  # groups of 4+3 and 3+2+2 members
        other = sim.sweep(DURATION, coupling__a=A, seeds=SEEDS, threads=threads, progress=False)
        for name in ("tavg", "bold"):
            np.testing.assert_array_equal(other[name].values, ref[name].values)
    # and the groups' members equal their single runs
    for b in (0, 4, 6):
        single = simulation().set_params(coupling__a=A[b], seed=SEEDS[b]).run(DURATION,
                                                                              progress=False)
        np.testing.assert_array_equal(ref.tavg.values[..., b], single.tavg.values)
    assert np.abs(ref.tavg.values[..., 0] - ref.tavg.values[..., 1]).max() > 0  # seeds differ


def _sweep_part(a_values: np.ndarray) -> dict[str, np.ndarray]:
    """One Dask task: a sweep over part of the points, its arrays returned."""
    res = simulation().sweep(DURATION, coupling__a=a_values, threads=1, progress=False)
    return {name: res[name].values for name in ("tavg", "bold")}


@pytest.mark.parametrize("n_workers", [1, 2])
def test_dask_workers_give_the_serial_arrays(n_workers):
    distributed = pytest.importorskip("dask.distributed")
    from vbrain.parallel import map_cohort

    serial = simulation().sweep(DURATION, coupling__a=A, threads=1, progress=False)
    parts = [A[:3], A[3:5], A[5:]]  # uneven tasks
    with distributed.Client(n_workers=n_workers, threads_per_worker=1, processes=False,
                            dashboard_address=":0") as client:
        got = map_cohort(_sweep_part, parts, client=client, progress=False)
    for name in ("tavg", "bold"):
        joined = np.concatenate([g[name] for g in got], axis=-1)
        np.testing.assert_array_equal(joined, serial[name].values)


@pytest.mark.slow
def test_dask_worker_processes_give_the_serial_arrays():
    """As above with 2 worker processes (~10-20 s to spawn them on 2 cores)."""
    distributed = pytest.importorskip("dask.distributed")
    import cloudpickle

    from vbrain.parallel import map_cohort

    serial = simulation().sweep(DURATION, coupling__a=A, threads=1, progress=False)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    try:
        with distributed.Client(n_workers=2, threads_per_worker=1, processes=True,
                                dashboard_address=":0") as client:
            got = map_cohort(_sweep_part, [A[:4], A[4:]], client=client, progress=False)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    for name in ("tavg", "bold"):
        np.testing.assert_array_equal(np.concatenate([g[name] for g in got], axis=-1),
                                      serial[name].values)


def test_fresh_process_and_cold_kernel_cache_give_the_same_bits(tmp_path):
    """Another process, compiling the kernel from scratch, reproduces this process's run."""
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(tmp_path)!r})
        from repro_case import simulation
        res = simulation().run({DURATION}, progress=False)
        np.save({str(tmp_path / "tavg.npy")!r}, res.tavg.values)
        np.save({str(tmp_path / "bold.npy")!r}, res.bold.values)
    """)
    (tmp_path / "repro_case.py").write_text(Path(__file__).read_text(encoding="utf-8"))
    env = {**os.environ, "VBRAIN_CACHE_DIR": str(tmp_path / "kernels"),
           "PYTHONHASHSEED": "123"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=300)
    assert list((tmp_path / "kernels").glob("vbrain_kernel_*.py"))  # compiled there, cold
    here = simulation().run(DURATION, progress=False)
    np.testing.assert_array_equal(np.load(tmp_path / "tavg.npy"), here.tavg.values)
    np.testing.assert_array_equal(np.load(tmp_path / "bold.npy"), here.bold.values)
