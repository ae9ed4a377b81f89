"""BIDS runner: a tiny synthetic dataset (2 subjects, func + eeg) -> derivatives with sidecars."""

from __future__ import annotations

import hashlib
import json
import sys
import types

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from vbrain.pipelines import bids as bids_mod
from vbrain.pipelines.bids import (
    available_recipes,
    load_recipe,
    parse_entities,
    run_pipeline,
)
from vbrain.pipelines.fmri import DEFAULT_CONFOUNDS
from vbrain.pipelines.provenance import load_dataset

from vbrain.atlas import Atlas
from vbrain.forward.sensors import save_raw

#: an 8 mm grid aligned with the shipped atlas' MNI grid (every 4th of its 2 mm voxels)
AFFINE = np.array([[8.0, 0, 0, -98], [0, 8.0, 0, -134], [0, 0, 8.0, -72], [0, 0, 0, 1]])
GRID = (25, 30, 24)
N_VOL = 60
CHANNELS = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3",
            "Pz", "P4", "P8", "O1", "O2"]


def write_func(folder, sub, rng, atlas):
    n = atlas.n_regions
    t = np.arange(N_VOL, dtype=float)
    q, _ = np.linalg.qr(np.column_stack([np.ones(N_VOL), t]))
    z = rng.standard_normal((N_VOL, n))
    series = 10.0 * (z - q @ (q.T @ z))  # no mean, no trend: detrend and z-score keep the FC
    table = np.zeros((n + 1, N_VOL), np.float32)
    table[1:] = series.T + 100.0
    img = nib.Nifti1Image(table[atlas.region_indices() + 1], AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((8.0, 8.0, 8.0, 1.0))  # the BIDS sidecar's 2.0 s must win
    path = folder / f"sub-{sub}_task-rest_bold.nii.gz"
    img.to_filename(path)
    (folder / f"sub-{sub}_task-rest_bold.json").write_text(
        json.dumps({"RepetitionTime": 2.0, "TaskName": "rest"}))
    cols = list(DEFAULT_CONFOUNDS) + ["trans_x_derivative1", "global_signal"]
    conf = pd.DataFrame(rng.standard_normal((N_VOL, len(cols))), columns=cols)
    conf.loc[0, "trans_x_derivative1"] = np.nan
    conf.to_csv(folder / f"sub-{sub}_task-rest_desc-confounds_timeseries.tsv", sep="\t",
                index=False, na_rep="n/a")
    return path, np.corrcoef(series.T)


def write_eeg(folder, sub, rng, bad):
    sf = 250.0
    t = np.arange(int(30 * sf)) / sf
    phases = rng.uniform(0, 2 * np.pi, (len(CHANNELS), 1))  # survives the average reference
    data = 1e-6 * (rng.standard_normal((len(CHANNELS), t.size))
                   + 3.0 * np.sin(2 * np.pi * 10 * t + phases))
    raw = mne.io.RawArray(data, mne.create_info(CHANNELS, sf, "eeg"), verbose=False)
    path = save_raw(raw, folder / f"sub-{sub}_task-rest_eeg.edf")
    pd.DataFrame({"name": CHANNELS, "type": "EEG", "units": "V",
                  "status": ["bad" if c == bad else "good" for c in CHANNELS]}).to_csv(
        folder / f"sub-{sub}_task-rest_channels.tsv", sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": "tiny", "BIDSVersion": "1.9.0", "DatasetType": "raw"}))
    atlas = Atlas.load("atlases:default").resample_to((AFFINE, GRID))
    rng = np.random.default_rng(0)
    known = {}
    for sub, bad in (("01", "T7"), ("02", "O2")):
        func = root / f"sub-{sub}" / "func"
        eeg = root / f"sub-{sub}" / "eeg"
        func.mkdir(parents=True)
        eeg.mkdir(parents=True)
        known[sub] = write_func(func, sub, rng, atlas)
        write_eeg(eeg, sub, rng, bad)
    return root, known


def test_parse_entities_and_recipes():
    assert parse_entities("sub-01_ses-2_task-rest_run-1_bold.nii.gz") == (
        {"sub": "01", "ses": "2", "task": "rest", "run": "1"}, "bold", ".nii.gz")
    assert parse_entities("sub-01_task-rest_desc-confounds_timeseries.tsv")[1] == "timeseries"
    assert available_recipes() == ["all", "dti", "eeg", "fmri"]
    spec, _, name = load_recipe("all")
    assert name == "all" and set(spec) == {"recipe", "dti", "fmri", "eeg"}
    with pytest.raises(ValueError, match="Unknown recipe 'fmr'. Did you mean 'fmri'"):
        load_recipe("fmr")


def test_bundled_all_recipe_writes_the_derivatives_tree(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "derivatives" / "vbrain"
    written = run_pipeline("all", root, out)  # no dwi/: the dti step has nothing to do
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["BIDSVersion"]
    assert desc["GeneratedBy"][0]["Name"] == "vbrain" and desc["GeneratedBy"][0]["Version"]
    rel = sorted(p.relative_to(out).as_posix() for p in written)
    assert rel == [
        "dataset_description.json",
        "sub-01/eeg/sub-01_task-rest_desc-targets_eeg.json",
        "sub-01/eeg/sub-01_task-rest_desc-targets_eeg.nc",
        "sub-01/func/sub-01_task-rest_atlas-tvb76mni152_desc-targets_bold.json",
        "sub-01/func/sub-01_task-rest_atlas-tvb76mni152_desc-targets_bold.nc",
        "sub-02/eeg/sub-02_task-rest_desc-targets_eeg.json",
        "sub-02/eeg/sub-02_task-rest_desc-targets_eeg.nc",
        "sub-02/func/sub-02_task-rest_atlas-tvb76mni152_desc-targets_bold.json",
        "sub-02/func/sub-02_task-rest_atlas-tvb76mni152_desc-targets_bold.nc",
    ]
    func = out / "sub-01/func/sub-01_task-rest_atlas-tvb76mni152_desc-targets_bold"
    side = json.loads(func.with_suffix(".json").read_text())
    assert side["Sources"] == [
        "bids:raw:sub-01/func/sub-01_task-rest_bold.nii.gz",
        "bids:raw:sub-01/func/sub-01_task-rest_desc-confounds_timeseries.tsv"]
    inputs = {r["path"]: r for r in side["vbrain"]["inputs"]}
    bold = root / "sub-01/func/sub-01_task-rest_bold.nii.gz"
    assert inputs["sub-01/func/sub-01_task-rest_bold.nii.gz"]["sha256"] == \
        hashlib.sha256(bold.read_bytes()).hexdigest()
    assert inputs["vbrain.pipelines/recipes/all.toml"]["role"] == "recipe"
    assert side["vbrain"]["recipe"] == "all" and "nilearn" in side["vbrain"]["versions"]
    ds = load_dataset(func.with_suffix(".nc"))
    assert ds.attrs["tr_ms"] == 2000.0  # from the BIDS sidecar, not the header's 1 s
    assert ds.sizes["region_i"] == 76 and "fcd" in ds and "fc_partial" in ds
    assert ds.attrs["parameters"]["confounds_used"] == list(DEFAULT_CONFOUNDS)
    eeg = load_dataset(out / "sub-01/eeg/sub-01_task-rest_desc-targets_eeg.nc")
    assert "T7" in eeg.attrs["bads"] and "T7" not in eeg.sensor.values  # from channels.tsv
    assert np.isfinite(eeg["sensor_position"].values).all()  # fallback montage standard_1020
    alpha = eeg["band_power_relative"].sel(band="alpha").values
    assert (alpha > 0.3).all()
    # run again: existing outputs are not replaced silently
    with pytest.raises(FileExistsError, match="overwrite=True"):
        run_pipeline("all", root, out)
    again = run_pipeline("eeg", root, out, "sub-02", overwrite=True)
    assert sorted(p.name for p in again) == ["dataset_description.json",
                                             "sub-02_task-rest_desc-targets_eeg.json",
                                             "sub-02_task-rest_desc-targets_eeg.nc"]


def test_custom_recipe_participant_label_and_tangent(dataset, tmp_path):
    root, known = dataset
    recipe = tmp_path / "exact.toml"
    recipe.write_text("""
[recipe]
name = "exact"
[fmri]
confounds = false
detrend = true
standardize = true
fc = ["pearson"]
tangent = true
fcd_window = "20 vol"
fcd_step = "5 vol"
resample_atlas = true
""")
    out = tmp_path / "out"
    files = run_pipeline(recipe, root, out, participant_label="01")
    assert not (out / "sub-02").exists()
    nc = [p for p in files if p.suffix == ".nc"]
    assert len(nc) == 1
    ds = load_dataset(nc[0])
    np.testing.assert_allclose(ds["fc"].values, known["01"][1], atol=1e-5)  # float32 voxels
    assert "fc_tangent" not in ds  # one run: no group for the tangent space
    files = run_pipeline(recipe, root, tmp_path / "out2")
    datasets = [load_dataset(p) for p in files if p.suffix == ".nc"]
    assert len(datasets) == 2 and all("fc_tangent" in d for d in datasets)
    assert datasets[0].attrs["provenance"]["tangent_group"] == [
        "sub-01_task-rest_atlas-tvb76mni152_desc-targets_bold.nc",
        "sub-02_task-rest_atlas-tvb76mni152_desc-targets_bold.nc"]


def test_recipe_and_dataset_errors(dataset, tmp_path):
    root, _ = dataset
    with pytest.raises(ValueError, match="Participant '03' is not in .*Subjects: \\['01', '02'\\]"):
        run_pipeline("fmri", root, tmp_path / "o", participant_label="03")
    with pytest.raises(ValueError, match="Unknown recipe 'eg'. Did you mean 'eeg'"):
        run_pipeline("eg", root, tmp_path / "o")
    bad = tmp_path / "bad.toml"
    bad.write_text("[fmri]\nlowpass = 0.1\n")
    with pytest.raises(ValueError, match=r"bad\.toml: \[fmri\] has an unknown key 'lowpass'. "
                                         "Did you mean 'low_pass'"):
        run_pipeline(bad, root, tmp_path / "o")
    bad.write_text("[fmr]\ntask = 'rest'\n")
    with pytest.raises(ValueError, match=r"unknown table \[fmr\]. Did you mean 'fmri'"):
        run_pipeline(bad, root, tmp_path / "o")
    bad.write_text("[fmri\n")
    with pytest.raises(ValueError, match="is not valid TOML"):
        run_pipeline(bad, root, tmp_path / "o")
    other = tmp_path / "other.toml"
    other.write_text("[fmri]\ntask = 'motor'\n")
    with pytest.raises(ValueError, match=r"found no input .*func/\*_task-motor\*_bold"):
        run_pipeline(other, root, tmp_path / "o")
    with pytest.raises(ValueError, match="has no sub-\\* folders"):
        run_pipeline("fmri", tmp_path, tmp_path / "o")


@pytest.fixture
def dwi_dataset(tmp_path):
    root = tmp_path / "bids_dwi"
    d = root / "sub-01" / "dwi"
    d.mkdir(parents=True)
    data = np.zeros(GRID + (3,), np.float32)
    nib.Nifti1Image(data, AFFINE).to_filename(d / "sub-01_dwi.nii.gz")
    (d / "sub-01_dwi.bval").write_text("0 1000 1000\n")
    (d / "sub-01_dwi.bvec").write_text("0 1 0\n0 0 1\n0 0 0\n")
    return root


def test_dti_step_needs_the_dti_pipeline(dwi_dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vbrain.pipelines.dti", None)  # import fails
    with pytest.raises(RuntimeError, match="dti pipeline is not available"):
        run_pipeline("dti", dwi_dataset, tmp_path / "o")


def test_dti_step_calls_run_dti_with_the_agreed_signature(dwi_dataset, tmp_path, monkeypatch):
    calls = []

    def run_dti(dwi, bval, bvec, atlas, out_dir, *, model="csa", tracking="deterministic",
                seeds_per_voxel=2, fa_threshold=0.2, weighting="count", seed=0, progress=True):
        calls.append((dwi, bval, bvec, atlas, out_dir, model, seed, progress))
        out_dir.mkdir(parents=True)
        (out_dir / "connectome.zip").write_bytes(b"zip")
        return types.SimpleNamespace(connectome_path=out_dir / "connectome.zip",
                                     tractogram_path=None, qc_path=None, provenance_path=None)

    fake = types.ModuleType("vbrain.pipelines.dti")
    fake.run_dti = run_dti
    monkeypatch.setitem(sys.modules, "vbrain.pipelines.dti", fake)
    recipe = tmp_path / "dti.toml"
    recipe.write_text('[dti]\natlas = "atlases:default"\nresample_atlas = true\nseed = 3\n'
                      "progress = false\n")
    written = run_pipeline(recipe, dwi_dataset, tmp_path / "o")
    (dwi, bval, bvec, atlas, out_dir, _, seed, progress), = calls
    assert dwi.name == "sub-01_dwi.nii.gz" and bval.suffix == ".bval" and bvec.suffix == ".bvec"
    assert isinstance(atlas, Atlas) and atlas.shape == GRID and (seed, progress) == (3, False)
    assert out_dir == tmp_path / "o/sub-01/dwi/sub-01_atlas-tvb76mni152_dti"
    assert {p.name for p in written} >= {"connectome.zip", "sub-01_atlas-tvb76mni152_dti.json"}


def test_bundled_dti_recipe_keys_fit_run_dti():
    dti = pytest.importorskip("vbrain.pipelines.dti")
    if not hasattr(dti, "run_dti"):
        pytest.skip("run_dti not written yet")
    for name in ("dti", "all"):
        spec, path, _ = load_recipe(name)
        bids_mod._split_params("dti", spec["dti"], bids_mod._DTI_KEYS, dti.run_dti, str(path))


def test_sessions_brainvision_and_electrodes_tsv(tmp_path):
    root = tmp_path / "bids"
    d = root / "sub-A" / "ses-1" / "eeg"
    d.mkdir(parents=True)
    chs = ["Fz", "Cz", "Pz", "C3", "C4", "O1", "O2"]
    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(1e-6 * rng.standard_normal((7, 250 * 20)),
                          mne.create_info(chs, 250.0, "eeg"), verbose=False)
    save_raw(raw, d / "sub-A_ses-1_task-rest_eeg.vhdr")
    xyz = rng.uniform(-80, 80, (7, 3))  # mm, as coordsystem.json declares
    pd.DataFrame({"name": chs, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).to_csv(
        d / "sub-A_ses-1_electrodes.tsv", sep="\t", index=False)
    (d / "sub-A_ses-1_coordsystem.json").write_text(json.dumps(
        {"EEGCoordinateSystem": "CapTrak", "EEGCoordinateSystemUnits": "mm"}))
    files = run_pipeline("eeg", root, tmp_path / "out")
    nc = tmp_path / "out/sub-A/ses-1/eeg/sub-A_ses-1_task-rest_desc-targets_eeg.nc"
    assert nc in files
    ds = load_dataset(nc)
    np.testing.assert_allclose(ds["sensor_position"].values, xyz, atol=1e-4)
    roles = {r["path"].rsplit("/", 1)[-1]: r["role"] for r in ds.attrs["provenance"]["inputs"]}
    assert roles == {"sub-A_ses-1_task-rest_eeg.vhdr": "eeg recording",
                     "sub-A_ses-1_task-rest_eeg.vmrk": "eeg recording",
                     "sub-A_ses-1_task-rest_eeg.eeg": "eeg recording",
                     "sub-A_ses-1_electrodes.tsv": "electrodes",
                     "sub-A_ses-1_coordsystem.json": "electrodes",
                     "eeg.toml": "recipe"}


def test_vbrain_pipeline_command(dataset, tmp_path, capsys):
    from vbrain.cli import main

    dataset, _ = dataset
    out = tmp_path / "derivatives"
    assert main(["pipeline", "fmri", str(dataset), str(out), "--participant-label", "01"]) == 0
    text = capsys.readouterr().out
    assert "vbrain pipeline fmri: wrote" in text
    assert (out / "dataset_description.json").exists()
    assert list((out / "sub-01").rglob("*.nc")) and not (out / "sub-02").exists()
    assert main(["pipeline", "fmrii", str(dataset), str(tmp_path / "x")]) == 2
    assert "Did you mean 'fmri'" in capsys.readouterr().err
