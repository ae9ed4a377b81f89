"""Tests for vbrain.connectome.Connectome: checks, transforms, file formats."""

from __future__ import annotations

import bz2
import hashlib
import json
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vbrain import atlases
from vbrain.connectome import Connectome, ConnectomeFileError

DATA = Path(__file__).parent / "data"
SUMMARY = json.loads((DATA / "conn_tvb76_summary.json").read_text(encoding="utf-8"))


def _sha(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def make_conn(**kwargs) -> Connectome:
    """A 4-region connectome with every optional field and non-ASCII labels."""
    weights = np.array(
        [[0.5, 1.0, 0.0, 2.0], [3.0, 0.0, 0.25, 0.0], [0.0, 4.0, 0.0, 1.0],
         [1.0, 0.0, 0.0, 0.0]]
    )
    lengths = np.array(
        [[0.0, 10.0, 20.0, 30.0], [10.0, 0.0, 12.5, 22.0], [20.0, 12.5, 0.0, 8.0],
         [30.0, 22.0, 8.0, 0.0]]
    )
    args = dict(
        weights=weights,
        lengths=lengths,
        labels=["rV1", "rMT†", "lThéα", "l前頭"],
        centres=np.arange(12.0).reshape(4, 3) - 5.5,
        hemispheres=[True, True, False, False],
        cortical=[True, True, False, True],
        areas=[100.0, 250.5, 0.0, 3.25],
        orientations=np.eye(4, 3),
        name="test",
    )
    args.update(kwargs)
    return Connectome(**args)


def assert_same(a: Connectome, b: Connectome) -> None:
    """Exact equality of every stored field (name excluded)."""
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.centres, b.centres)
    assert a.labels == b.labels
    for key in ("hemispheres", "cortical", "areas", "orientations"):
        va, vb = getattr(a, key), getattr(b, key)
        assert (va is None) == (vb is None), key
        if va is not None:
            np.testing.assert_array_equal(va, vb, err_msg=key)
            assert va.dtype == vb.dtype, key
    assert a.checksum() == b.checksum()


def write_zip(path: Path, members: dict, *, mode: str = "w") -> Path:
    """Write members {name or ZipInfo: bytes or str} into a zip."""
    with zipfile.ZipFile(path, mode, compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# ----------------------------------------------------------------- construction
def test_defaults_and_types():
    conn = Connectome([[0, 1], [2, 0]], [[0, 5], [5, 0]])
    assert conn.n_regions == 2
    assert conn.labels == ("R0", "R1")
    np.testing.assert_array_equal(conn.centres, np.zeros((2, 3)))
    assert conn.weights.dtype == np.float64 and conn.lengths.dtype == np.float64
    assert conn.hemispheres is None and conn.cortical is None
    assert conn.areas is None and conn.orientations is None
    assert "2 regions" in repr(conn)


def test_arrays_are_read_only_copies():
    weights = np.array([[0.0, 1.0], [2.0, 0.0]])
    lengths = np.array([[0.0, 5.0], [5.0, 0.0]])
    areas = np.array([1.0, 2.0])
    conn = Connectome(weights, lengths, areas=areas)
    weights[0, 1] = 99.0
    areas[0] = 99.0
    assert conn.weights[0, 1] == 1.0 and conn.areas[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        conn.weights[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        conn.areas[0] = 1.0
    assert weights.flags.writeable  # the caller's array is untouched


def test_optional_fields_converted():
    conn = make_conn(cortical=[1, 0, 0, 1], hemispheres=np.array([1.0, 1.0, 0.0, 0.0]))
    assert conn.cortical.dtype == bool
    np.testing.assert_array_equal(conn.cortical, [True, False, False, True])
    np.testing.assert_array_equal(conn.hemispheres, [True, True, False, False])


W2 = [[0.0, 1.0], [1.0, 0.0]]
L2 = [[0.0, 3.0], [3.0, 0.0]]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(lengths=[[0, 1, 2], [1, 0, 2]]), ValueError,
         r"lengths must be a square .* but got shape \(2, 3\)"),
        (dict(weights=np.ones((2, 3))), ValueError,
         r"weights must be \(2, 2\) to match lengths, but got \(2, 3\)"),
        (dict(weights=[[0, np.nan], [1, 0]]), ValueError,
         r"weights must be finite, but has 1 NaN/Inf"),
        (dict(lengths=[[0, np.inf], [1, 0]]), ValueError, "lengths must be finite"),
        (dict(weights=[[0, -1], [1, 0]]), ValueError,
         r"weights must be non-negative, but has 1 negative"),
        (dict(lengths=[[0, 3], [-3, 0]]), ValueError, "lengths must be non-negative"),
        (dict(weights=[["a", "b"], ["c", "d"]]), TypeError,
         "weights must be numeric array-like"),
        (dict(lengths=np.zeros((0, 0)), weights=np.zeros((0, 0))), ValueError,
         "at least one region"),
        (dict(labels=["a"]), ValueError,
         r"labels must have 2 entries \(one per region\), but got 1"),
        (dict(labels=["a", "a"]), ValueError,
         r"labels must be unique, but 'a' appears at indices 0 and 1"),
        (dict(labels=["a", 3]), TypeError, r"label 1 is 3 of type int"),
        (dict(labels=["a", ""]), ValueError, "labels must be non-empty"),
        (dict(labels="ab"), TypeError, "not a single string"),
        (dict(centres=np.zeros((2, 2))), ValueError,
         r"centres must be \(2, 3\) \(one row per region\), but got \(2, 2\)"),
        (dict(centres=[[0, 0, 0], [0, np.nan, 0]]), ValueError, "centres must be finite"),
        (dict(areas=[1.0, -2.0]), ValueError, "areas must be non-negative"),
        (dict(areas=[1.0]), ValueError, r"areas must be \(2,\)"),
        (dict(orientations=np.zeros(2)), ValueError, r"orientations must be \(2, 3\)"),
        (dict(hemispheres=[0, 2]), ValueError,
         r"hemispheres must hold booleans or 0/1, but got 2 at index 1"),
        (dict(cortical=[True]), ValueError, r"cortical must be \(2,\)"),
        (dict(cortical=["x", "y"]), TypeError, "cortical must hold booleans"),
        (dict(name=3), TypeError, "name must be str"),
    ],
)
def test_invalid_construction(kwargs, error, match):
    args = dict(weights=W2, lengths=L2)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Connectome(**args)


def test_zero_length_off_diagonal_rejected_with_labels():
    weights = [[0.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    lengths = [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    with pytest.raises(
        ValueError,
        match=r"1 non-zero off-diagonal connection\(s\) with zero tract length, the "
        r"first from 'c' \(source 2\) to 'b' \(target 1\): weight 2\.0",
    ):
        Connectome(weights, lengths, ["a", "b", "c"])
    conn = Connectome(weights, lengths, ["a", "b", "c"], allow_zero_lengths=True)
    assert conn.delays(1.0)[1, 2] == 0.0


def test_self_connection_with_zero_length_allowed():
    conn = Connectome([[5.0, 1.0], [1.0, 7.0]], [[0.0, 2.0], [2.0, 0.0]])
    assert conn.weights[0, 0] == 5.0 and conn.lengths[1, 1] == 0.0
    # a zero weight with zero length off the diagonal is fine too
    Connectome([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]])


def test_non_ascii_labels():
    conn = make_conn()
    assert conn.labels[3] == "l前頭"
    assert conn.subset(["l前頭"]).labels == ("l前頭",)


# --------------------------------------------------------------------- checksum
def test_checksum_tracks_weights_lengths_labels_only():
    conn = make_conn()
    digest = conn.checksum()
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert make_conn().checksum() == digest
    assert make_conn(name="other", areas=None).checksum() == digest
    w = conn.weights.copy()
    w[0, 1] = np.nextafter(w[0, 1], 2.0)
    assert make_conn(weights=w).checksum() != digest
    ln = conn.lengths.copy()
    ln[0, 1] += 1e-9
    assert make_conn(lengths=ln).checksum() != digest
    assert make_conn(labels=["a", "b", "c", "d"]).checksum() != digest


def test_checksum_same_for_negative_zero():
    a = Connectome([[0.0, 1.0], [1.0, 0.0]], [[0.0, 2.0], [2.0, 0.0]])
    b = Connectome([[-0.0, 1.0], [1.0, -0.0]], [[-0.0, 2.0], [2.0, 0.0]])
    assert a.checksum() == b.checksum()


# ----------------------------------------------------------------------- delays
def test_delays_and_steps():
    lengths = [[0.0, 2.5], [3.5, 0.0]]
    conn = Connectome([[0, 1], [1, 0]], lengths)
    np.testing.assert_array_equal(conn.delays(2.0), [[0.0, 1.25], [1.75, 0.0]])
    steps = conn.delay_steps(speed=1.0, dt=1.0)
    assert steps.dtype == np.int64
    # np.rint rounds half to even, exactly like TVB
    np.testing.assert_array_equal(steps, [[0, 2], [4, 0]])
    np.testing.assert_array_equal(conn.delay_steps(4.0, 0.1), [[0, 6], [9, 0]])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda c: c.delays(0.0), r"speed must be > 0, but got 0\.0"),
        (lambda c: c.delays(-1), "speed must be > 0"),
        (lambda c: c.delays(np.nan), "speed must be finite"),
        (lambda c: c.delay_steps(4.0, 0.0), r"dt must be > 0, but got 0\.0"),
        (lambda c: c.delay_steps("fast", 0.1), "speed must be a number"),
    ],
)
def test_delay_arguments_validated(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(make_conn())


# ------------------------------------------------------------------- transforms
def test_normalized_max():
    conn = make_conn()
    out = conn.normalized("max")
    assert out.weights.max() == 1.0
    np.testing.assert_allclose(out.weights, conn.weights / 4.0, rtol=0, atol=0)
    np.testing.assert_array_equal(out.lengths, conn.lengths)
    assert out.labels == conn.labels and out.areas is not None
    assert conn.weights.max() == 4.0  # original untouched


def test_normalized_row_sum_keeps_zero_rows():
    w = np.array([[0.0, 1.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])
    conn = Connectome(w, np.ones((3, 3)) - np.eye(3))
    out = conn.normalized("row_sum")
    np.testing.assert_allclose(out.weights.sum(axis=1), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(out.weights[0], [0.0, 0.25, 0.75])
    np.testing.assert_array_equal(out.weights[1], 0.0)


def test_normalized_max_row_sum_is_one_global_factor():
    """TVB's scaled_weights(mode="region"): every weight over the largest row sum."""
    w = np.array([[0.0, 1.0, 3.0], [0.5, 0.0, 0.0], [2.0, 2.0, 1.0]])
    out = Connectome(w, np.ones((3, 3))).normalized("max_row_sum")
    np.testing.assert_allclose(out.weights, w / 5.0)
    assert out.weights.sum(axis=1).max() == 1.0
    with pytest.raises(ValueError, match="largest row sum: all weights are zero"):
        Connectome(np.zeros((2, 2)), L2).normalized("max_row_sum")


def test_normalized_log():
    conn = make_conn()
    out = conn.normalized("log")
    np.testing.assert_array_equal(out.weights, np.log1p(conn.weights))
    assert out.weights[0, 2] == 0.0


def test_normalized_errors():
    with pytest.raises(ValueError, match=r"mode must be one of .* Did you mean 'max'"):
        make_conn().normalized("maxx")
    zero = Connectome(np.zeros((2, 2)), L2)
    with pytest.raises(ValueError, match="all weights are zero"):
        zero.normalized("max")


def test_thresholded_absolute_keeps_diagonal_and_lengths():
    conn = make_conn()
    out = conn.thresholded(1.0)
    expected = conn.weights.copy()
    expected[1, 2] = 0.0  # 0.25 < 1 goes; 1.0 == threshold stays
    expected[0, 0] = 0.5  # diagonal 0.5 < 1 is kept (self-connections untouched)
    np.testing.assert_array_equal(out.weights, expected)
    np.testing.assert_array_equal(out.lengths, conn.lengths)


def test_thresholded_proportion():
    conn = make_conn()
    # off-diagonal non-zero weights: 1, 2, 3, 0.25, 4, 1, 1 -> 7 edges
    out = conn.thresholded(proportion=3 / 7)
    off = ~np.eye(4, dtype=bool)
    kept = np.sort(out.weights[off][out.weights[off] > 0])
    np.testing.assert_array_equal(kept, [2.0, 3.0, 4.0])
    assert out.weights[0, 0] == 0.5
    assert np.count_nonzero(conn.thresholded(proportion=1.0).weights) == np.count_nonzero(
        conn.weights
    )
    zero_off = conn.thresholded(proportion=0.0).weights
    np.testing.assert_array_equal(zero_off[off], 0.0)
    # ties at the cut are broken by row-major position: three weights equal 1.0
    tie = conn.thresholded(proportion=5 / 7).weights
    assert np.count_nonzero(tie[off]) == 5 and tie[0, 1] == 1.0 and tie[3, 0] == 0.0


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((), {}, "Give exactly one of value .* or proportion"),
        ((1.0,), {"proportion": 0.5}, "Give exactly one of value"),
        ((-1.0,), {}, r"value must be >= 0"),
        ((), {"proportion": 1.5}, r"proportion must be <= 1"),
    ],
)
def test_thresholded_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_conn().thresholded(*args, **kwargs)


def test_subset_by_labels_and_indices():
    conn = make_conn()
    by_label = conn.subset(["lThéα", "rMT†"])
    by_index = conn.subset([2, np.int64(1)])
    assert_same(by_label, by_index)
    assert by_label.labels == ("lThéα", "rMT†")
    np.testing.assert_array_equal(by_label.weights, [[0.0, 4.0], [0.25, 0.0]])
    np.testing.assert_array_equal(by_label.lengths, [[0.0, 12.5], [12.5, 0.0]])
    np.testing.assert_array_equal(by_label.centres, conn.centres[[2, 1]])
    np.testing.assert_array_equal(by_label.areas, [0.0, 250.5])
    np.testing.assert_array_equal(by_label.hemispheres, [False, True])
    np.testing.assert_array_equal(by_label.orientations, conn.orientations[[2, 1]])
    mask = conn.subset(np.array([True, False, True, False]))
    assert mask.labels == ("rV1", "lThéα")


@pytest.mark.parametrize(
    "regions, error, match",
    [
        (["rV2"], ValueError, r"Unknown region label 'rV2' .* Did you mean 'rV1'\?"),
        ([0, 4], IndexError, r"Region index 4 is out of range: expected 0 <= index < 4"),
        ([-1], IndexError, "Region index -1 is out of range"),
        (["rV1", 0], ValueError, r"Region 'rV1' \(index 0\) is selected twice"),
        ([], ValueError, "selects no region"),
        ("rV1", TypeError, r"not a single string; use \['rV1'\]"),
        ([1.5], TypeError, "labels .* or indices .*, but got 1.5"),
        (np.array([True, False]), ValueError, r"mask must have shape \(4,\)"),
    ],
)
def test_subset_errors(regions, error, match):
    with pytest.raises(error, match=match):
        make_conn().subset(regions)


# ------------------------------------------------------------------ round trips
def test_zip_round_trip(tmp_path):
    conn = make_conn()
    path = conn.to_tvb_zip(tmp_path / "c.zip")
    with zipfile.ZipFile(path) as zf:
        assert {"weights.txt", "tract_lengths.txt", "centres.txt"} <= set(zf.namelist())
    back = Connectome.from_tvb_zip(path)
    assert_same(conn, back)
    assert back.name == "c"


def test_npz_round_trip(tmp_path):
    conn = make_conn()
    path = conn.to_npz(tmp_path / "c.data")  # no suffix is added
    assert path.exists() and path.suffix == ".data"
    back = Connectome.from_npz(path)
    assert_same(conn, back)
    assert back.name == "test"


def test_text_round_trip(tmp_path):
    conn = make_conn()
    directory = conn.to_text(tmp_path / "out" / "conn")
    assert (directory / "weights.txt").is_file()
    assert_same(conn, Connectome.load(directory))


def test_round_trip_without_optional_fields(tmp_path):
    conn = Connectome(W2, L2)
    for suffix in (".zip", ".npz"):
        back = Connectome.load(conn.save(tmp_path / f"c{suffix}"))
        assert_same(conn, back)
    assert_same(conn, Connectome.load(conn.to_text(tmp_path / "d")))


def test_save_load_dispatch(tmp_path):
    conn = make_conn()
    assert_same(conn, Connectome.load(conn.save(tmp_path / "a.ZIP")))
    assert_same(conn, Connectome.load(str(conn.save(tmp_path / "a.npz"))))
    with pytest.raises(ValueError, match=r"'\.zip' \(TVB\) or '\.npz', but got 'a\.txt'"):
        conn.save(tmp_path / "a.txt")


def test_zip_rejects_labels_with_whitespace(tmp_path):
    conn = make_conn(labels=["a b", "c", "d", "e"])
    with pytest.raises(ValueError, match=r"whitespace, but got 'a b'.*save as \.npz"):
        conn.to_tvb_zip(tmp_path / "c.zip")
    assert Connectome.from_npz(conn.to_npz(tmp_path / "c.npz")).labels[0] == "a b"


def test_from_text_fixture_files():
    conn = Connectome.from_text(
        DATA / "conn_tiny_weights.csv",
        DATA / "conn_tiny_lengths.txt",
        centres=DATA / "conn_tiny_centres.txt",
    )
    assert conn.labels == ("V1", "MT†", "Théα")
    np.testing.assert_array_equal(conn.weights, [[0, 1.5, 0], [2, 0, 0.25], [0, 3, 1]])
    np.testing.assert_array_equal(conn.lengths[1], [10, 0, 15.5])
    np.testing.assert_array_equal(conn.centres[2], [0, -10, 5.25])


def test_from_text_labels_and_centres_arguments(tmp_path):
    (tmp_path / "w.txt").write_text("0\t1\n1\t0\n")
    (tmp_path / "l.csv").write_text("0;2.5\n2.5;0\n")
    (tmp_path / "labels.txt").write_text("α\nβ\n", encoding="utf-8")
    conn = Connectome.from_text(
        tmp_path / "w.txt", tmp_path / "l.csv", tmp_path / "labels.txt",
        centres=[[1, 2, 3], [4, 5, 6]],
    )
    assert conn.labels == ("α", "β")
    assert conn.lengths[0, 1] == 2.5 and conn.centres[1, 2] == 6.0
    conn2 = Connectome.from_text(tmp_path / "w.txt", tmp_path / "l.csv", ["x", "y"])
    assert conn2.labels == ("x", "y")


def test_from_text_errors_name_file_and_line(tmp_path):
    (tmp_path / "w.txt").write_text("0 1\n1 oops\n")
    (tmp_path / "l.txt").write_text("0 1\n1 0\n")
    (tmp_path / "ragged.txt").write_text("0 1\n1\n")
    (tmp_path / "big.txt").write_text("0 1 1\n1 0 1\n1 1 0\n")
    with pytest.raises(ConnectomeFileError, match=r"w\.txt, line 2: could not read 'oops'"):
        Connectome.from_text(tmp_path / "w.txt", tmp_path / "l.txt")
    with pytest.raises(
        ConnectomeFileError, match=r"ragged\.txt, line 2: expected 2 values .* found 1"
    ):
        Connectome.from_text(tmp_path / "ragged.txt", tmp_path / "l.txt")
    with pytest.raises(ConnectomeFileError, match=r"big\.txt.*weights must be \(2, 2\)"):
        Connectome.from_text(tmp_path / "big.txt", tmp_path / "l.txt")
    with pytest.raises(FileNotFoundError, match=r"nope\.txt' does not exist"):
        Connectome.from_text(tmp_path / "nope.txt", tmp_path / "l.txt")


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match=r"expected 'atlases:NAME' .* a TVB '\.zip'"):
        Connectome.load(tmp_path / "conn.mat")
    with pytest.raises(ValueError, match=r"atlas name must be one of .* Did you mean 'tvb76'"):
        Connectome.load("atlases:tvb77")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "readme.md").write_text("hi")
    with pytest.raises(
        ConnectomeFileError, match=r"has no weights\.txt and tract_lengths\.txt .* readme\.md"
    ):
        Connectome.load(tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Connectome.load(tmp_path / "missing.zip")
    with pytest.raises(TypeError, match="source must be a str or path-like"):
        Connectome.load(42)


# ------------------------------------------------------------ zip reading rules
def tvb_members(conn: Connectome | None = None) -> dict[str, str]:
    conn = conn or make_conn()
    return conn._tvb_texts()


def test_zip_with_subfolder_and_bz2_members(tmp_path):
    conn = make_conn()
    texts = tvb_members(conn)
    members = {
        "conn/weights.txt.bz2": bz2.compress(texts["weights.txt"].encode()),
        "conn/tract_lengths.txt": texts["tract_lengths.txt"],
        "conn/centres.txt.bz2": bz2.compress(texts["centres.txt"].encode("utf-8")),
        "conn/info.txt": "weights_unit = 'au'",
        "__MACOSX/conn/._weights.txt": "junk",
    }
    path = write_zip(tmp_path / "nested.zip", members)
    back = Connectome.from_tvb_zip(path)
    np.testing.assert_array_equal(back.weights, conn.weights)
    assert back.labels == conn.labels and back.areas is None


def test_zip_missing_members_lists_contents(tmp_path):
    path = write_zip(tmp_path / "c.zip", {"centres.txt": "a 0 0 0\n", "info.txt": "x"})
    with pytest.raises(
        ConnectomeFileError,
        match=r"c\.zip has no weights\.txt and tract_lengths\.txt \(required\); it "
        r"holds: centres\.txt, info\.txt",
    ):
        Connectome.from_tvb_zip(path)


def test_zip_ambiguous_members(tmp_path):
    members = tvb_members()
    members["old/weights.txt"] = members["weights.txt"]
    path = write_zip(tmp_path / "c.zip", members)
    with pytest.raises(ConnectomeFileError, match="ambiguous: both .*weights"):
        Connectome.from_tvb_zip(path)


def test_zip_bad_content_names_member_and_line(tmp_path):
    members = tvb_members()
    members["tract_lengths.txt"] = members["tract_lengths.txt"].replace("12.5", "x12", 1)
    path = write_zip(tmp_path / "c.zip", members)
    with pytest.raises(
        ConnectomeFileError, match=r"c\.zip:tract_lengths\.txt, line 2: could not read 'x12'"
    ):
        Connectome.from_tvb_zip(path)
    members = tvb_members()
    members["centres.txt"] = "a 0 0 0\nb 1 1 1\n"
    path = write_zip(tmp_path / "c2.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"c2\.zip.*labels must have 4 entries"):
        Connectome.from_tvb_zip(path)
    members["centres.txt"] = "a 0 0\n"
    path = write_zip(tmp_path / "c3.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"centres\.txt, line 1: expected 'label x y z'"):
        Connectome.from_tvb_zip(path)


@pytest.mark.parametrize(
    "member, match",
    [
        ("../weights.txt", r"member '\.\./weights\.txt' points outside the archive"),
        ("conn/../../weights.txt", "points outside the archive"),
        ("/etc/weights.txt", r"member '/etc/weights\.txt' has an absolute path"),
        ("C:/weights.txt", "has an absolute path"),
    ],
)
def test_zip_unsafe_paths_rejected(tmp_path, member, match):
    members = tvb_members()
    members[member] = members.pop("weights.txt")
    path = write_zip(tmp_path / "evil.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"evil\.zip is unsafe: .*" + match):
        Connectome.from_tvb_zip(path)


def test_zip_symlink_member_rejected(tmp_path):
    members = tvb_members()
    link = zipfile.ZipInfo("weights.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    members.pop("weights.txt")
    path = write_zip(tmp_path / "link.zip", members)
    write_zip(path, {link: "/etc/passwd"}, mode="a")
    with pytest.raises(ConnectomeFileError, match="'weights.txt' is a symbolic link"):
        Connectome.from_tvb_zip(path)


def test_zip_huge_declared_size_rejected(tmp_path):
    path = write_zip(tmp_path / "huge.zip", tvb_members())
    data = bytearray(path.read_bytes())
    cd = data.find(b"PK\x01\x02")  # first central-directory entry: weights.txt
    assert cd > 0
    data[cd + 24 : cd + 28] = struct.pack("<I", 0xF0000000)  # ~3.75 GiB uncompressed
    path.write_bytes(bytes(data))
    with pytest.raises(
        ConnectomeFileError,
        match=r"huge\.zip declares more than 512\.0 MiB of uncompressed data "
        r"\(reached at member 'weights\.txt'",
    ):
        Connectome.from_tvb_zip(path)


def test_zip_limit_enforced_while_reading(tmp_path):
    members = tvb_members()
    members["weights.txt.bz2"] = bz2.compress(b"0 " * 200_000)
    members.pop("weights.txt")
    path = write_zip(tmp_path / "bomb.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"weights\.txt\.bz2 decompresses beyond"):
        Connectome.from_tvb_zip(path, max_bytes=100_000)
    path = write_zip(tmp_path / "big.zip", tvb_members())
    with pytest.raises(ConnectomeFileError, match=r"big\.zip declares more than"):
        Connectome.from_tvb_zip(path, max_bytes=50)


def test_zip_too_many_members_rejected(tmp_path):
    members = tvb_members()
    members.update({f"extra/{k}.dat": "" for k in range(300)})
    path = write_zip(tmp_path / "many.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"many\.zip holds 307 members, more than"):
        Connectome.from_tvb_zip(path)


def test_zip_corrupt_or_truncated(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ConnectomeFileError, match=r"bad\.zip is not a valid zip archive"):
        Connectome.from_tvb_zip(bad)
    full = write_zip(tmp_path / "full.zip", tvb_members()).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(ConnectomeFileError, match=r"cut\.zip is not a valid zip archive"):
        Connectome.load(cut)
    # valid directory, damaged data: flip bytes inside the first member's data
    data = bytearray(full)
    start = 30 + len("weights.txt")
    data[start : start + 20] = b"\xff" * 20
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    with pytest.raises(ConnectomeFileError, match=r"flipped\.zip:weights\.txt \(corrupt"):
        Connectome.from_tvb_zip(flipped)
    members = tvb_members()
    members["weights.txt.bz2"] = bz2.compress(members.pop("weights.txt").encode())[:-10]
    trunc = write_zip(tmp_path / "trunc_bz2.zip", members)
    with pytest.raises(ConnectomeFileError, match=r"weights\.txt\.bz2 is truncated bzip2"):
        Connectome.from_tvb_zip(trunc)


# -------------------------------------------------------------------- npz rules
def test_npz_missing_keys_and_unsafe_content(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.zeros((2, 2)), speed=4.0)
    with pytest.raises(
        ConnectomeFileError, match=r"m\.npz has no 'tract_lengths' array; it holds: weights, speed"
    ):
        Connectome.from_npz(path)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, weights=np.zeros((2, 2)), tract_lengths=np.array([{}, {}], dtype=object))
    with pytest.raises(ConnectomeFileError, match=r"Could not read .*p\.npz .*pickled"):
        Connectome.from_npz(pickled)
    full = make_conn().to_npz(tmp_path / "full.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(ConnectomeFileError, match=r"cut\.npz"):
        Connectome.from_npz(cut)
    bad = tmp_path / "bad.npz"
    np.savez(bad, weights=np.ones((2, 2)), tract_lengths=np.ones((2, 3)))
    with pytest.raises(ConnectomeFileError, match=r"bad\.npz: lengths must be a square"):
        Connectome.from_npz(bad)


def test_npz_reads_tvb_style_keys(tmp_path):
    """The oracle's layout: region_labels, extra keys (speed, delays) ignored."""
    conn = make_conn()
    path = tmp_path / "tvbstyle.npz"
    np.savez(
        path,
        weights=conn.weights,
        tract_lengths=conn.lengths,
        centres=conn.centres,
        region_labels=np.array(conn.labels),
        speed=np.array([4.0]),
        idelays_dt0p1=conn.delay_steps(4.0, 0.1).astype(np.int32),
        areas=conn.areas,
        cortical=conn.cortical,
        orientations=conn.orientations,
    )
    back = Connectome.from_npz(path)
    assert back.labels == conn.labels and back.name == "tvbstyle"
    np.testing.assert_array_equal(back.orientations, conn.orientations)
    assert back.hemispheres is None


# --------------------------------------------------------------- bundled data
def test_default_matches_tvb_oracle_summary():
    """atlases:default == the 76-region connectivity as tvb-library reads it."""
    conn = Connectome.load("atlases:default")
    assert conn.name == "atlases:default"
    assert conn.n_regions == SUMMARY["n_regions"] == 76
    assert conn.labels[0] == SUMMARY["first_label"] and conn.labels[-1] == SUMMARY["last_label"]
    labels_sha = hashlib.sha256("\n".join(conn.labels).encode()).hexdigest()
    assert labels_sha == SUMMARY["labels_sha256"]
    assert conn.weights.max() == SUMMARY["weights_max"] == 3.0
    assert conn.weights.sum() == SUMMARY["weights_sum"]
    assert np.count_nonzero(conn.weights) == SUMMARY["weights_nnz"]
    for key, arr in [
        ("weights", conn.weights),
        ("tract_lengths", conn.lengths),
        ("centres", conn.centres),
        ("areas", conn.areas),
        ("orientations", conn.orientations),
    ]:
        assert _sha(arr.astype("<f8")) == SUMMARY["sha256"][key], key
    assert _sha(conn.cortical) == SUMMARY["cortical_sha256"]
    assert conn.checksum() == SUMMARY["vbrain_checksum"]


def test_default_delays_match_tvb():
    conn = Connectome.load("atlases:default")
    speed, dt = SUMMARY["speed"], SUMMARY["dt"]
    assert _sha(conn.delays(speed).astype("<f8")) == SUMMARY["delays_ms_sha256"]
    steps = conn.delay_steps(speed, dt)
    assert _sha(steps.astype("<i8")) == SUMMARY["idelays_dt0p1_sha256"]
    assert steps.max() == SUMMARY["idelays_dt0p1_max"]
    assert steps.sum() == SUMMARY["idelays_dt0p1_sum"]
    s = SUMMARY["idelays_dt0p1_sample"]
    assert steps[s["i"], s["j"]] == s["value"]


@pytest.mark.parametrize(
    "name, n, first", [("tvb66", 66, "rBSTS"), ("tvb68", 68, "r_lateralorbitofrontal"),
                       ("tvb76", 76, "rA1"), ("tvb96", 96, "RM-TCpol_R"),
                       ("tvb192", 192, "lAD")]
)
def test_all_bundled_connectomes_load(name, n, first):
    conn = Connectome.load(f"atlases:{name}")
    assert conn.n_regions == n and conn.labels[0] == first
    assert atlases.connectome_path(name).suffix == ".zip"


def test_bundled_zero_length_edges_strict_mode():
    # tvb-data's 192-region set has 22 weighted zero-length edges; strict mode names one
    with pytest.raises(ConnectomeFileError, match=r"22 non-zero off-diagonal .* from 'lPUL'"):
        Connectome.load("atlases:tvb192", allow_zero_lengths=False)


def test_atlases_api():
    names = atlases.available()
    assert names[0] == "default" and {"tvb66", "tvb68", "tvb76", "tvb96", "tvb192"} <= set(names)
    assert atlases.connectome_path("default") == atlases.connectome_path("tvb76")
    assert atlases.connectome_path().name == "connectivity_76.zip"
    assert "alias of 'tvb76'" in atlases.describe("default")
    with pytest.raises(ValueError, match=r"Did you mean 'tvb96'"):
        atlases.connectome_path("tvb9")
    with pytest.raises(TypeError, match="name must be str"):
        atlases.connectome_path(76)


# --------------------------------------------------------- property round trip
_LABEL_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))


@st.composite
def connectomes(draw):
    n = draw(st.integers(1, 6))
    finite = dict(allow_nan=False, allow_infinity=False)
    weights = draw(hnp.arrays(np.float64, (n, n), elements=st.floats(0, 1e6, **finite)))
    lengths = draw(
        hnp.arrays(np.float64, (n, n), elements=st.floats(1e-3, 1e4, **finite))
    )
    if draw(st.booleans()):
        np.fill_diagonal(lengths, 0.0)
    labels = draw(
        st.lists(st.text(_LABEL_CHARS, min_size=1, max_size=8), min_size=n, max_size=n,
                 unique=True)
    )
    centres = draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-1e3, 1e3, **finite)))
    areas = draw(
        st.none() | hnp.arrays(np.float64, (n,), elements=st.floats(0, 1e5, **finite))
    )
    cortical = draw(st.none() | hnp.arrays(bool, (n,)))
    return Connectome(weights, lengths, labels, centres, areas=areas, cortical=cortical)


@settings(max_examples=25, deadline=None, database=None)
@given(conn=connectomes())
def test_property_round_trip_npz_zip(conn):
    with tempfile.TemporaryDirectory() as tmp:
        for fname in ("c.npz", "c.zip"):
            back = Connectome.load(conn.save(Path(tmp) / fname))
            assert_same(conn, back)


def test_helpers_used_above_are_sane():
    """Guard the test helper: assert_same must fail on a real difference."""
    with pytest.raises(AssertionError):
        assert_same(make_conn(), make_conn(areas=None))
    with pytest.raises(AssertionError):
        assert_same(make_conn(), make_conn(centres=np.zeros((4, 3))))
