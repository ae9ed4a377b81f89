"""Sensor monitors (EEG/MEG/SEEG) and their MNE output (RawArray, FIF/EDF/BrainVision)."""

from __future__ import annotations

import sys

import mne
import numpy as np
import pytest
import xarray as xr

import vbrain as vb
from vbrain.forward.leadfield import LeadField
from vbrain.forward.sensors import sampling_from_times, save_raw, to_raw
from vbrain.monitors import EEG, MEG, SEEG, RunInfo, TemporalAverage

HAS_CANONICAL_MEG = hasattr(mne.channels, "read_meg_canonical_info")


@pytest.fixture(scope="module")
def conn():
    """Ten regions of the default (TVB) connectome, both hemispheres."""
    return vb.Connectome.load("atlases:default").subset(list(range(0, 76, 8)))


@pytest.fixture(scope="module")
def lf(conn):
    return LeadField.sphere(conn, "biosemi32")


def _sim(conn, monitors, **kw):
    kw.setdefault("seed", 3)
    return vb.Simulation(conn, vb.models.JansenRit(), vb.coupling.SigmoidalJansenRit(),
                         dt=0.1, monitors=monitors, **kw)


# -- the monitor ------------------------------------------------------------------
def test_eeg_is_gain_times_the_averaged_signal(conn, lf):
    res = _sim(conn, [TemporalAverage(2.0, variables=("y1", "y2")), EEG(lf, period=2.0)]).run(
        400, progress=False)
    eeg, tavg = res["eeg"], res["tavg"]
    assert eeg.dims == ("time", "sensor") and eeg.shape == (200, 32)
    np.testing.assert_array_equal(eeg["time"], tavg["time"])  # window centres: 1, 3, 5 ms
    assert float(eeg["time"][0]) == pytest.approx(1.0)
    signal = tavg.sel(variable="y1").values - tavg.sel(variable="y2").values  # (time, region)
    expected = signal @ lf.effective_gain().T
    np.testing.assert_allclose(eeg.values, expected, rtol=1e-10,
                               atol=1e-10 * np.abs(expected).max())
    assert eeg.attrs["units"] == "V" and eeg.attrs["signal"] == "y1 - y2"
    assert eeg.attrs["long_name"] == "EEG" and eeg.attrs["period_ms"] == 2.0
    assert list(eeg["sensor"].values) == lf.ch_names
    assert list(eeg["ch_type"].values) == ["eeg"] * 32


def test_one_active_region_gives_its_lead_field_column(conn, lf):
    k = 4
    scale = np.zeros(conn.n_regions)
    scale[k] = 2e-9  # only region k produces a dipole moment, 2 nA·m per mV
    one = lf.with_scale(scale)
    res = _sim(conn, [TemporalAverage(1.0, variables=("y1", "y2")), EEG(one)]).run(
        300, progress=False)
    s_k = (res["tavg"].sel(variable="y1") - res["tavg"].sel(variable="y2")).values[:, k]
    expected = np.outer(s_k, lf.gain[:, k] * 2e-9)
    assert np.abs(expected).max() > 1e-7  # a real signal (volts)
    np.testing.assert_allclose(res["eeg"].values, expected, rtol=1e-10,
                               atol=1e-12 * np.abs(expected).max())


def test_monitor_on_a_synthetic_trace_and_checkpoint():
    rng = np.random.default_rng(0)
    n_steps, n_state, n_reg, nb = 47, 3, 4, 2
    trace = rng.normal(size=(n_steps, n_state, n_reg, nb))
    info = mne.create_info(["a", "b", "c"], 1000.0, "eeg")
    gain = rng.normal(size=(3, n_reg))
    lf = LeadField.from_gain(gain, info, scale=0.5)
    run = RunInfo(0.1, ("u", "v", "w"), ("1", "1", "1"), None, tuple("pqrs"), nb)
    mon = EEG(lf, period=0.5, signal={"u": 2.0, "w": -1.0})
    mon.setup(run)
    times, out = mon.consume(trace, 0)
    m = 5
    sig = 2.0 * trace[:, 0] - trace[:, 2]  # (steps, region, batch)
    means = sig[: (n_steps // m) * m].reshape(-1, m, n_reg, nb).mean(axis=1)
    expected = np.einsum("cr,trb->tcb", 0.5 * gain, means)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(times, (np.arange(1, 10) * m - m / 2) * 0.1)
    assert mon.attrs()["signal"] == "2*u - w"
    # checkpoint mid-window, restore into a fresh monitor, continue: same samples
    a = EEG(lf, period=0.5, signal={"u": 2.0, "w": -1.0})
    a.setup(run)
    t1, o1 = a.consume(trace[:23], 0)
    state = a.get_state()
    b = EEG(lf, period=0.5, signal={"u": 2.0, "w": -1.0})
    b.setup(run)
    b.set_state(state)
    t2, o2 = b.consume(trace[23:], 23)
    np.testing.assert_array_equal(np.concatenate([o1, o2]), out)
    np.testing.assert_array_equal(np.concatenate([t1, t2]), times)


def test_chunk_invariance_bit_identical(conn, lf):
    noise = vb.noise.Additive(np.array([0, 0, 0, 0, 1e-3, 0]))
    ref = _sim(conn, [EEG(lf, period=1.0)], noise=noise).run(250, progress=False)["eeg"].values
    for chunk in (1, 7, 333):
        out = _sim(conn, [EEG(lf, period=1.0)], noise=noise).run(
            250, chunk_steps=chunk, progress=False)["eeg"].values
        assert np.array_equal(out, ref), chunk


def test_windows_summed_by_the_loop_equal_every_state(conn, lf, monkeypatch):
    """EEG + a 1 ms average share the window: the loop sums it (consume_sums); with a
    Raw monitor beside them the EEG sums every state itself (consume). Same bits
    (JansenRit's two-variable signal y1 - y2, noise on)."""
    calls = []
    for name in ("consume", "consume_sums"):
        original = getattr(EEG, name)
        monkeypatch.setattr(EEG, name, lambda self, *a, _f=original, _n=name:
                            calls.append(_n) or _f(self, *a))
    noise = vb.noise.Additive(np.array([0, 0, 0, 0, 1e-3, 0]))
    summed = _sim(conn, [EEG(lf, period=1.0), TemporalAverage(1.0)], noise=noise)
    a = summed.run(120, progress=False)["eeg"].values
    assert set(calls) == {"consume_sums"}
    calls.clear()
    every = _sim(conn, [EEG(lf, period=1.0), vb.monitors.Raw()], noise=noise)
    b = every.run(120, progress=False)["eeg"].values
    assert set(calls) == {"consume"}
    assert a.shape == (120, 32)
    assert np.array_equal(a, b)


def test_batch_members_equal_their_single_runs(conn, lf):
    values = [0.0, 0.05, 0.2]
    sim = _sim(conn, [EEG(lf, period=1.0)])
    swept = sim.sweep(200, coupling__a=values, progress=False)["eeg"]
    assert swept.dims == ("time", "sensor", "batch")
    for i, a in enumerate(values):
        single = _sim(conn, [EEG(lf, period=1.0)])
        single.set_params(coupling__a=a)
        out = single.run(200, progress=False)["eeg"]
        assert np.array_equal(swept.isel(batch=i).values, out.values), a


def test_default_signals_and_result_file(conn, lf, tmp_path):
    # JansenRit declares eeg_signal y1 - y2; Epileptor x2 - x1; others: first variable of interest
    assert vb.models.JansenRit.eeg_signal == {"y1": 1.0, "y2": -1.0}
    assert vb.models.Epileptor.eeg_signal == {"x2": 1.0, "x1": -1.0}
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), dt=0.1, seed=1,
                        monitors=[EEG(lf, period=1.0), TemporalAverage(1.0)])
    res = sim.run(50, progress=False, out=tmp_path / "run.nc")
    assert res["eeg"].attrs["signal"] == "V"
    np.testing.assert_allclose(res["eeg"].values,
                               res["tavg"].sel(variable="V").values @ lf.effective_gain().T,
                               rtol=1e-10, atol=1e-10 * float(np.abs(res["eeg"]).max()))
    back = vb.Result.load(tmp_path / "run.nc")
    np.testing.assert_array_equal(back["eeg"].values, res["eeg"].values)
    assert list(back["eeg"]["ch_type"].values) == ["eeg"] * 32
    assert back["eeg"].attrs["units"] == "V"


@pytest.mark.skipif(not HAS_CANONICAL_MEG, reason="MNE < 1.12 ships no canonical MEG info")
def test_meg_and_seeg_monitors(conn):
    meg = LeadField.sphere(conn, "biosemi32", meg="ctf151")
    contacts = conn.centres[:3] + [[0.0, 0.0, 4.0]]
    seeg = LeadField.seeg(conn, contacts, ["A1", "A2", "A3"])
    res = _sim(conn, [MEG(meg), SEEG(seeg)]).run(20, progress=False)
    assert res["meg"].shape == (20, 151) and res["meg"].attrs["units"] == "T"
    assert res["seeg"].shape == (20, 3) and res["seeg"].attrs["units"] == "V"
    assert list(res["seeg"]["ch_type"].values) == ["seeg"] * 3
    assert res["meg"].attrs["long_name"] == "MEG"


def test_monitor_errors(conn, lf):
    info = mne.create_info(["m"], 1000.0, "mag")
    meg = LeadField.from_gain(np.ones((1, conn.n_regions)), info)
    with pytest.raises(ValueError, match=r"needs a 'eeg' lead field.*vbrain.monitors.MEG"):
        _sim(conn, [EEG(meg)]).run(1, progress=False)
    with pytest.raises(ValueError, match=r"needs a 'meg' lead field"):
        _sim(conn, [MEG(lf)]).run(1, progress=False)
    small = LeadField.from_gain(np.ones((1, 3)), mne.create_info(["e"], 1000.0, "eeg"))
    with pytest.raises(ValueError, match="lead field has 3 regions but the connectome has 10"):
        _sim(conn, [EEG(small)]).run(1, progress=False)
    labels = list(conn.labels)
    labels[0], labels[1] = labels[1], labels[0]
    swapped = LeadField.from_gain(lf.gain, lf.info, region_labels=labels)
    with pytest.raises(ValueError, match="regions differ from the connectome's: region 0"):
        _sim(conn, [EEG(swapped)]).run(1, progress=False)
    with pytest.raises(ValueError, match="unknown signal variable 'y11'. Did you mean 'y1'"):
        _sim(conn, [EEG(lf, signal="y11")]).run(1, progress=False)
    with pytest.raises(TypeError, match="signal must be a state variable name"):
        _sim(conn, [EEG(lf, signal=["y1"])]).run(1, progress=False)
    with pytest.raises(ValueError, match="multiple of dt"):
        _sim(conn, [EEG(lf, period=0.25)]).run(1, progress=False)
    with pytest.raises(TypeError, match="leadfield must be LeadField"):
        _sim(conn, [EEG(lf.gain)]).run(1, progress=False)


# -- MNE output -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def eeg_da(conn, lf):
    return _sim(conn, [EEG(lf, period=2.0)]).run(2000, progress=False)["eeg"]


def test_sampling_from_times():
    assert sampling_from_times([0.5, 1.5, 2.5]) == (1000.0, 0, 0.5)  # window centres
    sf, first, off = sampling_from_times(np.arange(10.0, 20.0, 2.0))  # on the grid
    assert (sf, first, off) == (500.0, 5, 0.0)
    assert sampling_from_times([7.0], period_ms=4.0) == (250.0, 1, 3.0)
    with pytest.raises(ValueError, match="single sample"):
        sampling_from_times([1.0])
    with pytest.raises(ValueError, match="not evenly spaced"):
        sampling_from_times([0.0, 1.0, 2.5])
    with pytest.raises(ValueError, match="disagrees"):
        sampling_from_times([0.0, 1.0], period_ms=2.0)


def test_to_raw_channels_montage_sampling(eeg_da, lf):
    raw = to_raw(eeg_da, lf)
    assert raw.ch_names == lf.ch_names and raw.get_channel_types() == ["eeg"] * 32
    assert raw.info["sfreq"] == 500.0  # period 2 ms
    # samples are window means stamped at 1, 3, 5 ... ms: raw sample n covers [2n, 2n + 2) ms
    assert raw.first_samp == 0 and raw.n_times == 1000
    assert "first sample at t = 1 ms" in raw.info["description"]
    np.testing.assert_array_equal(raw.get_data(), eeg_da.values.T)
    ours = raw.get_montage().get_positions()["ch_pos"]
    theirs = lf.info.get_montage().get_positions()["ch_pos"]
    for name in ("Fp1", "Cz", "O2"):
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-12)
    # a later segment keeps its place on MNE's time axis
    late = to_raw(eeg_da.isel(time=slice(250, None)), lf)
    assert late.first_samp == 250 and late.first_time == pytest.approx(0.5)
    # channels in another order and a subset are matched by name
    part = to_raw(eeg_da.isel(sensor=[3, 1]), lf.info)
    assert part.ch_names == [lf.ch_names[3], lf.ch_names[1]]


def test_to_raw_reference_and_noise(eeg_da, lf):
    raw = to_raw(eeg_da, lf, average_reference=True)
    data = raw.get_data()
    assert np.abs(data.mean(axis=0)).max() < 1e-12 * np.abs(data).max()
    np.testing.assert_allclose(data, eeg_da.values.T - eeg_da.values.T.mean(axis=0), rtol=1e-12,
                               atol=1e-15)
    a = to_raw(eeg_da, lf, noise_std=1e-6, seed=5).get_data()
    b = to_raw(eeg_da, lf, noise_std=1e-6, seed=5).get_data()
    c = to_raw(eeg_da, lf, noise_std=1e-6, seed=6).get_data()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    resid = a - eeg_da.values.T
    assert np.std(resid) == pytest.approx(1e-6, rel=0.02)
    per = to_raw(eeg_da, lf, noise_std={"eeg": 2e-6}, seed=5).get_data() - eeg_da.values.T
    np.testing.assert_allclose(per, 2 * resid, rtol=1e-9, atol=1e-20)
    levels = np.zeros(32)
    levels[0] = 1e-6
    one = to_raw(eeg_da, lf, noise_std=levels, seed=5).get_data() - eeg_da.values.T
    assert np.all(one[1:] == 0) and np.std(one[0]) > 0
    with pytest.raises(ValueError, match="finite and >= 0"):
        to_raw(eeg_da, lf, noise_std=-1.0)
    with pytest.raises(ValueError, match="one value per sensor"):
        to_raw(eeg_da, lf, noise_std=np.ones(3))
    with pytest.raises(ValueError, match=r"absent from the data"):
        to_raw(eeg_da, lf, noise_std={"mag": 1e-12})


def test_to_raw_errors(eeg_da, lf, conn):
    with pytest.raises(ValueError, match=r"batch axis .* da.isel\(batch=i\)"):
        to_raw(eeg_da.expand_dims(batch=2), lf)
    with pytest.raises(ValueError, match=r"dims \('time', 'sensor'\)"):
        to_raw(eeg_da.rename(sensor="channel"), lf)
    renamed = eeg_da.assign_coords(sensor=["Cz3"] + list(eeg_da["sensor"].values[1:]))
    with pytest.raises(ValueError, match="Sensor 'Cz3' of da is not a channel.*Did you mean 'Cz'"):
        to_raw(renamed, lf)
    with pytest.raises(ValueError, match="expects SI values"):
        to_raw(eeg_da.assign_attrs(units="µV"), lf)
    uneven = eeg_da.isel(time=[0, 1, 3])
    with pytest.raises(ValueError, match="not evenly spaced"):
        to_raw(uneven, lf)
    with pytest.raises(TypeError, match="da must be DataArray"):
        to_raw(eeg_da.values, lf)


@pytest.mark.skipif(not HAS_CANONICAL_MEG, reason="MNE < 1.12 ships no canonical MEG info")
def test_to_raw_meg_keeps_coils(conn):
    meg = LeadField.sphere(conn, "biosemi32", meg="neuromag")
    da = _sim(conn, [MEG(meg)]).run(10, progress=False)["meg"]
    assert set(da.attrs["units"].split(", ")) == {"T", "T/m"}
    raw = to_raw(da, meg)
    assert raw.get_channel_types() == meg.ch_types
    assert [c["coil_type"] for c in raw.info["chs"]] == [c["coil_type"] for c in meg.info["chs"]]
    np.testing.assert_array_equal(raw.info["dev_head_t"]["trans"], meg.info["dev_head_t"]["trans"])
    np.testing.assert_array_equal(raw.info["chs"][5]["loc"], meg.info["chs"][5]["loc"])


def _round_trip(raw, path):
    out = save_raw(raw, path)
    return mne.io.read_raw(out, preload=True, verbose=False)


def test_fif_round_trip(eeg_da, lf, tmp_path):
    raw = to_raw(eeg_da.isel(time=slice(250, None)), lf, noise_std=1e-7, seed=0)
    back = _round_trip(raw, tmp_path / "sim_raw.fif")
    x, y = raw.get_data(), back.get_data()
    assert np.abs(x - y).max() <= 1e-6 * np.abs(x).max()  # FIF stores float32
    assert back.ch_names == raw.ch_names and back.info["sfreq"] == raw.info["sfreq"]
    assert back.first_samp == raw.first_samp == 250
    assert back.get_channel_types() == raw.get_channel_types()
    np.testing.assert_allclose(back.get_montage().get_positions()["ch_pos"]["Cz"],
                               raw.get_montage().get_positions()["ch_pos"]["Cz"], atol=1e-7)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_raw(raw, tmp_path / "sim_raw.fif")
    save_raw(raw, tmp_path / "sim_raw.fif", overwrite=True)


def test_edf_and_brainvision_round_trips(eeg_da, lf, tmp_path):
    raw = to_raw(eeg_da, lf, noise_std=1e-7, seed=0)  # 2 s: whole EDF records
    x = raw.get_data()
    done = 0
    if _has("edfio"):
        for ext, bits in ((".edf", 16), (".bdf", 24)):
            y = _round_trip(raw, tmp_path / f"sim{ext}").get_data()
            step = np.ptp(x) / (2 ** bits - 1)  # one digital step over the physical range
            assert y.shape == x.shape and np.abs(x - y).max() <= 1.01 * step
            done += 1
    if _has("pybv"):
        back = _round_trip(raw, tmp_path / "sim.vhdr")
        assert back.ch_names == raw.ch_names and back.info["sfreq"] == 500.0
        assert np.abs(back.get_data() - x).max() <= 1e-6 * np.abs(x).max()  # float32
        done += 1
    if not done:
        pytest.skip("neither edfio nor pybv is installed")


def test_save_raw_errors(eeg_da, lf, tmp_path, monkeypatch):
    raw = to_raw(eeg_da, lf)
    with pytest.raises(ValueError, match=r"suffix must be one of.*Did you mean '.edf'"):
        save_raw(raw, tmp_path / "x.edff")
    monkeypatch.setitem(sys.modules, "pybv", None)  # as if pybv were not installed
    with pytest.raises(ImportError, match="needs the 'pybv' package: pip install pybv"):
        save_raw(raw, tmp_path / "x.vhdr")


def _has(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def test_dataarray_is_plain_xarray(eeg_da):
    assert isinstance(eeg_da, xr.DataArray) and eeg_da["time"].attrs["units"] == "ms"
