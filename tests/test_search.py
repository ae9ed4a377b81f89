"""Searches: grids on the batch axis, DE and CMA-ES generations as sweeps, FIC, parameter recovery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

import vbrain as vb
from vbrain.fit import (
    FIC,
    Combined,
    FCCorrelation,
    FCDistance,
    Objective,
    SpectralDistance,
    best_params,
    cma_search,
    de_search,
    evaluate,
    fic_inhibition,
    functional_connectivity,
    grid_search,
)
from vbrain.fit.search import plan_chunks


def small_connectome(n=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.6)
    np.fill_diagonal(w, 0.0)
    lengths = rng.uniform(5.0, 40.0, (n, n))
    lengths = (lengths + lengths.T) / 2
    np.fill_diagonal(lengths, 0.0)
    return vb.Connectome(w, lengths)


def g2d_sim(conn, noise=1e-3, seed=1, dt=0.5, period=10.0):
    return vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0), vb.coupling.Linear(),
                         dt=dt, seed=seed, noise=None if noise is None else vb.noise.Additive(noise),
                         monitors=[vb.monitors.TemporalAverage(period)])


class MeanState(Objective):
    """RMS distance between the time-averaged V (second half of the run) and a target vector."""

    name = "mean_state"

    def __init__(self, target):
        super().__init__(monitor="tavg", variable="V")
        self.target = np.asarray(target, dtype=float)

    def feature(self, x, ctx):
        return x[x.shape[0] // 2:].mean(axis=0)

    def compare(self, feature, ctx):
        return float(np.sqrt(np.mean((feature - self.target) ** 2)))


@pytest.fixture(scope="module")
def conn8():
    return small_connectome()


@pytest.fixture(scope="module")
def fc_target(conn8):
    sim = g2d_sim(conn8, seed=11)
    res = sim.set_params(coupling__a=0.2).run(3000.0, progress=False)
    return functional_connectivity(res.tavg.sel(variable="V").values)


# -- grids ----------------------------------------------------------------------------------
def test_grid_equals_one_sweep_and_is_batch_size_invariant(conn8, fc_target):
    sim = g2d_sim(conn8)
    obj = FCCorrelation(fc_target, monitor="tavg", variable="V", transient=200.0)
    a = np.linspace(0.0, 0.3, 4)
    inputs = np.array([0.0, 0.1, 0.2])
    scores = grid_search(sim, 2000.0, obj, coupling__a=a, model__I=inputs, batch_size=5,
                         threads=1, progress=False)
    assert scores.dims == ("coupling__a", "model__I") and scores.shape == (4, 3)
    np.testing.assert_array_equal(scores["coupling__a"], a)
    assert scores.attrs["higher_is_better"] == 1
    # the same points in one sweep (C order of the grid) score identically, bit for bit
    aa, ii = np.meshgrid(a, inputs, indexing="ij")
    direct = obj(sim.sweep(2000.0, coupling__a=aa.ravel(), model__I=ii.ravel(), progress=False))
    np.testing.assert_array_equal(scores.values.ravel(), direct)
    again = grid_search(sim, 2000.0, obj, coupling__a=a, model__I=inputs, batch_size=64,
                        threads=2, progress=False)
    np.testing.assert_array_equal(again.values, scores.values)
    best = best_params(scores)
    i = np.unravel_index(np.nanargmax(scores.values), scores.shape)
    assert best == {"coupling__a": a[i[0]], "model__I": inputs[i[1]]}


def test_per_region_parameter_grid(conn8, fc_target):
    sim = g2d_sim(conn8)
    obj = FCDistance(fc_target, monitor="tavg", variable="V", transient=200.0)
    rng = np.random.default_rng(3)
    vectors = rng.uniform(-0.2, 0.2, (3, conn8.n_regions))
    scores = grid_search(sim, 1500.0, obj, model__I=vectors, coupling__a=[0.1, 0.2],
                         progress=False)
    assert scores.dims == ("model__I", "coupling__a")
    np.testing.assert_array_equal(scores.attrs["model__I_values"], vectors)
    for k in range(3):
        single = obj(sim.sweep(1500.0, model__I=vectors[k][None], coupling__a=[0.2],
                               progress=False))
        assert scores.values[k, 1] == single[0]
    best = best_params(scores)
    assert best["model__I"].shape == (conn8.n_regions,)


def test_noise_rides_the_batch_axis(conn8, fc_target, monkeypatch):
    """A noise x coupling grid is one sweep; each score equals that noise's own sweep."""
    sim = g2d_sim(conn8)
    obj = FCDistance(fc_target, monitor="tavg", variable="V", transient=200.0)
    calls = []
    original = vb.Simulation.sweep

    def spy(self, duration, **kw):
        calls.append(sorted(kw))
        return original(self, duration, **kw)

    monkeypatch.setattr(vb.Simulation, "sweep", spy)
    scores = grid_search(sim, 1500.0, obj, noise__nsig=[5e-4, 2e-3], coupling__a=[0.1, 0.2, 0.3],
                         progress=False)
    assert len(calls) == 1 and {"coupling__a", "noise__nsig"} <= set(calls[0]), calls
    monkeypatch.setattr(vb.Simulation, "sweep", original)
    other = g2d_sim(conn8, noise=2e-3)
    direct = obj(other.sweep(1500.0, coupling__a=[0.1, 0.2, 0.3], progress=False))
    np.testing.assert_array_equal(scores.sel(noise__nsig=2e-3).values, direct)
    assert not np.array_equal(scores.values[0], scores.values[1])


def test_speed_is_grouped_into_separate_sweeps(conn8, fc_target, monkeypatch):
    sim = g2d_sim(conn8)
    obj = FCDistance(fc_target, monitor="tavg", variable="V", transient=200.0)
    calls = []
    original = vb.Simulation.sweep

    def spy(self, duration, **kw):
        calls.append((float(self.speed), len(kw["coupling__a"])))
        return original(self, duration, **kw)

    monkeypatch.setattr(vb.Simulation, "sweep", spy)
    grid_search(sim, 500.0, obj, speed=[3.0, 6.0], coupling__a=[0.1, 0.2, 0.3], progress=False)
    assert sorted(calls) == [(3.0, 3), (6.0, 3)]


def test_plan_chunks_never_mix_groups():
    pts = {"speed": np.array([1.0, 2.0, 1.0, 2.0, 1.0]), "coupling__a": np.arange(5.0)}
    chunks = plan_chunks(pts, 2)
    assert [c.tolist() for c in chunks] == [[0, 2], [4], [1, 3]]


def test_per_member_seeds_and_errors(conn8, fc_target):
    sim = g2d_sim(conn8)
    obj = FCDistance(fc_target, monitor="tavg", variable="V", transient=200.0)
    pts = {"coupling__a": np.array([0.1, 0.1])}
    s = evaluate(sim, 1000.0, obj, pts, seeds=[3, 4], progress=False)
    assert s[0] != s[1]  # different noise realisations
    alone = evaluate(sim, 1000.0, obj, {"coupling__a": np.array([0.1])}, seeds=[4],
                     progress=False)
    assert alone[0] == s[1]
    with pytest.raises(TypeError, match="Did you mean 'coupling__a'"):
        grid_search(sim, 1000.0, obj, coupling__aa=[0.1])
    with pytest.raises(TypeError, match="Searchable"):
        evaluate(sim, 1000.0, obj, {"model__nope": [1.0]})
    with pytest.raises(ValueError, match="seeds has 1 entries for 2"):
        evaluate(sim, 1000.0, obj, pts, seeds=[1])
    with pytest.raises(ValueError, match="at least one parameter grid"):
        grid_search(sim, 1000.0, obj)
    with pytest.raises(ValueError, match=r"\(k, 8\) for a per-region"):
        grid_search(sim, 1000.0, obj, model__I=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="fic needs a ReducedWongWangExcInh"):
        grid_search(sim, 1000.0, obj, coupling__a=[0.1], fic=True)


def test_divergent_members_score_nan(conn8):
    """A member that blows up scores NaN; the others are unaffected."""
    sim = vb.Simulation(conn8, vb.models.Linear(), vb.coupling.Linear(), dt=0.1, seed=1,
                        noise=vb.noise.Additive(1e-4), monitors=[vb.monitors.TemporalAverage(1.0)])
    target = np.eye(conn8.n_regions)
    obj = FCDistance(target, monitor="tavg")
    s = evaluate(sim, 300.0, obj, {"model__gamma": np.array([-1.0, 50.0, -2.0])},
                 progress=False)
    assert np.isfinite(s[0]) and np.isnan(s[1]) and np.isfinite(s[2])
    ref = evaluate(sim, 300.0, obj, {"model__gamma": np.array([-1.0, -2.0])}, progress=False)
    np.testing.assert_array_equal(s[[0, 2]], ref)


# -- optimisers -----------------------------------------------------------------------------
def test_de_scores_each_generation_as_one_sweep(conn8, monkeypatch):
    sim = g2d_sim(conn8, noise=None)
    truth = {"model__I": 0.3, "coupling__a": 0.1}
    ref = sim.sweep(1000.0, model__I=[truth["model__I"]], coupling__a=[truth["coupling__a"]],
                    progress=False)
    target = MeanState(MeanState(0).features(ref)[0][0])
    sizes = []
    original = vb.Simulation.sweep

    def spy(self, duration, **kw):
        sizes.append(len(kw["model__I"]))
        return original(self, duration, **kw)

    monkeypatch.setattr(vb.Simulation, "sweep", spy)
    res = de_search(sim, 1000.0, target, {"model__I": (-0.5, 0.5), "coupling__a": (0.0, 0.3)},
                    popsize=6, maxiter=15, tol=1e-6, progress=False)
    assert set(sizes) == {12}  # popsize x dimensions: the whole population in one sweep
    assert len(sizes) == res.extra["nit"] + 1 == res.n_sweeps
    assert res.n_evaluations == 12 * len(sizes)
    assert res.best["model__I"] == pytest.approx(truth["model__I"], abs=0.02)
    assert res.loss < 1e-2
    hist = res.history
    assert float(hist["loss"].min()) == res.loss
    assert hist["generation"].values.max() == len(sizes) - 1
    with pytest.raises(TypeError, match="sets 'vectorized' itself"):
        de_search(sim, 1000.0, target, {"model__I": (0, 1)}, vectorized=False)
    with pytest.raises(ValueError, match="low < high"):
        de_search(sim, 1000.0, target, {"model__I": (1, 0)})


def test_cma_recovers_a_per_region_vector():
    """CMA-ES on a per-region parameter (4 regions = 4 dimensions), one sweep per generation."""
    conn = small_connectome(4, seed=2)
    sim = g2d_sim(conn, noise=None)
    truth = np.array([-0.3, 0.1, 0.35, -0.1])
    ref = sim.sweep(800.0, model__I=truth[None], progress=False)
    obj = MeanState(MeanState(0).features(ref)[0][0])
    bounds = {"model__I": np.tile([-0.6, 0.6], (4, 1))}
    res = cma_search(sim, 800.0, obj, bounds, maxiter=40, popsize=10, tolfun=1e-9,
                     progress=False)
    assert res.best["model__I"].shape == (4,)
    np.testing.assert_allclose(res.best["model__I"], truth, atol=0.03)
    assert res.n_sweeps == res.extra["nit"]
    assert res.history["model__I"].dims == ("evaluation", "region")


# -- FIC --------------------------------------------------------------------------------------
def test_fic_retunes_every_member(conn8):
    from vbrain.models import tune_fic

    model = vb.models.ReducedWongWangExcInh(G=1.0)
    sim = vb.Simulation(conn8, model, vb.coupling.Linear(), dt=0.5, seed=1,
                        monitors=[vb.monitors.TemporalAverage(10.0)])
    a = np.array([0.02, 0.1, 0.2])
    J, ok = fic_inhibition(sim, {"coupling__a": a}, FIC(target_rate=3.0))
    assert ok.all() and J.shape == (3, conn8.n_regions)
    for b in range(3):
        np.testing.assert_array_equal(J[b], tune_fic(model, conn8.weights, a[b]))
    assert not np.allclose(J[0], J[2])
    # the excitatory gating of every member settles at the FIC target state
    res = sim.sweep(3000.0, coupling__a=a, model__J_i=J, progress=False)
    s_e = res.tavg.sel(variable="S_e").isel(time=-1).values
    g = model.gamma_e * model.tau_e * 3.0
    np.testing.assert_allclose(s_e, g / (1 + g), atol=1e-4)

    class MeanSe(Objective):
        name = "mean_se"

        def __init__(self):
            super().__init__(monitor="tavg", variable="S_e")

        def feature(self, x, ctx):
            return x[-1].mean()

        def compare(self, f, ctx):
            return float(f)

    obj = MeanSe()
    scores = grid_search(sim, 3000.0, obj, coupling__a=a, fic=True, progress=False)
    np.testing.assert_array_equal(scores.values, obj(res))
    plain = grid_search(sim, 3000.0, obj, coupling__a=a, progress=False)
    assert np.abs(plain.values - g / (1 + g)).max() > 1e-2  # without FIC the rates drift
    with pytest.raises(ValueError, match="fic computes model__J_i"):
        evaluate(sim, 100.0, obj, {"model__J_i": np.ones((1, 8))}, fic=True)


# -- parameter recovery -----------------------------------------------------------------------
def recovery_problem(duration, monitors, fc_monitor, conn, truth_a=0.036, truth_nsig=1e-3,
                     transient=2000.0):
    """A 'subject' (seed 7) with known coupling and noise; a loss on FC + power spectra."""
    subject = vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0),
                            vb.coupling.Linear(a=truth_a), dt=0.5, seed=7,
                            noise=vb.noise.Additive(truth_nsig), monitors=monitors())
    res = subject.run(duration, progress=False)
    fc_series = res[fc_monitor].sel(time=slice(transient + 1, None)).isel(variable=0).values
    tavg = res["tavg"].sel(variable="V", time=slice(transient + 1, None)).values
    f, p = welch(tavg, fs=100.0, window="hann", nperseg=200, noverlap=100, axis=0)
    loss = Combined([
        (4.0, FCDistance(functional_connectivity(fc_series), monitor=fc_monitor, variable=None
                         if fc_monitor == "bold" else "V", transient=transient)),
        (1.0, SpectralDistance(p.T, f, fmin=0.5, fmax=20.0, normalize=False, monitor="tavg",
                               variable="V", transient=transient)),
    ])
    # the model to fit: another noise realisation (seed 1), start values off
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0), vb.coupling.Linear(),
                        dt=0.5, seed=1, noise=vb.noise.Additive(5e-4), monitors=monitors())
    return sim, loss


def _grid_then_de(sim, loss, duration, a_grid, nsig_grid, popsize, maxiter):
    """A coarse grid, then differential evolution over the grid's box, started at its best.

    (The loss has a ridge: more noise is partly offset by less coupling in the
    spectra, so the box is the grid's whole range, not a cell around the best.)
    """
    scores = grid_search(sim, duration, loss, coupling__a=a_grid, noise__nsig=nsig_grid,
                         progress=False)
    best = best_params(scores)
    bounds = {"coupling__a": (a_grid[0], a_grid[-1]), "noise__nsig": (nsig_grid[0], nsig_grid[-1])}
    res = de_search(sim, duration, loss, bounds, popsize=popsize, maxiter=maxiter, tol=1e-3,
                    x0=best, progress=False)
    return scores, res


def test_parameter_recovery_coupling_and_noise():
    """Fit back a known global coupling and noise within 10 % (grid, then DE).

    Generic2dOscillator (fixed-point regime, a=0) on the 76-region connectome,
    20 s per run. The loss combines the FC distance of the neural signal
    (10 ms averages), which fixes the coupling, and the distance of the
    regions' power spectra (not normalised), which fixes the noise. The
    subject and the fitted model use different noise realisations, and the
    noise grid does not contain the true value.
    """
    conn = vb.Connectome.load("atlases:default")
    duration = 20_000.0
    sim, loss = recovery_problem(duration, lambda: [vb.monitors.TemporalAverage(10.0)], "tavg",
                                 conn)
    scores, res = _grid_then_de(sim, loss, duration, np.linspace(0.024, 0.048, 9),
                                [6e-4, 1.2e-3, 2.4e-3], popsize=5, maxiter=8)
    assert res.best["coupling__a"] == pytest.approx(0.036, rel=0.10)
    assert res.best["noise__nsig"] == pytest.approx(1e-3, rel=0.10)
    assert res.loss <= float(scores.min())


@pytest.mark.slow
def test_parameter_recovery_from_bold():
    """The same recovery with FC from simulated BOLD (TR 720 ms, 5 min per run)."""
    conn = vb.Connectome.load("atlases:default")
    duration = 300_000.0
    sim, loss = recovery_problem(
        duration, lambda: [vb.monitors.TemporalAverage(10.0), vb.monitors.Bold(tr=720.0)],
        "bold", conn, transient=20_000.0)
    _, res = _grid_then_de(sim, loss, duration, np.linspace(0.024, 0.048, 9),
                           [6e-4, 1.2e-3, 2.4e-3], popsize=5, maxiter=10)
    assert res.best["coupling__a"] == pytest.approx(0.036, rel=0.10)
    assert res.best["noise__nsig"] == pytest.approx(1e-3, rel=0.10)
