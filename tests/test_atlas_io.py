"""Atlas readers (FreeSurfer LUT, TSV, plain list, nilearn objects), resampling, saving, and
the shipped MNI parcellation of the default connectome."""

from __future__ import annotations

import gzip
import socket

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

import vbrain as vb
from vbrain import atlases
from vbrain.atlas import Atlas, read_label_table

AFFINE = np.array([[2.0, 0, 0, -10], [0, 2.0, 0, -12], [0, 0, 2.0, -8], [0, 0, 0, 1]])
SHAPE = (10, 12, 8)
# FreeSurfer-like values: the image holds 17, 53 and 1035 (not 1..n)
BOXES = {17: (slice(0, 4), slice(0, 6), slice(0, 4)),
         53: (slice(6, 10), slice(0, 6), slice(0, 4)),
         1035: (slice(2, 8), slice(7, 12), slice(4, 8))}
LUT = """#$Id: FreeSurferColorLUT.txt (excerpt)
#No. Label Name:                            R   G   B   A

0   Unknown                                 0   0   0   0
2   Left-Cerebral-White-Matter              245 245 245 0
17  Left-Hippocampus                        220 216 20  0
53  Right-Hippocampus                       220 216 20  0
1035 ctx-lh-insula                          255 192 32  0
2035 ctx-rh-insula                          255 192 32  0
"""


def label_image(values=BOXES, dtype=np.int16):
    data = np.zeros(SHAPE, dtype=dtype)
    for v, box in values.items():
        data[box] = v
    return nib.Nifti1Image(data, AFFINE)


# --- label tables --------------------------------------------------------------------
def test_freesurfer_lut_drops_entries_the_image_lacks(tmp_path):
    lut = tmp_path / "FreeSurferColorLUT.txt"
    lut.write_text(LUT)
    assert read_label_table(lut) == {2: "Left-Cerebral-White-Matter", 17: "Left-Hippocampus",
                                     53: "Right-Hippocampus", 1035: "ctx-lh-insula",
                                     2035: "ctx-rh-insula"}
    atlas = Atlas.load(label_image(), lut)
    assert atlas.labels == ("Left-Hippocampus", "Right-Hippocampus", "ctx-lh-insula")
    np.testing.assert_array_equal(atlas.values, [17, 53, 1035])
    np.testing.assert_array_equal(atlas.region_volumes(), [96 * 8.0, 96 * 8.0, 120 * 8.0])
    # with empty="error" the absent LUT entries are an error naming the table
    with pytest.raises(ValueError, match=r"FreeSurferColorLUT.txt.*empty parcels"):
        Atlas.load(label_image(), lut, empty="error")


def test_tsv_sidecar_plain_list_and_dict(tmp_path):
    img_path = tmp_path / "sub-01_dseg.nii.gz"
    label_image({1: BOXES[17], 2: BOXES[53], 3: BOXES[1035]}).to_filename(img_path)
    (tmp_path / "sub-01_dseg.tsv").write_text(
        "index\tname\tabbreviation\n1\tleft hippocampus\tlHC\n2\tright hippocampus\trHC\n"
        "3\tinsula\tINS\n")
    atlas = Atlas.load(img_path)  # the table beside the image is found
    assert atlas.labels == ("left hippocampus", "right hippocampus", "insula")
    assert atlas.name == "sub-01_dseg"
    names = tmp_path / "names.txt"
    names.write_text("# one name a line\nA\n\nB\nC\n")
    assert read_label_table(names) == {1: "A", 2: "B", 3: "C"}
    assert Atlas.load(img_path, names).labels == ("A", "B", "C")
    assert Atlas.load(img_path, ["x", "y", "z"]).labels == ("x", "y", "z")
    assert Atlas.load(img_path, {3: "c", 1: "a", 2: "b"}).labels == ("c", "a", "b")


def test_nilearn_atlas_objects():
    img = label_image({1: BOXES[17], 2: BOXES[53], 3: BOXES[1035]})
    # nilearn >= 0.11: labels start with "Background"
    a = Atlas.load(Bunch(maps=img, labels=["Background", "HC-L", "HC-R", "INS-L"]))
    assert a.labels == ("HC-L", "HC-R", "INS-L")
    # older nilearn: labels for 1..n
    assert Atlas.load(Bunch(maps=img, labels=["p", "q", "r"])).labels == ("p", "q", "r")
    # a look-up table (nilearn's Atlas.lut), with an entry the image lacks (dropped)
    lut = pd.DataFrame({"index": [0, 1, 2, 3, 9], "name": ["Background", "a", "b", "c", "z"]})
    assert Atlas.load(Bunch(maps=img, labels=None, lut=lut)).labels == ("a", "b", "c")
    # AAL-style: explicit indices
    img2 = label_image({2001: BOXES[17], 2002: BOXES[53], 5001: BOXES[1035]})
    aal = Bunch(maps=img2, labels=["Precentral_L", "Precentral_R", "Occipital"],
                indices=["2001", "2002", "5001"])
    np.testing.assert_array_equal(Atlas.load(aal).values, [2001, 2002, 5001])
    with pytest.raises(ValueError, match="probabilistic"):
        Atlas.load(Bunch(maps=img, labels=["a"], atlas_type="probabilistic"))


def test_table_and_image_errors_name_the_file(tmp_path):
    img_path = tmp_path / "parc.nii.gz"
    label_image().to_filename(img_path)
    tsv = tmp_path / "table.tsv"
    tsv.write_text("index\tname\n17\tHC-L\n53\tHC-R\n")  # 1035 missing from the table
    with pytest.raises(ValueError, match=r"parc\.nii\.gz.*table\.tsv.*1 non-zero value.*1035"):
        Atlas.load(img_path, tsv)
    tsv.write_text("index\tname\n17\tHC-L\n53\tHC-R\n1035\tINS\n77\tghost\n")
    with pytest.raises(ValueError, match=r"table\.tsv.*empty parcels.*'ghost' \(value 77\)"):
        Atlas.load(img_path, tsv)
    bad = tmp_path / "bad.tsv"
    bad.write_text("value\tlabel\n1\ta\n")
    with pytest.raises(ValueError, match=r"bad\.tsv.*'index' and 'name' columns"):
        read_label_table(bad)
    lut = tmp_path / "lut.txt"
    lut.write_text("17 HC-L 1 2 3 0\n53\n")
    with pytest.raises(ValueError, match=r"lut\.txt.*line 2.*index name"):
        read_label_table(lut)
    dup = tmp_path / "dup.txt"
    dup.write_text("1 a 0 0 0 0\n1 b 0 0 0 0\n")
    with pytest.raises(ValueError, match=r"dup\.txt.*line 2: value 1 appears twice"):
        read_label_table(dup)
    with pytest.raises(FileNotFoundError, match=r"No label table for .*parc\.nii\.gz"):
        Atlas.load(img_path)
    # a truncated label image
    raw = gzip.decompress(img_path.read_bytes())
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(ValueError, match=r"cut\.nii\.gz.*truncated or corrupt"):
        Atlas.load(cut, {17: "a", 53: "b", 1035: "c"})


# --- resampling and saving ------------------------------------------------------------------
def test_resample_to_nearest_neighbour(tmp_path):
    atlas = Atlas(label_image(), {17: "a", 53: "b", 1035: "c"}, name="toy")
    assert atlas.resample_to(atlas) is atlas
    coarse_affine = AFFINE.copy()
    coarse_affine[:3, :3] *= 2.0  # 4 mm voxels, same origin
    coarse = atlas.resample_to((coarse_affine, (5, 6, 4, 30)))  # a 4-D shape: 3 axes used
    assert coarse.shape == (5, 6, 4) and coarse.labels == atlas.labels and coarse.name == "toy"
    np.testing.assert_allclose(coarse.affine, coarse_affine)
    # nearest neighbour: a coarse voxel centre is a fine voxel centre here (i_fine = 2 i)
    fine = atlas.region_indices()
    np.testing.assert_array_equal(coarse.region_indices(), fine[::2, ::2, ::2])
    img4d = nib.Nifti1Image(np.zeros((5, 6, 4, 3), np.float32), coarse_affine)
    assert atlas.resample_to(img4d).same_grid(coarse)
    # a grid far away: every region is lost
    far = coarse_affine.copy()
    far[:3, 3] += 500.0
    with pytest.raises(ValueError, match=r"leaves 3 region\(s\) without voxels.*'a'"):
        atlas.resample_to((far, (5, 6, 4)))
    # a grid covering only part of the atlas: drop the lost regions on request
    part = (AFFINE, (5, 12, 8))
    with pytest.raises(ValueError, match=r"leaves 1 region\(s\) without voxels: 'b'"):
        atlas.resample_to(part)
    assert atlas.resample_to(part, empty="drop").labels == ("a", "c")
    with pytest.raises(FileNotFoundError, match="No image at"):
        atlas.resample_to(tmp_path / "missing.nii.gz")


def test_save_round_trip(tmp_path):
    atlas = Atlas(label_image(), {1035: "c", 17: "a", 53: "b"}, name="toy")
    img_path, tsv = atlas.save(tmp_path / "toy.nii.gz")
    assert tsv.name == "toy.tsv"
    again = Atlas.load(img_path)
    assert again.labels == atlas.labels
    np.testing.assert_array_equal(again.values, atlas.values)
    np.testing.assert_array_equal(again.region_indices(), atlas.region_indices())
    with pytest.raises(FileExistsError, match="exists"):
        atlas.save(img_path)
    with pytest.raises(ValueError, match=r"must end in \.nii or \.nii\.gz"):
        atlas.save(tmp_path / "toy.mgz")


# --- the shipped atlas ---------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_shipped_atlas_matches_the_default_connectome(no_network):
    conn = vb.Connectome.load("atlases:default")
    atlas = Atlas.load("atlases:default")
    assert atlas.name == "tvb76_mni152" and atlas.n_regions == 76
    assert atlas.labels == conn.labels  # same regions, same order
    np.testing.assert_array_equal(atlas.values, np.arange(1, 77))
    img = atlas.image
    assert img.get_data_dtype() == np.int16
    assert atlas.shape == (99, 117, 95)
    np.testing.assert_allclose(atlas.affine, [[2, 0, 0, -98], [0, 2, 0, -134], [0, 0, 2, -72],
                                              [0, 0, 0, 1]])
    assert int(img.header["sform_code"]) == 4  # MNI152
    counts = np.bincount(atlas.region_indices().ravel() + 1)[1:]
    assert counts.min() >= 500  # every region holds >= 4 cm^3

    # seeds in the table = the connectome centres rotated to MNI axes + one translation
    table = pd.read_csv(atlases.atlas_path("default")[1], sep="\t")
    assert table["name"].tolist() == list(conn.labels)
    seeds = table[["seed_x", "seed_y", "seed_z"]].to_numpy()
    tvb = conn.centres
    rotated = np.c_[-tvb[:, 1], tvb[:, 0], tvb[:, 2]]  # MNI x = -y_tvb, y = x_tvb, z = z_tvb
    shift = seeds - rotated
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=2e-3)
    # what we measure: each parcel's centre of mass vs its seed (max 14.2 mm when built)
    dist = np.linalg.norm(atlas.region_centres() - seeds, axis=1)
    assert dist.max() < 25.0 and np.median(dist) < 10.0
    right = np.array([lab.startswith("r") for lab in conn.labels])
    assert (atlas.region_centres()[right, 0] > 0).all()
    assert (atlas.region_centres()[~right, 0] < 0).all()


def test_script_rebuilds_the_shipped_atlas(no_network):
    from vbrain.atlases import make_tvb76_mni

    img, labels, _, _, info = make_tvb76_mni.build()
    shipped = Atlas.load("atlases:default")
    assert tuple(labels) == shipped.labels
    same = np.asarray(img.dataobj) == np.asarray(shipped.image.dataobj)
    assert same.mean() > 0.999  # identical for the nilearn version it was built with
    assert info["region_voxels_min"] > 0


def test_bundled_atlas_names():
    assert atlases.available_atlases() == ["default", "tvb76_mni152"]
    image, table = atlases.atlas_path("tvb76_mni152")
    assert image.name == "tvb76_mni152_2mm.nii.gz" and table.suffix == ".tsv"
    assert image.stat().st_size < 300_000
    with pytest.raises(ValueError, match="Did you mean 'default'"):
        atlases.atlas_path("defualt")
    with pytest.raises(ValueError, match="Did you mean 'default'"):
        Atlas.load("atlases:defualt")
