"""fMRI -> targets: synthetic images built from known region signals through a parcellation."""

from __future__ import annotations

import gzip
import hashlib
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from vbrain.pipelines.fmri import (
    fcd,
    fmri_targets,
    functional_connectivity,
    read_confounds,
    region_series,
    tangent_connectivity,
)
from vbrain.pipelines.provenance import load_dataset, save_dataset

from vbrain.atlas import Atlas

AFFINE = np.array([[2.0, 0, 0, -12], [0, 2.0, 0, -10], [0, 0, 2.0, -8], [0, 0, 0, 1]])
SHAPE = (12, 10, 8)
BOXES = [(slice(0, 6), slice(0, 5), slice(0, 4)), (slice(6, 12), slice(0, 5), slice(0, 4)),
         (slice(0, 6), slice(5, 10), slice(0, 4)), (slice(6, 12), slice(5, 10), slice(0, 4)),
         (slice(0, 12), slice(0, 10), slice(4, 7))]  # row z = 7 stays background
NAMES = ["rA", "lA", "rB", "lB", "mid"]
N_T, TR_S = 120, 2.0


@pytest.fixture(scope="module")
def atlas():
    data = np.zeros(SHAPE, np.int16)
    for k, box in enumerate(BOXES):
        data[box] = k + 1
    return Atlas(nib.Nifti1Image(data, AFFINE), NAMES, name="toy")


def known_signals(n_t, corr, rng, exclude=()):
    """Series (n_t, n) whose sample correlation is exactly ``corr`` and which are orthogonal to
    a constant, a linear trend and the columns of ``exclude`` (so detrending, standardising and
    regressing ``exclude`` leave their correlation unchanged)."""
    n = corr.shape[0]
    t = np.arange(n_t, dtype=float)
    fixed = np.column_stack([np.ones(n_t), t - t.mean()] + [np.asarray(exclude)]
                            if len(exclude) else [np.ones(n_t), t - t.mean()])
    q_fixed, _ = np.linalg.qr(fixed)
    z = rng.standard_normal((n_t, n))
    z -= q_fixed @ (q_fixed.T @ z)
    q, _ = np.linalg.qr(z)  # orthonormal, still orthogonal to `fixed`
    return 3.0 * q @ np.linalg.cholesky(corr).T


def random_corr(n, rng):
    a = rng.standard_normal((n, 3 * n))
    return np.corrcoef(a)


def bold_image(atlas, series, *, extra=None, tr_s=TR_S, dtype=np.float64, offsets=None):
    """Every voxel of parcel k carries series[:, k] (+ offset k, + extra voxel-wise terms)."""
    n_t, n = series.shape
    table = np.zeros((n + 1, n_t))
    offsets = np.full(n, 100.0) if offsets is None else np.asarray(offsets, dtype=float)
    table[1:] = series.T + offsets[:, None]
    data = table[atlas.region_indices() + 1].astype(dtype)
    if extra is not None:
        data = data + extra
    img = nib.Nifti1Image(data, AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((2.0, 2.0, 2.0, tr_s))
    return img


# --- the recovered FC equals the known FC ----------------------------------------------------
@pytest.mark.parametrize("clean", [False, True])
def test_known_fc_is_recovered(atlas, clean):
    rng = np.random.default_rng(1)
    corr = random_corr(5, rng)
    s = known_signals(N_T, corr, rng)
    img = bold_image(atlas, s, offsets=np.array([100.0, 50, 20, 10, 5]))
    ds = fmri_targets(img, atlas, detrend=clean, standardize=clean, fc=("pearson",),
                      fcd_window="20 vol", fcd_step="5 vol")
    np.testing.assert_allclose(ds["fc"].values, corr, atol=1e-6)
    assert list(ds["fc"].region_i.values) == NAMES
    assert ds.attrs["tr_ms"] == 2000.0
    np.testing.assert_allclose(ds["series"].time.values, np.arange(N_T) * 2000.0)
    if clean:
        np.testing.assert_allclose(ds["series"].std("time", ddof=1), 1.0, rtol=1e-10)


def test_confound_regression_with_fmriprep_table(atlas, tmp_path):
    rng = np.random.default_rng(2)
    corr = random_corr(5, rng)
    cols = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "csf", "white_matter",
            "trans_x_derivative1", "global_signal"]
    conf = pd.DataFrame(rng.standard_normal((N_T, len(cols))), columns=cols)
    conf.loc[0, "trans_x_derivative1"] = np.nan  # fMRIPrep writes n/a in the first row
    path = tmp_path / "sub-01_task-rest_desc-confounds_timeseries.tsv"
    conf.to_csv(path, sep="\t", index=False, na_rep="n/a")
    chosen = ["trans_*", "rot_?", "csf", "white_matter"]
    values, names = read_confounds(path, N_T, chosen)
    expected = cols[:3] + ["trans_x_derivative1"] + cols[3:8]  # in pattern order
    assert names == expected and np.isfinite(values).all()
    assert values[0, 3] == pytest.approx(conf["trans_x_derivative1"][1:].mean())
    s = known_signals(N_T, corr, rng, exclude=values)
    mixing = rng.standard_normal((values.shape[1], 5)) * 5.0  # confounds leak into every parcel
    img = bold_image(atlas, s + values @ mixing)
    dirty = fmri_targets(img, atlas, fc=("pearson",), compute_fcd=False)
    assert np.abs(dirty["fc"].values - corr).max() > 0.1
    ds = fmri_targets(img, atlas, confounds=path, confound_columns=chosen, fc=("pearson",),
                      compute_fcd=False)
    np.testing.assert_allclose(ds["fc"].values, corr, atol=1e-6)
    assert ds.attrs["parameters"]["confounds_used"] == expected


def test_with_the_shipped_atlas_on_the_mni_grid():
    atlas = Atlas.load("atlases:default")
    rng = np.random.default_rng(3)
    corr = random_corr(76, rng)
    s = known_signals(100, corr, rng)
    table = np.zeros((77, 100), np.float32)
    table[1:] = s.T + 50.0
    # volumes contiguous in memory, as nibabel reads NIfTI files (the masker goes volume by volume)
    data = np.moveaxis(table.T[:, atlas.region_indices() + 1], 0, -1)
    img = nib.Nifti1Image(data, atlas.affine)
    img.header.set_zooms((2.0, 2.0, 2.0, 2.0))
    ds = fmri_targets(img, atlas, fc=("pearson",), compute_fcd=False)
    np.testing.assert_allclose(ds["fc"].values, corr, atol=1e-5)  # float32 voxels


def test_partial_and_tangent(atlas):
    rng = np.random.default_rng(4)
    s = known_signals(N_T, random_corr(5, rng), rng)
    series = region_series(bold_image(atlas, s), atlas)
    part = functional_connectivity(series, "partial", covariance="empirical")
    prec = np.linalg.inv(np.cov(series.values.T))
    d = np.sqrt(np.diag(prec))
    expected = -prec / np.outer(d, d)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(part.values[off], expected[off], atol=1e-10)
    lw = functional_connectivity(series, "partial")  # Ledoit-Wolf: shrunk towards 0
    assert np.abs(lw.values[off]).sum() < np.abs(expected[off]).sum()
    group = [region_series(bold_image(atlas, known_signals(N_T, random_corr(5, rng), rng)), atlas)
             for _ in range(3)]
    mats = tangent_connectivity(group)
    assert len(mats) == 3 and mats[0].dims == ("region_i", "region_j")
    np.testing.assert_allclose(mats[1].values, mats[1].values.T, atol=1e-12)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        tangent_connectivity(group[:1])
    with pytest.raises(ValueError, match="needs several subjects"):
        functional_connectivity(series, "tangent")
    with pytest.raises(ValueError, match="needs several subjects"):
        fmri_targets(bold_image(atlas, s), atlas, fc=["tangent"])
    with pytest.raises(ValueError, match="Did you mean 'pearson'"):
        functional_connectivity(series, "pearsn")


def test_fcd_matches_a_direct_computation(atlas):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N_T, 5)).cumsum(axis=0)
    series = region_series(bold_image(atlas, x), atlas, detrend=False, standardize=False)
    out = fcd(series, "40 s", "10 s")  # TR 2 s: 20-volume windows, 5-volume steps
    assert out.attrs["window_volumes"] == 20 and out.attrs["step_volumes"] == 5
    starts = range(0, N_T - 20 + 1, 5)
    iu = np.triu_indices(5, 1)
    fcs = np.array([np.corrcoef(x[s:s + 20].T)[iu] for s in starts])
    np.testing.assert_allclose(out.values, np.corrcoef(fcs), atol=1e-10)
    np.testing.assert_allclose(out.window_i.values, (np.array(list(starts)) + 9.5) * 2000.0)
    np.testing.assert_array_equal(fcd(series, "20 vol", "5 vol").values, out.values)
    np.testing.assert_array_equal(fcd(series, 40_000.0, 10_000.0).values, out.values)
    with pytest.raises(ValueError, match="between 3 and the series length 120"):
        fcd(series, "300 s")
    with pytest.raises(ValueError, match="'60 s', '2000 ms' or '30 vol'"):
        fcd(series, "one minute")
    with pytest.raises(ValueError, match="needs the repetition time"):
        fcd(series.values, "60 s")


def test_band_pass_and_repetition_time(atlas):
    t = np.arange(N_T) * TR_S
    rng = np.random.default_rng(6)
    slow = np.sin(2 * np.pi * 0.02 * t)
    fast = np.sin(2 * np.pi * 0.2 * t)
    x = np.column_stack([slow + fast, slow - fast, slow, fast, rng.standard_normal(N_T)])
    img = bold_image(atlas, x)
    series = region_series(img, atlas, detrend=False, standardize=False, low_pass=0.08,
                           high_pass=0.01)
    kept = series.values[10:-10]  # away from the filter's edges
    assert abs(np.corrcoef(kept[:, 0], kept[:, 1])[0, 1] - 1.0) < 0.02  # 0.2 Hz removed
    rms = np.sqrt((kept ** 2).mean(axis=0))
    assert rms[3] < 0.1 * rms[2]  # the pure 0.2 Hz parcel is (nearly) gone, 0.02 Hz kept
    # TR from a header in ms, overridden by tr=, and needed for filtering
    img_ms = bold_image(atlas, x, tr_s=2000.0)
    img_ms.header.set_xyzt_units("mm", "msec")
    assert region_series(img_ms, atlas).attrs["tr_ms"] == 2000.0
    assert region_series(img, atlas, tr=1500.0).attrs["tr_ms"] == 1500.0
    no_tr = bold_image(atlas, x, tr_s=0.0)
    with pytest.raises(ValueError, match="needs the repetition time"):
        region_series(no_tr, atlas, low_pass=0.1)
    with pytest.raises(ValueError, match=r"below the Nyquist frequency 0\.25 Hz"):
        region_series(img, atlas, low_pass=0.3)
    with pytest.raises(ValueError, match="high_pass .* must be below low_pass"):
        region_series(img, atlas, low_pass=0.05, high_pass=0.08)


# --- bad inputs ------------------------------------------------------------------------------
def test_bad_images(atlas, tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((30, 5))
    img = bold_image(atlas, x)
    shifted = nib.Nifti1Image(np.asarray(img.dataobj), AFFINE + np.c_[np.zeros((4, 3)),
                                                                         [4.0, 0, 0, 0]])
    shifted.header.set_zooms((2.0, 2.0, 2.0, 2.0))
    with pytest.raises(ValueError, match=r"different voxel grids: image shape \(12, 10, 8\), "
                                         r"affine .*-8\.0.*resample_atlas=True"):
        region_series(shifted, atlas)
    # resampling the atlas instead: two voxel planes fall outside, every parcel keeps voxels
    assert region_series(shifted, atlas, resample_atlas=True).shape == (30, 5)
    small = nib.Nifti1Image(np.asarray(img.dataobj)[:10], AFFINE)
    with pytest.raises(ValueError, match=r"image shape \(10, 10, 8\).*atlas shape \(12, 10, 8\)"):
        region_series(small, atlas)
    path3d = tmp_path / "t1.nii.gz"
    nib.Nifti1Image(np.zeros(SHAPE, np.float32), AFFINE).to_filename(path3d)
    with pytest.raises(ValueError, match=r"t1\.nii\.gz' must be 4-D .* shape \(12, 10, 8\)"):
        region_series(path3d, atlas)
    path = tmp_path / "bold.nii.gz"
    img.to_filename(path)
    raw = gzip.decompress(path.read_bytes())
    cut = tmp_path / "cut_bold.nii.gz"
    cut.write_bytes(gzip.compress(raw[: len(raw) // 3]))
    with pytest.raises(ValueError, match=r"cut_bold\.nii\.gz' cannot be read.*truncated"):
        region_series(cut, atlas)
    with pytest.raises(FileNotFoundError, match="No fMRI image at"):
        region_series(tmp_path / "nope.nii.gz", atlas)
    # a parcel without signal (zero in every volume): an "empty" parcel for this image
    data = np.asarray(img.dataobj).copy()
    data[atlas.region_indices() == 2] = 0.0
    with pytest.raises(ValueError, match=r"no signal in 1 atlas region.*'rB'"):
        region_series(nib.Nifti1Image(data, AFFINE), atlas)


def test_bad_confounds(atlas, tmp_path):
    x = np.random.default_rng(8).standard_normal((30, 5))
    img = bold_image(atlas, x)
    path = tmp_path / "conf.tsv"
    pd.DataFrame(np.ones((29, 2)), columns=["csf", "white_matter"]).to_csv(path, sep="\t",
                                                                           index=False)
    with pytest.raises(ValueError, match=r"conf\.tsv' has 29 rows, but the fMRI image has 30 "
                                         "volumes"):
        region_series(img, atlas, confounds=path, confound_columns=["csf"])
    with pytest.raises(ValueError, match=r"No column of the confounds file .*conf\.tsv' matches "
                                         r"'trans_x'.*columns: \['csf', 'white_matter'\]"):
        region_series(img, atlas, confounds=path)
    with pytest.raises(ValueError, match="Did you mean 'white_matter'"):
        read_confounds(path, None, ["white_mater"])
    nan = tmp_path / "nan.tsv"
    nan.write_text("csf\n" + "n/a\n" * 30)
    with pytest.raises(ValueError, match=r"nan\.tsv'.*column\(s\) \['csf'\] have no value"):
        region_series(img, atlas, confounds=nan, confound_columns=["csf"])


# --- saving with provenance --------------------------------------------------------------------
def test_targets_saved_with_provenance(atlas, tmp_path):
    rng = np.random.default_rng(9)
    s = known_signals(N_T, random_corr(5, rng), rng)
    path = tmp_path / "sub-01_task-rest_bold.nii.gz"
    bold_image(atlas, s, dtype=np.float32).to_filename(path)
    ds = fmri_targets(path, atlas, fcd_window="20 vol", fcd_step="4 vol", root=tmp_path)
    prov = ds.attrs["provenance"]
    assert prov["inputs"][0]["path"] == path.name
    assert prov["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["inputs"][1]["role"] == "atlas"
    assert {"vbrain", "nilearn", "numpy", "python"} <= set(prov["versions"])
    assert prov["parameters"]["fcd_window_volumes"] == 20
    nc, side = save_dataset(ds, tmp_path / "out" / "targets.nc")
    meta = json.loads(side.read_text())
    assert meta["vbrain"]["inputs"][0]["sha256"] == prov["inputs"][0]["sha256"]
    back = load_dataset(nc)
    for var in ("series", "fc", "fc_partial", "fcd"):
        np.testing.assert_array_equal(back[var].values, ds[var].values)
    assert back.attrs["provenance"]["step"] == "fmri"
    assert back.attrs["parameters"]["fc"] == ["pearson", "partial"]
    assert list(back["fc"].region_j.values) == NAMES
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_dataset(ds, nc)
