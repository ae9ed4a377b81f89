"""DTI pipeline: tractogram -> connectome, raw diffusion -> connectome, bad inputs.

Validation data are made here: a diffusion phantom with three known bundles
(``make_dwi_phantom``: dipy multi-tensor signals + Rician noise, 32 x 32 x 12
voxels of 2 mm) and hand-made tractograms with known end points and lengths.
"""

from __future__ import annotations

import gzip
import json
import random
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from vbrain.atlas import Atlas
from vbrain.connectome import Connectome
from vbrain.pipelines import provenance
from vbrain.pipelines.dti import (
    connectome_from_tractogram,
    load_dwi,
    load_tractogram,
    make_dwi_phantom,
    run_dti,
    save_trk,
    streamline_lengths,
)

# ---------------------------------------------------------------- phantom runs


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    return make_dwi_phantom(tmp_path_factory.mktemp("dti_phantom"), seed=0)


@pytest.fixture(scope="module")
def csa_det(phantom, tmp_path_factory):
    out = tmp_path_factory.mktemp("dti_csa_det")
    return run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, out, model="csa",
                   tracking="deterministic", seed=0, qc=True, progress=False)


def _edge_report(conn: Connectome, phantom) -> tuple[dict, float, float]:
    """(true edge -> (weight, length)), weakest true weight, strongest false weight."""
    idx = {lab: i for i, lab in enumerate(conn.labels)}
    w = conn.weights
    true = {}
    mask = np.ones(w.shape, dtype=bool)
    np.fill_diagonal(mask, False)
    for (a, b), _ in phantom.edges.items():
        i, j = idx[a], idx[b]
        true[(a, b)] = (w[i, j], conn.lengths[i, j])
        mask[i, j] = mask[j, i] = False
    weakest = min(v[0] for v in true.values())
    strongest_false = float(w[mask].max())
    return true, weakest, strongest_false


def _assert_recovered(conn: Connectome, phantom, *, false_fraction: float = 0.10) -> None:
    np.testing.assert_array_equal(conn.weights, conn.weights.T)
    true, weakest, strongest_false = _edge_report(conn, phantom)
    assert weakest >= 20, true  # every true edge carries many streamlines
    assert strongest_false < false_fraction * weakest, (true, strongest_false)
    for edge, (_, length) in true.items():
        known = phantom.edges[edge]
        assert abs(length - known) <= 0.2 * known, (edge, length, known)
    # unconnected parcels stay unconnected
    for lab in ("P7", "P8"):
        assert conn.weights[conn.labels.index(lab)].sum() == 0


def test_phantom_csa_deterministic(csa_det, phantom):
    conn = csa_det.connectome
    assert conn.labels == phantom.atlas.labels
    np.testing.assert_allclose(conn.centres, phantom.atlas.region_centres())
    _assert_recovered(conn, phantom, false_fraction=0.02)
    # tract lengths: within 20 % and in fact within 10 % on this phantom
    true, _, _ = _edge_report(conn, phantom)
    for edge, (_, length) in true.items():
        assert abs(length - phantom.edges[edge]) < 0.1 * phantom.edges[edge]
    assert set(csa_det.timings) == {"load", "mask", "tensor", "model", "tracking",
                                    "connectome", "write"}


def test_phantom_outputs(csa_det, phantom):
    out = csa_det.connectome_path.parent
    assert csa_det.connectome_path == out / "connectome.zip"
    back = Connectome.load(csa_det.connectome_path)
    np.testing.assert_array_equal(back.weights, csa_det.connectome.weights)
    np.testing.assert_allclose(back.lengths, csa_det.connectome.lengths, rtol=1e-15)
    assert back.labels == csa_det.connectome.labels
    # the tractogram carries the DWI reference and gives the same connectome
    trk = nib.streamlines.load(csa_det.tractogram_path)
    np.testing.assert_allclose(trk.header["voxel_to_rasmm"], phantom.atlas.affine)
    assert tuple(trk.header["dimensions"]) == phantom.atlas.shape
    assert len(trk.streamlines) == csa_det.stats["n_streamlines"]
    again = connectome_from_tractogram(csa_det.tractogram_path, phantom.atlas, search_radius=2.0)
    np.testing.assert_array_equal(again.weights, csa_det.connectome.weights)
    np.testing.assert_allclose(again.lengths, csa_det.connectome.lengths, rtol=1e-5)
    # QC figure
    assert csa_det.qc_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # provenance sidecar next to connectome.zip
    assert csa_det.provenance_path == out / "connectome.json"
    rec = json.loads(csa_det.provenance_path.read_text())
    assert rec["step"] == "dti"
    by_role = {r["role"]: r for r in rec["inputs"]}
    assert set(by_role) == {"dwi", "bval", "bvec", "atlas"}
    assert by_role["dwi"]["sha256"] == provenance.sha256(phantom.dwi)
    assert by_role["atlas"]["sha256"] == provenance.sha256(phantom.labels)
    assert rec["parameters"]["model"] == "csa" and rec["parameters"]["seed"] == 0
    for pkg in ("vbrain", "dipy", "nibabel"):
        assert rec["versions"][pkg]
    assert rec["connectome"]["checksum"] == csa_det.connectome.checksum()
    assert rec["stats"]["n_counted"] == int(np.triu(csa_det.connectome.weights).sum())


def test_phantom_csd_probabilistic(phantom, tmp_path):
    res = run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path, model="csd",
                  tracking="probabilistic", max_angle=20.0, seed=0, qc=False, progress=False)
    assert res.qc_path is None and not (tmp_path / "qc.png").exists()
    _assert_recovered(res.connectome, phantom)


def test_phantom_dti_deterministic(phantom, tmp_path):
    """The tensor has one direction: where bundles A and B cross at 90 degrees
    it is oblate, so many of their streamlines stop or turn there (how many
    depends on the noise: A-B false edges reach 10-60 % of the weaker true
    edge over phantom seeds). Only what the model can deliver is checked:
    every true edge present with its length, the arc C (no crossing)
    recovered cleanly, the unconnected parcels empty."""
    res = run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path, model="dti",
                  seed=0, qc=False, progress=False)
    conn = res.connectome
    idx = {lab: i for i, lab in enumerate(conn.labels)}
    for (a, b), known in phantom.edges.items():
        assert conn.weights[idx[a], idx[b]] > 0
        assert abs(conn.lengths[idx[a], idx[b]] - known) <= 0.2 * known
    i5, i6 = idx["P5"], idx["P6"]
    for i in (i5, i6):
        others = np.delete(conn.weights[i], [i5, i6])
        assert others.sum() == 0
    assert conn.weights[i5, i6] > 100
    for lab in ("P7", "P8"):
        assert conn.weights[idx[lab]].sum() == 0


def test_phantom_reproducible_and_global_rng_untouched(phantom, csa_det, tmp_path):
    np.random.seed(123)
    random.seed(123)
    expected_np = np.random.RandomState(123).random_sample(3)
    expected_py = random.Random(123).random()
    res = run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path, model="csa",
                  tracking="deterministic", seed=0, qc=False, progress=True, verbose="INFO")
    np.testing.assert_array_equal(np.random.random_sample(3), expected_np)
    assert random.random() == expected_py
    np.testing.assert_array_equal(res.connectome.weights, csa_det.connectome.weights)
    np.testing.assert_array_equal(res.connectome.lengths, csa_det.connectome.lengths)
    a = nib.streamlines.load(res.tractogram_path).streamlines
    b = nib.streamlines.load(csa_det.tractogram_path).streamlines
    np.testing.assert_array_equal(a.get_data(), b.get_data())


def test_phantom_weightings(csa_det, phantom):
    counts = csa_det.connectome.weights
    trk = csa_det.tractogram_path
    vol = phantom.atlas.region_volumes()
    per_vol = connectome_from_tractogram(trk, phantom.atlas, search_radius=2.0,
                                         weighting="count_per_volume")
    np.testing.assert_allclose(per_vol.weights, counts / ((vol[:, None] + vol[None, :]) / 2))
    frac = connectome_from_tractogram(trk, phantom.atlas, search_radius=2.0, weighting="fraction",
                                      log=True)
    np.testing.assert_allclose(frac.weights, np.log1p(counts / np.triu(counts).sum()))
    np.testing.assert_allclose(frac.lengths, csa_det.connectome.lengths)


# ------------------------------------------------------------ hand-made tractograms
SHAPE = (12, 10, 8)
AFFINE = np.array([[2.0, 0, 0, -11.0], [0, 2.0, 0, -9.0], [0, 0, 2.0, -7.0], [0, 0, 0, 1]])


def _vox_to_mm(ijk) -> np.ndarray:
    ijk = np.asarray(ijk, dtype=np.float64)
    return ijk @ AFFINE[:3, :3].T + AFFINE[:3, 3]


@pytest.fixture
def small_atlas(tmp_path) -> Atlas:
    labels = np.zeros(SHAPE, dtype=np.int16)
    labels[0:3, 0:4, 0:4] = 10    # "a"
    labels[8:12, 0:4, 0:4] = 20   # "b"
    labels[4:7, 6:10, 4:8] = 30   # "c"
    labels[9:12, 7:10, 5:8] = 40  # "d": no streamline
    path = tmp_path / "dti_small_labels.nii.gz"
    nib.save(nib.Nifti1Image(labels, AFFINE), path)
    return Atlas(path, {10: "a", 20: "b", 30: "c", 40: "d"})


def _hand_streamlines():
    """Streamlines (mm) and the expected pair counts and mean lengths."""
    rng = np.random.default_rng(5)
    sl, truth = [], {}

    def add(pair, points_vox):
        pts = _vox_to_mm(points_vox)
        sl.append(pts)
        length = float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
        truth.setdefault(pair, []).append(length)

    for _ in range(5):  # a -> b, straight with jittered ends
        y, z = rng.uniform(0.6, 2.4, 2)
        add(("a", "b"), [[1.0, y, z], [5.0, y, z], [10.0, y, z]])
    for _ in range(3):  # a -> c with a kink: length along the path, not end to end
        add(("a", "c"), [[1.2, 1.0, 1.0], [1.2, 7.0, 1.0], [5.0, 7.0, 6.0]])
    add(("c", "b"), [[5.0, 8.0, 5.0], [9.0, 2.0, 2.0]])  # reversed order: same pair
    add(("a", "a"), [[0.5, 0.5, 0.5], [2.0, 3.0, 3.0]])  # self-connection
    add((None, None), [[1.0, 1.0, 1.0], [6.0, 5.0, 1.0]])  # one end in background
    return sl, truth


def _expected(truth, labels):
    n = len(labels)
    counts, lengths = np.zeros((n, n)), np.zeros((n, n))
    for (a, b), ls in truth.items():
        if a is None or a == b:
            continue
        i, j = labels.index(a), labels.index(b)
        counts[i, j] = counts[j, i] = len(ls)
        lengths[i, j] = lengths[j, i] = np.mean(ls)
    return counts, lengths


def _write_all(sl, tmp_path) -> dict[str, Path]:
    import trx.trx_file_memmap as tmm

    tg = nib.streamlines.Tractogram(sl, affine_to_rasmm=np.eye(4))
    paths = {}
    paths["trk"] = save_trk(sl, tmp_path / "dti_hand.trk", AFFINE, SHAPE)
    paths["tck"] = tmp_path / "dti_hand.tck"
    nib.streamlines.save(tg, paths["tck"])
    paths["trx"] = tmp_path / "dti_hand.trx"
    ref = nib.Nifti1Image(np.zeros(SHAPE, dtype=np.int16), AFFINE)
    with warnings.catch_warnings():
        # trx-python 0.6 leaks a temporary folder in from_tractogram
        warnings.simplefilter("ignore", ResourceWarning)
        trx_file = tmm.TrxFile.from_tractogram(tg, reference=ref)
        tmm.save(trx_file, str(paths["trx"]))
        trx_file.close()
    return paths


def test_streamline_lengths():
    sl = [np.array([[0, 0, 0], [3, 4, 0], [3, 4, 12.0]]), np.zeros((1, 3)),
          np.array([[1, 1, 1], [1, 1, 2.0]])]
    np.testing.assert_allclose(streamline_lengths(sl), [17.0, 0.0, 1.0])


def test_hand_made_tractogram_exact(small_atlas, tmp_path):
    sl, truth = _hand_streamlines()
    counts, lengths = _expected(truth, small_atlas.labels)
    conn = connectome_from_tractogram(sl, small_atlas, affine=AFFINE)
    np.testing.assert_array_equal(conn.weights, counts)
    np.testing.assert_allclose(conn.lengths, lengths, rtol=1e-12)
    assert conn.labels == ("a", "b", "c", "d")
    np.testing.assert_allclose(conn.centres, small_atlas.region_centres())
    # the same through every file format (float32 coordinates on disk)
    for ext, path in _write_all(sl, tmp_path).items():
        got = connectome_from_tractogram(path, small_atlas)
        np.testing.assert_array_equal(got.weights, counts, err_msg=ext)
        np.testing.assert_allclose(got.lengths, lengths, rtol=1e-5, err_msg=ext)
    # self-connections on request
    with_self = connectome_from_tractogram(sl, small_atlas, self_connections=True)
    assert with_self.weights[0, 0] == 1
    assert with_self.lengths[0, 0] == pytest.approx(truth[("a", "a")][0])


def test_matches_dipy_connectivity_matrix(small_atlas):
    from dipy.tracking.utils import connectivity_matrix

    sl, _ = _hand_streamlines()
    rng = np.random.default_rng(1)
    # many random streamlines inside the grid
    for _ in range(300):
        ends = rng.uniform(0, np.array(SHAPE) - 1, (2, 3))
        sl.append(_vox_to_mm(np.vstack([ends[0], ends.mean(axis=0), ends[1]])))
    ours = connectome_from_tractogram(sl, small_atlas, self_connections=True)
    label_img = np.asarray(small_atlas.image.dataobj).astype(np.int64)
    theirs = connectivity_matrix(sl, AFFINE, label_img, symmetric=True)
    values = small_atlas.values
    np.testing.assert_array_equal(ours.weights, theirs[np.ix_(values, values)])


def test_objects_and_options(small_atlas, tmp_path):
    from dipy.io.stateful_tractogram import Space, StatefulTractogram

    sl, truth = _hand_streamlines()
    counts, _ = _expected(truth, small_atlas.labels)
    ref = nib.Nifti1Image(np.zeros(SHAPE, dtype=np.int16), AFFINE)
    sft = StatefulTractogram(sl, ref, Space.RASMM)
    np.testing.assert_array_equal(connectome_from_tractogram(sft, small_atlas).weights, counts)
    sft.to_vox()  # converted back to RAS+ mm on reading; the caller's object is unchanged
    np.testing.assert_array_equal(connectome_from_tractogram(sft, small_atlas).weights, counts)
    assert sft.space == Space.VOX
    tg = nib.streamlines.Tractogram(sl, affine_to_rasmm=np.eye(4))
    np.testing.assert_array_equal(connectome_from_tractogram(tg, small_atlas).weights, counts)
    trk = nib.streamlines.load(_write_all(sl, tmp_path)["trk"])
    np.testing.assert_array_equal(connectome_from_tractogram(trk, small_atlas).weights, counts)
    data = load_tractogram(trk)
    assert data.shape == SHAPE and np.allclose(data.affine, AFFINE)

    # length filter: the a-c streamlines are the long ones
    ac_len = truth[("a", "c")][0]
    short = connectome_from_tractogram(sl, small_atlas, max_length=ac_len - 1)
    assert short.weights[0, 2] == 0 and short.weights[0, 1] == 5
    long_ = connectome_from_tractogram(sl, small_atlas, min_length=ac_len - 1)
    assert long_.weights[0, 1] == 0 and long_.weights[0, 2] == 3

    # search radius: an end one voxel off parcel "a" (2 mm) is caught only with a radius
    off = [_vox_to_mm([[3.0, 1.0, 1.0], [10.0, 1.0, 1.0]])]
    with pytest.raises(ValueError, match="No streamline of .* joins two atlas regions"):
        connectome_from_tractogram(off, small_atlas)
    near = connectome_from_tractogram(off, small_atlas, search_radius=2.0)
    assert near.weights[0, 1] == 1
    with pytest.raises(ValueError, match="No streamline"):
        connectome_from_tractogram(off, small_atlas, search_radius=1.9)


# --------------------------------------------------------------------- bad inputs
def test_tractogram_errors(small_atlas, tmp_path):
    sl, _ = _hand_streamlines()
    paths = _write_all(sl, tmp_path)
    # empty
    empty = tmp_path / "dti_empty.trk"
    save_trk([], empty, AFFINE, SHAPE)
    with pytest.raises(ValueError, match=r"dti_empty\.trk is empty: it holds no streamlines"):
        connectome_from_tractogram(empty, small_atlas)
    with pytest.raises(ValueError, match="is empty"):
        connectome_from_tractogram([], small_atlas)
    # reference mismatch (.trk and .trx carry one)
    shifted = AFFINE.copy()
    shifted[0, 3] += 4.0
    other = Atlas(nib.Nifti1Image(np.asarray(small_atlas.image.dataobj), shifted),
                  {10: "a", 20: "b", 30: "c", 40: "d"})
    for ext in ("trk", "trx"):
        with pytest.raises(ValueError, match=rf"reference affine of .*dti_hand\.{ext} differs "
                                             "from the atlas affine"):
            connectome_from_tractogram(paths[ext], other)
    with pytest.raises(ValueError, match="reference affine of streamlines"):
        connectome_from_tractogram(sl, other, affine=AFFINE)
    bigger = Atlas(nib.Nifti1Image(np.pad(np.asarray(small_atlas.image.dataobj), ((0, 2),) * 3),
                                   AFFINE), {10: "a", 20: "b", 30: "c", 40: "d"})
    with pytest.raises(ValueError, match=r"dti_hand\.trk has shape \(12, 10, 8\), but the atlas "
                                         r"grid has shape \(14, 12, 10\)"):
        connectome_from_tractogram(paths["trk"], bigger)
    # .tck has no reference: streamlines far from the grid are caught
    far = [s + 500.0 for s in sl]
    tck = tmp_path / "dti_far.tck"
    nib.streamlines.save(nib.streamlines.Tractogram(far, affine_to_rasmm=np.eye(4)), tck)
    with pytest.raises(ValueError, match=r"end points of .*dti_far\.tck lie outside the atlas "
                                         "grid"):
        connectome_from_tractogram(tck, small_atlas)
    # files
    with pytest.raises(FileNotFoundError, match="No tractogram file"):
        connectome_from_tractogram(tmp_path / "missing.trk", small_atlas)
    bad_ext = tmp_path / "dti_hand.vtk"
    bad_ext.write_text("x")
    with pytest.raises(ValueError, match=r"expected one of \['.trk', '.tck', '.trx'\]"):
        connectome_from_tractogram(bad_ext, small_atlas)
    truncated = tmp_path / "dti_truncated.trk"
    truncated.write_bytes(paths["trk"].read_bytes()[:1100])
    with pytest.raises(ValueError, match=r"Could not read the tractogram file .*dti_truncated"):
        connectome_from_tractogram(truncated, small_atlas)
    not_zip = tmp_path / "dti_bad.trx"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"Could not read the \.trx file .*dti_bad\.trx"):
        connectome_from_tractogram(not_zip, small_atlas)
    # arguments
    with pytest.raises(ValueError, match="weighting must be one of .* Did you mean 'count'"):
        connectome_from_tractogram(sl, small_atlas, weighting="cuont")
    with pytest.raises(TypeError, match="atlas must be a vbrain Atlas"):
        connectome_from_tractogram(sl, np.zeros(SHAPE))
    with pytest.raises(ValueError, match="affine_to_rasmm=None: its points are in an unknown"):
        connectome_from_tractogram(nib.streamlines.Tractogram(sl), small_atlas)
    with pytest.raises(ValueError, match=r"Streamline 1 of .* must be an \(n_points, 3\) array"):
        connectome_from_tractogram([sl[0], np.zeros((4, 2))], small_atlas)


def _tiny_dwi(tmp_path, *, n_vol=8, shape=(6, 5, 4), name="dti_tiny"):
    rng = np.random.default_rng(0)
    data = rng.uniform(50, 100, shape + (n_vol,)).astype(np.float32)
    path = tmp_path / f"{name}.nii.gz"
    nib.save(nib.Nifti1Image(data, AFFINE), path)
    bvals = np.r_[0, np.full(n_vol - 1, 1000.0)]
    vecs = rng.normal(size=(n_vol, 3))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[0] = 0
    bval = tmp_path / f"{name}.bval"
    bvec = tmp_path / f"{name}.bvec"
    bval.write_text(" ".join(f"{b:g}" for b in bvals))
    bvec.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in vecs.T))
    return path, bval, bvec, bvals, vecs


def test_load_dwi_errors(tmp_path):
    dwi_p, bval_p, bvec_p, bvals, vecs = _tiny_dwi(tmp_path)
    dw = load_dwi(dwi_p, bval_p, bvec_p)
    assert dw.data.shape == (6, 5, 4, 8) and dw.gtab.bvals.shape == (8,)
    # bval / bvec counts
    short = tmp_path / "dti_short.bval"
    short.write_text(" ".join(f"{b:g}" for b in bvals[:-1]))
    with pytest.raises(ValueError, match=r"bval file '.*dti_short\.bval' has 7 b-values, but the "
                                         r"diffusion image '.*dti_tiny\.nii\.gz' has 8 volumes"):
        load_dwi(dwi_p, short, bvec_p)
    short_vec = tmp_path / "dti_short.bvec"
    short_vec.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in vecs[:-2].T))
    with pytest.raises(ValueError, match=r"bvec file '.*dti_short\.bvec' has 6 directions, but "
                                         r"the diffusion image .* has 8 volumes"):
        load_dwi(dwi_p, bval_p, short_vec)
    # bvec shape and norms
    two_rows = tmp_path / "dti_2rows.bvec"
    two_rows.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in vecs.T[:2]))
    with pytest.raises(ValueError, match=r"dti_2rows\.bvec' must hold 3 rows .* but has shape "
                                         r"\(2, 8\)"):
        load_dwi(dwi_p, bval_p, two_rows)
    scaled = tmp_path / "dti_scaled.bvec"
    scaled.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in (vecs * 1.5).T))
    with pytest.raises(ValueError, match=r"dti_scaled\.bvec' must hold unit vectors .* 7 are not, "
                                         r"the first at volume 1 with \|g\| = 1\.5"):
        load_dwi(dwi_p, bval_p, scaled)
    cols = tmp_path / "dti_cols.bvec"  # 3 columns are accepted too
    cols.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in vecs))
    np.testing.assert_allclose(load_dwi(dwi_p, bval_p, cols).bvecs, vecs, atol=1e-6)
    words = tmp_path / "dti_words.bval"
    words.write_text("0 1000 abc")
    with pytest.raises(ValueError, match=r"dti_words\.bval' must hold numbers only"):
        load_dwi(dwi_p, words, bvec_p)
    no_b0 = tmp_path / "dti_nob0.bval"
    no_b0.write_text(" ".join(["1000"] * 8))
    with pytest.raises(ValueError, match=r"dti_nob0\.bval' has no b0 volume"):
        load_dwi(dwi_p, no_b0, bvec_p)
    # image: not 4-D, truncated, not an image, missing
    three_d = tmp_path / "dti_3d.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((6, 5, 4), np.float32), AFFINE), three_d)
    with pytest.raises(ValueError, match=r"dti_3d\.nii\.gz' must be 4-D \(x, y, z, volumes\), but "
                                         r"it is 3-D with shape \(6, 5, 4\)"):
        load_dwi(three_d, bval_p, bvec_p)
    raw = gzip.decompress(dwi_p.read_bytes())
    for name, content in (("dti_trunc.nii.gz", dwi_p.read_bytes()[:-200]),
                          ("dti_trunc.nii", raw[: len(raw) // 2])):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=rf"image data of '.*{name}'.*truncated or corrupt"):
            load_dwi(path, bval_p, bvec_p)
    junk = tmp_path / "dti_junk.nii"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"Could not read the diffusion image '.*dti_junk\.nii'"):
        load_dwi(junk, bval_p, bvec_p)
    with pytest.raises(FileNotFoundError, match=r"No bvec file at"):
        load_dwi(dwi_p, bval_p, tmp_path / "none.bvec")


def test_run_dti_atlas_mismatch_and_options(phantom, tmp_path):
    labels = np.asarray(phantom.atlas.image.dataobj)
    shifted = phantom.atlas.affine.copy()
    shifted[:3, 3] += 2.0
    moved = Atlas(nib.Nifti1Image(labels, shifted), list(phantom.atlas.labels))
    with pytest.raises(ValueError, match=r"reference affine of the diffusion image "
                                         r"'.*dti_phantom\.nii\.gz' differs from the atlas affine"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, moved, tmp_path, progress=False)
    cropped = Atlas(nib.Nifti1Image(labels[:, :, :11], phantom.atlas.affine),
                    list(phantom.atlas.labels))
    with pytest.raises(ValueError, match=r"has shape \(32, 32, 12\), but the atlas grid has shape "
                                         r"\(32, 32, 11\)"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, cropped, tmp_path, progress=False)
    with pytest.raises(ValueError, match="model must be one of .* Did you mean 'csd'"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path, model="cds")
    with pytest.raises(ValueError, match="tracking must be one of"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path,
                tracking="prob")
    with pytest.raises(TypeError, match="atlas must be a vbrain Atlas"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.labels, tmp_path)
    with pytest.raises(ValueError, match="seeds_per_voxel must be a positive int"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path,
                seeds_per_voxel=0)
    with pytest.raises(ValueError, match="sh_order must be an even int"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path, sh_order=5)
    with pytest.raises(ValueError, match=r"seed mask .* must have the diffusion grid shape"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path,
                seed_mask=np.ones((3, 3, 3), bool), progress=False)
    with pytest.raises(ValueError, match="No voxel of .* has FA > fa_threshold=1.0"):
        run_dti(phantom.dwi, phantom.bval, phantom.bvec, phantom.atlas, tmp_path,
                fa_threshold=1.0, progress=False)
