"""Hostile inputs across the entry points, crash safety, and property-based file round trips.

Complements the bad-input tests beside each module (test_connectome, test_atlas*,
test_leadfield, test_sensors, test_*_pipeline, test_dti, test_cli): this file holds
the cases those do not cover, found by feeding every entry point non-finite,
mis-shaped, mistyped, empty, truncated or absurd inputs (docs/hardening.md has the
whole table).
"""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from vbrain.pipelines.dti_tractography import connectome_from_tractogram, load_tractogram
from vbrain.pipelines.eeg import eeg_targets, read_eeg
from vbrain.pipelines.fmri import read_confounds, region_series

import vbrain as vb
from vbrain.atlas import Atlas, read_label_table
from vbrain.cli import main
from vbrain.forward import LeadField
from vbrain.forward.nifti import bold_to_nifti
from vbrain.forward.sensors import save_raw, to_raw
from vbrain.result import Result, ResultWriter

AFFINE = np.array([[2.0, 0, 0, -6.0], [0, 2.0, 0, -6.0], [0, 0, 2.0, -6.0], [0, 0, 0, 1]])
FINITE = {"allow_nan": False, "allow_infinity": False}
#: printable names, non-ASCII included; no control characters or separators
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                min_size=1, max_size=8)
#: no 'explain' phase: it imports libcst, whose DeprecationWarning is an error here
PROPERTY = settings(max_examples=20, deadline=None, database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])


def two_parcel_atlas(names=("é_left", "右")) -> Atlas:
    lab = np.zeros((6, 6, 6), np.int16)
    lab[:3], lab[3:] = 1, 2
    return Atlas(nib.Nifti1Image(lab, AFFINE), list(names))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir())


# === CLI: `vbrain simulate` with bad values ===================================================
_FAST = ["simulate", "--duration", "5", "-q", "--bold-tr", "0", "--eeg", "none"]


@pytest.mark.parametrize("argv, message", [
    (["--duration", "-5"], "duration must be > 0.0, but got -5.0"),
    (["--duration", "nan"], "duration must be finite, but got nan"),
    (["--duration", "inf"], "duration must be finite"),
    (["--dt", "nan"], "dt must be finite"),
    (["--dt", "1e9"], "shorter than one step"),
    (["--speed", "0"], "speed must be > 0.0"),
    (["--speed", "inf"], "speed must be finite"),
    (["--noise", "inf"], "noise (--noise) must be finite"),
    (["--param", "a=nan"], "Generic2dOscillator.a must be finite"),
    (["--param", "a=1,2,3"], "3 per-region values, but the connectome has 76 regions"),
    (["--coupling-param", "zz=1"], "Linear has no parameter 'zz'"),
    (["--monitor", "tavg:-1"], "TemporalAverage period must be > 0.0"),
    (["--monitor", "subsample:inf"], "SubSample period must be finite"),
    (["--monitor", "tavg:1", "--monitor", "tavg:2"], "Two monitors share an output name"),
    (["--eeg", "standard_1020", "--eeg-period", "0"], "EEG period must be > 0.0"),
    (["--eeg", "nonexistent_montage"], "Unknown montage 'nonexistent_montage'"),
    (["--checkpoint-every", "nan"], "checkpoint_every must be finite"),
    (["--integrator", "rk4"], "'rk4' is deterministic"),
    (["--config", "{tmp}/bad.json"], "is not a JSON model file"),
    (["--config", "{tmp}/model.pkl"], "is not a JSON model file"),  # never unpickled
    (["--config", "{tmp}/list.json"], "is not a vbrain model file"),
    (["--connectome", "{tmp}/empty.npz"], "Could not read"),
    (["--connectome", "{tmp}/garbage.zip"], "not a valid zip archive"),
    (["--connectome", "{tmp}/ragged"], "lengths must be a square"),
    (["--atlas", "{tmp}/missing.nii.gz", "--bold-tr", "2000"], "No label table"),
    (["-o", "{tmp}/no/such/dir/x.nc"], "Output folder"),
])
def test_cli_bad_values_exit_2_with_a_message(tmp_path, capsys, argv, message):
    import pickle

    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"format": "vbrain-model/1"}))
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "garbage.zip").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "ragged").mkdir()
    for name in ("weights.txt", "tract_lengths.txt"):
        (tmp_path / "ragged" / name).write_text("0 1 2\n1 0 2\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = tmp_path / "x.nc"
    rc = main([*_FAST, "-o", str(out), *argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists() and not Path(str(out) + ".partial").exists()


def test_cli_seed_beyond_64_bits_and_non_ascii_output(tmp_path, capsys):
    """A 90-bit seed used to fail writing provenance ('Object dtype ... no HDF5 equivalent')."""
    out = tmp_path / "résumé_海马.nc"
    assert main([*_FAST, "-o", str(out), "--seed", str(2**90)]) == 0
    res = Result.load(out)
    assert res.attrs["seed"] == str(2**90)
    assert res.status == "complete" and leftovers(tmp_path) == [out.name]


@pytest.mark.parametrize("argv", [["--noise", "-1"], ["--noise", "nan"],
                                  ["--bold-tr", "-5"], ["--bold-tr", "nan"]])
def test_cli_negative_or_nan_switch_values_are_refused(tmp_path, capsys, argv):
    rc = main([*_FAST, "-o", str(tmp_path / "x.nc"), *argv])
    assert rc == 2
    assert argv[0].lstrip("-").replace("-", "_") in capsys.readouterr().err


@pytest.mark.parametrize("seed", [-1, 1.5, "abc"])
def test_simulation_bad_seed_is_named(seed):
    conn = vb.Connectome([[0, 1.0], [1.0, 0]], [[0, 10.0], [10.0, 0]])
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), seed=seed,
                        noise=vb.noise.Additive(1e-3))
    with pytest.raises((TypeError, ValueError), match="seed"):
        sim.run(1.0, progress=False)


def test_delays_beyond_memory_name_the_speed():
    """A speed in the wrong unit (m/s read as mm/ms is fine; 1e-6 is not) gives delays of days:
    a clear error naming the speed and the memory, not numpy's MemoryError."""
    conn = vb.Connectome([[0, 1.0], [1.0, 0]], [[0, 80.0], [80.0, 0]])
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), speed=1e-9)
    with pytest.raises(ValueError, match=r"speed=1e-09 mm/ms\), needs .* GiB of delay history"):
        sim.run(1.0, progress=False)


@pytest.mark.parametrize("sweep", [False, True])
def test_output_beyond_memory_says_to_stream_it(monkeypatch, sweep):
    """An in-memory output larger than the machine's memory: a clear error at the first
    chunk (machine memory set to 100 kB here), not numpy's MemoryError."""
    import vbrain.simulation as simulation

    monkeypatch.setattr(simulation, "_physical_memory", lambda: 100_000)
    conn = vb.Connectome([[0, 1.0], [1.0, 0]], [[0, 10.0], [10.0, 0]])
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), monitors=[vb.monitors.Raw()])
    with pytest.raises(ValueError, match=r"'raw' output .* in memory needs .*KiB.*\(out=\.\.\.\)"):
        if sweep:
            sim.sweep(1000.0, coupling__a=[0.0, 0.1], threads=2, progress=False)
        else:
            sim.run(1000.0, progress=False)
    assert sim.run(10.0, progress=False).raw.shape == (100, 2, 2)  # 3.2 kB: fine


# === Result: NetCDF files =====================================================================
def _da(values, name="tavg", regions=("a", "b")):
    n_t = values.shape[0]
    return xr.DataArray(values, dims=("time", "variable", "region"), name=name,
                        coords={"time": np.arange(n_t, dtype=float), "variable": ["x"],
                                "region": list(regions)})


@PROPERTY
@given(data=st.data())
def test_property_result_round_trip(data):
    n_t = data.draw(st.integers(0, 5))
    regions = data.draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    values = data.draw(hnp.arrays(np.float64, (n_t, 1, len(regions)),
                                  elements=st.floats(-1e300, 1e300, **FINITE)))
    attrs = {"seed": data.draw(st.integers(-2**100, 2**100)),
             "note": data.draw(st.text(st.characters(blacklist_characters="\x00"),
                                       max_size=20)),
             "params": {"w": data.draw(st.floats(-1e9, 1e9, **FINITE))}}
    result = Result({"tavg": _da(values, name=None, regions=regions)}, attrs, "complete")
    with tempfile.TemporaryDirectory() as tmp:
        back = Result.load(result.save(Path(tmp) / "r.nc"))
        assert leftovers(Path(tmp)) == ["r.nc"]
    np.testing.assert_array_equal(back.tavg.values, values)
    assert list(back.tavg.region.values) == regions
    assert back.status == "complete"
    assert back.attrs["note"] == attrs["note"]
    seed = back.attrs["seed"]
    assert int(seed) == attrs["seed"]  # beyond int64 it is kept as text


def test_result_save_failures_leave_nothing(tmp_path):
    good = _da(np.zeros((3, 1, 2)))
    with pytest.raises(TypeError, match="'tavg' must hold numbers, but its dtype is object"):
        Result({"tavg": good.astype(object)}, {}).save(tmp_path / "o.nc")
    with pytest.raises(ValueError, match="'a/b' cannot hold '/'"):
        Result({"a/b": good}, {}).save(tmp_path / "s.nc")
    with pytest.raises(FileNotFoundError, match="Output folder"):
        Result({"tavg": good}, {}).save(tmp_path / "missing" / "x.nc")
    with pytest.raises(ValueError, match="attribute 'note' cannot be stored"):
        Result({"tavg": good}, {"note": "a\x00b"}).save(tmp_path / "nul.nc")
    assert leftovers(tmp_path) == []
    Result({"tavg": good}, {}).save(tmp_path / "x.nc")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        Result({"tavg": good * 2}, {}).save(tmp_path / "x.nc")
    np.testing.assert_array_equal(Result.load(tmp_path / "x.nc").tavg.values, good.values)


def test_result_load_bad_files_name_the_file(tmp_path):
    path = Result({"tavg": _da(np.ones((50, 1, 2)))}, {}).save(tmp_path / "ok.nc")
    blob = path.read_bytes()
    cases = {"empty.nc": b"", "cut.nc": blob[: len(blob) // 3], "text.nc": b"hello\n" * 100}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name} is not a vbrain result file"):
            Result.load(tmp_path / name)
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(tmp_path / "other.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match=r"other\.nc is not a vbrain result file"):
        Result.load(tmp_path / "other.nc")
    with pytest.raises(FileNotFoundError, match="No result file"):
        Result.load(tmp_path / "none.nc")


def test_resume_refuses_a_partial_file_shorter_than_its_checkpoint(tmp_path):
    """The guard behind the SIGKILL fix: growing the file would fill the gap with NaN."""
    writer = ResultWriter(tmp_path / "r.nc", {"tavg": _da(np.zeros((0, 1, 2)))}, {})
    writer.append("tavg", np.arange(5.0), np.ones((5, 1, 2)))
    writer.flush()
    writer.suspend()
    with pytest.raises(ValueError, match=r"holds 5 'tavg' samples but its checkpoint recorded 9"):
        ResultWriter.reopen(tmp_path / "r.nc", {"tavg": 9})
    (tmp_path / "r.nc.partial").write_bytes(b"\x89HDF\r\n" + b"\0" * 40)
    with pytest.raises(ValueError, match=r"r\.nc\.partial \(the interrupted output\) is unreadable"):
        ResultWriter.reopen(tmp_path / "r.nc", {"tavg": 5})


_KILLED_RUN = textwrap.dedent("""
    import sys
    import vbrain as vb

    def simulation():
        conn = vb.Connectome.load("atlases:default")
        return vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1),
                             dt=0.5, noise=vb.noise.Additive(1e-4), seed=5,
                             monitors=[vb.monitors.TemporalAverage(1.0),
                                       vb.monitors.Bold(tr=100.0)])

    if __name__ == "__main__":
        simulation().run(float(sys.argv[2]), out=sys.argv[1], checkpoint_every=250.0,
                         chunk_steps=50, progress=False, resume=len(sys.argv) > 3)
""")


def test_sigkill_then_resume_is_bit_identical(tmp_path, monkeypatch):
    """Crash safety: a run killed with SIGKILL (no handler runs) resumes from its last
    checkpoint to the same values. Before ResultWriter.flush() reached the disk, the partial
    file held no samples and the resumed output was NaN, marked complete."""
    import importlib

    (tmp_path / "killed_run.py").write_text(_KILLED_RUN)
    monkeypatch.syspath_prepend(str(tmp_path))
    killed_run = importlib.import_module("killed_run")
    out, duration = tmp_path / "run.nc", 40_000.0
    cmd = [sys.executable, str(tmp_path / "killed_run.py"), str(out), str(duration)]
    proc = subprocess.Popen(cmd)
    ckpt = Path(str(out) + ".ckpt.npz")
    deadline = time.monotonic() + 120
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a few chunks past the checkpoint
    if proc.poll() is not None:
        pytest.fail("the run ended before it could be killed; raise its duration")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and Path(str(out) + ".partial").exists() and ckpt.exists()
    subprocess.run([*cmd, "resume"], check=True)
    assert not ckpt.exists()
    resumed = Result.load(out)
    reference = killed_run.simulation().run(duration, progress=False)
    assert resumed.status == "complete"
    for name in ("tavg", "bold"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
        np.testing.assert_array_equal(resumed[name].time.values, reference[name].time.values)


# === Atlas ===================================================================================
@st.composite
def atlases(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=3, max_size=3)))
    n = draw(st.integers(1, min(6, int(np.prod(shape)))))
    values = draw(st.lists(st.integers(1, 30000), min_size=n, max_size=n, unique=True))
    names = draw(st.lists(NAMES, min_size=n, max_size=n, unique=True))
    flat = np.zeros(int(np.prod(shape)), np.int32)
    cells = draw(st.permutations(range(flat.size)))
    for k, v in enumerate(values):  # every parcel gets at least one voxel
        flat[cells[k]] = v
    rest = draw(hnp.arrays(np.int64, flat.size - n, elements=st.integers(0, n)))
    flat[list(cells[n:])] = np.r_[0, values][rest]
    zooms = draw(st.lists(st.floats(0.5, 4.0, **FINITE), min_size=3, max_size=3))
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = draw(hnp.arrays(np.float64, 3, elements=st.floats(-100, 100, **FINITE)))
    return Atlas(nib.Nifti1Image(flat.reshape(shape).astype(np.int16), affine),
                 dict(zip(values, names)))


@PROPERTY
@given(atlas=atlases())
def test_property_atlas_save_load(atlas):
    with tempfile.TemporaryDirectory() as tmp:
        img, _ = atlas.save(Path(tmp) / "a.nii.gz")
        assert leftovers(Path(tmp)) == ["a.nii.gz", "a.tsv"]
        back = Atlas.load(img)
    assert back.labels == atlas.labels
    np.testing.assert_array_equal(back.values, atlas.values)
    np.testing.assert_array_equal(back.region_indices(), atlas.region_indices())
    np.testing.assert_allclose(back.affine, atlas.affine, rtol=1e-6, atol=1e-4)  # float32 header
    np.testing.assert_allclose(back.region_volumes(), atlas.region_volumes(), rtol=1e-5)


def test_atlas_hostile_inputs(tmp_path):
    lab = np.zeros((4, 4, 4), np.int16)
    lab[:2], lab[2:] = 1, 2
    singular = nib.Nifti1Image(lab, np.array([[2.0, 2, 0, 0], [2, 2, 0, 0], [0, 0, 2, 0],
                                              [0, 0, 0, 1]]))  # two axes on one line
    with pytest.raises(ValueError, match="affine must be a finite, invertible"):
        Atlas(singular, ["a", "b"])
    with pytest.raises(ValueError, match="must hold integer label values"):
        Atlas(nib.Nifti1Image(np.where(lab == 1, np.nan, lab), AFFINE), ["a", "b"])
    with pytest.raises(ValueError, match=r"non-zero value\(s\) that labels does not name: "
                                         r"\[-2, -1\]"):
        Atlas(nib.Nifti1Image(-lab, AFFINE), ["a", "b"])
    table = tmp_path / "t.tsv"
    table.write_bytes(b"index\tname\n1\t\xff\xfe\n")
    with pytest.raises(ValueError, match=r"t\.tsv' is not UTF-8 text: byte 0xff"):
        read_label_table(table)
    atlas = Atlas(nib.Nifti1Image(lab, AFFINE), ["a\tb", "c"])
    with pytest.raises(ValueError, match="cannot hold tabs or line breaks"):
        atlas.save(tmp_path / "tab.nii.gz")
    # truncated image
    good, _ = Atlas(nib.Nifti1Image(np.repeat(lab, 8, 0), AFFINE), ["a", "b"]).save(
        tmp_path / "g.nii.gz")
    raw = gzip.decompress(good.read_bytes())
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress(raw[: len(raw) // 2]))
    (tmp_path / "cut.tsv").write_text("index\tname\n1\ta\n2\tb\n")
    with pytest.raises(ValueError, match=r"cut\.nii\.gz"):
        Atlas.load(tmp_path / "cut.nii.gz")
    assert not list(tmp_path.glob(".*"))  # no temporary file stayed


def test_atlas_save_failure_leaves_nothing(tmp_path):
    """The table name is taken by a folder: the write fails and no image appears."""
    (tmp_path / "a.tsv").mkdir()
    with pytest.raises(OSError):
        two_parcel_atlas().save(tmp_path / "a.nii.gz", overwrite=True)
    assert leftovers(tmp_path) == ["a.tsv"]


# === LeadField.from_gain ======================================================================
@PROPERTY
@given(data=st.data())
def test_property_leadfield_from_gain_projects(data):
    n_s, n_r = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    gain = data.draw(hnp.arrays(np.float64, (n_s, n_r), elements=st.floats(-1e3, 1e3, **FINITE)))
    scale = data.draw(st.floats(1e-12, 1.0, **FINITE))
    signal_ = data.draw(hnp.arrays(np.float64, (3, n_r), elements=st.floats(-1e3, 1e3, **FINITE)))
    info = mne.create_info([f"E{i}" for i in range(n_s)], 1000.0, "eeg")
    lf = LeadField.from_gain(gain, info, scale=scale)
    assert (lf.n_sensors, lf.n_regions) == (n_s, n_r)
    np.testing.assert_allclose(lf.project(signal_), signal_ @ (gain * scale).T, rtol=1e-12,
                               atol=1e-300)
    with pytest.raises(ValueError, match="read-only"):
        lf.gain[0, 0] = 1.0


def test_leadfield_hostile_inputs():
    info = mne.create_info(["C3", "C4", "Cz"], 1000.0, "eeg")
    with pytest.raises(ValueError, match="region_labels must be unique, but \\['x'\\]"):
        LeadField.from_gain(np.ones((3, 2)), info, region_labels=["x", "x"])
    with pytest.raises(ValueError, match=r"gain must be finite, but has 6 NaN/Inf"):
        LeadField.from_gain(np.full((3, 2), np.inf), info)
    with pytest.raises(TypeError, match="gain must be numeric"):
        LeadField.from_gain([["a", "b"]] * 3, info)
    with pytest.raises(ValueError, match="one row per channel of info"):
        LeadField.from_gain(np.ones((2, 2)), info)
    with pytest.raises(TypeError, match="info must be Info"):
        LeadField.from_gain(np.ones((3, 2)), {"ch_names": ["C3"]})


def test_complex_gain_is_refused():
    info = mne.create_info(["C3", "C4"], 1000.0, "eeg")
    with pytest.raises(TypeError, match="gain"):
        LeadField.from_gain(np.ones((2, 2)) * 1j, info)


# === BOLD -> NIfTI ===========================================================================
@PROPERTY
@given(data=st.data())
def test_property_bold_nifti_file_round_trip(data):
    atlas = data.draw(atlases())
    n_t = data.draw(st.integers(1, 6))
    tr = data.draw(st.floats(10.0, 5000.0, **FINITE))
    series = data.draw(hnp.arrays(np.float64, (n_t, 1, atlas.n_regions),
                                  elements=st.floats(-1e30, 1e30, **FINITE)))
    bold = xr.DataArray(series, dims=("time", "variable", "region"),
                        coords={"time": np.arange(n_t) * tr, "region": list(atlas.labels)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bold.nii.gz"
        bold_to_nifti(bold, atlas, tr=tr).to_filename(path)
        img = nib.load(path)
        data4 = np.asarray(img.dataobj)
        zooms = img.header.get_zooms()
    idx = atlas.region_indices()
    for k in range(atlas.n_regions):
        np.testing.assert_array_equal(data4[idx == k], np.broadcast_to(
            series[:, 0, k].astype(np.float32), ((idx == k).sum(), n_t)))
    assert np.all(data4[idx < 0] == 0)
    assert zooms[3] == pytest.approx(tr / 1000.0, rel=1e-6)


def test_bold_nifti_hostile_inputs():
    atlas = two_parcel_atlas(["a", "b"])
    bold = xr.DataArray(np.ones((3, 1, 2)), dims=("time", "variable", "region"),
                        coords={"time": [0.0, 720.0, 1440.0], "region": ["a", "b"]})
    with pytest.raises(ValueError, match=r"bold must be finite, but has 6 NaN/Inf"):
        bold_to_nifti(bold * np.nan, atlas)
    with pytest.raises(ValueError, match="beyond the float32 range"):
        bold_to_nifti(bold * 1e300, atlas)
    with pytest.raises(ValueError, match="time stamps must increase"):
        bold_to_nifti(bold.assign_coords(time=[1440.0, 720.0, 0.0]), atlas)
    with pytest.raises(TypeError, match="bold must be numeric"):
        bold_to_nifti(np.array([["a", "b"]] * 3), atlas, tr=1.0)
    with pytest.raises(ValueError, match=r"no parcel for 1 bold region\(s\): 'zz'"):
        bold_to_nifti(bold.assign_coords(region=["a", "zz"]), atlas)


# === EEG: to_raw, save_raw, read_eeg ==========================================================
def _eeg_da(values, names):
    return xr.DataArray(values, dims=("time", "sensor"), attrs={"units": "V"},
                        coords={"time": np.arange(values.shape[0], dtype=float),
                                "sensor": list(names)})


@PROPERTY
@given(data=st.data())
def test_property_eeg_fif_round_trip(data):
    n_ch = data.draw(st.integers(1, 4))
    n_t = data.draw(st.integers(2, 40))
    values = data.draw(hnp.arrays(np.float64, (n_t, n_ch), elements=st.floats(-1e-3, 1e-3,
                                                                               **FINITE)))
    names = [f"E{i}" for i in range(n_ch)]
    info = mne.create_info(names, 1000.0, "eeg")
    raw = to_raw(_eeg_da(values, names), info)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_raw(raw, Path(tmp) / "sim_raw.fif")
        assert leftovers(Path(tmp)) == ["sim_raw.fif"]
        back = read_eeg(path)
    assert back.ch_names == names and back.info["sfreq"] == 1000.0
    np.testing.assert_array_equal(back.get_data(), values.T.astype(np.float32))


def test_eeg_hostile_inputs(tmp_path):
    names = ["Fz", "Cz", "Pz"]
    info = mne.create_info(names, 250.0, "eeg")
    da = _eeg_da(np.zeros((10, 3)), names)
    with pytest.raises(ValueError, match=r"da must be finite, but has 1 NaN/Inf"):
        to_raw(da.where(da.time != 3, np.nan).where(da.sensor == "Cz", 0.0), info)
    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(rng.standard_normal((3, 2500)) * 1e-5, info, verbose=False)
    nan = raw.copy()
    nan._data[1, 10] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN/Inf sample\(s\), the first in channel 'Cz' at "
                                         "sample 10"):
        read_eeg(nan)
    flat = mne.io.RawArray(np.zeros((3, 2500)), info, verbose=False)
    with pytest.raises(ValueError, match="Fewer than 2 good EEG channels"):
        eeg_targets(flat)
    short = mne.io.RawArray(rng.standard_normal((3, 50)) * 1e-5, info, verbose=False)  # 0.2 s
    with pytest.raises(ValueError, match=r"lasts 0.2 s, shorter than the 1.0-45.0 Hz band-pass"):
        eeg_targets(short)
    # a failed save (the name is taken by a folder) leaves no temporary folder behind
    (tmp_path / "taken.fif").mkdir()
    with pytest.raises(OSError):
        save_raw(raw, tmp_path / "taken.fif", overwrite=True)
    assert leftovers(tmp_path) == ["taken.fif"]
    with pytest.raises(FileNotFoundError, match="Output folder"):
        save_raw(raw, tmp_path / "missing" / "x.fif")
    (tmp_path / "x_raw.fif").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Cannot read the EEG file .*x_raw\.fif"):
        read_eeg(tmp_path / "x_raw.fif")


# === fMRI reader ==============================================================================
def _bold_img(n_t=20, dtype=np.float32):
    rng = np.random.default_rng(1)
    img = nib.Nifti1Image((100 + rng.standard_normal((6, 6, 6, n_t))).astype(dtype), AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((2.0, 2.0, 2.0, 2.0))
    return img


def test_fmri_hostile_inputs(tmp_path):
    atlas = two_parcel_atlas()
    assert list(region_series(_bold_img(), atlas).region.values) == ["é_left", "右"]
    data = np.asarray(_bold_img().dataobj).copy()
    data[1, 2, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN/Inf value\(s\), the first at voxel \(1, 2, 3\), "
                                         "volume 4"):
        region_series(nib.Nifti1Image(data, AFFINE), atlas)
    with pytest.raises(ValueError, match="must hold real numbers, but its data type is complex64"):
        region_series(nib.Nifti1Image(data.astype(np.complex64), AFFINE), atlas)
    header = nib.Nifti1Header()
    header.set_data_shape((2000, 2000, 2000, 2000))
    header.set_data_dtype(np.float32)
    (tmp_path / "huge.nii").write_bytes(header.binaryblock + b"\0" * 1004)
    with pytest.raises(ValueError, match=r"huge\.nii' is truncated or its header is corrupt: the "
                                         r"header declares shape \(2000, 2000, 2000, 2000\)"):
        region_series(tmp_path / "huge.nii", atlas)
    with pytest.raises(ValueError, match="at least 3 are needed"):
        region_series(_bold_img(2), atlas)
    with pytest.raises(ValueError, match=r"1 infinite value\(s\), the first in column "
                                         "'confound_0', row 19"):
        region_series(_bold_img(), atlas, confounds=np.r_[np.ones((19, 2)), [[np.inf, 1.0]]])


@PROPERTY
@given(data=st.data())
def test_property_confounds_tsv_round_trip(data):
    n_t = data.draw(st.integers(2, 12))
    values = data.draw(hnp.arrays(np.float64, (n_t, 2), elements=st.floats(-1e6, 1e6, **FINITE)))
    missing = data.draw(hnp.arrays(bool, (n_t, 2)))
    missing[0] = False  # every column keeps a value
    table = pd.DataFrame(np.where(missing, np.nan, values), columns=["csf", "white_matter"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.tsv"
        table.to_csv(path, sep="\t", index=False, na_rep="n/a", float_format="%.17g")
        got, names = read_confounds(path, n_t, ["csf", "white_matter"])
    assert names == ["csf", "white_matter"]
    np.testing.assert_array_equal(got[~missing], values[~missing])
    for j in range(2):  # a missing value becomes its column's mean
        kept = values[~missing[:, j], j]
        np.testing.assert_allclose(got[missing[:, j], j], kept.mean(), rtol=1e-12, atol=1e-9)


# === tractograms ==============================================================================
@PROPERTY
@given(data=st.data())
def test_property_tractogram_file_round_trip(data):
    n = data.draw(st.integers(1, 5))
    streamlines = [data.draw(hnp.arrays(np.float32, (data.draw(st.integers(2, 6)), 3),
                                        elements=st.floats(-80, 80, width=32, **FINITE)))
                   for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.tck"
        nib.streamlines.save(nib.streamlines.Tractogram(streamlines,
                                                        affine_to_rasmm=np.eye(4)), path)
        back = load_tractogram(path)
        got = [np.asarray(s) for s in back.streamlines]
    assert len(got) == n
    for a, b in zip(got, streamlines):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_tractogram_hostile_inputs(tmp_path):
    atlas = two_parcel_atlas()
    with pytest.raises(ValueError, match="NaN/Inf streamline coordinates"):
        connectome_from_tractogram([np.array([[np.nan, 0, 0], [1, 1, 1.0]])], atlas,
                                   affine=AFFINE)
    with pytest.raises(ValueError, match="affine must be a finite"):
        connectome_from_tractogram([np.zeros((2, 3))], atlas, affine=np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="search_radius must be finite"):
        connectome_from_tractogram([np.zeros((2, 3))], atlas, affine=AFFINE,
                                   search_radius=np.nan)
    sl = [np.array([[-5.0, -5, -5], [5, 5, 5]], np.float32)] * 40
    tck = tmp_path / "t.tck"
    nib.streamlines.save(nib.streamlines.Tractogram(sl, affine_to_rasmm=np.eye(4)), tck)
    (tmp_path / "cut.tck").write_bytes(tck.read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"Could not read the tractogram file .*cut\.tck"):
        connectome_from_tractogram(tmp_path / "cut.tck", atlas)
    # an archive whose member climbs out of the folder: refused, nothing written outside
    evil = tmp_path / "deep" / "evil.trx"
    evil.parent.mkdir()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escaped.txt", "x")
        z.writestr("header.json", "{}")
    with pytest.raises(ValueError, match=r"Could not read the \.trx file .*evil\.trx"):
        connectome_from_tractogram(evil, atlas)
    assert not (tmp_path / "escaped.txt").exists()
    assert leftovers(tmp_path / "deep") == ["evil.trx"]


#: code that reads pickles or evaluates text: arbitrary code runs when a file is loaded
_UNSAFE = ("pickle.load", "pickle.Unpickler", "eval(", "exec(", "allow_pickle=True",
           "yaml.load(", "marshal.load", "shelve.open")


def _unsafe_reads(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [needle for needle in _UNSAFE if needle in text]


def test_no_pickle_or_eval_in_file_readers():
    """Issue 7.3: experiment/config/result files are TOML/JSON/NetCDF/npz only."""
    root = Path(vb.__file__).parent
    sources = list(root.rglob("*.py")) + list((root.parent / "pipelines").rglob("*.py"))
    offenders = {str(p.relative_to(root.parent)): _unsafe_reads(p) for p in sources
                 if p.name != "parallel.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(sources) > 30  # the scan saw the package


def test_parallel_cohort_store_reads_no_pickles():
    assert _unsafe_reads(Path(vb.__file__).parent / "parallel.py") == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("argv, message", [
    (["--param", "=3"], "--param must look like name=value"),
    (["--coupling-param", "a=abc"], "--coupling-param 'a' needs a number"),
    (["--monitor", "tavg:abc"], "monitor period must be a number in ms"),
    (["--monitor", "foo"], "unknown monitor 'foo'"),
])
def test_cli_malformed_values_exit_2_like_every_bad_argument(tmp_path, capsys, argv, message):
    assert main([*_FAST, "-o", str(tmp_path / "x.nc"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert leftovers(tmp_path) == []


def test_a_fresh_start_removes_a_stale_checkpoint(tmp_path):
    out = tmp_path / "run.nc"
    stale = Path(str(out) + ".ckpt.npz")
    stale.write_bytes(b"from an earlier, interrupted run")
    conn = vb.Connectome([[0, 1.0], [1.0, 0]], [[0, 10.0], [10.0, 0]])
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), seed=1)
    sim.run(5.0, out=out, progress=False)
    assert leftovers(tmp_path) == ["run.nc"]
