"""Objectives: definitions against numpy/scipy, inputs, batch independence, sign conventions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import xarray as xr

import vbrain as vb
from vbrain.fit import (
    AsLoss,
    Combined,
    FCCorrelation,
    FCDistance,
    FCDKSDistance,
    SpectralDistance,
    as_series,
    functional_connectivity,
    ks_statistic,
    upper_triangle,
)


def correlated_series(n_t=400, n=6, batch=3, seed=0):
    """(time, region, batch) with a member-dependent shared component."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_t, n, batch))
    for b in range(batch):
        common = rng.standard_normal((n_t, 1))
        out[..., b] = 0.3 * (b + 1) * common + rng.standard_normal((n_t, n))
    return out


def as_dataarray(x, period=10.0, labels=None):
    n_t, n, b = x.shape
    labels = labels or [f"R{i}" for i in range(n)]
    return xr.DataArray(x[:, None], dims=("time", "variable", "region", "batch"),
                        coords={"time": period * np.arange(1, n_t + 1), "variable": ["S"],
                                "region": labels, "batch": np.arange(b)})


def test_fc_objectives_match_numpy():
    x = correlated_series()
    target = np.corrcoef(correlated_series(seed=5)[..., 1].T)
    iu = np.triu_indices(6, 1)
    r = FCCorrelation(target, monitor=None)(x)
    d = FCDistance(target, monitor=None)(x)
    fro = FCDistance(target, metric="frobenius", monitor=None)(x)
    for b in range(3):
        fc = np.corrcoef(x[..., b].T)
        np.testing.assert_allclose(r[b], np.corrcoef(fc[iu], target[iu])[0, 1], rtol=1e-12)
        np.testing.assert_allclose(d[b], np.sqrt(np.mean((fc[iu] - target[iu]) ** 2)), rtol=1e-12)
        off = ~np.eye(6, dtype=bool)
        np.testing.assert_allclose(fro[b], np.linalg.norm((fc - target)[off]), rtol=1e-12)
    assert r.shape == (3,)
    assert FCCorrelation.higher_is_better and not FCDistance.higher_is_better


def test_fc_perfect_fit_and_loss_convention():
    x = correlated_series()
    target = functional_connectivity(x[..., 2])
    obj = FCCorrelation(target, monitor=None)
    assert obj(x)[2] == pytest.approx(1.0)
    loss = obj.as_loss()
    assert isinstance(loss, AsLoss) and not loss.higher_is_better
    np.testing.assert_allclose(loss(x), 1.0 - obj(x))
    assert loss(x)[2] == pytest.approx(0.0, abs=1e-12)
    assert FCDistance(target, monitor=None)(x)[2] == pytest.approx(0.0, abs=1e-12)
    dist = FCDistance(target, monitor=None)
    assert dist.as_loss() is dist


def test_scores_do_not_depend_on_the_batch():
    """A member scores bit for bit the same alone as inside a batch (Dask relies on it)."""
    x = correlated_series(batch=5)
    target = functional_connectivity(correlated_series(seed=9)[..., 0])
    for obj in (FCCorrelation(target, monitor=None), FCDistance(target, monitor=None)):
        full = obj(x)
        for b in range(5):
            assert obj(x[..., b:b + 1])[0] == full[b]
            assert obj(np.ascontiguousarray(x[..., b]))[0] == full[b]


def test_inputs_result_dataarray_labels_and_transient():
    x = correlated_series()
    da = as_dataarray(x)
    target = functional_connectivity(x[..., 0])
    labels = [f"R{i}" for i in range(6)]
    order = [3, 1, 0, 5, 2, 4]
    shuffled = xr.DataArray(target[np.ix_(order, order)], dims=("region_i", "region_j"),
                            coords={"region_i": [labels[i] for i in order],
                                    "region_j": [labels[i] for i in order]})
    res = vb.Result({"tavg": da}, {})
    a = FCCorrelation(target, monitor="tavg")(res)
    b = FCCorrelation(shuffled, monitor="tavg")(res)  # matched by name
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert a[0] == pytest.approx(1.0)
    # a transient removes the samples at t <= transient
    obj = FCDistance(target, monitor="tavg", transient=1000.0)
    s = as_series(res, monitor="tavg", transient=1000.0)
    assert s.data.shape[0] == 300 and s.times[0] > 1000.0
    np.testing.assert_allclose(obj(res)[1], FCDistance(target, monitor=None)(x[100:, :, 1:2])[0],
                               rtol=1e-12)
    # a single run (no batch dim) gives one score
    assert FCCorrelation(target, monitor="tavg")(vb.Result({"tavg": da.isel(batch=0)}, {})).shape \
        == (1,)


def test_constant_region_scores_nan():
    x = correlated_series()
    x[:, 2, 1] = 0.5
    target = functional_connectivity(x[..., 0])
    r = FCCorrelation(target, monitor=None)(x)
    assert np.isfinite(r[0]) and np.isnan(r[1]) and np.isfinite(r[2])


def test_input_errors():
    target = np.eye(6)
    with pytest.raises(ValueError, match="square"):
        FCCorrelation(np.ones((3, 4)))
    with pytest.raises(ValueError, match="6 regions, but the simulated"):
        FCCorrelation(target, monitor=None)(np.zeros((20, 5, 2)))
    with pytest.raises(ValueError, match="transient= needs time stamps"):
        FCCorrelation(target, monitor=None, transient=10.0)(np.zeros((20, 6)))
    res = vb.Result({"tavg": as_dataarray(correlated_series())}, {})
    with pytest.raises(ValueError, match="monitor must be one of"):
        FCCorrelation(target, monitor="bold")(res)
    with pytest.raises(ValueError, match="metric must be one of"):
        FCDistance(target, metric="l1")
    with pytest.raises(ValueError, match="at least 3 samples"):
        FCCorrelation(target, monitor="tavg", transient=3995.0)(res)
    lab = xr.DataArray(target, dims=("region_i", "region_j"),
                       coords={"region_i": list("abcdef"), "region_j": list("abcdef")})
    with pytest.raises(ValueError, match=r"label\(s\) the simulation lacks"):
        FCCorrelation(lab, monitor="tavg")(res)


def test_ks_statistic_matches_scipy():
    rng = np.random.default_rng(1)
    for na, nb in ((50, 80), (200, 31), (7, 7)):
        a, b = rng.normal(size=na), rng.normal(0.3, 1.2, size=nb)
        assert ks_statistic(a, b) == pytest.approx(scipy.stats.ks_2samp(a, b).statistic,
                                                   abs=1e-15)
    ties = np.array([0.0, 0.0, 1.0, 1.0])
    assert ks_statistic(ties, ties) == 0.0
    with pytest.raises(ValueError, match="non-empty"):
        ks_statistic([], [1.0])


def test_fcd_ks_uses_the_pipeline_fcd():
    from vbrain.pipelines.fmri import fcd

    x = correlated_series(n_t=120, n=8, batch=2, seed=3)
    da = as_dataarray(x, period=2000.0)
    target = fcd(x[..., 0], "20 vol", "2 vol")
    obj = FCDKSDistance(target, window="20 vol", step="2 vol", monitor=None)
    d = obj(da.isel(variable=0))
    assert d[0] == 0.0  # the same series gives the same FCD distribution
    sim_vals = upper_triangle(fcd(x[..., 1], "20 vol", "2 vol").values)
    assert d[1] == pytest.approx(ks_statistic(sim_vals, upper_triangle(target.values)))
    # window/step default to the target's attrs (in volumes); ms windows use the time step
    assert FCDKSDistance(target, monitor=None)(da.isel(variable=0))[0] == 0.0
    in_ms = FCDKSDistance(target, window=40_000.0, step=4000.0, monitor=None)
    assert in_ms(da.isel(variable=0))[0] == 0.0
    with pytest.raises(ValueError, match="square FCD matrix or a 1-D"):
        FCDKSDistance(np.zeros((2, 2, 2)))


def test_spectral_distance():
    rng = np.random.default_rng(2)
    period, n_t, n_ch = 4.0, 5000, 3
    t = np.arange(n_t) * period / 1000.0
    sig = np.stack([np.sin(2 * np.pi * (8 + 2 * c) * t) + 0.5 * rng.standard_normal(n_t)
                    for c in range(n_ch)], axis=1)
    from scipy.signal import welch

    f, p = welch(sig, fs=1000 / period, window="hann", nperseg=500, noverlap=250, axis=0)
    names = ["Fz", "Cz", "Pz"]
    target = xr.DataArray(p.T, dims=("sensor", "frequency"),
                          coords={"sensor": names, "frequency": f})
    batch = np.stack([sig, 1e-6 * sig, sig[:, ::-1]], axis=-1)  # same, scaled, channels swapped
    da = xr.DataArray(batch, dims=("time", "sensor", "batch"),
                      coords={"time": period * np.arange(1, n_t + 1), "sensor": names})
    obj = SpectralDistance(target, fmin=2, fmax=40, monitor=None)
    d = obj(da)
    assert d[0] == pytest.approx(0.0, abs=1e-12)
    assert d[1] == pytest.approx(0.0, abs=1e-9)  # normalised: the gain does not count
    assert d[2] > 0.1
    raw = SpectralDistance(target, fmin=2, fmax=40, normalize=False, monitor=None)(da)
    assert raw[1] == pytest.approx(12.0, rel=1e-6)  # 1e-6 in amplitude = 12 decades of power
    corr = SpectralDistance(target, fmin=2, fmax=40, metric="correlation", monitor=None)(da)
    assert corr[0] == pytest.approx(0.0, abs=1e-12) and corr[2] > 0.05
    # sensors matched by name: the target's channels in another order
    rev = target.isel(sensor=[2, 0, 1])
    np.testing.assert_allclose(SpectralDistance(rev, fmin=2, fmax=40, monitor=None)(da), d,
                               atol=1e-12)
    with pytest.raises(ValueError, match="Pass freqs="):
        SpectralDistance(p.T)
    with pytest.raises(ValueError, match="sampling period"):
        SpectralDistance(p.T, f, monitor=None)(batch)


def test_combined_weights_and_parts():
    x = correlated_series()
    target = functional_connectivity(x[..., 0])
    r = FCCorrelation(target, monitor=None)
    d = FCDistance(target, monitor=None)
    comb = Combined([(2.0, r), (0.5, d)])
    np.testing.assert_allclose(comb(x), 2.0 * (1.0 - r(x)) + 0.5 * d(x), rtol=1e-12)
    parts = comb.parts(x)
    assert set(parts) == {"fc_corr", "fc_dist"}
    np.testing.assert_allclose(parts["fc_corr"], 1.0 - r(x))
    assert not comb.higher_is_better and comb.as_loss() is comb
    with pytest.raises(ValueError, match="terms\\[0\\] weight must be >= 0"):
        Combined([(-1.0, r)])
    with pytest.raises(TypeError, match="pair"):
        Combined([r])
    with pytest.raises(ValueError, match="at least one"):
        Combined([])


def test_configuration_errors_are_raised_not_scored_nan():
    x = correlated_series(n_t=30, n=4, batch=2)
    da = as_dataarray(x, period=2000.0).isel(variable=0)
    with pytest.raises(ValueError, match="FCD window is 40 volumes"):
        FCDKSDistance(np.zeros(10), window="40 vol", step="2 vol", monitor=None)(da)
    f = np.linspace(0, 0.25, 11)
    with pytest.raises(ValueError, match="psd_window=100000 ms is 50 samples"):
        SpectralDistance(np.ones((4, 11)), f, psd_window=100_000.0, monitor=None)(
            da.rename(region="sensor"))
