"""EEG -> targets: synthetic EEG from known sources through a lead field, file round trips,
band powers, envelope connectivity, bad channels and bad files."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from vbrain.pipelines.eeg import (
    band_powers,
    eeg_targets,
    envelope_connectivity,
    find_bad_channels,
    info_from_targets,
    read_eeg,
)
from vbrain.pipelines.provenance import load_dataset, save_dataset

import vbrain as vb
from vbrain.forward import LeadField
from vbrain.forward.sensors import save_raw

SFREQ = 250.0
DURATION = 40.0  # s
#: two active regions: (label, frequency Hz, amplitude in model units)
SOURCES = (("rV1", 10.0, 2.0), ("lM1", 20.0, 1.0))


@pytest.fixture(scope="module")
def synthetic():
    """A Raw from two sinusoidal sources through a 4-shell sphere lead field (10-20 montage)."""
    conn = vb.Connectome.load("atlases:default")
    lf = LeadField.sphere(conn, montage="standard_1020")
    t = np.arange(int(DURATION * SFREQ)) / SFREQ
    src = np.zeros((conn.n_regions, t.size))
    for label, f, amp in SOURCES:
        src[conn.labels.index(label)] = amp * np.sin(2 * np.pi * f * t + 0.3)
    gain = lf.effective_gain()  # V per model unit
    info = lf.info.copy()
    with info._unlock():
        info["sfreq"] = SFREQ
    raw = mne.io.RawArray(gain @ src, info, verbose=False)
    # known band powers after the average reference: (column of the re-referenced gain x A)^2 / 2
    g_ref = gain - gain.mean(axis=0)
    known = {band: (g_ref[:, conn.labels.index(lab)] * amp) ** 2 / 2.0
             for band, (lab, _, amp) in zip(("alpha", "beta"), SOURCES)}
    return conn, lf, raw, known


def check_band_powers(ds, lf, known, rtol):
    rows = [lf.ch_names.index(n) for n in ds.sensor.values]
    for band in ("alpha", "beta"):
        want = known[band][rows]
        got = ds["band_power"].sel(band=band).values
        big = want > 0.01 * want.max()
        np.testing.assert_allclose(got[big], want[big], rtol=rtol)
        np.testing.assert_allclose(got, want, atol=0.01 * want.max())
    top = max(k.max() for k in known.values())
    for band in ("delta", "theta", "gamma"):  # no source there
        assert ds["band_power"].sel(band=band).values.max() < 1e-4 * top


@pytest.mark.parametrize("suffix", [".fif", ".edf", ".vhdr"])
def test_known_band_powers_survive_file_round_trips(synthetic, tmp_path, suffix):
    conn, lf, raw, known = synthetic
    path = save_raw(raw, tmp_path / f"sim_raw{suffix}" if suffix == ".fif"
                    else tmp_path / f"sim{suffix}")
    # EDF and BrainVision files carry no positions: give the montage back
    montage = None if suffix == ".fif" else "standard_1020"
    ds = eeg_targets(path, montage=montage, auto_bads=False, aec_bands=["alpha"])
    assert list(ds.sensor.values) == lf.ch_names
    # tolerance: Welch leakage + FIR pass-band ripple (< 0.5 %); EDF adds 16-bit quantisation
    check_band_powers(ds, lf, known, rtol=0.02)
    rel = ds["band_power_relative"].sum("band").values
    np.testing.assert_allclose(rel, 1.0, rtol=1e-12)
    assert ds["psd"].attrs["units"] == "V^2/Hz"
    assert ds["frequency"].values[0] >= 1.0 and ds["frequency"].values[-1] <= 45.0
    # the montage is carried on: a lead field for these sensors from the targets alone
    info = info_from_targets(ds)
    lf2 = LeadField.sphere(conn, montage=info)
    # (FIF stores positions as float32: ~1e-5 relative differences in the gain)
    np.testing.assert_allclose(lf2.gain, lf.gain, rtol=0, atol=1e-5 * np.abs(lf.gain).max())


def test_band_powers_of_sinusoids():
    sf, n = 200.0, 200 * 30
    t = np.arange(n) / sf
    x = np.vstack([3.0 * np.sin(2 * np.pi * 10 * t), 0.5 * np.sin(2 * np.pi * 25 * t)])
    from scipy.signal import welch

    f, p = welch(x, sf, window="hann", nperseg=400)
    bp = band_powers(p, f, {"alpha": (8, 13), "beta": (13, 30)})
    np.testing.assert_allclose(bp, [[4.5, 0.0], [0.0, 0.125]], atol=1e-3, rtol=2e-3)
    with pytest.raises(ValueError, match="holds no frequency bin"):
        band_powers(p, f, {"narrow": (10.1, 10.2)})


def test_envelope_connectivity_and_orthogonalisation():
    sf = 250.0
    t = np.arange(int(60 * sf)) / sf
    rng = np.random.default_rng(0)
    env1 = 1.0 + 0.8 * np.sin(2 * np.pi * 0.2 * t)
    env2 = 1.0 + 0.8 * np.sin(2 * np.pi * 0.13 * t + 1.0)
    carrier = 2 * np.pi * 10 * t
    x = np.vstack([
        env1 * np.sin(carrier),                 # 0
        0.5 * env1 * np.sin(carrier),           # 1: zero-lag copy of 0 (volume conduction)
        env1 * np.cos(carrier),                 # 2: same envelope, 90 degrees lagged
        env2 * np.sin(carrier + 0.4),           # 3: another envelope
    ]) + 0.01 * rng.standard_normal((4, t.size))
    aec = envelope_connectivity(x, sf, (8, 12))
    assert aec[0, 1] > 0.99 and aec[0, 2] > 0.99 and abs(aec[0, 3]) < 0.3
    np.testing.assert_allclose(np.diag(aec), 1.0)
    orth = envelope_connectivity(x, sf, (8, 12), orthogonalize=True)
    np.testing.assert_allclose(orth, orth.T)
    assert abs(orth[0, 1]) < 0.2  # zero-lag coupling removed
    assert orth[0, 2] > 0.9  # lagged coupling kept
    np.testing.assert_allclose(np.diag(orth), 0.0)


def test_bad_channels_reference_and_saving(synthetic, tmp_path):
    raw = synthetic[2].copy()
    data = raw.get_data()
    rng = np.random.default_rng(1)
    data[raw.ch_names.index("Cz")] = 0.0  # flat
    data[raw.ch_names.index("O1")] += 1e3 * data.std() * rng.standard_normal(data.shape[1])
    raw._data[:] = data
    found = find_bad_channels(raw.copy().filter(1.0, 45.0, verbose=False))
    assert found == {"flat": ["Cz"], "noisy": ["O1"]}
    ds = eeg_targets(raw, bads=["Fp1"], aec_bands=[])
    assert ds.attrs["bads"] == sorted(["Cz", "O1", "Fp1"])
    assert not {"Cz", "O1", "Fp1"} & set(ds.sensor.values)
    assert ds["aec"].shape == (0, ds.sizes["sensor"], ds.sizes["sensor"])
    # referenced to one channel: that channel is dropped
    one = eeg_targets(raw, bads=["Fp1"], auto_bads=True, reference="Pz", aec_bands=["beta"])
    assert "Pz" not in one.sensor.values and one.attrs["reference"] == "Pz"
    with pytest.raises(ValueError, match="'Pzz' is not an EEG channel.*Did you mean 'Pz'"):
        eeg_targets(raw, bads=["Pzz"])
    with pytest.raises(ValueError, match="Reference channel 'Cz' is marked bad"):
        eeg_targets(raw, reference="Cz")
    # saved with its provenance; the montage survives the file
    path, _ = save_dataset(ds, tmp_path / "eeg_targets.nc")
    back = load_dataset(path)
    np.testing.assert_array_equal(back["band_power"].values, ds["band_power"].values)
    assert back.attrs["provenance"]["step"] == "eeg"
    assert back.attrs["parameters"]["bands_hz"]["alpha"] == [8.0, 13.0]
    info = info_from_targets(back)
    assert info.ch_names == list(ds.sensor.values) and info.get_montage() is not None


def test_bad_inputs(synthetic, tmp_path):
    _, _, raw, _ = synthetic
    edf = save_raw(raw, tmp_path / "rec.edf")
    cut = tmp_path / "cut.edf"
    blob = edf.read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.edf' is truncated: its header promises"):
        eeg_targets(cut)
    tiny = tmp_path / "tiny.edf"
    tiny.write_bytes(blob[:100])
    with pytest.raises(ValueError, match=r"tiny\.edf' does not have a valid EDF/BDF header"):
        read_eeg(tiny)
    fif = save_raw(raw, tmp_path / "rec_raw.fif")
    cut_fif = tmp_path / "cut_raw.fif"
    blob = fif.read_bytes()
    cut_fif.write_bytes(blob[: len(blob) // 3])
    with pytest.raises(ValueError, match=r"Cannot read the EEG file .*cut_raw\.fif'"):
        eeg_targets(cut_fif)
    with pytest.raises(FileNotFoundError, match="No EEG file at"):
        eeg_targets(tmp_path / "none.edf")
    with pytest.raises(ValueError, match="reaches above the Nyquist frequency 125 Hz"):
        eeg_targets(raw, auto_bads=False, bands={"high": (100.0, 130.0)})
    with pytest.raises(ValueError, match="'alpah', which is not a band.*Did you mean 'alpha'"):
        eeg_targets(raw, auto_bads=False, aec_bands=["alpah"])
    with pytest.raises(ValueError, match="psd_window=100000.0 ms is 25000 samples"):
        eeg_targets(raw, auto_bads=False, psd_window=100_000.0)
    with pytest.raises(ValueError, match="Unknown montage 'standard_102'.*Did you mean"):
        read_eeg(raw, montage="standard_102")
    with pytest.raises(ValueError, match="l_freq .* must be below h_freq"):
        eeg_targets(raw, l_freq=30.0, h_freq=10.0)
    ecg = mne.io.RawArray(np.zeros((1, 1000)), mne.create_info(["ECG"], 250.0, "ecg"),
                          verbose=False)
    with pytest.raises(ValueError, match="has no EEG channel"):
        read_eeg(ecg)
