"""The engine: agreement with TVB, integrator order, noise statistics, chunking, batching, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

import vbrain as vb
from vbrain.models import Model, Parameter, StateVariable

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def conn76():
    return vb.Connectome.load("atlases:default")


# --- agreement with The Virtual Brain ---------------------------------------
def test_matches_tvb_generic2d_oracle(conn76):
    """tvb-library 2.10 trajectory (G2D, 76 regions, delays, Heun) to 1e-6 relative."""
    ref = np.load(DATA / "tvb_g2d_oracle.npz")
    horizon = int(ref["horizon"])
    history = np.empty((horizon, 2, 76))
    history[:, 0], history[:, 1] = ref["history_V"], ref["history_W"]
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.0152),
                        speed=4.0, dt=0.1, integrator="heun", initial_history=history,
                        monitors=[vb.monitors.Raw(), vb.monitors.SubSample(100.0)])
    res = sim.run(10_000.0, progress=False)
    scale = np.abs(ref["y_every100ms"]).max()
    raw = res.raw.sel(time=slice(None, 20.0 + 1e-9))
    np.testing.assert_allclose(raw.time, ref["t_first20ms"][1:], atol=1e-9)
    assert np.abs(raw.values - ref["y_first20ms"][1:]).max() / scale < 1e-6
    sub = res.subsample
    np.testing.assert_allclose(sub.time, ref["t_every100ms"][1:], atol=1e-9)
    assert np.abs(sub.values - ref["y_every100ms"][1:]).max() / scale < 1e-6


# --- integrators ------------------------------------------------------------
@pytest.mark.parametrize("scheme, order, dts", [
    ("euler", 1, [0.1, 0.05, 0.025]),
    ("heun", 2, [0.1, 0.05, 0.025]),
    ("rk4", 4, [0.2, 0.1, 0.05]),
])
def test_integrator_convergence_order(scheme, order, dts):
    """Uncoupled Stuart-Landau oscillator: the error shrinks as dt**order."""
    conn = vb.Connectome(np.zeros((1, 1)), np.zeros((1, 1)))
    x0 = np.array([[1.2], [-0.7]])

    def trajectory(dt, sch):
        sim = vb.Simulation(conn, vb.models.SupHopf(a=0.5, omega=0.3), vb.coupling.Linear(a=0.0),
                            dt=dt, integrator=sch, initial_history=x0,
                            monitors=[vb.monitors.SubSample(1.0)])
        return sim.run(10.0, progress=False).subsample.values

    exact = trajectory(0.001, "rk4")
    errors = [np.abs(trajectory(dt, scheme) - exact).max() for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3 * order ** 0.5, (errors, slope)


def test_rk4_matches_exponential_decay_to_order_four():
    conn = vb.Connectome(np.zeros((1, 1)), np.zeros((1, 1)))
    errors = []
    for dt in (0.2, 0.1, 0.05):
        sim = vb.Simulation(conn, vb.models.Linear(gamma=-0.5), vb.coupling.Linear(a=0.0), dt=dt,
                            integrator="rk4", initial_history=np.ones((1, 1)),
                            monitors=[vb.monitors.Raw()])
        raw = sim.run(10.0, progress=False).raw
        errors.append(abs(raw.values[-1, 0, 0] - np.exp(-0.5 * raw.time.values[-1])))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    np.testing.assert_allclose(ratios, 16.0, rtol=0.1)


def test_stochastic_ou_stationary_statistics():
    """dx = gamma x dt + sqrt(2D) dW: stationary mean 0 and variance D/|gamma| (EM-corrected)."""
    n, gamma, D, dt = 200, -0.5, 0.02, 0.1
    conn = vb.Connectome(np.zeros((n, n)), np.zeros((n, n)))
    sim = vb.Simulation(conn, vb.models.Linear(gamma=gamma), dt=dt, integrator="euler",
                        noise=vb.noise.Additive(D), seed=3, initial_history=np.zeros((1, n)),
                        monitors=[vb.monitors.SubSample(2.0)])
    x = sim.run(4000.0, progress=False).subsample.values[50:, 0]  # drop 100 ms transient
    # Euler-Maruyama on an OU process: var = 2 D dt / (1 - (1 + gamma dt)**2)
    var_theory = 2 * D * dt / (1 - (1 + gamma * dt) ** 2)
    assert abs(x.mean()) < 0.01
    assert x.var() == pytest.approx(var_theory, rel=0.05)
    assert x.var() == pytest.approx(D / abs(gamma), rel=0.05)


def test_stochastic_heun_with_zero_noise_equals_deterministic(conn76):
    kw = dict(speed=4.0, dt=0.1, integrator="heun", seed=5, monitors=[vb.monitors.Raw()])
    det = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.01), **kw)
    sto = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.01),
                        noise=vb.noise.Additive(0.0), **kw)
    np.testing.assert_array_equal(det.run(50.0, progress=False).raw.values,
                                  sto.run(50.0, progress=False).raw.values)


def test_bounds_are_enforced(conn76):
    """ReducedWongWang's S stays in [0, 1] even when driven hard."""
    sim = vb.Simulation(conn76, vb.models.ReducedWongWang(), vb.coupling.Linear(a=5.0),
                        noise=vb.noise.Additive(0.05), seed=1, monitors=[vb.monitors.Raw()])
    s = sim.run(100.0, progress=False).raw.values
    assert s.min() >= 0.0 and s.max() <= 1.0
    assert s.max() == 1.0 or s.min() == 0.0  # the clamp was actually needed


# --- reproducibility, chunking, batching -----------------------------------------
@pytest.mark.parametrize("noisy", [False, True])
def test_chunk_size_does_not_change_results(conn76, noisy):
    def run(chunk):
        sim = vb.Simulation(conn76, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.2),
                            noise=vb.noise.Additive(1e-4) if noisy else None, seed=11,
                            monitors=[vb.monitors.Raw(), vb.monitors.TemporalAverage(0.7)])
        return sim.run(101.3, chunk_steps=chunk, progress=False)

    ref = run(None)
    for chunk in (1, 7, 250):
        other = run(chunk)
        np.testing.assert_array_equal(other.raw.values, ref.raw.values)
        np.testing.assert_array_equal(other.tavg.values, ref.tavg.values)
        np.testing.assert_array_equal(other.tavg.time, ref.tavg.time)



def test_loop_summed_windows_equal_the_monitor_on_every_state(conn76, monkeypatch):
    """With only temporal averages, the loop sums each window itself (one trace row per
    window); the samples are bit for bit those the monitor makes from every state."""
    paths = []
    for name in ("consume", "consume_sums"):
        original = getattr(vb.monitors.TemporalAverage, name)
        monkeypatch.setattr(vb.monitors.TemporalAverage, name,
                            lambda self, rows, step, f=original, n=name: paths.append(n)
                            or f(self, rows, step))

    def run(chunk, sweep=False):
        paths.clear()
        sim = vb.Simulation(conn76, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.2),
                            noise=vb.noise.Additive(1e-4), seed=3,
                            monitors=[vb.monitors.TemporalAverage(0.7)])  # 7 steps
        if sweep:
            return sim.sweep(101.3, chunk_steps=chunk, coupling__a=[0.1, 0.2], progress=False)
        return sim.run(101.3, chunk_steps=chunk, progress=False)

    every_state = run(5)  # 5 steps per chunk: windows would straddle chunks, so every state
    assert set(paths) == {"consume"}
    assert every_state.tavg.shape[0] == 1013 // 7  # the unfinished last window is left out
    for chunk in (None, 14):  # whole windows per chunk: the loop sums them
        summed = run(chunk)
        assert set(paths) == {"consume_sums"}
        np.testing.assert_array_equal(summed.tavg.values.view(np.int64),
                                      every_state.tavg.values.view(np.int64))
        np.testing.assert_array_equal(summed.tavg.time, every_state.tavg.time)
    np.testing.assert_array_equal(run(None, sweep=True).tavg.values[..., 1],
                                  every_state.tavg.values)

def test_same_seed_same_noise_other_seed_differs(conn76):
    def run(seed):
        sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), noise=vb.noise.Additive(1e-3),
                            seed=seed, monitors=[vb.monitors.Raw()])
        return sim.run(20.0, progress=False).raw.values

    np.testing.assert_array_equal(run(1), run(1))
    assert np.abs(run(1) - run(2)).max() > 1e-4


def test_batch_members_equal_their_single_runs(conn76):
    a_values = np.array([0.0, 0.05, 0.2])
    I_values = np.array([0.0, 0.3, -0.2])
    base = dict(noise=vb.noise.Additive(1e-4), seed=2,
                monitors=[vb.monitors.TemporalAverage(1.0)])
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(), **base)
    batch = sim.sweep(30.0, coupling__a=a_values, model__I=I_values, progress=False)
    assert batch.tavg.dims == ("time", "variable", "region", "batch")
    np.testing.assert_array_equal(batch.tavg["coupling__a"], a_values)
    for b, (a, i) in enumerate(zip(a_values, I_values)):
        single = vb.Simulation(conn76, vb.models.Generic2dOscillator(I=i),
                               vb.coupling.Linear(a=a), **base).run(30.0, progress=False)
        np.testing.assert_array_equal(batch.tavg.values[..., b], single.tavg.values)


def test_uniform_parameter_rows_are_read_once():
    """kernel.specialise reads the listed rows from the pair's values, every other row per node."""
    from numba import njit as jit

    from vbrain.models.generic_2d_oscillator import _g2d_dfun
    from vbrain.sim.kernel import parameter_pair, specialise

    p = np.repeat(vb.models.Generic2dOscillator().parameter_array(1)[:, :1], 2, axis=1)
    p[5, 1] = 2 * p[5, 0]  # d (row 5) and I (row 1) differ at node 1
    p[1, 1] = 0.7
    x, c = np.full((2, 2), 0.3), np.full((1, 2), 0.1)
    per_node, hoisted = np.empty((2, 2)), np.empty((2, 2))
    _g2d_dfun.py_func(x, c, p, per_node, 1)
    rewritten = specialise(_g2d_dfun.py_func, 2, 4, (5,))
    rewritten(x, c, parameter_pair(p), hoisted, 1)
    as_if = p.copy()
    as_if[5, 1] = p[5, 0]  # d read at node 0, I still per node
    expected = np.empty((2, 2))
    _g2d_dfun.py_func(x, c, as_if, expected, 1)
    assert hoisted[:, 1].tolist() == expected[:, 1].tolist() != per_node[:, 1].tolist()
    compiled = np.empty((2, 2))
    jit(rewritten)(x, c, parameter_pair(p), compiled, 1)  # numba takes the (array, tuple) pair
    assert compiled[:, 1].tolist() == expected[:, 1].tolist()

    def closure(x, c, p, dx, k, _scale=2.0):
        dx[0, k] = _scale * p[0, k] * x[0, k] + k * 0 + len(captured)

    def rebinds(x, c, p, dx, k):
        p = p[::-1]
        dx[0, k] = p[0, k]

    captured = [1]
    q = np.arange(4.0).reshape(2, 2)
    for func in (closure, rebinds):  # left as they are, given the array from the pair
        want, got = np.zeros((1, 2)), np.zeros((1, 2))
        func(x, c, q, want, 1)
        wrapped = specialise(func, 2, 4, (0,))
        assert wrapped is not func
        wrapped.__globals__["inner"] = func  # run the wrapper in Python, not compiled
        wrapped(x, c, parameter_pair(q), got, 1)
        assert got.tolist() == want.tolist()
    none = np.empty((2, 2))
    specialise(_g2d_dfun.py_func, 2, 4, ())(x, c, parameter_pair(p), none, 1)
    assert none[:, 1].tolist() == per_node[:, 1].tolist()


def test_batch_per_region_parameters_and_seeds(conn76):
    rng = np.random.default_rng(0)
    per_region = rng.uniform(-0.5, 0.5, (2, 76))
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), noise=vb.noise.Additive(1e-4),
                        monitors=[vb.monitors.Raw()])
    batch = sim.sweep(10.0, model__I=per_region, seeds=[4, 9], progress=False)
    for b in range(2):
        single = vb.Simulation(conn76, vb.models.Generic2dOscillator(I=per_region[b]),
                               noise=vb.noise.Additive(1e-4), seed=[4, 9][b],
                               monitors=[vb.monitors.Raw()]).run(10.0, progress=False)
        np.testing.assert_array_equal(batch.raw.values[..., b], single.raw.values)


# --- monitors --------------------------------------------------------------
def test_temporal_average_and_subsample_follow_raw(conn76):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), seed=0,
                        monitors=[vb.monitors.Raw(), vb.monitors.TemporalAverage(1.0),
                                  vb.monitors.SubSample(0.5)])
    res = sim.run(10.0, progress=False)
    raw = res.raw.values
    np.testing.assert_allclose(res.tavg.values, raw.reshape(10, 10, 2, 76).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(res.tavg.time, np.arange(10) + 0.5)
    np.testing.assert_array_equal(res.subsample.values, raw[4::5])
    np.testing.assert_allclose(res.subsample.time, 0.5 * np.arange(1, 21))


def test_monitor_period_must_be_multiple_of_dt(conn76):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(),
                        monitors=[vb.monitors.TemporalAverage(0.25)])
    with pytest.raises(ValueError, match="multiple of dt"):
        sim.run(5.0, progress=False)


# --- user models, divergence, errors -----------------------------------------
@njit(cache=True)
def _leaky_dfun(x, c, p, dx, k):
    dx[0, k] = (p[1, k] - x[0, k] + c[0, k]) / p[0, k]


class Leaky(Model):
    """dx/dt = (mu - x + c) / tau."""

    state_variables = (StateVariable("x", "1", (-1.0, 1.0)),)
    parameters = {"tau": Parameter(10.0, "ms", "time constant"),
                  "mu": Parameter(0.0, "1", "resting level")}
    coupling_variables = ("x",)
    dfun = staticmethod(_leaky_dfun)


def test_user_model_relaxes_exponentially():
    conn = vb.Connectome(np.zeros((3, 3)), np.zeros((3, 3)))
    sim = vb.Simulation(conn, Leaky(tau=5.0, mu=np.array([1.0, 2.0, -1.0])), integrator="rk4",
                        dt=0.05, initial_history=np.zeros((1, 3)), monitors=[vb.monitors.Raw()])
    res = sim.run(10.0, progress=False).raw
    t = res.time.values[:, None]
    expected = np.array([1.0, 2.0, -1.0]) * (1 - np.exp(-t / 5.0))
    np.testing.assert_allclose(res.values[:, 0], expected, atol=1e-9)


def test_delayed_coupling_arrives_after_the_delay():
    """A step in region 0 reaches region 1 exactly d = length / speed / dt steps later."""
    w = np.array([[0.0, 0.0], [1.0, 0.0]])  # 0 -> 1
    lengths = np.array([[0.0, 10.0], [10.0, 0.0]])  # 10 mm at 2 mm/ms: 5 ms = 50 steps
    conn = vb.Connectome(w, lengths)
    hist = np.zeros((60, 1, 2))
    hist[-1, 0, 0] = 1.0  # region 0 jumps to 1 at t = 0
    sim = vb.Simulation(conn, Leaky(tau=1e9), vb.coupling.Linear(a=1.0), speed=2.0, dt=0.1,
                        integrator="euler", initial_history=hist, monitors=[vb.monitors.Raw()])
    x1 = sim.run(8.0, progress=False).raw.values[:, 0, 1]
    # Euler: x1 grows only once c = x0(t - 5 ms) = 1, i.e. from the step taken at t = 5 ms
    assert np.all(x1[:50] == 0.0)
    assert x1[50] > 0.0



@pytest.mark.parametrize("chunk_steps", [None, 7])
def test_every_delay_tier_arrives_on_time(chunk_steps):
    """Far (>= 64 steps), near (16-63) and short (< 16) connections, and their edges:
    a step in region 0 reaches region i exactly d_i steps later, in runs and sweeps."""
    delays = np.array([1, 15, 16, 17, 63, 64, 65, 130, 200])
    n = len(delays) + 1
    w = np.zeros((n, n))
    w[1:, 0] = 1.0  # 0 -> i
    lengths = np.zeros((n, n))
    lengths[1:, 0] = lengths[0, 1:] = delays * 0.1  # mm at 1 mm/ms, dt 0.1 ms
    hist = np.zeros((delays.max() + 1, 1, n))
    hist[-1, 0, 0] = 1.0  # region 0 jumps to 1 at t = 0
    sim = vb.Simulation(vb.Connectome(w, lengths), Leaky(tau=1e9), vb.coupling.Linear(a=1.0),
                        speed=1.0, dt=0.1, integrator="euler", initial_history=hist,
                        monitors=[vb.monitors.Raw()])
    x = sim.run(25.0, chunk_steps=chunk_steps, progress=False).raw.values[:, 0]
    first = np.argmax(x[:, 1:] != 0.0, axis=0)  # step index n of the first step with c = 1
    np.testing.assert_array_equal(first, delays)
    swept = sim.sweep(25.0, chunk_steps=chunk_steps, coupling__a=[1.0, 2.0], progress=False)
    np.testing.assert_array_equal(swept.raw.values[:, 0, :, 0], x)
    np.testing.assert_array_equal(np.argmax(swept.raw.values[:, 0, 1:, 1] != 0.0, axis=0), delays)
    # a zero-delay self-connection couples region 0 to its own current state from step 0
    w[0, 0] = 0.5
    sim.connectome = vb.Connectome(w, lengths)
    own = sim.run(25.0, chunk_steps=chunk_steps, progress=False).raw.values[:, 0]
    np.testing.assert_allclose(own[0, 0] - x[0, 0], 0.1 * 0.5 * 1.0 / 1e9, rtol=1e-6)
    np.testing.assert_array_equal(np.argmax(own[:, 1:] != 0.0, axis=0), delays)

def test_divergence_names_time_and_region(conn76):
    sim = vb.Simulation(conn76, vb.models.Linear(gamma=np.where(np.arange(76) == 7, 50.0, -1.0)),
                        vb.coupling.Linear(a=0.0), dt=0.1, initial_history=np.ones((1, 76)),
                        monitors=[vb.monitors.Raw()])
    label = conn76.labels[7]
    with pytest.raises(vb.SimulationDiverged, match=rf"t = \d+(\.\d+)? ms in region '{label}'") as err:
        sim.run(1000.0, chunk_steps=64, progress=False)
    partial = err.value.result
    assert partial.raw.sizes["time"] > 0
    assert np.all(np.isfinite(partial.raw.values))
    assert err.value.time == pytest.approx(partial.raw.time.values[-1] + 0.1)
    assert err.value.region == label
    assert partial.status.startswith("diverged")


@pytest.mark.parametrize("kwargs, match", [
    (dict(speed=0.0), "speed must be > 0"),
    (dict(dt=-0.1), "dt must be > 0"),
    (dict(integrator="heunn"), "Did you mean 'heun'"),
    (dict(integrator="rk4", noise=vb.noise.Additive(0.1)), "deterministic"),
    (dict(initial_history=np.zeros((3, 76))), "initial_history must be"),
    (dict(initial_history=np.zeros((10, 2, 76))), "covers 10 steps"),
])
def test_bad_simulation_arguments(conn76, kwargs, match):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), **kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        sim.run(1.0, progress=False)


def test_bad_sweep_arguments(conn76):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator())
    with pytest.raises(TypeError, match="Did you mean 'coupling__a'"):
        sim.sweep(1.0, coupling__aa=[1, 2])
    with pytest.raises(ValueError, match="share the batch size"):
        sim.sweep(1.0, coupling__a=[1, 2], model__I=[0, 1, 2])
    with pytest.raises(ValueError, match=r"shape \(2,\) or \(2, 76\)"):
        sim.sweep(1.0, model__I=np.zeros((2, 5)))


def test_set_params_nested(conn76):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear())
    sim.set_params(coupling__a=0.3, model__I=0.1, dt=0.05)
    assert sim.coupling.a == 0.3 and sim.model.I == 0.1 and sim.dt == 0.05
    with pytest.raises(TypeError, match="no parameter 'model__II'"):
        sim.set_params(model__II=1.0)


# --- results ---------------------------------------------------------------
def test_result_netcdf_round_trip_with_provenance(conn76, tmp_path):
    sim = vb.Simulation(conn76, vb.models.ReducedWongWang(), seed=4,
                        monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.SubSample(2.0)])
    res = sim.run(20.0, progress=False)
    path = res.save(tmp_path / "run.nc")
    back = vb.Result.load(path)
    for name in ("tavg", "subsample"):
        np.testing.assert_array_equal(back[name].values, res[name].values)
        assert list(back[name].region.values) == list(conn76.labels)
        assert back[name].time.attrs["units"] == "ms"
    assert back.attrs["model"] == "ReducedWongWang"
    assert back.attrs["connectome_sha256"] == conn76.checksum()
    assert back.attrs["seed"] == 4
    assert back.attrs["vbrain_version"] == vb.__version__
    with pytest.raises(FileExistsError, match="overwrite=True"):
        res.save(path)


def test_streamed_run_equals_in_memory_run(conn76, tmp_path):
    def sim():
        return vb.Simulation(conn76, vb.models.ReducedWongWang(), noise=vb.noise.Additive(1e-5),
                             seed=8, monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.Raw()])

    memory = sim().run(25.0, progress=False)
    path = tmp_path / "stream.nc"
    streamed = sim().run(25.0, chunk_steps=33, out=path, progress=False)
    assert path.exists() and not (tmp_path / "stream.nc.partial").exists()
    for name in ("tavg", "raw"):
        np.testing.assert_array_equal(streamed[name].values, memory[name].values)
        np.testing.assert_array_equal(streamed[name].time.values, memory[name].time.values)
    assert vb.Result.load(path).status == "complete"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        sim().run(5.0, out=path, progress=False)


def test_streamed_sweep_and_diverged_run_keep_their_output(conn76, tmp_path):
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), seed=1,
                        monitors=[vb.monitors.TemporalAverage(1.0)])
    res = sim.sweep(5.0, coupling__a=[0.0, 0.1], out=tmp_path / "sweep.nc", progress=False)
    assert res.tavg.sizes["batch"] == 2
    np.testing.assert_array_equal(vb.Result.load(tmp_path / "sweep.nc").tavg["coupling__a"], [0.0, 0.1])

    bad = vb.Simulation(conn76, vb.models.Linear(gamma=np.where(np.arange(76) == 3, 80.0, -1.0)),
                        initial_history=np.ones((1, 76)), monitors=[vb.monitors.TemporalAverage(1.0)])
    with pytest.raises(vb.SimulationDiverged):
        bad.run(100.0, chunk_steps=20, out=tmp_path / "bad.nc", progress=False)
    back = vb.Result.load(tmp_path / "bad.nc")
    assert back.status.startswith("diverged at t=")
    assert back.tavg.sizes["time"] > 0 and np.all(np.isfinite(back.tavg.values))


def test_threaded_sweep_equals_single_threaded_sweep(conn76, tmp_path):
    sim = vb.Simulation(conn76, vb.models.ReducedWongWang(), noise=vb.noise.Additive(1e-5),
                        seed=3, monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.Raw()])
    a = np.linspace(0.0, 0.2, 5)
    one = sim.sweep(20.0, coupling__a=a, threads=1, progress=False)
    two = sim.sweep(20.0, coupling__a=a, threads=2, out=tmp_path / "t.nc", progress=False)
    for name in ("tavg", "raw"):
        np.testing.assert_array_equal(two[name].values, one[name].values)
        np.testing.assert_array_equal(two[name]["coupling__a"], a)
        assert list(two[name].batch.values) == list(range(5))
    np.testing.assert_array_equal(vb.Result.load(tmp_path / "t.nc").tavg.values, one.tavg.values)


class _SignalAt(vb.monitors.Monitor):
    """Sends this process a signal once the run passes ``at_step`` (to test interruption)."""

    name = "signaller"

    def __init__(self, at_step, signum):
        super().__init__()
        self.at_step, self.signum, self.sent = at_step, signum, False

    def consume(self, trace, first_step):
        import os

        if not self.sent and first_step + trace.shape[0] >= self.at_step:
            self.sent = True
            os.kill(os.getpid(), self.signum)
        return np.empty(0), np.empty((0, len(self.variables_)) + trace.shape[2:])

    def __repr__(self):
        return "_SignalAt()"


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_interrupted_run_resumes_bit_identically(conn76, tmp_path, signum):
    import signal

    def sim(extra=()):
        return vb.Simulation(conn76, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             noise=vb.noise.Additive(1e-4), seed=5,
                             monitors=[vb.monitors.TemporalAverage(0.7), vb.monitors.Raw(),
                                       vb.monitors.Bold(tr=20.0), *extra])

    reference = sim([_SignalAt(10**9, signal.SIGINT)]).run(60.0, chunk_steps=37,
                                                            out=tmp_path / "ref.nc")
    out = tmp_path / "run.nc"
    interrupted = sim([_SignalAt(200, getattr(signal, signum))])
    with pytest.raises(vb.SimulationInterrupted, match="resume=True"):
        interrupted.run(60.0, chunk_steps=37, out=out, checkpoint_every=5.0)
    assert not out.exists() and (tmp_path / "run.nc.partial").exists()
    assert (tmp_path / "run.nc.ckpt.npz").exists()
    with pytest.raises(FileNotFoundError):
        vb.Result.load(out)
    resumed = sim([_SignalAt(10**9, signal.SIGINT)]).run(60.0, chunk_steps=53, out=out,
                                                          resume=True)
    assert resumed.status == "complete" and not (tmp_path / "run.nc.ckpt.npz").exists()
    for name in ("tavg", "raw", "bold"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
        np.testing.assert_array_equal(resumed[name].time.values, reference[name].time.values)


def test_resume_keeps_a_random_seeds_noise(tmp_path):
    """seed=None draws its noise key at random: the checkpoint keeps it, so the resumed
    steps add exactly that key's draws (recovered from an Euler-Maruyama linear run)."""
    import signal

    from vbrain.sim.normals import standard_normals

    n, dt, nsig, gamma = 4, 0.1, 0.02, -0.5
    conn = vb.Connectome(weights=np.zeros((n, n)), lengths=np.zeros((n, n)),
                         labels=[f"r{i}" for i in range(n)])

    def sim(at_step):
        return vb.Simulation(conn, vb.models.Linear(gamma=gamma), vb.coupling.Linear(a=0.0),
                             dt=dt, integrator="euler", noise=vb.noise.Additive(nsig),
                             seed=None, initial_history=np.zeros((1, n)),
                             monitors=[vb.monitors.Raw(), _SignalAt(at_step, signal.SIGINT)])

    out = tmp_path / "run.nc"
    with pytest.raises(vb.SimulationInterrupted):
        sim(40).run(10.0, chunk_steps=20, out=out)
    with np.load(str(out) + ".ckpt.npz") as saved:
        key, step = saved["noise_keys"][0], int(saved["step"])
    assert 0 < step < 100
    res = sim(10**9).run(10.0, chunk_steps=20, out=out, resume=True)
    x = np.concatenate([np.zeros((1, n)), res["raw"].values[:, 0]])
    z = (x[1:] - (1.0 + dt * gamma) * x[:-1]) / np.sqrt(2.0 * nsig * dt)
    np.testing.assert_allclose(z, standard_normals(key, 0, 100, 1, n)[:, 0], rtol=0, atol=1e-9)


class _AverageSignalAt(vb.monitors.TemporalAverage):
    """A temporal average that sends a signal once the run passes ``at_step``: a run whose
    monitors are all temporal averages lets the loop sum the windows."""

    name = "signaller"

    def __init__(self, at_step, signum):
        super().__init__(0.7)
        self.at_step, self.signum, self.sent = at_step, signum, False

    def _maybe_signal(self, first_step, n_steps):
        import os

        if not self.sent and first_step + n_steps >= self.at_step:
            self.sent = True
            os.kill(os.getpid(), self.signum)

    def consume(self, trace, first_step):
        self._maybe_signal(first_step, trace.shape[0])
        return super().consume(trace, first_step)

    def consume_sums(self, sums, first_step):
        self._maybe_signal(first_step, sums.shape[0] * self.istep_)
        return super().consume_sums(sums, first_step)

    def __repr__(self):
        return "_AverageSignalAt()"


@pytest.mark.parametrize("chunks", [(35, 49), (37, 49), (37, None)])
def test_resume_with_windows_summed_in_the_loop(conn76, tmp_path, chunks):
    """Interrupted and resumed with the loop summing 7-step windows (35, 49 steps per chunk),
    and resumed that way from a checkpoint a run keeping every state (37) left mid-window."""
    import signal

    def sim(at_step):
        return vb.Simulation(conn76, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             noise=vb.noise.Additive(1e-4), seed=5,
                             monitors=[vb.monitors.TemporalAverage(0.7),
                                       _AverageSignalAt(at_step, signal.SIGINT)])

    reference = sim(10**9).run(60.0, chunk_steps=5, out=tmp_path / "ref.nc")  # every state
    out = tmp_path / "run.nc"
    with pytest.raises(vb.SimulationInterrupted):
        sim(200).run(60.0, chunk_steps=chunks[0], out=out, checkpoint_every=5.0)
    resumed = sim(10**9).run(60.0, chunk_steps=chunks[1], out=out, resume=True)
    assert resumed.status == "complete"
    np.testing.assert_array_equal(resumed.tavg.values, reference.tavg.values)
    np.testing.assert_array_equal(resumed.tavg.time.values, reference.tavg.time.values)

def test_resume_refuses_other_settings(conn76, tmp_path):
    import signal

    out = tmp_path / "run.nc"
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), seed=1,
                        monitors=[vb.monitors.TemporalAverage(1.0), _SignalAt(50, signal.SIGINT)])
    with pytest.raises(vb.SimulationInterrupted):
        sim.run(20.0, chunk_steps=25, out=out)
    other = vb.Simulation(conn76, vb.models.Generic2dOscillator(), seed=2,
                          monitors=[vb.monitors.TemporalAverage(1.0), _SignalAt(50, signal.SIGINT)])
    with pytest.raises(ValueError, match="other settings"):
        other.run(20.0, out=out, resume=True)
    with pytest.raises(ValueError, match="need an output file"):
        sim.run(20.0, resume=True)


def test_threads_building_a_fresh_kernel_at_once(conn76, tmp_path, monkeypatch):
    """Regression: two sweep threads writing the same new kernel file collided."""
    from vbrain.sim import kernel

    monkeypatch.setenv("VBRAIN_CACHE_DIR", str(tmp_path / "kernels"))
    monkeypatch.setattr(kernel, "_loaded", {})
    sim = vb.Simulation(conn76, vb.models.Kuramoto(), vb.coupling.Kuramoto(a=0.001), seed=1,
                        monitors=[vb.monitors.Raw()])
    res = sim.sweep(2.0, coupling__a=[0.0, 0.001, 0.002, 0.003], threads=4, progress=False)
    assert res.raw.sizes["batch"] == 4
    assert len(list((tmp_path / "kernels").glob("vbrain_kernel_*.py"))) == 1


def test_noise_intensity_sweeps_on_the_batch_axis(conn76):
    """sweep(noise__nsig=...): each member equals its single run with that Additive noise."""
    def sim(noise=None):
        return vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.01),
                             noise=noise, seed=5, monitors=[vb.monitors.TemporalAverage(1.0)])

    nsig = [0.0, 1e-4, 1e-3]
    res = sim().sweep(30.0, noise__nsig=nsig, threads=1, progress=False)
    for b, v in enumerate(nsig):
        one = sim(vb.noise.Additive(v)).run(30.0, progress=False)
        np.testing.assert_array_equal(res.tavg.isel(batch=b).values, one.tavg.values)
    per_var = np.array([[1e-3, 0.0], [0.0, 1e-3]])
    res2 = sim(vb.noise.Additive(1.0)).sweep(20.0, noise__nsig=per_var, coupling__a=[0.0, 0.02],
                                             threads=2, progress=False)
    one = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.02),
                        noise=vb.noise.Additive([0.0, 1e-3]), seed=5,
                        monitors=[vb.monitors.TemporalAverage(1.0)]).run(20.0, progress=False)
    np.testing.assert_array_equal(res2.tavg.isel(batch=1).values, one.tavg.values)
    with pytest.raises(ValueError, match=r"noise__nsig must have shape \(2,\) or \(2, 2\)"):
        sim().sweep(5.0, noise__nsig=np.ones((2, 3)), progress=False)
    with pytest.raises(ValueError, match="non-negative"):
        sim().sweep(5.0, noise__nsig=[1e-3, -1.0], progress=False)
    with pytest.raises(ValueError, match="deterministic"):
        s = sim()
        s.integrator = "rk4"
        s.sweep(5.0, noise__nsig=[1e-3, 1e-4], progress=False)


@pytest.mark.parametrize("n_samples", [4, 12])  # within the first guess; beyond it (grown)
def test_sweep_groups_write_one_shared_output(n_samples):
    """Groups of a threaded sweep write their batch slice of one buffer; a group that
    outgrows it keeps its own, and the join copies."""
    from vbrain.result import label_samples
    from vbrain.simulation import _MemorySink, _SharedOutputs

    def template(xs):
        return label_samples("out", np.empty(0), np.empty((0, 2, len(xs))),
                             [("region", ["a", "b"], {})], {"x": np.asarray(xs)}, {})

    shared = _SharedOutputs(3)
    groups = [np.array([0, 1]), np.array([2])]
    sinks = [_MemorySink({"out": template(xs)}, 2.0, shared, slice(g[0], g[-1] + 1))
             for xs, g in zip(([10.0, 20.0], [30.0]), groups)]
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n_samples, 2, 3))
    times = 1.0 + np.arange(n_samples)  # the first chunk (t = 1 ms of 2) suggests 2 samples
    for start, stop in ((0, 1), (1, n_samples)):
        for sink, g in zip(sinks, groups):
            sink.append("out", times[start:stop], values[start:stop][..., g])
    joined = _MemorySink.join(sinks, "out", groups)
    np.testing.assert_array_equal(joined.values, values)
    np.testing.assert_array_equal(joined["time"], times)
    np.testing.assert_array_equal(joined["x"], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(joined["batch"], [0, 1, 2])
    assert np.shares_memory(joined.values, shared.buffers["out"]) == (n_samples <= 4)
    single = _MemorySink({"out": template([1.0])}, 2.0)
    for start, stop in ((0, 1), (1, n_samples)):
        single.append("out", times[start:stop], values[start:stop][..., :1])
    np.testing.assert_array_equal(single.arrays()["out"].values, values[..., :1])


def test_duration_in_whole_steps_as_tvb_counts_them():
    """ceil(duration / dt) like TVB's simulator, without float noise adding a step."""
    conn = vb.Connectome(np.zeros((1, 1)), np.zeros((1, 1)))
    sim = vb.Simulation(conn, vb.models.SupHopf(), vb.coupling.Linear(a=0.0), dt=0.1,
                        initial_history=np.array([[0.1], [0.0]]), monitors=[vb.monitors.Raw()])
    for duration, steps in [(1.04, 11), (1.0, 10), (3 * 0.1, 3), (24 * 0.1, 24), (0.1, 1)]:
        raw = sim.run(duration, progress=False).raw
        assert raw.sizes["time"] == steps, duration
        np.testing.assert_allclose(raw.time[-1], steps * 0.1)
    with pytest.raises(ValueError, match="shorter than one step"):
        sim.run(0.05, progress=False)


def test_per_region_coupling_parameters_scale_each_target(conn76):
    """Linear a_i per region (TVB allows arrays) = the weights' row i scaled by a_i."""
    rng = np.random.default_rng(5)
    a = rng.uniform(0.005, 0.03, 76)
    history = np.stack([rng.uniform(-1, 1, 76), rng.uniform(-1, 1, 76)])

    def run(connectome, coupling):
        sim = vb.Simulation(connectome, vb.models.Generic2dOscillator(), coupling, speed=4.0,
                            dt=0.1, initial_history=history, monitors=[vb.monitors.Raw()])
        return sim.run(30.0, progress=False).raw.values

    scaled = vb.Connectome(conn76.weights * a[:, None], conn76.lengths, labels=conn76.labels)
    np.testing.assert_allclose(run(conn76, vb.coupling.Linear(a=a)),
                               run(scaled, vb.coupling.Linear(a=1.0)), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="Linear.a has 3 per-region values, but the connectome "
                                         "has 76 regions"):
        run(conn76, vb.coupling.Linear(a=[0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="scalar or a per-region 1-D array"):
        vb.coupling.Linear(a=np.ones((2, 76)))


def test_per_region_sigmoidal_coupling_one_step_by_hand(conn76):
    """c_i = cmin + (cmax - cmin) / (1 + exp(-a_i (sum_j w_ij V_j - midpoint) / sigma)), held
    through Heun's two stages (TVB 2.10 itself uses a[0] for every region here)."""
    rng = np.random.default_rng(6)
    a = rng.uniform(0.3, 1.5, 76)
    x0 = np.stack([rng.uniform(-1, 1, 76), rng.uniform(-1, 1, 76)])
    sim = vb.Simulation(conn76, vb.models.Generic2dOscillator(), vb.coupling.Sigmoidal(a=a),
                        speed=4.0, dt=0.1, initial_history=x0, monitors=[vb.monitors.Raw()])
    x1 = sim.run(0.1, progress=False).raw.values[0]
    c = -1.0 + 2.0 / (1.0 + np.exp(-a * (conn76.weights @ x0[0]) / 230.0))
    model = vb.models.Generic2dOscillator()
    k1 = model.evaluate(x0, c[None])
    k2 = model.evaluate(x0 + 0.1 * k1, c[None])
    np.testing.assert_allclose(x1, x0 + 0.05 * (k1 + k2), rtol=0, atol=1e-13)
