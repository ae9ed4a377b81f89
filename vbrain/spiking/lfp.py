r"""Extracellular potential of compartmental cells: the line-source approximation.

Each segment's transmembrane current :math:`I` (nA) is spread uniformly along its
centre line (length :math:`\Delta s`) in an infinite homogeneous medium of
conductivity :math:`\sigma` (S/m) (Holt & Koch 1999). At an electrode whose foot on the
segment's axis lies at distances :math:`a` (from the start) and :math:`b` (from the
end), measured along the axis, and at perpendicular distance :math:`r`,

.. math::

    \phi = \frac{I}{4 \pi \sigma \Delta s} \int_{-a}^{\Delta s - a} \frac{ds}{\sqrt{s^2 + r^2}}
         = \frac{I}{4 \pi \sigma \Delta s}
           \left[\operatorname{asinh}\frac{\Delta s - a}{r} + \operatorname{asinh}\frac{a}{r}\right]

With :math:`I` in nA, lengths in um and :math:`\sigma` in S/m, :math:`\phi` is in mV.
:math:`r` is kept at least the segment's radius (the electrode cannot be inside the
membrane), and zero-length segments (zero-area nodes, which carry no membrane current)
contribute nothing. Point sources (:math:`\phi = I / (4\pi\sigma d)`) are used for
segments shorter than 1e-9 um.

References
----------
Holt GR, Koch C (1999). Electrical interactions via the extracellular potential near cell
bodies. J Comput Neurosci 6:169-184.
"""

from __future__ import annotations

import numpy as np

from .._check import check_array, check_option, check_range


def line_source_matrix(electrodes: np.ndarray, start: np.ndarray, end: np.ndarray,
                       radius: np.ndarray | float = 0.0, *, sigma: float = 0.3,
                       units: str = "um") -> np.ndarray:
    """Potential per unit current: ``phi = M @ I`` with I in nA per segment, phi in mV.

    Parameters
    ----------
    electrodes : array (n_electrodes, 3)
        Electrode positions, in ``units``.
    start, end : arrays (n_segments, 3)
        Segment end points, um.
    radius : float or array (n_segments,), default 0
        Minimum electrode distance to each segment's axis, um.
    sigma : float, default 0.3
        Extracellular conductivity, S/m.
    units : {"um", "mm"}, default "um"
        Units of ``electrodes`` (segments are always um).

    Returns
    -------
    M : array (n_electrodes, n_segments), mV/nA
    """
    check_option("units", units, ("um", "mm"))
    sigma = check_range("sigma", sigma, 0, low_inclusive=False)
    el = check_array("electrodes", electrodes)
    if el.ndim == 1:
        el = el[None, :]
    if el.ndim != 2 or el.shape[1] != 3:
        raise ValueError(f"electrodes must have shape (n_electrodes, 3), got {el.shape}.")
    if units == "mm":
        el = el * 1e3
    start = check_array("start", start, shape=(None, 3))
    end = check_array("end", end, shape=(start.shape[0], 3))
    radius = np.broadcast_to(np.asarray(radius, dtype=float), (start.shape[0],))
    axis = end - start
    length = np.linalg.norm(axis, axis=1)
    unit = np.divide(axis, length[:, None], out=np.zeros_like(axis), where=length[:, None] > 0)
    rel = el[:, None, :] - start[None, :, :]                 # (n_el, n_seg, 3)
    a = np.einsum("esk,sk->es", rel, unit)                   # along-axis position of the foot
    r2 = np.einsum("esk,esk->es", rel, rel) - a * a
    r = np.sqrt(np.maximum(np.maximum(r2, 0.0), radius[None, :] ** 2))
    r = np.maximum(r, 1e-12)
    line = length[None, :] > 1e-9
    L = np.where(line, length[None, :], 1.0)
    integral = np.arcsinh((L - a) / r) + np.arcsinh(a / r)
    phi_line = integral / (4 * np.pi * sigma * L)
    dist = np.sqrt(np.maximum(np.einsum("esk,esk->es", rel, rel), radius[None, :] ** 2))
    phi_point = 1.0 / (4 * np.pi * sigma * np.maximum(dist, 1e-12))
    return np.where(line, phi_line, phi_point)
