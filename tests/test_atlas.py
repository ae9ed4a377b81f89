"""Atlas (label image <-> regions) and region BOLD -> 4-D NIfTI, checked with nibabel and nilearn."""

from __future__ import annotations

import logging

import nibabel as nib
import numpy as np
import pytest
import xarray as xr

import vbrain as vb
from vbrain.atlas import Atlas
from vbrain.forward import bold_to_nifti

#: 2 mm voxels, origin at (-10, -12, -8) mm, x axis flipped (radiological storage)
AFFINE = np.array([[-2.0, 0.0, 0.0, 10.0],
                   [0.0, 2.0, 0.0, -12.0],
                   [0.0, 0.0, 2.0, -8.0],
                   [0.0, 0.0, 0.0, 1.0]])
#: parcel value -> (name, box as slices)
PARCELS = {
    3: ("visual", (slice(1, 4), slice(2, 6), slice(1, 3))),  # 3 x 4 x 2 = 24 voxels
    7: ("motor", (slice(5, 9), slice(0, 2), slice(4, 7))),  # 4 x 2 x 3 = 24
    9: ("frontal", (slice(0, 2), slice(8, 12), slice(5, 8))),  # 2 x 4 x 3 = 24
    12: ("temporal", (slice(6, 10), slice(6, 9), slice(0, 1))),  # 4 x 3 x 1 = 12
}


def label_image(dtype=np.int16, values=PARCELS, shape=(10, 12, 8)):
    data = np.zeros(shape, dtype=dtype)
    for value, (_, box) in values.items():
        data[box] = value
    return nib.Nifti1Image(data, AFFINE)


@pytest.fixture
def atlas():
    return Atlas(label_image(), {v: name for v, (name, _) in PARCELS.items()}, name="toy")


# --- measures ------------------------------------------------------------------------
def test_volumes_and_centres_in_mm(atlas):
    assert atlas.labels == ("visual", "motor", "frontal", "temporal")
    np.testing.assert_array_equal(atlas.values, [3, 7, 9, 12])
    assert atlas.voxel_volume == 8.0 and atlas.shape == (10, 12, 8)
    np.testing.assert_array_equal(atlas.region_volumes(), [192.0, 192.0, 192.0, 96.0])
    # box centre in voxels, e.g. visual: i 1..3 -> 2, j 2..5 -> 3.5, k 1..2 -> 1.5
    centre_ijk = np.array([[2.0, 3.5, 1.5], [6.5, 0.5, 5.0], [0.5, 9.5, 6.0], [7.5, 7.0, 0.0]])
    expected = centre_ijk @ AFFINE[:3, :3].T + AFFINE[:3, 3]
    np.testing.assert_allclose(atlas.region_centres(), expected)
    assert expected[0].tolist() == [6.0, -5.0, -5.0]
    idx = atlas.region_indices()
    assert idx[2, 3, 1] == 0 and idx[0, 0, 0] == -1 and (idx == 3).sum() == 12
    assert repr(atlas) == "<Atlas 'toy': 4 regions on a (10, 12, 8) grid>"


def test_list_labels_path_float_labels_and_metre_units(tmp_path):
    values = {1: PARCELS[3], 2: PARCELS[7]}
    img = label_image(np.float32, values)  # labels stored as floats, as many tools do
    path = tmp_path / "labels.nii.gz"
    img.to_filename(path)
    atlas = Atlas(path, ["visual", "motor"])
    np.testing.assert_array_equal(atlas.values, [1, 2])
    np.testing.assert_array_equal(atlas.region_volumes(), [192.0, 192.0])
    # a header in metres: world coordinates are still reported in mm
    metres = nib.Nifti1Image(np.asarray(img.dataobj), AFFINE / 1000.0 * np.r_[1, 1, 1, 1000][:, None])
    metres.header.set_xyzt_units("meter")
    in_m = Atlas(metres, ["visual", "motor"])
    np.testing.assert_allclose(in_m.region_centres(), atlas.region_centres(), rtol=1e-12)
    assert in_m.voxel_volume == pytest.approx(8.0)
    # a trailing volume axis of length 1 is accepted
    single = nib.Nifti1Image(np.asarray(img.dataobj)[..., None], AFFINE)
    assert Atlas(single, ["visual", "motor"]).shape == (10, 12, 8)


def test_match_reorders_to_the_connectome(atlas, caplog):
    conn = vb.Connectome(np.zeros((3, 3)), np.zeros((3, 3)), labels=["temporal", "visual", "motor"])
    with caplog.at_level(logging.INFO, logger="vbrain.atlas"):
        matched = atlas.match(conn)
    assert matched.labels == conn.labels
    np.testing.assert_array_equal(matched.values, [12, 3, 7])
    np.testing.assert_array_equal(matched.region_volumes(), [96.0, 192.0, 192.0])
    np.testing.assert_allclose(matched.region_centres(), atlas.region_centres()[[3, 0, 1]])
    assert (matched.region_indices() == -1).sum() == (atlas.region_indices() == -1).sum() + 24
    assert "frontal" in caplog.text
    assert atlas.match(["motor"]).labels == ("motor",)


# --- errors ---------------------------------------------------------------------------
NAMES = {v: name for v, (name, _) in PARCELS.items()}


def test_error_non_integer_image():
    data = np.asarray(label_image(np.float32).dataobj).copy()
    data[0, 0, 0] = 2.5
    with pytest.raises(ValueError, match=r"integer label values.*2\.5 at voxel \(0, 0, 0\)"):
        Atlas(nib.Nifti1Image(data, AFFINE), NAMES)


def test_error_4d_image():
    data = np.stack([np.asarray(label_image().dataobj)] * 2, axis=-1)
    with pytest.raises(ValueError, match=r"must be 3-D .* 4-D image of shape \(10, 12, 8, 2\)"):
        Atlas(nib.Nifti1Image(data, AFFINE), NAMES)


def test_error_image_values_not_in_labels():
    names = dict(NAMES)
    del names[9]
    with pytest.raises(ValueError, match=r"1 non-zero value\(s\) that labels does not name: \[9\]"):
        Atlas(label_image(), names)
    assert Atlas(label_image(), names, unnamed="background").n_regions == 3


def test_error_empty_parcel():
    with pytest.raises(ValueError, match=r"no voxels .*'insula' \(value 20\)"):
        Atlas(label_image(), {**NAMES, 20: "insula"})


@pytest.mark.parametrize("labels, err, match", [
    ({0: "bg", 3: "visual"}, ValueError, r"must be positive \(0 is the background\)"),
    ({3: "a", 7: "a", 9: "b", 12: "c"}, ValueError, r"unique, but \['a'\]"),
    ({3.0: "visual"}, TypeError, r"Label values must be integers"),
    ({3: ""}, ValueError, r"non-empty strings"),
    ("visual", TypeError, r"dict \{label value: name\} or a list"),
    ([], ValueError, r"labels is empty"),
])
def test_error_bad_labels(labels, err, match):
    with pytest.raises(err, match=match):
        Atlas(label_image(), labels)


def test_error_bad_image_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No label image at"):
        Atlas(tmp_path / "missing.nii.gz", NAMES)
    with pytest.raises(TypeError, match=r"must be a nibabel image or a path"):
        Atlas(np.zeros((3, 3, 3)), NAMES)
    with pytest.raises(ValueError, match=r"unnamed must be one of"):
        Atlas(label_image(), NAMES, unnamed="drop")


def test_error_match_names_missing_regions(atlas):
    conn = vb.Connectome(np.zeros((3, 3)), np.zeros((3, 3)), labels=["visual", "motr", "insula"])
    with pytest.raises(ValueError, match=r"no parcel for 2 of the 3 .*'motr', 'insula'.*Did you mean 'motor'"):
        atlas.match(conn)
    with pytest.raises(TypeError, match=r"Connectome or a sequence of region names"):
        atlas.match(42)


# --- region BOLD -> 4-D NIfTI --------------------------------------------------------
def bold_array(regions, n_time=12, tr=2000.0, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 0.01, (n_time, 1, len(regions)))
    return xr.DataArray(values, dims=("time", "variable", "region"),
                        coords={"time": tr * np.arange(1, n_time + 1), "variable": ["bold"],
                                "region": list(regions)}, name="bold", attrs={"units": "1"})


def test_nifti_round_trip_with_nilearn(atlas, tmp_path):
    """NiftiLabelsMasker on the written image returns the region series; TR in s in the header."""
    from nilearn.maskers import NiftiLabelsMasker

    order = ["frontal", "temporal", "visual", "motor"]  # not the atlas order: matched by name
    bold = bold_array(order, tr=1500.0)
    img = bold_to_nifti(bold, atlas)
    path = tmp_path / "bold.nii.gz"
    img.to_filename(path)
    back = nib.load(path)
    assert back.shape == (10, 12, 8, 12) and back.get_data_dtype() == np.float32
    np.testing.assert_allclose(back.affine, AFFINE)
    assert back.header.get_zooms()[3] == pytest.approx(1.5)
    assert back.header.get_xyzt_units() == ("mm", "sec")
    masker = NiftiLabelsMasker(labels_img=atlas.image, strategy="mean", standardize=None)
    signals = masker.fit_transform(back)  # columns by ascending label value: 3, 7, 9, 12
    expected = bold.isel(variable=0).sel(region=["visual", "motor", "frontal", "temporal"]).values
    np.testing.assert_allclose(signals, expected, rtol=1e-6, atol=1e-9)
    data = np.asarray(back.dataobj)
    assert np.all(data[atlas.region_indices() < 0] == 0.0)


def test_nifti_tr_sources_and_missing_parcels(atlas, caplog):
    bold = bold_array(["visual", "motor"], tr=800.0)
    with caplog.at_level(logging.INFO, logger="vbrain.forward.nifti"):
        img = bold_to_nifti(bold.isel(variable=0), atlas, tr=720.0)  # tr= wins over the times
    assert img.header.get_zooms()[3] == pytest.approx(0.72)
    data = img.get_fdata()
    idx = atlas.region_indices()
    assert np.all(data[idx == 2] == 0.0) and np.all(data[idx == 3] == 0.0)  # no series: 0
    np.testing.assert_allclose(data[idx == 1][0], bold.values[:, 0, 1], rtol=1e-6)
    assert "frontal" in caplog.text
    one = bold_array(["visual"], n_time=1).assign_attrs(tr_ms=2500.0)
    assert bold_to_nifti(one, atlas).header.get_zooms()[3] == pytest.approx(2.5)
    # a plain array in atlas order
    arr = np.arange(8.0).reshape(2, 4)
    out = bold_to_nifti(arr, atlas, tr=1000.0).get_fdata()
    np.testing.assert_array_equal(out[idx == 3], [[3.0, 7.0]] * 12)


def test_nifti_errors(atlas):
    bold = bold_array(["visual", "motor"])
    batch = xr.concat([bold, bold], dim="batch")
    with pytest.raises(ValueError, match=r"batch dim of 2 members; pass one member"):
        bold_to_nifti(batch, atlas)
    with pytest.raises(ValueError, match=r"no parcel for 1 bold region\(s\): 'insula'"):
        bold_to_nifti(bold_array(["visual", "insula"]), atlas)
    uneven = bold.assign_coords(time=np.r_[np.arange(1, 12) * 2000.0, 30_000.0])
    with pytest.raises(ValueError, match=r"not uniformly spaced"):
        bold_to_nifti(uneven, atlas)
    with pytest.raises(ValueError, match=r"Cannot tell the repetition time"):
        bold_to_nifti(bold_array(["visual"], n_time=1), atlas)
    with pytest.raises(ValueError, match=r"has 3 regions but no region labels"):
        bold_to_nifti(np.zeros((5, 3)), atlas, tr=1000.0)
    two = xr.concat([bold, bold], dim="variable")
    with pytest.raises(ValueError, match=r"2 variables; select one"):
        bold_to_nifti(two, atlas)
    with pytest.raises(ValueError, match=r"tr must be > 0"):
        bold_to_nifti(bold, atlas, tr=-1.0)
    with pytest.raises(TypeError, match=r"atlas must be Atlas"):
        bold_to_nifti(bold, "atlas.nii.gz")
