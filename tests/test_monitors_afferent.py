"""AfferentCoupling: against TVB's monitor, against its definition, chunks, batches, resume."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.monitors import AfferentCoupling, Raw

DATA = Path(__file__).parent / "data"
TVB_CASES = {"g2d": ("tvb76", "Generic2dOscillator", "Linear", {"a": 0.02, "b": 0.1}),
             "kuramoto": ("tvb68", "Kuramoto", "Kuramoto", {"a": 0.5}),
             "jansen_rit": ("tvb66", "JansenRit", "SigmoidalJansenRit", {"a": 10.0})}


@pytest.fixture(scope="module")
def tvb():
    with np.load(DATA / "tvb_afferent.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("chunk_steps", [None, 7])
@pytest.mark.parametrize("case", sorted(TVB_CASES))
def test_matches_tvb_monitor(tvb, case, chunk_steps):
    """tvb-library 2.10's AfferentCoupling: c(t_n) for n = 1 .. N (the last one computed
    after the last step), every coupling row (SigmoidalJansenRit's one input in both of
    JansenRit's); 1e-5 of the largest |c| (TVB's float32 history; measured 4e-8 to 2.4e-6)."""
    conn_name, model, coupling, params = TVB_CASES[case]
    conn = vb.Connectome.load(f"atlases:{conn_name}", allow_zero_lengths=True)
    sim = vb.Simulation(conn, getattr(vb.models, model)(), getattr(vb.coupling, coupling)(**params),
                        speed=4.0, dt=0.1, monitors=[AfferentCoupling()],
                        initial_history=tvb[f"{case}_initial"])
    c = sim.run(30.0, chunk_steps=chunk_steps, progress=False).coupling
    ref = tvb[f"{case}_coupling"]
    np.testing.assert_allclose(c.time.values, tvb[f"{case}_t"], rtol=0, atol=1e-9)
    assert c.shape == ref.shape
    assert np.abs(c.values - ref).max() < 1e-5 * np.abs(ref).max()


def _chain():
    """Three regions in a chain with delays of 3 and 5 steps at dt 0.1 ms."""
    w = np.array([[0.0, 0.0, 0.0], [0.7, 0.0, 0.0], [0.0, 1.3, 0.0]])  # 0 -> 1 -> 2
    lengths = np.array([[0.0, 1.2, 1.0], [1.2, 0.0, 2.0], [1.0, 2.0, 0.0]])
    return vb.Connectome(w, lengths)


def test_linear_coupling_is_its_definition():
    """c_i(t_n) = a sum_j w_ij x_j(t_n - d_ij) + b, from the recorded states and the history."""
    conn = _chain()
    a, b = 0.3, 0.05
    hist = np.zeros((6, 2, 3))
    hist[:, 0] = np.linspace(-1.0, 1.0, 18).reshape(6, 3)  # V varies in time and region
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=a, b=b),
                        speed=4.0, dt=0.1, initial_history=hist,
                        monitors=[Raw(variables=["V"]), AfferentCoupling()])
    res = sim.run(2.0, chunk_steps=4, progress=False)
    V = np.concatenate([hist[:, 0], res.raw.values[:, 0]])  # row r: t = (r - 5) dt
    d = conn.delay_steps(4.0, 0.1)
    assert d[1, 0] == 3 and d[2, 1] == 5
    n = np.arange(1, 21)
    expected = np.stack([np.full(20, b),
                         a * 0.7 * V[n + 5 - 3, 0] + b,
                         a * 1.3 * V[n + 5 - 5, 1] + b], axis=1)
    np.testing.assert_allclose(res.coupling.values[:, 0], expected, rtol=1e-14, atol=1e-15)


def test_window_means_and_batches():
    """With a period: TVB's AfferentCouplingTemporalAverage windows (the n - istep + 1 .. n
    samples, stamped at n - istep / 2); a sweep's members equal their single runs."""
    conn = _chain()

    def sim(a, monitors):
        return vb.Simulation(conn, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=a),
                             speed=4.0, dt=0.1, seed=2, monitors=monitors)

    every = sim(0.2, [AfferentCoupling()]).run(5.0, progress=False).coupling
    mean = sim(0.2, [AfferentCoupling(0.5)]).run(5.0, chunk_steps=3, progress=False).coupling
    np.testing.assert_allclose(mean.values, every.values.reshape(10, 5, 1, 3).mean(axis=1),
                               rtol=1e-13)
    np.testing.assert_allclose(mean.time.values, 0.5 * np.arange(1, 11) - 0.25)
    swept = sim(0.0, [AfferentCoupling(0.5)]).sweep(5.0, coupling__a=[0.1, 0.2], progress=False)
    np.testing.assert_array_equal(swept.coupling.values[..., 1], mean.values)


class _CouplingSignalAt(AfferentCoupling):
    """Sends SIGINT once the run passes ``at_step`` (to interrupt it between chunks)."""

    def __init__(self, at_step):
        super().__init__(0.7)
        self.at_step, self.sent = at_step, False

    def consume(self, coupling, first_step):
        if not self.sent and first_step + coupling.shape[0] >= self.at_step:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().consume(coupling, first_step)


def test_resume_continues_the_coupling_windows(tmp_path):
    conn = vb.Connectome.load("atlases:default")

    def sim(at_step):
        return vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             noise=vb.noise.Additive(1e-4), seed=5,
                             monitors=[_CouplingSignalAt(at_step)])

    reference = sim(10**9).run(30.0, chunk_steps=9, out=tmp_path / "ref.nc")
    out = tmp_path / "run.nc"
    with pytest.raises(vb.SimulationInterrupted):
        sim(100).run(30.0, chunk_steps=11, out=out)
    resumed = sim(10**9).run(30.0, chunk_steps=13, out=out, resume=True)
    assert resumed.status == "complete"
    np.testing.assert_array_equal(resumed.coupling.values, reference.coupling.values)


def test_unknown_coupling_variable():
    sim = vb.Simulation(_chain(), vb.models.Generic2dOscillator(),
                        monitors=[AfferentCoupling(variables=["W"])])
    with pytest.raises(ValueError, match=r"'W' is not a coupling variable .* \['V'\]"):
        sim.run(1.0, progress=False)
