"""Neuron morphologies: sections of 3-D points, the SWC format, and NEURON's discretisation.

A :class:`Morphology` is a tree of unbranched :class:`Section` s, each a polyline of
3-D points with diameters (um) cut into ``nseg`` segments of equal length. Lengths,
positions and diameters are in micrometres here (the unit of SWC files and of NEURON),
not the millimetres used elsewhere in vbrain.

:func:`discretize` turns a morphology into the nodes of the cable equation exactly as
NEURON does (Hines & Carnevale 1997; NEURON's ``nrn_area_ri`` and ``connection_coef``):

- one node at the centre of every segment, with the lateral membrane area of its segment;
- zero-area nodes at section ends where something is attached (a child section, a point
  process or a recording at x = 0 or 1), which obey current conservation only;
- between a segment centre and the next node the axial resistance of the two half
  segments in between; a child section's first centre connects to its parent's node
  through the child's own first half segment only;
- with a piecewise-linear diameter the area is the sum of frustum lateral areas and the
  half-segment resistance :math:`R = 10^{-2} R_a \\int ds / (\\pi d^2/4)` (MOhm, with
  :math:`R_a` in Ohm cm and lengths in um).

The SWC reader (:func:`read_swc`) validates the file and explains what is wrong
(duplicate or missing parents, cycles, several roots, non-positive radii, ...).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from .._check import check_array, check_range, validate_type

#: SWC structure identifiers (Cannon et al. 1998) -> NEURON section base names
SWC_TYPES = {1: "soma", 2: "axon", 3: "dend", 4: "apic"}


class SWCError(ValueError):
    """A malformed or inconsistent SWC file; the message names the file, line and problem."""


@dataclass
class Section:
    """One unbranched cable.

    Parameters
    ----------
    name : str
        Unique name, NEURON style (``"soma"``, ``"dend[3]"``).
    points : array of shape (n_points, 4)
        x, y, z and diameter of the centre line, um; at least two points, positive
        diameters, non-zero total length.
    parent : int or None
        Index of the parent section in the morphology, None for the root.
    parent_x : float, default 1.0
        Where on the parent this section's 0-end attaches (0..1 of the parent's length).
    nseg : int, default 1
        Number of segments (compartments).
    swc_type : int, default 0
        SWC structure type (1 soma, 2 axon, 3 dendrite, 4 apical dendrite).
    """

    name: str
    points: np.ndarray
    parent: int | None = None
    parent_x: float = 1.0
    nseg: int = 1
    swc_type: int = 0

    def __post_init__(self) -> None:
        self.points = check_array(f"points of section {self.name!r}", self.points,
                                  shape=(None, 4))
        if self.points.shape[0] < 2:
            raise ValueError(f"section {self.name!r} needs at least 2 points, "
                             f"got {self.points.shape[0]}.")
        if np.any(self.points[:, 3] <= 0):
            i = int(np.argmax(self.points[:, 3] <= 0))
            raise ValueError(f"section {self.name!r} has a non-positive diameter "
                             f"{self.points[i, 3]} um at point {i}.")
        if self.length <= 0:
            raise ValueError(f"section {self.name!r} has zero length.")
        self.parent_x = check_range(f"parent_x of section {self.name!r}", self.parent_x, 0, 1)
        if int(self.nseg) != self.nseg or self.nseg < 1:
            raise ValueError(f"nseg of section {self.name!r} must be a positive integer, "
                             f"got {self.nseg!r}.")
        self.nseg = int(self.nseg)

    @property
    def arc(self) -> np.ndarray:
        """Cumulative path length at each point, um."""
        steps = np.linalg.norm(np.diff(self.points[:, :3], axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)])

    @property
    def length(self) -> float:
        """Total length L, um."""
        return float(self.arc[-1])

    def position(self, x: float | np.ndarray) -> np.ndarray:
        """3-D position (um) at fractional distance ``x`` along the section."""
        arc = self.arc
        s = np.asarray(x, dtype=float) * arc[-1]
        return np.stack([np.interp(s, arc, self.points[:, k]) for k in range(3)], axis=-1)

    def diameter(self, x: float | np.ndarray) -> np.ndarray:
        """Diameter (um) at fractional distance ``x`` (linear between points)."""
        arc = self.arc
        return np.interp(np.asarray(x, dtype=float) * arc[-1], arc, self.points[:, 3])


@dataclass
class Morphology:
    """A tree of sections; ``sections[0]`` is the root, parents come before children."""

    sections: list[Section] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = set()
        for i, sec in enumerate(self.sections):
            validate_type(f"sections[{i}]", sec, Section)
            if sec.name in names:
                raise ValueError(f"section name {sec.name!r} is used twice.")
            names.add(sec.name)
            if i == 0 and sec.parent is not None:
                raise ValueError("sections[0] must be the root (parent None).")
            if i > 0 and (sec.parent is None or not 0 <= sec.parent < i):
                raise ValueError(
                    f"section {sec.name!r} (index {i}) must have a parent index in "
                    f"[0, {i - 1}] (parents come first, one root), got {sec.parent!r}."
                )
        if not self.sections:
            raise ValueError("a morphology needs at least one section.")

    @property
    def names(self) -> list[str]:
        """Section names in order."""
        return [s.name for s in self.sections]

    def index(self, name: str) -> int:
        """Index of the section called ``name``."""
        from .._check import suggest

        for i, s in enumerate(self.sections):
            if s.name == name:
                return i
        raise ValueError(f"no section named {name!r}; sections are {self.names[:20]}"
                         f"{' ...' if len(self.names) > 20 else ''}.{suggest(name, self.names)}")

    def select(self, sections: str | list[str] | None) -> list[int]:
        """Indices of sections by name, by type name (``"dend"`` = every ``dend[i]``), or all.

        ``None`` or ``"all"`` selects every section.
        """
        if sections is None or sections == "all":
            return list(range(len(self.sections)))
        if isinstance(sections, str):
            sections = [sections]
        out: list[int] = []
        for name in sections:
            hits = [i for i, s in enumerate(self.sections)
                    if s.name == name or re.fullmatch(re.escape(name) + r"\[\d+\]", s.name)]
            if not hits:
                self.index(name)  # raises with a suggestion
            out.extend(h for h in hits if h not in out)
        return out

    def set_nseg(self, nseg: int | None = None, *, d_lambda: float | None = None,
                 frequency: float = 100.0, Ra: float = 35.4, cm: float = 1.0) -> Morphology:
        """Set ``nseg`` of every section: a fixed odd number or NEURON's d_lambda rule.

        With ``d_lambda``, each section gets the smallest odd ``nseg`` whose segments
        are shorter than ``d_lambda`` times the AC length constant at ``frequency`` (Hz),
        computed from Ra (Ohm cm) and cm (uF/cm2) as in NEURON's ``fixnseg.hoc``.
        """
        for sec in self.sections:
            if nseg is not None:
                sec.nseg = int(nseg)
            else:
                d = float(np.mean(sec.points[:, 3]))
                lam = 1e5 * np.sqrt(d / (4 * np.pi * frequency * Ra * cm))
                sec.nseg = int((sec.length / (d_lambda * lam) + 0.9) / 2) * 2 + 1
        return self

    @classmethod
    def ball_and_stick(cls, *, soma_diam: float = 12.6157, soma_length: float | None = None,
                       dend_length: float = 200.0, dend_diam: float = 1.0,
                       dend_nseg: int = 5) -> Morphology:
        """A cylindrical soma (centred at the origin, along z) and one dendrite along +z.

        Defaults are NEURON's ball-and-stick tutorial (soma L = diam = 12.6157 um, i.e.
        500 um2; dendrite 200 x 1 um); the dendrite attaches at soma(1).
        """
        ls = float(soma_diam if soma_length is None else soma_length)
        soma = Section("soma", np.array([[0, 0, -ls / 2, soma_diam], [0, 0, ls / 2, soma_diam]]),
                       swc_type=1)
        dend = Section("dend", np.array([[0, 0, ls / 2, dend_diam],
                                         [0, 0, ls / 2 + dend_length, dend_diam]]),
                       parent=0, parent_x=1.0, nseg=dend_nseg, swc_type=3)
        return cls([soma, dend])

    def copy(self) -> Morphology:
        """A deep copy."""
        return Morphology([Section(s.name, s.points.copy(), s.parent, s.parent_x, s.nseg,
                                   s.swc_type) for s in self.sections])


# --------------------------------------------------------------------------- SWC


def _swc_error(path: str, line: int | None, msg: str) -> SWCError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return SWCError(f"invalid SWC file {where}: {msg}")


def read_swc(path: str | os.PathLike) -> Morphology:
    """Read and validate an SWC morphology (um).

    Each data line holds ``id type x y z radius parent`` (parent -1 for the root).
    Unbranched runs of samples become sections named after their type (``soma``,
    ``axon[i]``, ``dend[i]``, ``apic[i]``). The soma samples must form a chain (a
    one-point soma becomes a cylinder of length and diameter 2r along y, and the usual
    three-point soma is such a chain); other sections attach to the soma where their
    parent sample lies. A child section starts at its parent sample's position with
    its own first diameter.

    Raises
    ------
    SWCError
        Wrong number of columns, non-numeric values, non-integer or duplicate ids,
        non-positive radii, a parent that is not in the file, a sample that is its own
        parent, cycles, no root or several roots, no soma, or a soma that branches.
    """
    path = os.fspath(path)
    rows: dict[int, tuple[int, float, float, float, float, int, int]] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            cols = text.split()
            if len(cols) != 7:
                raise _swc_error(path, lineno, f"expected 7 columns (id type x y z radius "
                                 f"parent), found {len(cols)}: {text!r}")
            try:
                vals = [float(c) for c in cols]
            except ValueError:
                raise _swc_error(path, lineno, f"non-numeric value in {text!r}") from None
            if not all(np.isfinite(vals)):
                raise _swc_error(path, lineno, f"non-finite value in {text!r}")
            for k in (0, 1, 6):
                if vals[k] != int(vals[k]):
                    raise _swc_error(path, lineno, f"column {k + 1} must be an integer, "
                                     f"found {cols[k]!r}")
            sid, stype, parent = int(vals[0]), int(vals[1]), int(vals[6])
            if sid in rows:
                raise _swc_error(path, lineno, f"sample id {sid} appears twice (first on "
                                 f"line {rows[sid][6]})")
            if vals[5] <= 0:
                raise _swc_error(path, lineno, f"sample {sid} has non-positive radius "
                                 f"{vals[5]}")
            if parent == sid:
                raise _swc_error(path, lineno, f"sample {sid} is its own parent")
            if parent < -1:
                raise _swc_error(path, lineno, f"sample {sid} has parent {parent}; "
                                 f"use -1 for the root")
            rows[sid] = (stype, vals[2], vals[3], vals[4], vals[5], parent, lineno)
    if not rows:
        raise _swc_error(path, None, "no samples (the file is empty or only comments)")
    roots = [i for i, r in rows.items() if r[5] == -1]
    for sid, r in rows.items():
        if r[5] != -1 and r[5] not in rows:
            raise _swc_error(path, r[6], f"sample {sid} has parent {r[5]}, which is not "
                             f"in the file")
    children: dict[int, list[int]] = {i: [] for i in rows}
    for sid, r in rows.items():
        if r[5] != -1:
            children[r[5]].append(sid)
    # every sample must be reachable from a root, else its parent chain loops
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        s = stack.pop()
        seen.add(s)
        stack.extend(children[s])
    if len(seen) < len(rows):
        bad = min(set(rows) - seen)
        chain, s = [bad], rows[bad][5]
        while s not in chain:
            chain.append(s)
            s = rows[s][5]
        cyc = chain[chain.index(s):] + [s]
        raise _swc_error(path, rows[bad][6], "cycle in the parent links: "
                         + " -> ".join(str(c) for c in cyc))
    if len(roots) != 1:
        raise _swc_error(path, None, f"expected exactly one root (parent -1), found "
                         f"{len(roots)}: samples {roots[:10]}")
    return _build_from_samples(path, rows, children, roots[0])


def _build_from_samples(path, rows, children, root) -> Morphology:
    def xyzd(sid):
        r = rows[sid]
        return [r[1], r[2], r[3], 2.0 * r[4]]

    soma_ids = [i for i, r in rows.items() if r[0] == 1]
    if not soma_ids:
        raise _swc_error(path, None, "no soma sample (type 1)")
    soma_set = set(soma_ids)
    # soma samples must form one chain: each has <= 2 soma neighbours, connected
    nbr = {i: [c for c in children[i] if c in soma_set] for i in soma_ids}
    for i in soma_ids:
        p = rows[i][5]
        if p in soma_set:
            nbr[i].append(p)
        elif p != -1:
            raise _swc_error(path, rows[i][6], f"soma sample {i} has a non-soma parent {p}")
    for i in soma_ids:
        if len(nbr[i]) > 2:
            raise _swc_error(path, rows[i][6], f"the soma branches at sample {i} "
                             f"({len(nbr[i])} soma neighbours); only a chain of soma samples "
                             "(e.g. the 3-point soma) is supported")
    ends = [i for i in soma_ids if len(nbr[i]) <= 1]
    order = [ends[0]]
    while len(order) < len(soma_ids):
        nxt = [n for n in nbr[order[-1]] if n not in order]
        if not nxt:
            raise _swc_error(path, None, "the soma samples are not connected")
        order.append(nxt[0])
    if len(order) == 1:
        x, y, z, d = xyzd(order[0])
        soma_pts = np.array([[x, y - d / 2, z, d], [x, y, z, d], [x, y + d / 2, z, d]])
        soma_x = {order[0]: 0.5}
    else:
        soma_pts = np.array([xyzd(i) for i in order])
        arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(soma_pts[:, :3], axis=0),
                                                             axis=1))])
        if arc[-1] <= 0:
            raise _swc_error(path, None, "the soma samples all lie at one point")
        soma_x = {i: float(a / arc[-1]) for i, a in zip(order, arc)}
    sections = [Section("soma", soma_pts, swc_type=1)]
    counts: dict[str, int] = {}
    # each entry: (first sample of a new section, parent section index, x on parent, start pt)
    todo = []
    for i in order:
        for c in children[i]:
            if c not in soma_set:
                todo.append((c, 0, soma_x[i], xyzd(i)))
    while todo:
        first, psec, px, start = todo.pop(0)
        run = [first]
        while len(children[run[-1]]) == 1 and rows[children[run[-1]][0]][0] == rows[first][0]:
            run.append(children[run[-1]][0])
        stype = rows[first][0]
        base = SWC_TYPES.get(stype, f"type{stype}")
        k = counts.get(base, 0)
        counts[base] = k + 1
        pts = np.array([start[:3] + [rows[first][4] * 2.0]] + [xyzd(s) for s in run])
        if np.linalg.norm(pts[-1, :3] - pts[0, :3]) == 0 and len(pts) == 2:
            raise _swc_error(path, rows[first][6], f"sample {first} lies exactly at its "
                             "parent's position (a zero-length section)")
        try:
            sections.append(Section(f"{base}[{k}]", pts, parent=psec, parent_x=px,
                                    swc_type=stype))
        except ValueError as err:
            raise _swc_error(path, rows[first][6], str(err)) from None
        me = len(sections) - 1
        for c in children[run[-1]]:
            todo.append((c, me, 1.0, xyzd(run[-1])))
    return Morphology(sections)


def write_swc(morphology: Morphology, path: str | os.PathLike) -> None:
    """Write ``morphology`` as SWC (um, radii = diameter / 2).

    The soma is written as its chain of points; each other section's first point
    (its attachment point) is not repeated: its second point's parent is the parent
    section's sample at the attachment location, which must exist.
    """
    validate_type("morphology", morphology, Morphology)
    lines = ["# written by vbrain.spiking.morphology.write_swc (um)"]
    sample_of: list[np.ndarray] = []  # per section: SWC id of each point
    nid = 0
    for k, sec in enumerate(morphology.sections):
        ids = np.zeros(len(sec.points), dtype=int)
        if sec.parent is None:
            parent_id, start = -1, 0
        else:
            psec = morphology.sections[sec.parent]
            frac = psec.arc / psec.length
            j = int(np.argmin(np.abs(frac - sec.parent_x)))
            if abs(frac[j] - sec.parent_x) > 1e-9:
                raise ValueError(f"section {sec.name!r} attaches at x={sec.parent_x} of "
                                 f"{psec.name!r}, where that section has no point; SWC "
                                 "cannot represent it.")
            parent_id, start = int(sample_of[sec.parent][j]), 1
            ids[0] = parent_id
        for i in range(start, len(sec.points)):
            nid += 1
            x, y, z, d = (float(v) for v in sec.points[i])
            t = sec.swc_type or 3
            lines.append(f"{nid} {t} {x!r} {y!r} {z!r} {d / 2.0!r} {parent_id}")
            ids[i] = nid
            parent_id = nid
        sample_of.append(ids)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ discretisation


@dataclass
class Discretization:
    """Nodes of the cable equation of one morphology (NEURON's conventions).

    Attributes
    ----------
    parent : int array (n_nodes,)
        Parent node, -1 for the root; parents precede children (Hines order).
    area : float array (n_nodes,)
        Membrane area, um2 (0 for the zero-area section-end nodes).
    resistance : float array (n_nodes,)
        Axial resistance to the parent node, MOhm (0 for the root).
    section, segment : int arrays (n_nodes,)
        Section index and segment index of segment-centre nodes (segment -1 for the
        0-end node of the root, -2 for a 1-end node).
    start, end : float arrays (n_nodes, 3)
        Ends of each segment's centre line, um (equal for zero-area nodes).
    radius : float array (n_nodes,)
        Mean radius of the segment, um.
    """

    parent: np.ndarray
    area: np.ndarray
    resistance: np.ndarray
    section: np.ndarray
    segment: np.ndarray
    start: np.ndarray
    end: np.ndarray
    radius: np.ndarray
    node_of: dict[tuple[int, int], int]

    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    def node(self, section: int, x: float) -> int:
        """Node of location ``x`` (0..1) on section index ``section`` (NEURON's rule)."""
        nseg = max(k[1] for k in self.node_of if k[0] == section and k[1] >= 0) + 1
        if x == 0.0:
            return self.node_of[(section, -1)]
        if x == 1.0:
            return self.node_of[(section, -2)]
        return self.node_of[(section, min(int(x * nseg), nseg - 1))]


def _interval_geometry(arc: np.ndarray, diam: np.ndarray, a: float, b: float):
    """Lateral area (um2) and integral of 4/(pi d^2) ds (1/um) over [a, b]."""
    area = 0.0
    rint = 0.0
    for k in range(len(arc) - 1):
        lo, hi = max(a, arc[k]), min(b, arc[k + 1])
        if hi <= lo:
            continue
        seg_len = arc[k + 1] - arc[k]
        d_lo = diam[k] + (diam[k + 1] - diam[k]) * (lo - arc[k]) / seg_len
        d_hi = diam[k] + (diam[k + 1] - diam[k]) * (hi - arc[k]) / seg_len
        ds = hi - lo
        r1, r2 = d_lo / 2.0, d_hi / 2.0
        area += np.pi * (r1 + r2) * np.sqrt(ds * ds + (r1 - r2) ** 2)
        rint += 4.0 * ds / (np.pi * d_lo * d_hi)
    return area, rint


def discretize(morphology: Morphology, Ra: np.ndarray | float = 35.4,
               ends: set[tuple[int, int]] | None = None) -> Discretization:
    """Build the cable-equation nodes of ``morphology``.

    Parameters
    ----------
    morphology : Morphology
    Ra : float or array (n_sections,), default 35.4
        Axial resistivity per section, Ohm cm (NEURON's default 35.4).
    ends : set of (section index, 0 or 1), optional
        Section ends that need a node of their own (something is attached there at
        x = 0 or 1); ends where a child section attaches are added automatically.
        A 0-end of a non-root section is its parent's attachment node.
    """
    secs = morphology.sections
    Ra = np.broadcast_to(np.asarray(Ra, dtype=float), (len(secs),))
    need = set(ends or ())
    for k, s in enumerate(secs):
        if s.parent is not None:
            if s.parent_x == 1.0:
                need.add((s.parent, 1))
            elif s.parent_x == 0.0:
                need.add((s.parent, 0))
    parent, area, res, sec_of, seg_of, start, end, rad = [], [], [], [], [], [], [], []
    node_of: dict[tuple[int, int], int] = {}

    def add(p, a, r, k, j, p0, p1, radius):
        parent.append(p)
        area.append(a)
        res.append(r)
        sec_of.append(k)
        seg_of.append(j)
        start.append(p0)
        end.append(p1)
        rad.append(radius)
        return len(parent) - 1

    for k, s in enumerate(secs):
        arc = s.arc
        diam = s.points[:, 3]
        L = arc[-1]
        dx = L / s.nseg
        half_r = []  # (left, right) half-segment resistances, MOhm
        seg_area = []
        for j in range(s.nseg):
            a1, r1 = _interval_geometry(arc, diam, j * dx, (j + 0.5) * dx)
            a2, r2 = _interval_geometry(arc, diam, (j + 0.5) * dx, (j + 1) * dx)
            seg_area.append(a1 + a2)
            half_r.append((1e-2 * Ra[k] * r1, 1e-2 * Ra[k] * r2))
        if s.parent is None:
            pnode = -1
        else:
            ps = secs[s.parent]
            if s.parent_x in (0.0, 1.0):
                pnode = node_of[(s.parent, -1 if s.parent_x == 0.0 else -2)]
            else:
                pnode = node_of[(s.parent, min(int(s.parent_x * ps.nseg), ps.nseg - 1))]
        # the 0-end of a non-root section is its parent's attachment node
        if s.parent is not None:
            node_of[(k, -1)] = pnode
        pos = s.position(np.arange(s.nseg + 1) / s.nseg)
        prev = pnode
        for j in range(s.nseg):
            r = half_r[j][0] + (half_r[j - 1][1] if j > 0 else 0.0)
            mean_d = seg_area[j] / (np.pi * dx)
            node_of[(k, j)] = add(prev if prev >= 0 else -1, seg_area[j],
                                  r if prev >= 0 else 0.0, k, j, pos[j], pos[j + 1], mean_d / 2)
            prev = node_of[(k, j)]
        if s.parent is None and (k, 0) in need:
            # the root's 0-end hangs off its first centre through half a segment
            node_of[(k, -1)] = add(node_of[(k, 0)], 0.0, half_r[0][0], k, -1, pos[0], pos[0],
                                   0.0)
        if (k, 1) in need:
            node_of[(k, -2)] = add(prev, 0.0, half_r[-1][1], k, -2, pos[-1], pos[-1], 0.0)
    return Discretization(
        parent=np.array(parent, dtype=np.int64), area=np.array(area),
        resistance=np.array(res), section=np.array(sec_of, dtype=np.int64),
        segment=np.array(seg_of, dtype=np.int64), start=np.array(start).reshape(-1, 3),
        end=np.array(end).reshape(-1, 3), radius=np.array(rad), node_of=node_of,
    )


_LOC = re.compile(r"^\s*([^()\s]+)\s*(?:\(\s*([0-9.eE+-]+)\s*\))?\s*$")


def parse_location(location: str | tuple[str, float]) -> tuple[str, float]:
    """``"dend(0.5)"`` or ``("dend", 0.5)`` -> (section name, x); ``"soma"`` means x=0.5."""
    if isinstance(location, tuple):
        name, x = location
    else:
        validate_type("location", location, str)
        m = _LOC.match(location)
        if not m:
            raise ValueError(f"location must look like 'dend(0.5)', got {location!r}.")
        name, x = m.group(1), (0.5 if m.group(2) is None else m.group(2))
    try:
        x = float(x)
    except ValueError:
        raise ValueError(f"location {location!r}: x must be a number in [0, 1].") from None
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"location {location!r}: x must be in [0, 1], got {x}.")
    return str(name), x
