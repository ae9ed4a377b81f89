"""Virtual stimulation building blocks: waveforms on the step grid, spatial patterns, controllers."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest

import vbrain as vb
from vbrain.atlas import Atlas
from vbrain.forward.leadfield import LeadField
from vbrain.stimulus import (
    ArrayWaveform,
    ClosedLoop,
    Electrode,
    FieldMap,
    Labels,
    NoiseWaveform,
    PairedPulse,
    PhaseLocked,
    Pulse,
    PulseTrain,
    Ramp,
    RegionWeights,
    Sinusoid,
    SpatialPattern,
    Stimulus,
    ThresholdTrigger,
    Waveform,
)


@pytest.fixture(scope="module")
def conn76():
    return vb.Connectome.load("atlases:default")


@pytest.fixture(scope="module")
def atlas76(conn76):
    return Atlas.load("atlases:default").match(conn76)


def rising_edges(v: np.ndarray) -> np.ndarray:
    """Steps where a non-negative pulse signal switches on."""
    on = v > 0
    return np.nonzero(on & ~np.r_[False, on[:-1]])[0]


# --- pulse trains -----------------------------------------------------------------
@pytest.mark.parametrize("frequency, width, dt, onset, n_pulses", [
    (130.0, 0.1, 0.1, 0.0, 25),      # clinical DBS rate, period not a multiple of dt
    (130.0, 0.2, 0.05, 3.33, 40),
    (20.0, 1.0, 0.1, 12.5, 7),
    (333.0, 0.5, 0.25, 0.0, 13),
    (500.0, 1.0, 1.0, 2.0, 9),       # the Nyquist frequency of dt = 1 ms
])
def test_pulse_train_exact_charge_and_onsets(frequency, width, dt, onset, n_pulses):
    amp = 2.5
    train = PulseTrain(frequency, width, amp, onset=onset, n_pulses=n_pulses)
    n_steps = int((onset + (n_pulses + 3) * 1000 / frequency) / dt)
    v = train.values(np.arange(n_steps), dt)
    assert v.sum() * dt == pytest.approx(amp * width * n_pulses, rel=1e-12)
    expected = [round((onset + k * 1000 / frequency) / dt) for k in range(n_pulses)]
    if round(width / dt) < round(1000 / frequency / dt):  # separate pulses: edges visible
        assert rising_edges(v).tolist() == expected
    assert train.onset_steps(dt, n_steps).tolist() == expected
    assert set(np.unique(v).tolist()) <= {0.0, amp}
    assert np.count_nonzero(v) == n_pulses * round(width / dt)


def test_biphasic_pulses_are_charge_balanced_with_the_leading_phase_first():
    dt, w, gap = 0.1, 0.2, 0.1
    train = PulseTrain(130.0, w, 3.0, onset=1.0, biphasic=True, interphase_gap=gap, stop=200.0)
    v = train.values(np.arange(3000), dt)
    assert abs(v.sum() * dt) < 1e-12
    starts = train.onset_steps(dt, 3000)
    assert len(starts) == math.ceil((200.0 - 1.0) * 130 / 1000)  # pulses starting before stop
    for s in starts:
        np.testing.assert_array_equal(v[s:s + 5], [3.0, 3.0, 0.0, -3.0, -3.0])
        assert v[s - 1] == 0.0 and v[s + 5] == 0.0
    assert v[starts[-1] + 4] == -3.0  # the last pulse is completed, and nothing after it
    assert not v[starts[-1] + 5:].any()
    neg = PulseTrain(130.0, w, -3.0, biphasic=True).values(np.arange(10), dt)
    np.testing.assert_array_equal(neg[:4], [-3.0, -3.0, 3.0, 3.0])  # anodic first


def test_pulse_train_stop_and_n_pulses_end_the_train():
    dt = 0.1
    by_stop = PulseTrain(100.0, 0.3, 1.0, onset=5.0, stop=45.0).values(np.arange(1000), dt)
    assert rising_edges(by_stop).tolist() == [50, 150, 250, 350]
    by_count = PulseTrain(100.0, 0.3, 1.0, onset=5.0, n_pulses=2).values(np.arange(1000), dt)
    assert rising_edges(by_count).tolist() == [50, 150]


def test_values_are_vectorised_in_any_order_and_shape():
    rng = np.random.default_rng(0)
    n = np.arange(5000)
    perm = rng.permutation(n)
    waves = [PulseTrain(130.0, 0.1, 1.0, biphasic=True), Sinusoid(40.0, 1.0, 0.3, onset=2.0),
             Ramp(10.0, 300.0, -1.0, 2.0), PairedPulse(50.0, 20.0, 1.0, 1.0, 2.0),
             NoiseWaveform(1.0, seed=3)]
    for wave in waves:
        full = wave.values(n, 0.1)
        np.testing.assert_array_equal(wave.values(perm, 0.1), full[perm])
        np.testing.assert_array_equal(wave.values(perm.reshape(50, 100), 0.1),
                                      full[perm].reshape(50, 100))
        assert full.dtype == np.float64


# --- single and paired pulses -----------------------------------------------------------
def test_single_and_paired_pulses():
    dt = 0.1
    v = Pulse(time=100.04, width=1.0, amplitude=4.0).values(np.arange(2000), dt)
    assert np.nonzero(v)[0].tolist() == list(range(1000, 1010))
    assert v.sum() * dt == pytest.approx(4.0)
    pp = PairedPulse(time=20.0, interval=3.0, width=0.5, amplitude=1.0, second_amplitude=2.5)
    v = pp.values(np.arange(500), dt)
    assert np.nonzero(v)[0].tolist() == list(range(200, 205)) + list(range(230, 235))
    np.testing.assert_array_equal(v[230:235], 2.5)
    assert PairedPulse(20.0, 3.0, 0.5, 1.5).values(np.arange(500), dt)[230] == 1.5


# --- sinusoid, ramp -------------------------------------------------------------------
def test_sinusoid_is_sampled_exactly_on_its_window():
    dt, f, amp, phase, onset, stop, offset = 0.1, 10.0, 0.7, 0.4, 0.3, 250.0, 0.2
    wave = Sinusoid(f, amp, phase=phase, onset=onset, stop=stop, offset=offset)
    n = np.arange(4000)
    v = wave.values(n, dt)
    t = n * dt
    inside = (n >= 3) & (n < 2500)  # 0.3 ms is step 3 despite 0.3 / 0.1 = 2.9999999999999996
    expect = offset + amp * np.sin(2 * np.pi * f * (t - onset) / 1000 + phase)
    np.testing.assert_array_equal(v[inside], expect[inside])
    assert not v[~inside].any()
    assert v[3] == pytest.approx(offset + amp * np.sin(phase), abs=1e-15)


def test_ramp():
    dt = 0.5
    v = Ramp(start=10.0, stop=20.0, amplitude_start=1.0, amplitude_stop=3.0).values(
        np.arange(60), dt)
    assert np.nonzero(v)[0].tolist() == list(range(20, 40))
    np.testing.assert_allclose(v[20:40], 1.0 + 2.0 * (np.arange(20, 40) * dt - 10.0) / 10.0)


# --- noise ------------------------------------------------------------------------------
def test_noise_is_reproducible_and_independent_of_the_order_of_requests():
    dt = 0.1
    n = np.arange(10_000)
    ref = NoiseWaveform(2.0, seed=7).values(n, dt)
    again = NoiseWaveform(2.0, seed=7)  # a fresh object, asked in another order and chunking
    chunks = [again.values(n[s:s + 777], dt) for s in range(0, n.size, 777)]
    np.testing.assert_array_equal(np.concatenate(chunks), ref)
    idx = np.random.default_rng(1).permutation(n)[:3000]
    np.testing.assert_array_equal(again.values(idx, dt), ref[idx])
    np.testing.assert_array_equal(again.values(n[::-1], dt), ref[::-1])
    other = NoiseWaveform(2.0, seed=8).values(n, dt)
    assert abs(np.corrcoef(ref, other)[0, 1]) < 0.05
    assert abs(ref.mean()) < 0.1 and ref.std() == pytest.approx(2.0, rel=0.03)
    assert abs(np.corrcoef(ref[:-1], ref[1:])[0, 1]) < 0.05  # white
    windowed = NoiseWaveform(2.0, seed=7, onset=100.0, stop=200.0).values(n, dt)
    np.testing.assert_array_equal(windowed[1000:2000], ref[1000:2000])
    assert not windowed[:1000].any() and not windowed[2000:].any()


# --- user arrays ---------------------------------------------------------------------------
def test_array_waveform_sample_and_hold():
    samples = np.array([1.0, -2.0, 3.0, 0.5])
    dt = 0.1
    v = ArrayWaveform(samples, dt_values=0.5).values(np.arange(20), dt)
    np.testing.assert_array_equal(v, np.repeat(samples, 5))
    same = ArrayWaveform(samples, dt_values=0.1).values(np.arange(4), dt)
    np.testing.assert_array_equal(same, samples)
    late = ArrayWaveform(samples, dt_values=0.3, onset=1.0, fill=0.0).values(np.arange(30), dt)
    np.testing.assert_array_equal(late[:10], 0.0)
    np.testing.assert_array_equal(late[10:22], np.repeat(samples, 3))
    np.testing.assert_array_equal(late[22:], 0.0)
    with pytest.raises(ValueError, match=r"covers 0 to 2 ms .*step 20 \(t = 2 ms\).*fill=0.0"):
        ArrayWaveform(samples, dt_values=0.5).values(np.arange(21), dt)
    ArrayWaveform(samples, dt_values=0.5).check(0.1, n_steps=20)  # covered: no error
    with pytest.raises(ValueError, match=r"step 20 \(t = 2 ms\) was asked"):  # before a run
        ArrayWaveform(samples, dt_values=0.5).check(0.1, n_steps=21)
    with pytest.raises(ValueError, match=r"step 20 \(t = 2 ms\) was asked"):  # inside a sum
        (Sinusoid(10.0, 1.0) + ArrayWaveform(samples, dt_values=0.5)).check(0.1, n_steps=21)
    with pytest.raises(ValueError, match="dt_values .*finer than the integration step"):
        ArrayWaveform(samples, dt_values=0.05).values(np.arange(3), dt)
    with pytest.raises(ValueError, match=r"1-D array \(n_samples,\)"):
        ArrayWaveform(np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="values must be finite"):
        ArrayWaveform([1.0, np.nan], 1.0)


# --- algebra -------------------------------------------------------------------------------
def test_scaled_and_summed_waveforms():
    n, dt = np.arange(3000), 0.1
    a, b = Sinusoid(10.0, 1.0), PulseTrain(50.0, 1.0, 2.0)
    np.testing.assert_allclose((2.0 * a + b).values(n, dt), 2 * a.values(n, dt) + b.values(n, dt))
    np.testing.assert_allclose((a * 3 - b / 2).values(n, dt),
                               3 * a.values(n, dt) - b.values(n, dt) / 2)
    np.testing.assert_allclose((-a).values(n, dt), -a.values(n, dt))
    assert isinstance(a + b, Waveform) and isinstance(0.5 * a, Waveform)
    with pytest.raises(ValueError, match="Nyquist"):  # checks reach the parts
        (a + Sinusoid(6000.0, 1.0)).values(n, dt)
    with pytest.raises(TypeError):
        a + 1.0
    assert Sinusoid(10.0, 1.0) == a and Sinusoid(11.0, 1.0) != a


# --- bad specifications ------------------------------------------------------------------
@pytest.mark.parametrize("make, dt, match", [
    (lambda: PulseTrain(130.0, -0.1, 1.0), 0.1, "width must be > 0"),
    (lambda: PulseTrain(130.0, 0.06, 1.0), 0.1, "at least one integration step .*width=0.1"),
    (lambda: PulseTrain(130.0, 0.25, 1.0), 0.1, "whole number of integration steps"),
    (lambda: PulseTrain(6000.0, 0.1, 1.0), 0.1, r"above the Nyquist frequency .*5000 Hz"),
    (lambda: PulseTrain(130.0, 5.0, 1.0, biphasic=True), 0.1, "pulses of this train overlap"),
    (lambda: PulseTrain(130.0, 0.1, np.nan), 0.1, "amplitude must be finite"),
    (lambda: PulseTrain(130.0, 0.1, 1.0, interphase_gap=0.1), 0.1, ("only meaningful with "
                                                                      "biphasic")),
    (lambda: PulseTrain(130.0, 0.1, 1.0, n_pulses=0), 0.1, "n_pulses must be >= 1"),
    (lambda: PulseTrain(130.0, 0.1, 1.0, onset=10.0, stop=5.0), 0.1, "stop must be > 10"),
    (lambda: Pulse(-1.0, 1.0, 1.0), 0.1, "time must be >= 0"),
    (lambda: Pulse(1.0, 0.05, 1.0), 0.1, "at least one integration step"),
    (lambda: PairedPulse(1.0, 0.5, 1.0, 1.0), 0.1, "two pulses overlap"),
    (lambda: Sinusoid(5001.0, 1.0), 0.1, "above the Nyquist frequency"),
    (lambda: Sinusoid(-10.0, 1.0), 0.1, "frequency must be > 0"),
    (lambda: Ramp(5.0, 5.0, 0.0, 1.0), 0.1, "stop must be > 5"),
    (lambda: Ramp(5.01, 5.05, 0.0, 1.0), 0.1, "holds no step"),
    (lambda: NoiseWaveform(-1.0, seed=1), 0.1, "std must be >= 0"),
])
def test_bad_waveforms_raise_clear_errors(make, dt, match):
    with pytest.raises(ValueError, match=match):
        make().values(np.arange(10), dt)


def test_bad_steps_and_seeds():
    wave = Sinusoid(10.0, 1.0)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        wave.values(np.array([-1, 0]), 0.1)
    with pytest.raises(TypeError, match="integer step indices"):
        wave.values(np.array([0.5]), 0.1)
    with pytest.raises(ValueError, match="dt must be > 0"):
        wave.values(np.arange(3), 0.0)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        NoiseWaveform(1.0, seed=None)
    wave.check(0.1)  # a valid waveform passes its check
    with pytest.raises(ValueError, match="Nyquist"):
        Sinusoid(600.0, 1.0).check(1.0)


# --- spatial patterns -----------------------------------------------------------------------
def test_labels_and_region_weights(conn76):
    w = Labels(["rM1", "lM1"], weight=[2.0, 0.5]).weights(conn76)
    labels = list(conn76.labels)
    assert w[labels.index("rM1")] == 2.0 and w[labels.index("lM1")] == 0.5
    assert np.count_nonzero(w) == 2
    assert Labels("rV1").weights(conn76).sum() == 1.0
    with pytest.raises(ValueError, match=r"'rM11'.*Did you mean 'rM1'\?"):
        Labels(["rM11"]).weights(conn76)
    with pytest.raises(ValueError, match="unique"):
        Labels(["rM1", "rM1"])
    with pytest.raises(ValueError, match=r"one value per label \(2,\)"):
        Labels(["rM1", "lM1"], weight=[1.0, 2.0, 3.0])
    arr = np.linspace(0, 1, 76)
    np.testing.assert_array_equal(RegionWeights(arr).weights(conn76), arr)
    d = RegionWeights({"rV1": 0.3, "lV1": -0.3}).weights(conn76)
    assert d[labels.index("rV1")] == 0.3 and d[labels.index("lV1")] == -0.3 and d.sum() == 0
    with pytest.raises(ValueError, match=r"shape \(76,\).*got \(75,\)"):
        RegionWeights(arr[:75]).weights(conn76)
    with pytest.raises(ValueError, match="must be finite"):
        RegionWeights(np.r_[arr[:75], np.nan])
    with pytest.raises(ValueError, match="Did you mean 'lV1'"):
        RegionWeights({"lV11": 1.0}).weights(conn76)
    with pytest.raises(ValueError, match=r"1-D array \(n_regions,\)"):
        RegionWeights(np.ones((76, 2)))


def _parcel_image(atlas, values, background=0.0):
    """A map on the atlas grid whose voxels in parcel i hold values[i]."""
    idx = atlas.region_indices()
    data = np.where(idx >= 0, np.asarray(values)[np.maximum(idx, 0)], background)
    return nib.Nifti1Image(data.astype(np.float32), atlas.affine)


def test_field_map_averages_each_parcel(conn76, atlas76, tmp_path):
    known = np.arange(1.0, 77.0) * 0.01  # V/m, parcel i holds 0.01 (i + 1)
    img = _parcel_image(atlas76, known, background=9.0)  # the background must not count
    w = FieldMap(img, atlas76).weights(conn76)
    np.testing.assert_allclose(w, known, rtol=1e-6)
    path = tmp_path / "magnE.nii.gz"
    img.to_filename(path)
    np.testing.assert_allclose(FieldMap(path, "atlases:default").weights(conn76), known, rtol=1e-6)
    norm = FieldMap(img, atlas76, normalize="max").weights(conn76)
    np.testing.assert_allclose(norm, known / known.max(), rtol=1e-6)
    # voxel-wise variation: mean, median and max against a direct computation
    rng = np.random.default_rng(0)
    idx = atlas76.region_indices()
    data = rng.gamma(2.0, 0.1, size=idx.shape)
    img = nib.Nifti1Image(data, atlas76.affine)
    for stat, fn in (("mean", np.mean), ("median", np.median), ("max", np.max)):
        expect = [fn(data[idx == i]) for i in range(76)]
        np.testing.assert_allclose(FieldMap(img, atlas76, stat).weights(conn76), expect,
                                   rtol=1e-12)
    # a vector field (x, y, z, 3): its magnitude
    vec = np.stack([data * 0.6, data * 0.8, np.zeros_like(data)], axis=-1)
    np.testing.assert_allclose(FieldMap(nib.Nifti1Image(vec, atlas76.affine), atlas76)
                               .weights(conn76), [np.mean(data[idx == i]) for i in range(76)],
                               rtol=1e-12)


def test_field_map_on_another_grid_of_the_same_space_is_resampled(conn76, atlas76):
    # a linear field, x (mm), on a coarser 4 mm grid covering the atlas: linear resampling is
    # exact, so each parcel's mean is the x of its centre of mass
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-100.0, -136.0, -76.0]
    shape = (52, 60, 49)
    ijk = np.indices(shape).reshape(3, -1).T
    x = (ijk @ affine[:3, :3].T + affine[:3, 3])[:, 0].reshape(shape)
    w = FieldMap(nib.Nifti1Image(x, affine), atlas76).weights(conn76)
    np.testing.assert_allclose(w, atlas76.region_centres()[:, 0], atol=1e-6)


def test_field_map_errors(conn76, atlas76):
    known = np.arange(1.0, 77.0)
    img = _parcel_image(atlas76, known)
    moved = np.array(atlas76.affine)
    moved[:3, 3] += 500.0  # no overlap with the atlas: another space
    with pytest.raises(ValueError, match="another space"):
        FieldMap(nib.Nifti1Image(np.asarray(img.dataobj), moved), atlas76).weights(conn76)
    half = np.array(atlas76.affine)
    half[0, 3] += 90.0  # shifted by half a brain: many parcels outside the field of view
    with pytest.raises(ValueError, match=r"covers less than half of \d+ .*another space"):
        FieldMap(nib.Nifti1Image(np.asarray(img.dataobj)[:50], half), atlas76).weights(conn76)
    zero = nib.Nifti1Image(np.zeros(atlas76.shape), atlas76.affine)
    with pytest.raises(ValueError, match="zero over every atlas parcel"):
        FieldMap(zero, atlas76).weights(conn76)
    nan = np.asarray(img.dataobj).copy()
    nan[atlas76.region_indices() == 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FieldMap(nib.Nifti1Image(nan, atlas76.affine), atlas76).weights(conn76)
    with pytest.raises(ValueError, match=r"3-D .*or a 3-component vector field"):
        FieldMap(nib.Nifti1Image(np.zeros(atlas76.shape + (2,)), atlas76.affine),
                 atlas76).weights(conn76)
    with pytest.raises(ValueError, match="statistic must be one of"):
        FieldMap(img, atlas76, statistic="mode")
    with pytest.raises(FileNotFoundError, match="No field map"):
        FieldMap("/nonexistent/magnE.nii.gz", atlas76).weights(conn76)


def test_electrode_weights_are_the_point_source_lead_field():
    # two regions with known centres (mm) and orientations; the electrode between them
    centres = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 0.0], [0.0, 40.0, 0.0]])
    orient = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    conn = vb.Connectome(np.zeros((3, 3)), np.ones((3, 3)), ["a", "b", "c"], centres,
                         orientations=orient)
    e = np.array([10.0, 0.0, 0.0])
    w = Electrode(e).weights(conn)
    sigma = 0.33
    d = (e - centres) * 1e-3  # m
    expect = np.sum(orient * d, axis=1) / (4 * np.pi * sigma * np.linalg.norm(d, axis=1) ** 3)
    # (LeadField.seeg places contacts and dipoles through MNE's fsaverage head<->MRI transform,
    # stored in float32: relative positions survive to ~1e-7)
    tol = {"rtol": 1e-5, "atol": 1e-5 * np.abs(expect).max()}
    np.testing.assert_allclose(w, expect, **tol)
    assert w[0] > 0 > w[1] and abs(w[2]) < 1e-6 * abs(w[0])  # facing / away / orthogonal
    np.testing.assert_allclose(Electrode(e, sigma=0.66).weights(conn), expect / 2, **tol)
    np.testing.assert_allclose(Electrode(e, normalize="max").weights(conn),
                               expect / np.abs(expect).max(), rtol=1e-5, atol=1e-5)
    lf = LeadField.seeg(conn, [[10.0, 0.0, 0.0], [0.0, 0.0, 25.0]], names=["stim1", "stim2"])
    np.testing.assert_allclose(Electrode("stim2", leadfield=lf).weights(conn), lf.gain[1])
    with pytest.raises(ValueError, match="no channel 'stim3'.*Did you mean"):
        Electrode("stim3", leadfield=lf)
    with pytest.raises(TypeError, match="needs leadfield="):
        Electrode("E1")
    with pytest.raises(ValueError, match=r"position_mm must have shape \(3\)"):
        Electrode([1.0, 2.0])
    with pytest.raises(ValueError, match="coincides"):
        Electrode([30.0, 0.0, 0.0]).weights(conn)


def test_custom_pattern_is_checked(conn76):
    class Bad(SpatialPattern):
        def _weights(self, connectome):
            return np.ones(3)

    with pytest.raises(ValueError, match=r"shape \(3,\).*76 regions"):
        Bad().weights(conn76)


# --- stimulus ----------------------------------------------------------------------------------
def test_stimulus_variable_and_weights(conn76):
    wave = PulseTrain(130.0, 0.1, 1.0)
    s = Stimulus(wave, Labels("rM1"))
    # by default TVB's stvar: the coupling variables, unless the model names others
    assert s.variable_indices(vb.models.JansenRit()) == (1, 2)  # y1, y2
    assert s.variable_indices(vb.models.Generic2dOscillator) == (0,)
    assert s.variable_indices(vb.models.MontbrioPazoRoxin) == (1,)  # V, not r
    assert s.variable_indices(vb.models.Epileptor) == (0, 3)  # x1, x2
    assert Stimulus(wave, Labels("rM1"), variable="y4").variable_indices(vb.models.JansenRit()) == (4,)
    both = Stimulus(wave, Labels("rM1"), variable=["y4", "y0"])
    assert both.variable_indices(vb.models.JansenRit) == (4, 0)
    with pytest.raises(ValueError, match=r"'y44'.*Did you mean .*State variables: \['y0'"):
        Stimulus(wave, Labels("rM1"), variable="y44").variable_indices(vb.models.JansenRit())
    with pytest.raises(TypeError, match="non-empty sequence of names"):
        Stimulus(wave, Labels("rM1"), variable=[])
    assert s.weights(conn76).sum() == 1.0
    with pytest.raises(TypeError, match="RegionWeights"):
        Stimulus(wave, np.ones(76))
    with pytest.raises(TypeError, match="waveform must be Waveform"):
        Stimulus(np.ones(10), Labels("rM1"))


def test_closed_loop_gain_is_checked():
    stim = Stimulus(Ramp(0.0, 1000.0, 1.0, 1.0), Labels("rM1"))
    loop = ClosedLoop(stim, lambda t, times, x: 0.5, interval=5.0, monitor="raw")
    times, x = np.arange(5.0), np.zeros((5, 1, 3))
    np.testing.assert_array_equal(loop.gain(5.0, times, x, 3), [0.5, 0.5, 0.5])
    assert loop.interval_steps(0.1) == 50
    with pytest.raises(ValueError, match="whole number of integration steps"):
        loop.interval_steps(0.3)
    per_region = ClosedLoop(stim, lambda t, times, x: np.arange(3.0), 5.0, "raw")
    np.testing.assert_array_equal(per_region.gain(5.0, times, x, 3), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(3,\), but returned shape \(2,\)"):
        ClosedLoop(stim, lambda t, times, x: [1.0, 2.0], 5.0, "raw").gain(5.0, times, x, 3)
    with pytest.raises(ValueError, match="non-finite gain"):
        ClosedLoop(stim, lambda t, times, x: np.nan, 5.0, "raw").gain(5.0, times, x, 3)
    with pytest.raises(TypeError, match="controller must be callable"):
        ClosedLoop(stim, 1.0, 5.0, "raw")
    with pytest.raises(ValueError, match="interval must be > 0"):
        ClosedLoop(stim, lambda t, times, x: 1.0, 0.0, "raw")
    pl = PhaseLocked(10.0, region=0)
    ClosedLoop(stim, pl, 2.0, "raw")
    assert pl.interval == 2.0
    with pytest.raises(ValueError, match="interval=3 ms, but the ClosedLoop's interval is 2"):
        ClosedLoop(stim, PhaseLocked(10.0, region=0, interval=3.0), 2.0, "raw")


# --- controllers on synthetic signals -------------------------------------------------------------
def _feed(controller, signal, fs=1000.0, interval=10.0, n_space=3, where=1):
    """Call the controller every ``interval`` ms with the samples of the last interval."""
    period = 1000.0 / fs
    per_call = round(interval / period)
    t_all = (np.arange(signal.size) + 1) * period
    gains, times = [], []
    for start in range(0, signal.size - per_call + 1, per_call):
        sl = slice(start, start + per_call)
        samples = np.zeros((per_call, 2, n_space))
        samples[:, 0, where] = signal[sl]
        samples[:, 1, where] = 100.0  # another variable: must be ignored
        t_now = t_all[sl][-1]
        gains.append(controller(t_now, t_all[sl], samples))
        times.append(t_now)
    return np.array(times), np.array(gains)


def test_threshold_trigger_switches_on_only_above_threshold():
    fs = 1000.0
    t = np.arange(3000) / fs * 1000.0  # ms
    beta = np.sin(2 * np.pi * 20.0 * t / 1000.0)
    amp = np.where((t >= 1000) & (t < 2000), 1.0, 0.1)
    slow = 1.0 * np.sin(2 * np.pi * 4.0 * t / 1000.0)  # strong, but outside the band
    trig = ThresholdTrigger(threshold=0.1, band=(13.0, 30.0), region=1, window=200.0)
    times, gains = _feed(trig, amp * beta + slow)
    assert set(gains.tolist()) == {0.0, 1.0}
    assert not gains[times < 200].any()  # until a full window has been seen
    on = times[gains == 1.0]
    assert on.min() > 1000 and on.min() <= 1000 + 200  # switches on within a window
    assert on.max() < 2000 + 200  # and off within a window of the end
    assert gains[(times >= 1200) & (times <= 2000)].all()
    assert not gains[(times < 1000) | (times >= 2200)].any()
    powers = np.array([p for _, p, _ in trig.log_])
    strong = powers[(times >= 1300) & (times <= 1900)]
    np.testing.assert_allclose(strong, 0.5, rtol=0.15)  # A**2 / 2 for A = 1
    # deterministic: a reset controller gives the same decisions
    trig.reset()
    np.testing.assert_array_equal(_feed(trig, amp * beta + slow)[1], gains)
    with pytest.raises(ValueError, match="call reset"):
        _feed(trig, beta)


def test_threshold_trigger_errors():
    with pytest.raises(TypeError, match="exactly one of region= .* or channel="):
        ThresholdTrigger(1.0)
    with pytest.raises(ValueError, match="band must be"):
        ThresholdTrigger(1.0, band=(30.0, 13.0), region=0)
    trig = ThresholdTrigger(1.0, band=(13.0, 600.0), channel=0, window=50.0)
    with pytest.raises(ValueError, match="Nyquist frequency of the monitor"):
        _feed(trig, np.zeros(200), where=0)
    with pytest.raises(ValueError, match=r"samples \(n, variable, space\) or \(n, space\)"):
        ThresholdTrigger(1.0, region=0)(10.0, np.arange(3.0), np.zeros((3, 2, 1, 1)))
    with pytest.raises(ValueError, match="out of range"):
        ThresholdTrigger(1.0, region=4)(10.0, np.arange(3.0), np.zeros((3, 2)))


def test_controllers_take_sensor_samples_and_empty_intervals():
    """Sensor monitors give (n, sensor); an interval may bring no samples (None)."""
    fs = 250.0
    t = (np.arange(1000) + 1) / fs * 1000.0
    x = np.sin(2 * np.pi * 20.0 * t / 1000.0)
    trig = ThresholdTrigger(0.1, channel=2, window=200.0)
    gains = []
    for k in range(0, 1000, 5):  # 20 ms intervals; every other one brings nothing
        sensors = np.zeros((5, 4))
        sensors[:, 2] = x[k:k + 5]
        gains.append(trig(t[k + 4], t[k:k + 5], sensors))
        gains.append(trig(t[k + 4] + 10.0, np.empty(0), None))
    assert not any(gains[:18]) and all(gains[20:])  # on once 200 ms (50 samples) are in
    assert trig.log_[-1][1] == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize("target, frequency, spec", [
    (0.0, 10.0, 10.0), (np.pi / 2, 10.0, 10.0), (np.pi, 10.0, 10.0), (-np.pi / 2, 10.0, 10.0),
    (2.0, 10.0, 10.0),
    (0.0, 10.37, (8.0, 12.0)), (-np.pi / 2, 10.37, (8.0, 12.0)),  # frequency found in a band
])
def test_phase_locked_stimulates_at_the_target_phase(target, frequency, spec):
    fs, interval = 1000.0, 2.0
    t = (np.arange(2500) + 1) / fs * 1000.0
    rng = np.random.default_rng(5)
    theta = 2 * np.pi * frequency * t / 1000.0 + 0.8
    signal = 1.5 * np.cos(theta) + 0.05 * rng.standard_normal(t.size) + 0.3
    ctrl = PhaseLocked(spec, target_phase=target, region=1, interval=interval)
    times, gains = _feed(ctrl, signal, interval=interval)
    omega = 2 * np.pi * frequency / 1000.0
    on = times[gains == 1.0]
    settled = times > ctrl.window
    # one burst per cycle
    n_cycles = frequency * (times[-1] - ctrl.window) / 1000.0
    assert abs(np.count_nonzero(gains[settled]) - n_cycles) <= 2
    # each burst [t, t + interval) contains the target phase (within 0.1 rad)
    phase_at = 2 * np.pi * frequency * on / 1000.0 + 0.8
    ahead = np.angle(np.exp(1j * (target - phase_at)))  # target minus the true phase at t
    assert np.all(ahead > -0.1) and np.all(ahead < omega * interval + 0.1)
    # deterministic
    ctrl.reset()
    np.testing.assert_array_equal(_feed(ctrl, signal, interval=interval)[1], gains)


def test_phase_locked_needs_an_oscillation_and_an_interval():
    ctrl = PhaseLocked(10.0, region=0, min_amplitude=0.5, interval=2.0)
    _, gains = _feed(ctrl, 0.01 * np.cos(2 * np.pi * 10.0 * np.arange(2000) / 1000.0), where=0,
                     interval=2.0)
    assert not gains.any()
    with pytest.raises(ValueError, match="needs the control interval"):
        _feed(PhaseLocked(10.0, region=0), np.zeros(500), where=0)
    with pytest.raises(ValueError, match="frequency must be > 0"):
        PhaseLocked(-1.0, region=0)
