"""Lead fields: MNE sphere/BEM equality, analytic SEEG, orientation, frames, tvb-data, errors."""

from __future__ import annotations

import os
from pathlib import Path

import mne
import numpy as np
import pytest

import vbrain as vb
from vbrain.forward.leadfield import (
    TVB_ORIGIN_HEAD,
    TVB_ROTATION,
    LeadField,
    mm_to_m,
    point_dipole_gain,
)

MNE_DATA = Path(mne.__file__).parent / "data"
HAS_CANONICAL_MEG = hasattr(mne.channels, "read_meg_canonical_info")


def _montage_1020() -> str:
    """MNE's 10-20 montage under the name this MNE version knows (no FutureWarning)."""
    return "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() \
        else "standard_1020"


def _conn(centres_mm, orientations=None, labels=None) -> vb.Connectome:
    n = len(centres_mm)
    w = np.ones((n, n)) - np.eye(n)
    lengths = np.full((n, n), 10.0)
    labels = labels or [f"R{i}" for i in range(n)]
    return vb.Connectome(w, lengths, labels, np.asarray(centres_mm, float),
                         orientations=orientations)


@pytest.fixture(scope="module")
def head_conn():
    """Six regions around the 10-20 sphere's centre, in MNE head coordinates (mm)."""
    rng = np.random.default_rng(4)
    centres = np.array([-1.0, 14.0, 39.0]) + rng.uniform(-50, 50, size=(6, 3))
    ori = rng.normal(size=(6, 3)) * rng.uniform(0.3, 2.0, size=(6, 1))  # not unit length
    return _conn(centres, ori)


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _fixed_reference(fwd, nn):
    """MNE's free-orientation solution (float64) along unit orientations ``nn``, and MNE's
    own fixed-orientation conversion (which MNE stores as float32)."""
    free = fwd["sol"]["data"]
    assert free.dtype == np.float64
    ref = np.einsum("snk,nk->sn", free.reshape(free.shape[0], -1, 3), nn)
    fixed = mne.convert_forward_solution(fwd, force_fixed=True, verbose=False)["sol"]["data"]
    return ref, fixed


def test_mm_to_m():
    assert mm_to_m(1.0) == 1e-3
    np.testing.assert_array_equal(mm_to_m([[1000.0, -20.0, 0.5]]), [[1.0, -0.02, 0.0005]])


# -- MNE equality -------------------------------------------------------------
def test_sphere_eeg_equals_mne_forward(head_conn):
    lf = LeadField.sphere(head_conn, "standard_1020", frame="head")
    # the reference, built with MNE directly: same montage, sphere, dipoles; fixed orientation
    montage = mne.channels.make_standard_montage(_montage_1020())
    info = mne.create_info(montage.ch_names, 1000.0, "eeg")
    info.set_montage(montage)
    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    nn = head_conn.orientations / np.linalg.norm(head_conn.orientations, axis=1)[:, None]
    src = mne.setup_volume_source_space(pos=dict(rr=head_conn.centres / 1000.0, nn=nn),
                                        verbose=False)
    fwd = mne.make_forward_solution(info, None, src, sphere, meg=False, eeg=True, verbose=False)
    ref, fixed32 = _fixed_reference(fwd, nn)
    assert lf.gain.shape == ref.shape == (94, 6)
    assert lf.ch_names == montage.ch_names
    assert set(lf.ch_types) == {"eeg"} and lf.units[0] == "V" and lf.kind == "eeg"
    assert _rel(lf.gain, ref) < 1e-10
    assert _rel(lf.gain, fixed32) < 1e-6  # MNE's fixed conversion, float32
    np.testing.assert_allclose(lf.positions, head_conn.centres / 1000.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(lf.orientations, axis=1), 1.0, rtol=1e-14)
    # the Info carries the montage (positions in head coordinates, m)
    pos = lf.info.get_montage().get_positions()["ch_pos"]
    np.testing.assert_allclose(pos["Cz"], info.get_montage().get_positions()["ch_pos"]["Cz"])


@pytest.mark.skipif(not HAS_CANONICAL_MEG, reason="MNE < 1.12 ships no canonical MEG info")
def test_sphere_meg_equals_mne_forward(head_conn):
    lf = LeadField.sphere(head_conn, meg="neuromag", frame="head")
    assert lf.kind == "meg" and set(lf.ch_types) == {"mag", "grad"}
    assert set(lf.units) == {"T", "T/m"}
    montage = mne.channels.make_standard_montage(_montage_1020())
    einfo = mne.create_info(montage.ch_names, 1000.0, "eeg")
    einfo.set_montage(montage)
    sphere = mne.make_sphere_model("auto", "auto", einfo, verbose=False)
    nn = head_conn.orientations / np.linalg.norm(head_conn.orientations, axis=1)[:, None]
    src = mne.setup_volume_source_space(pos=dict(rr=head_conn.centres / 1000.0, nn=nn),
                                        verbose=False)
    fwd = mne.make_forward_solution(lf.info, None, src, sphere, meg=True, eeg=False,
                                    verbose=False)
    ref, fixed32 = _fixed_reference(fwd, nn)
    for t in ("mag", "grad"):
        rows = np.array(lf.ch_types) == t
        assert _rel(lf.gain[rows], ref[rows]) < 1e-10
        assert _rel(lf.gain[rows], fixed32[rows]) < 1e-6
    # the device is placed so that the head sits inside the helmet, sensors outside the scalp
    dev = lf.info["dev_head_t"]["trans"]
    rr = mne.transforms.apply_trans(dev, np.array([c["loc"][:3] for c in lf.info["chs"]]))
    assert np.min(np.linalg.norm(rr - sphere["r0"], axis=1)) > sphere.radius


@pytest.fixture(scope="module")
def fsaverage_bem(tmp_path_factory):
    """A 1-layer BEM of MNE's bundled fsaverage inner skull, as a FreeSurfer subject (ico 3)."""
    surf = mne.read_bem_surfaces(MNE_DATA / "fsaverage" / "fsaverage-inner_skull-bem.fif",
                                 verbose=False)[0]
    subjects_dir = tmp_path_factory.mktemp("subjects")
    (subjects_dir / "fsaverage" / "bem").mkdir(parents=True)
    mne.write_surface(str(subjects_dir / "fsaverage" / "bem" / "inner_skull.surf"),
                      surf["rr"] * 1000.0, surf["tris"])
    model = mne.make_bem_model("fsaverage", ico=3, conductivity=(0.3,),
                               subjects_dir=subjects_dir, verbose=False)
    return subjects_dir, mne.make_bem_solution(model, verbose=False)


@pytest.mark.skipif(not HAS_CANONICAL_MEG, reason="MNE < 1.12 ships no canonical MEG info")
def test_bem_meg_equals_mne_forward(fsaverage_bem):
    subjects_dir, sol = fsaverage_bem
    rng = np.random.default_rng(7)
    centres = np.array([0.0, -20.0, 10.0]) + rng.uniform(-30, 30, size=(5, 3))  # fsaverage MRI mm
    ori = rng.normal(size=(5, 3))
    conn = _conn(centres, ori)
    lf = LeadField.bem(conn, meg="ctf151", bem=sol, trans="fsaverage")  # frame="mri"
    trans = mne.read_trans(MNE_DATA / "fsaverage" / "fsaverage-trans.fif")
    nn = ori / np.linalg.norm(ori, axis=1)[:, None]
    src = mne.setup_volume_source_space(pos=dict(rr=centres / 1000.0, nn=nn), verbose=False)
    fwd = mne.make_forward_solution(lf.info, trans, src, sol, meg=True, eeg=False,
                                    verbose=False)
    # MNE's free columns are x, y, z of the head frame: rotate the MRI-frame normals there
    # (the stored transform is float32-exact, so its rotation is orthonormal to ~1e-7 only:
    # the rotated normals are renormalised, the dipoles have unit moment)
    mri_head = mne.transforms.invert_transform(trans)["trans"][:3, :3]
    nn_head = nn @ mri_head.T
    ref, fixed32 = _fixed_reference(fwd, nn_head / np.linalg.norm(nn_head, axis=1)[:, None])
    assert lf.gain.shape == (151, 5)
    assert _rel(lf.gain, ref) < 1e-10
    assert _rel(lf.gain, fixed32) < 1e-6
    # the same BEM made from the subject's surfaces gives the same lead field
    lf2 = LeadField.bem(conn, meg="ctf151", subject="fsaverage", subjects_dir=subjects_dir,
                        conductivity=(0.3,), ico=3, trans="fsaverage")
    assert _rel(lf2.gain, lf.gain) < 1e-10
    with pytest.raises(ValueError, match="1-layer"):
        LeadField.bem(conn, "standard_1020", bem=sol)
    with pytest.raises(ValueError, match="needs bem="):
        LeadField.bem(conn, meg="ctf151")
    outside = _conn(np.array([[0.0, -20.0, 10.0], [0.0, 0.0, 150.0]]), np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"outside the head model.*'R1'"):
        LeadField.bem(outside, meg="ctf151", bem=sol)


# -- SEEG -----------------------------------------------------------------------
def test_seeg_matches_analytic_dipole_potential():
    rng = np.random.default_rng(1)
    centres = rng.uniform(-40, 40, size=(4, 3))
    ori = rng.normal(size=(4, 3))
    conn = _conn(centres, ori)
    contacts = rng.uniform(-50, 50, size=(7, 3))
    sigma = 0.25
    lf = LeadField.seeg(conn, contacts, [f"A{i}" for i in range(7)], sigma=sigma,
                        frame="head")
    # V = p . (r - r0) / (4 pi sigma |r - r0|^3), everything in SI, written out per pair
    ref = np.empty((7, 4))
    for c in range(7):
        for j in range(4):
            d = (contacts[c] - centres[j]) * 1e-3
            p = ori[j] / np.sqrt(np.sum(ori[j] ** 2))
            ref[c, j] = np.dot(p, d) / (4 * np.pi * sigma * np.sqrt(np.sum(d * d)) ** 3)
    assert _rel(lf.gain, ref) < 1e-12
    assert lf.kind == "seeg" and lf.ch_types == ["seeg"] * 7 and lf.ch_names[0] == "A0"
    # contacts sit in the Info's montage (head coordinates, m)
    pos = lf.info.get_montage().get_positions()["ch_pos"]
    np.testing.assert_allclose(pos["A3"], contacts[3] / 1000.0, atol=1e-15)
    # potential halves when conductivity doubles; default names
    lf2 = LeadField.seeg(conn, contacts, sigma=2 * sigma, frame="head")
    np.testing.assert_allclose(lf2.gain, lf.gain / 2, rtol=1e-14)
    assert lf2.ch_names[:2] == ["C1", "C2"]


def test_seeg_bad_inputs():
    conn = _conn(np.array([[10.0, 0, 0], [0, 10.0, 0]]), np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"contacts must have shape \(n_contacts, 3\)"):
        LeadField.seeg(conn, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"sigma must be > 0"):
        LeadField.seeg(conn, np.ones((2, 3)), sigma=0.0)
    with pytest.raises(ValueError, match=r"sigma must be > 0"):
        LeadField.seeg(conn, np.ones((2, 3)), sigma=-1.0)
    with pytest.raises(ValueError, match="names has 1 entries"):
        LeadField.seeg(conn, np.ones((2, 3)), ["a"])
    with pytest.raises(ValueError, match="coincides"):
        LeadField.seeg(conn, np.array([[10.0, 0, 0]]), frame="head")


# -- orientations ---------------------------------------------------------------
def test_free_orientation_is_the_maximum_power_one(head_conn):
    fixed = LeadField.sphere(head_conn, "biosemi64", frame="head")
    free = LeadField.sphere(head_conn, "biosemi64", frame="head", orientation="free")
    # the 3 x,y,z columns of each region from MNE itself
    info = fixed.info
    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    src = mne.setup_volume_source_space(pos=dict(rr=head_conn.centres / 1000.0,
                                                 nn=np.tile([0, 0, 1.0], (6, 1))), verbose=False)
    g3 = mne.make_forward_solution(info, None, src, sphere, meg=False, verbose=False)["sol"]["data"]
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2000, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    centroid = free.positions.mean(axis=0)
    for r in range(6):
        block = g3[:, 3 * r:3 * r + 3]
        # column = block @ v, its norm the largest singular value: no orientation does better
        np.testing.assert_allclose(free.gain[:, r], block @ free.orientations[r], rtol=1e-12)
        s1 = np.linalg.svd(block, compute_uv=False)[0]
        assert np.linalg.norm(free.gain[:, r]) == pytest.approx(s1, rel=1e-12)
        assert np.max(np.linalg.norm(block @ u.T, axis=0)) <= s1 * (1 + 1e-12)
        assert np.linalg.norm(free.gain[:, r]) >= np.linalg.norm(fixed.gain[:, r])
        # unit length, pointing away from the centroid of the regions
        assert np.linalg.norm(free.orientations[r]) == pytest.approx(1.0, rel=1e-14)
        assert free.orientations[r] @ (free.positions[r] - centroid) >= 0


def test_free_needs_no_orientations_fixed_does():
    conn = _conn(np.array([[-1.0, 14, 39], [20, 20, 60], [-20, 0, 40]]))
    lf = LeadField.sphere(conn, "biosemi32", frame="head", orientation="free")
    assert lf.gain.shape == (32, 3)
    with pytest.raises(ValueError, match="needs the connectome's orientations"):
        LeadField.sphere(conn, "biosemi32", frame="head")
    ori = np.eye(3)
    ori[1] = 0.0
    conn0 = _conn(conn.centres, ori, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"region\(s\) \['b'\] have a zero orientation"):
        LeadField.sphere(conn0, "biosemi32", frame="head")


# -- frames -----------------------------------------------------------------------
def test_frames_tvb_mri_head():
    conn = vb.Connectome.load("atlases:default")
    lf = LeadField.sphere(conn)  # auto: TVB orientation detected from the labels
    labels = list(conn.labels)
    r0 = mne.bem.fit_sphere_to_headshape(lf.info, units="m", verbose=False)[1]
    # TVB axes (x anterior, y left, z up) -> head (x right, y anterior, z up), origin at r0
    expected = (conn.centres @ TVB_ROTATION.T + r0 * 1e3) / 1e3
    np.testing.assert_allclose(lf.positions, expected, atol=1e-12)
    right = [i for i, s in enumerate(labels) if s.startswith("r")]
    left = [i for i, s in enumerate(labels) if s.startswith("l")]
    assert np.all(lf.positions[right, 0] > r0[0]) and np.all(lf.positions[left, 0] < r0[0])
    assert lf.positions[labels.index("rPFCPOL"), 1] > lf.positions[labels.index("rV1"), 1]
    # SEEG (no sphere) puts TVB's origin at the fsaverage inner skull centre
    contacts = conn.centres[:2] + [[0.0, 0.0, 5.0]]
    s = LeadField.seeg(conn, contacts)
    np.testing.assert_allclose(s.positions[0], (conn.centres[0] @ TVB_ROTATION.T
                                                + TVB_ORIGIN_HEAD) / 1e3, atol=1e-12)
    # RAS-like labels and centres: auto -> "mri" with MNE's fsaverage trans
    ras = _conn(np.array([[40.0, -20, 10], [-40.0, -20, 10]]), labels=["R_x", "L_x"],
                orientations=np.eye(3)[:2])
    lf_ras = LeadField.sphere(ras, "biosemi32")
    trans = mne.transforms.invert_transform(
        mne.read_trans(MNE_DATA / "fsaverage" / "fsaverage-trans.fif"))
    np.testing.assert_allclose(lf_ras.positions,
                               mne.transforms.apply_trans(trans, ras.centres / 1e3), atol=1e-12)
    x_head = trans["trans"][:3, 0]
    np.testing.assert_allclose(lf_ras.orientations[0], x_head / np.linalg.norm(x_head),
                               atol=1e-12)
    # shift (mm, head coordinates) is added last
    lf_s = LeadField.sphere(ras, "biosemi32", shift=(0.0, 5.0, 0.0))
    np.testing.assert_allclose(lf_s.positions - lf_ras.positions, [[0, 0.005, 0]] * 2,
                               atol=1e-12)
    with pytest.raises(ValueError, match="Did you mean 'head'"):
        LeadField.sphere(ras, "biosemi32", frame="haed")
    weird = _conn(np.array([[0.0, 0, 40], [0, 0, -40]]), labels=["R_x", "L_x"],
                  orientations=np.eye(3)[:2])
    with pytest.raises(ValueError, match="cannot tell the connectome's coordinate frame"):
        LeadField.sphere(weird, "biosemi32")


def test_builtin_montages_hold_the_tvb_brain():
    conn = vb.Connectome.load("atlases:default")
    for name in ("biosemi64", "GSN-HydroCel-129", "easycap-M1"):
        lf = LeadField.sphere(conn, name)
        assert lf.gain.shape == (len(lf.ch_names), 76)
        assert np.all(np.isfinite(lf.gain)) and np.all(np.abs(lf.gain).max(axis=0) > 0)


# -- user gain, tvb-data ----------------------------------------------------------
def test_from_gain_and_scale():
    info = mne.create_info(["a", "b", "c"], 1000.0, "eeg")
    g = np.arange(6.0).reshape(3, 2)
    lf = LeadField.from_gain(g, info, region_labels=["x", "y"], scale=[2.0, 3.0])
    assert lf.kind == "eeg" and lf.n_sensors == 3 and lf.n_regions == 2
    np.testing.assert_array_equal(lf.effective_gain(), g * [2.0, 3.0])
    np.testing.assert_array_equal(lf.project([[1.0, 1.0]]), [[3.0, 13.0, 23.0]])
    assert lf.with_scale(1.0).effective_gain().tolist() == g.tolist()
    with pytest.raises(ValueError, match="read-only"):
        lf.gain[0, 0] = 1.0
    meg = mne.create_info(["m1", "g1"], 1000.0, ["mag", "grad"])
    assert LeadField.from_gain(np.ones((2, 2)), meg).kind == "meg"
    assert LeadField.from_gain(np.ones((2, 2)), meg).units == ["T", "T/m"]


def test_from_gain_bad_inputs():
    info = mne.create_info(["a", "b", "c"], 1000.0, "eeg")
    with pytest.raises(ValueError,
                       match=r"one row per channel of info: \(3, n_regions\), got \(4, 2\)"):
        LeadField.from_gain(np.ones((4, 2)), info)
    with pytest.raises(ValueError, match="must be 2-D"):
        LeadField.from_gain(np.ones(3), info)
    with pytest.raises(ValueError, match="finite"):
        LeadField.from_gain(np.full((3, 2), np.nan), info)
    with pytest.raises(ValueError, match=r"scale must be a number or have shape \(2,\)"):
        LeadField.from_gain(np.ones((3, 2)), info, scale=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="region_labels has 1 entries"):
        LeadField.from_gain(np.ones((3, 2)), info, region_labels=["x"])
    mixed = mne.create_info(["a", "m"], 1000.0, ["eeg", "mag"])
    with pytest.raises(ValueError, match="one kind"):
        LeadField.from_gain(np.ones((2, 2)), mixed)
    with pytest.raises(TypeError, match="info must be Info"):
        LeadField.from_gain(np.ones((3, 2)), {"ch_names": ["a"]})


def test_sphere_bad_inputs(head_conn):
    with pytest.raises(ValueError,
                       match="Unknown montage 'standard_1002'. Did you mean 'standard_1020'"):
        LeadField.sphere(head_conn, "standard_1002", frame="head")
    with pytest.raises(ValueError, match="Did you mean 'biosemi64'"):
        LeadField.sphere(head_conn, "biosemi46", frame="head")
    zero = _conn(np.zeros((3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="centres are all zero"):
        LeadField.sphere(zero, "biosemi32")
    far = _conn(np.array([[0.0, 0, 40], [0, 0, 300]]), np.eye(3)[:2], labels=["in", "out"])
    with pytest.raises(ValueError,
                       match=r"1 region centre\(s\) lie outside the brain sphere.*'out'"):
        LeadField.sphere(far, "biosemi32", frame="head")
    with pytest.raises(ValueError, match="orientation must be one of"):
        LeadField.sphere(head_conn, "biosemi32", orientation="radial")
    with pytest.raises(ValueError, match="meg must be one of"):
        LeadField.sphere(head_conn, meg="neuromeg", frame="head")


def test_tvb_projection_loader():
    eeg = LeadField.tvb("eeg")
    assert eeg.gain.shape == (63, 76)  # 65 sensors less IO1/IO2, whose gains are NaN
    assert "IO1" not in eeg.ch_names and "Fp1" in eeg.ch_names
    assert np.all(np.isfinite(eeg.gain)) and eeg.region_labels[:2] == ("rA1", "rA2")
    meg = LeadField.tvb("meg")
    assert meg.gain.shape == (248, 76) and np.all(np.isfinite(meg.gain))
    assert set(meg.ch_types) == {"mag"} and meg.kind == "meg"
    with pytest.raises(ValueError, match="n_regions must be one of"):
        LeadField.tvb("eeg", n_regions=192)
    # cross-check: a sphere model of the same electrodes gives the same topographies
    conn = vb.Connectome.load("atlases:default")
    assert conn.labels == eeg.region_labels
    ours = LeadField.sphere(conn, eeg.info)
    a = eeg.gain - eeg.gain.mean(axis=0)
    b = ours.gain - ours.gain.mean(axis=0)
    corr = [np.corrcoef(a[:, r], b[:, r])[0, 1] for r in range(76)]
    assert np.median(corr) > 0.9 and np.min(corr) > 0.7
    with pytest.raises(ValueError, match="kind must be one of"):
        LeadField.tvb("seeg")


def test_repr_and_monitor_import():
    info = mne.create_info(["a"], 1000.0, "seeg")
    lf = LeadField.from_gain(np.ones((1, 2)), info)
    assert "seeg: 1 sensors" in repr(lf) and "1e-09" in repr(lf)
    assert point_dipole_gain(np.array([[0.0, 0, 0.01]]), np.zeros((1, 3)), 1.0).shape == (1, 3)
    assert os.fspath(MNE_DATA)
