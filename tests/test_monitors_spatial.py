"""SpatialAverage and GlobalAverage: against TVB's monitors, masks, batches, chunks, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.monitors import GlobalAverage, Raw, SpatialAverage

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def tvb():
    with np.load(DATA / "tvb_spatial.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def conn96():
    return vb.Connectome.load("atlases:tvb96", allow_zero_lengths=True)


def g2d(conn, monitors, initial=None):
    return vb.Simulation(conn, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=0.02),
                         speed=4.0, dt=0.1, monitors=monitors, initial_history=initial)


def test_match_tvb_monitors(tvb, conn96):
    """tvb-library 2.10's SpatialAverage (default cortical mask; an integer mask) and
    GlobalAverage on a 96-region run: same instants, values to 1e-6 (TVB's float32 history)."""
    np.testing.assert_array_equal(conn96.cortical, tvb["cortical"])
    sim = g2d(conn96, [SpatialAverage(0.5, variables=["V"]), GlobalAverage(2.5, variables=["V"])],
              tvb["initial"])
    res = sim.run(100.0, progress=False)
    masked = g2d(conn96, [SpatialAverage(0.5, mask=tvb["mask"], variables=["V"])],
                 tvb["initial"]).run(100.0, progress=False)
    cases = [(res.spatial, "cortical"), (masked.spatial, "mask"), (res["global"], "global")]
    for da, key in cases:
        np.testing.assert_allclose(da.time.values, tvb[f"t_{key}"], rtol=0, atol=1e-9)
        ref = tvb[f"{key}_mean"]
        assert np.abs(da.values - ref).max() < 1e-6 * np.abs(ref).max(), key
    assert list(res.spatial.group.values) == ["subcortical", "cortical"]
    assert list(masked.spatial.group.values) == [0, 1, 2, 3]


def test_means_of_the_recorded_states(conn96):
    """Each sample is its group's mean of the states SubSample records at that instant."""
    labels = np.where(np.arange(96) < 40, "front", "back")
    sim = g2d(conn96, [vb.monitors.SubSample(1.0), SpatialAverage(1.0, mask=labels),
                       GlobalAverage(1.0)])
    res = sim.run(30.0, progress=False)
    sub = res.subsample.values
    np.testing.assert_allclose(res.spatial.sel(group="front").values, sub[:, :, :40].mean(axis=2))
    np.testing.assert_allclose(res.spatial.sel(group="back").values, sub[:, :, 40:].mean(axis=2))
    np.testing.assert_allclose(res["global"].values, sub.mean(axis=2))
    assert res["global"].dims == ("time", "variable")
    assert res.spatial.dims == ("time", "variable", "group")


def test_batch_and_chunks(conn96):
    """A sweep's members equal their single runs; the chunk size changes nothing."""
    def sim(a):
        return vb.Simulation(conn96, vb.models.Generic2dOscillator(), vb.coupling.Linear(a=a),
                             monitors=[SpatialAverage(0.7), GlobalAverage(0.7)], seed=3)
    swept = sim(0.0).sweep(20.0, coupling__a=[0.0, 0.03], progress=False)
    assert swept.spatial.dims == ("time", "variable", "group", "batch")
    for b, a in enumerate([0.0, 0.03]):
        one = sim(a).run(20.0, chunk_steps=13, progress=False)
        np.testing.assert_array_equal(swept.spatial.values[..., b], one.spatial.values)
        np.testing.assert_array_equal(swept["global"].values[..., b], one["global"].values)


def test_hemisphere_flags_and_single_group():
    w = np.ones((4, 4)) - np.eye(4)
    conn = vb.Connectome(w, 10.0 * w, hemispheres=[True, True, False, False],
                         cortical=[True] * 4)
    res = vb.Simulation(conn, vb.models.Generic2dOscillator(),
                        monitors=[Raw(), SpatialAverage(0.1, mask="hemispheres")]).run(
        2.0, progress=False)
    assert list(res.spatial.group.values) == ["left", "right"]
    np.testing.assert_allclose(res.spatial.sel(group="right").values,
                               res.raw.values[:, :, :2].mean(axis=2))
    all_cortical = vb.Simulation(conn, vb.models.Generic2dOscillator(),
                                 monitors=[SpatialAverage(0.1)]).run(2.0, progress=False)
    assert list(all_cortical.spatial.group.values) == ["cortical"]  # TVB: one group


@pytest.mark.parametrize("mask, match", [
    ("hemispheres", "no hemispheres flags"),
    ("lobes", "mask must be 'cortical', 'hemispheres' or one group label per region"),
    (np.zeros(5), r"one group label per region \(96\), but got shape \(5,\)"),
])
def test_mask_errors(conn96, mask, match):
    with pytest.raises(ValueError, match=match):
        g2d(conn96, [SpatialAverage(1.0, mask=mask)]).run(1.0, progress=False)
