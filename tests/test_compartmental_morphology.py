"""Morphologies (SWC reading, writing, validation), NEURON's discretisation, the LFP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vbrain.spiking import (
    Cell,
    CellNetwork,
    Morphology,
    Section,
    SWCError,
    Synapse,
    read_swc,
    write_swc,
)
from vbrain.spiking.lfp import line_source_matrix
from vbrain.spiking.morphology import discretize

SWC = Path(__file__).parent / "data" / "branched_cell.swc"


def test_read_swc_structure():
    m = read_swc(SWC)
    assert m.names == ["soma", "dend[0]", "axon[0]", "apic[0]", "dend[1]", "dend[2]"]
    parents = [s.parent for s in m.sections]
    assert parents == [None, 0, 0, 0, 1, 1]
    # the 3-point soma is a 16 um cylinder along y; the dendrite leaves from its 0-end,
    # the axon from its centre, the apical dendrite from its 1-end
    assert m.sections[0].length == pytest.approx(16.0)
    assert [s.parent_x for s in m.sections[1:4]] == [0.0, 0.5, 1.0]
    axon = m.sections[2]
    assert axon.length == pytest.approx(200.0)
    assert axon.points[0, 3] == pytest.approx(1.0)  # starts with its own diameter
    np.testing.assert_allclose(axon.points[-1], [200, 0, 0, 0.8])


def test_swc_round_trip(tmp_path):
    for m in (read_swc(SWC), Morphology.ball_and_stick()):
        write_swc(m, tmp_path / "x.swc")
        m2 = read_swc(tmp_path / "x.swc")
        assert m2.names == m.names if m.names[1] != "dend" else m2.names[1] == "dend[0]"
        for a, b in zip(m.sections, m2.sections):
            assert a.parent == b.parent and a.parent_x == b.parent_x
            np.testing.assert_array_equal(a.points, b.points)


def test_one_point_soma(tmp_path):
    f = tmp_path / "one.swc"
    f.write_text("1 1 5 5 5 10 -1\n2 3 5 20 5 1 1\n3 3 5 60 5 1 2\n")
    m = read_swc(f)
    soma = m.sections[0]
    assert soma.length == pytest.approx(20.0) and soma.points[0, 3] == 20.0
    assert m.sections[1].parent_x == 0.5


BAD = {
    "columns": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1\n", "expected 7 columns"),
    "text": ("1 1 0 0 0 5 -1\n2 3 0 ten 0 1 1\n", "non-numeric"),
    "float id": ("1 1 0 0 0 5 -1\n2.5 3 0 10 0 1 1\n", "must be an integer"),
    "duplicate": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 1\n2 3 0 20 0 1 2\n", "appears twice"),
    "radius": ("1 1 0 0 0 5 -1\n2 3 0 10 0 0 1\n", "non-positive radius"),
    "negative radius": ("1 1 0 0 0 5 -1\n2 3 0 10 0 -1 1\n", "non-positive radius"),
    "missing parent": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 7\n", "parent 7, which is not in"),
    "self parent": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 2\n", "its own parent"),
    "cycle": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 3\n3 3 0 20 0 1 2\n", "cycle in the parent"),
    "two roots": ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 -1\n", "exactly one root"),
    "no root": ("1 1 0 0 0 5 2\n2 3 0 10 0 1 1\n", "cycle"),
    "no soma": ("1 3 0 0 0 5 -1\n2 3 0 10 0 1 1\n", "no soma"),
    "empty": ("# nothing here\n\n", "no samples"),
    "nan": ("1 1 0 0 nan 5 -1\n", "non-finite"),
    "branching soma": ("1 1 0 0 0 5 -1\n2 1 0 5 0 5 1\n3 1 5 0 0 5 1\n4 1 -5 0 0 5 1\n",
                       "soma branches"),
    "zero length": ("1 1 0 0 0 5 -1\n2 1 0 10 0 5 1\n3 3 0 10 0 1 2\n", "zero-length"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_swc(tmp_path, name):
    text, msg = BAD[name]
    f = tmp_path / "bad.swc"
    f.write_text(text)
    with pytest.raises(SWCError, match=msg):
        read_swc(f)


def test_section_validation():
    with pytest.raises(ValueError, match="non-positive diameter"):
        Section("a", [[0, 0, 0, 1], [1, 0, 0, 0]])
    with pytest.raises(ValueError, match="at least 2 points"):
        Section("a", [[0, 0, 0, 1]])
    s = Section("a", [[0, 0, 0, 1], [1, 0, 0, 1]])
    with pytest.raises(ValueError, match="parent index"):
        Morphology([s, Section("b", [[0, 0, 0, 1], [1, 0, 0, 1]], parent=5)])
    with pytest.raises(ValueError, match="no section named 'dnd'.*Did you mean"):
        Morphology.ball_and_stick().index("dnd")


def test_discretisation_geometry():
    """NEURON's conventions: segment areas pi d L / nseg (frusta when tapered), axial
    resistance between centres of half segments, children join through their half."""
    m = Morphology.ball_and_stick(dend_nseg=4, dend_length=200.0, dend_diam=1.0)
    disc = discretize(m, Ra=100.0)
    # soma centre, soma 1-end (zero area, dendrite attached), 4 dendrite centres
    assert disc.n_nodes == 6
    np.testing.assert_allclose(disc.area[0], np.pi * 12.6157**2)
    assert disc.area[1] == 0.0
    np.testing.assert_allclose(disc.area[2:], np.pi * 1.0 * 50.0)
    half = 1e-2 * 100.0 * 25.0 / (np.pi / 4)  # MOhm, half a dendrite segment
    np.testing.assert_allclose(disc.resistance[2], half)
    np.testing.assert_allclose(disc.resistance[3:], 2 * half)
    np.testing.assert_allclose(disc.resistance[1], 1e-2 * 100 * (12.6157 / 2)
                               / (np.pi * 12.6157**2 / 4))
    # a tapered section: lateral frustum area and exact integral of 4 Ra ds / (pi d^2)
    t = Morphology([Section("t", [[0, 0, 0, 4.0], [100, 0, 0, 2.0]], nseg=1)])
    d = discretize(t, Ra=50.0, ends={(0, 1)})
    r1, r2 = 2.0, 1.0
    np.testing.assert_allclose(d.area[0], np.pi * (r1 + r2) * np.hypot(100, r1 - r2))
    total = d.resistance[d.node_of[(0, -2)]]  # second half: d from 3 to 2 um
    np.testing.assert_allclose(total, 1e-2 * 50.0 * 4 * 50 / (np.pi * 3.0 * 2.0))


def test_d_lambda_rule():
    m = read_swc(SWC).set_nseg(d_lambda=0.1, Ra=100.0)
    assert all(s.nseg % 2 == 1 for s in m.sections)
    assert m.sections[2].nseg > m.sections[0].nseg  # the long thin axon needs more


def test_exp2syn_peak_is_weight():
    s = Synapse("x", "soma", 0.5, "exp2", 0.5, 5.0, 0.0)
    t = np.linspace(0, 30, 300001)
    g = 0.01 * s.factor() * (np.exp(-t / 5.0) - np.exp(-t / 0.5))
    assert g.max() == pytest.approx(0.01, rel=1e-6)


# ------------------------------------------------------------------------- LFP


def test_line_source_limits():
    start = np.array([[0.0, 0.0, -5.0]])
    end = np.array([[0.0, 0.0, 5.0]])
    far = np.array([[3000.0, 0.0, 0.0], [0.0, 0.0, 4000.0]])
    M = line_source_matrix(far, start, end, sigma=0.3)
    dist = np.array([3000.0, 4000.0])
    np.testing.assert_allclose(M[:, 0], 1 / (4 * np.pi * 0.3 * dist), rtol=1e-5)
    # symmetric about the segment's midpoint, and mm input equals um input
    M2 = line_source_matrix([[0, 0, 30.0], [0, 0, -30.0]], start, end)
    assert M2[0, 0] == pytest.approx(M2[1, 0])
    np.testing.assert_allclose(line_source_matrix([[0.003, 0, 0]], start, end, units="mm"),
                               line_source_matrix([[3.0, 0, 0]], start, end))
    # near a long line (both sides) the potential grows like 2 log(1/r)
    near = line_source_matrix([[1.0, 0, 0], [2.0, 0, 0]], start * 100, end * 100)
    diff = (near[0, 0] - near[1, 0]) * 4 * np.pi * 0.3 * 1000.0
    assert diff == pytest.approx(2 * np.log(2.0), rel=1e-3)
    with pytest.raises(ValueError, match="sigma must be >"):
        line_source_matrix(far, start, end, sigma=0.0)


def test_cell_lfp_far_field_is_the_injected_monopole():
    """Membrane currents sum to the injected current, so far away (perpendicular to the
    cell's axis) the LFP approaches I / (4 pi sigma R); near the cell it does not."""
    amp, R = 0.05, 5000.0
    net = CellNetwork(dt=0.1, seed=0, electrode=[R, 0.0, 0.0])
    cell = Cell.ball_and_stick(dend_nseg=9)
    net.add_population("c", cell, 1, positions=np.zeros((1, 3)))
    net.add_input("I", "c", "current", compartment="dend(0.5)", weight=2.0)
    out = net.advance(2000, {"I": np.full(2000, amp / 2.0)})
    # capacitive currents included, the sum holds at every step, not only at rest
    np.testing.assert_allclose(out["lfp"], amp / (4 * np.pi * 0.3 * R), rtol=0.01)
    near = CellNetwork(dt=0.1, seed=0, electrode=[0.03, 0.0, 0.1], electrode_units="mm")
    near.add_population("c", cell, 1, positions=np.zeros((1, 3)))
    near.add_input("I", "c", "current", compartment="dend(0.5)")
    lfp = near.advance(2000, {"I": np.full(2000, amp)})["lfp"]
    assert abs(lfp[0] - lfp[-1]) > 0.1 * abs(lfp[-1])  # close by, the transient shows
    np.testing.assert_allclose(net.electrode_, [R, 0, 0])


def test_swc_cell_conducts_along_the_axon():
    """A branched SWC cell with hh everywhere: a somatic spike reaches the axon's far end
    later (both detection sites see the same spikes)."""
    m = read_swc(SWC).set_nseg(d_lambda=0.1, Ra=100.0)
    net = CellNetwork(dt=0.025, seed=0)
    for name, loc in (("soma", "soma(0.5)"), ("axon", "axon[0](1)")):
        cell = Cell(m, Ra=100.0, spike_location=loc).insert("hh")
        net.add_population(name, cell, 1, positions=np.zeros((1, 3)))
        net.add_input(f"I_{name}", name, "current", compartment="soma(0.5)")
    n = 1200
    pulse = np.where(np.arange(n) * 0.025 % 10 < 1.0, 1.0, 0.0)
    net.advance(n, {"I_soma": pulse, "I_axon": pulse})
    ts, ta = net.spikes("soma")[0], net.spikes("axon")[0]
    assert len(ts) >= 2 and len(ta) == len(ts)
    assert np.all(ta - ts > 0.05) and np.all(ta - ts < 5.0)
