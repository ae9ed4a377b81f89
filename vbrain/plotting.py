"""Figures of simulation results, drawn on ``matplotlib.figure.Figure`` objects.

No pyplot state and no display: each function takes a Figure (or makes one
with :func:`new_figure`) and draws into it; :func:`to_data_uri` turns a figure
into a PNG ``data:`` URI for self-contained HTML (:mod:`vbrain.report`).
Axis labels carry units (time ms, frequency Hz, FC and correlations 1).
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["brain_slices", "fc_panels", "glass_brain_connectome", "new_figure", "psd",
           "time_series", "to_data_uri", "topomaps"]


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Any:
    """A Figure of ``width`` x ``height`` inches (nilearn's displays need ``layout=None``)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def to_data_uri(fig: Any, *, dpi: int = 80) -> str:
    """The figure as a base64 PNG ``data:`` URI (embedded: the page needs no other file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def psd(x: np.ndarray, sfreq: float, *, max_seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density along axis 0.

    Parameters
    ----------
    x : array (n_times, ...)
        Samples.
    sfreq : float
        Sampling rate, Hz.
    max_seconds : float, default 2.0
        Longest Welch segment, s (the frequency resolution is its inverse).

    Returns
    -------
    freqs : array (n_freqs,)
        Hz.
    power : array (n_freqs, ...)
        Units of ``x`` squared per Hz.
    """
    from scipy.signal import welch

    n = x.shape[0]
    nperseg = int(min(n, max(8, round(max_seconds * sfreq))))
    return welch(x, fs=sfreq, nperseg=nperseg, axis=0, detrend="constant")


def time_series(fig: Any, times: np.ndarray, values: np.ndarray, labels: Sequence[str], *,
                ylabel: str, title: str, n_lines: int = 6) -> None:
    """A few traces and a (time x channel) image of ``values`` (n_times, n_channels)."""
    ax_lines, ax_img = fig.subplots(1, 2, width_ratios=[1.4, 1])
    idx = np.linspace(0, values.shape[1] - 1, min(n_lines, values.shape[1])).round().astype(int)
    for i in dict.fromkeys(idx):
        ax_lines.plot(times, values[:, i], lw=0.8, label=str(labels[i]))
    ax_lines.set(xlabel="time (ms)", ylabel=ylabel, title=title)
    ax_lines.legend(fontsize=7, loc="upper right", ncols=2)
    extent = (float(times[0]), float(times[-1]), values.shape[1] - 0.5, -0.5)
    im = ax_img.imshow(values.T, aspect="auto", interpolation="nearest", extent=extent,
                       cmap="viridis")
    ax_img.set(xlabel="time (ms)", ylabel="region / channel (index)", title="all")
    fig.colorbar(im, ax=ax_img, label=ylabel)


def fc_panels(fig: Any, simulated: np.ndarray, empirical: np.ndarray | None = None, *,
              source: str = "") -> float | None:
    """Simulated FC (and the empirical one with the scatter of their upper triangles).

    Returns Pearson's r between the upper triangles, or None without ``empirical``.
    """
    mats = [(simulated, f"simulated FC{source}")]
    if empirical is not None:
        mats.insert(0, (empirical, "subject's FC"))
    axes = np.atleast_1d(fig.subplots(1, len(mats) + (empirical is not None)))
    iu = np.triu_indices(simulated.shape[0], 1)
    for ax, (m, title) in zip(axes, mats):
        shown = np.array(m, dtype=np.float64)
        np.fill_diagonal(shown, np.nan)
        im = ax.imshow(shown, vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest")
        ax.set(title=title, xlabel="region (index)", ylabel="region (index)")
    fig.colorbar(im, ax=list(axes[:len(mats)]), shrink=0.8, label="Pearson r (1)")
    if empirical is None:
        return None
    x, y = np.asarray(empirical)[iu], np.asarray(simulated)[iu]
    ok = np.isfinite(x) & np.isfinite(y)
    r = float(np.corrcoef(x[ok], y[ok])[0, 1]) if ok.sum() > 2 else float("nan")
    ax = axes[-1]
    ax.scatter(x[ok], y[ok], s=3, alpha=0.4)
    ax.plot([-1, 1], [-1, 1], "k--", lw=0.8)
    ax.set(xlabel="subject's FC (1)", ylabel="simulated FC (1)", title=f"r = {r:.3f}",
           xlim=(-1, 1), ylim=(-1, 1))
    return r


def glass_brain_connectome(fig: Any, weights: np.ndarray, coords: np.ndarray, *,
                           keep: float = 0.05, title: str = "") -> None:
    """The strongest ``keep`` fraction of edges on nilearn's glass brain (coords in MNI mm)."""
    from nilearn import plotting

    w = np.array(weights, dtype=np.float64)
    w = (w + w.T) / 2.0
    np.fill_diagonal(w, 0.0)
    off = w[np.triu_indices_from(w, 1)]
    nz = off[off > 0]
    cut = float(np.quantile(nz, 1.0 - keep)) if nz.size else 0.0
    strength = w.sum(axis=1)
    sizes = 10 + 40 * strength / (strength.max() or 1.0)
    with warnings.catch_warnings():  # nilearn's notes on colour maps and thresholds
        warnings.simplefilter("ignore")
        plotting.plot_connectome(np.where(w >= cut, w, 0.0), coords, node_size=sizes,
                                 edge_cmap="viridis", figure=fig, title=title or None,
                                 display_mode="ortho", colorbar=True)


def brain_slices(fig: Any, img3d: Any, *, title: str = "", cmap: str = "RdBu_r") -> None:
    """Axial slices of a 3-D image on the MNI152 template (nilearn ``plot_stat_map``)."""
    from nilearn import plotting

    data = np.asarray(img3d.get_fdata())
    vmax = float(np.nanmax(np.abs(data))) or 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plotting.plot_stat_map(img3d, display_mode="z", cut_coords=5, figure=fig,
                               title=title or None, cmap=cmap, vmax=vmax, colorbar=True,
                               draw_cross=False)


def topomaps(fig: Any, values: np.ndarray, info: Any, names: Sequence[str], *,
             unit: str = "") -> None:
    """One scalp map per column of ``values`` (n_channels, n_maps), titled by ``names``.

    Channels at the position of an earlier one (aliases such as T3/T7 in
    MNE's ``standard_1020``) are left out: a map needs distinct positions.
    """
    import mne
    from mne.viz import plot_topomap

    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    keep, seen = [], set()
    for i, p in enumerate(np.round(pos, 6)):
        if tuple(p) not in seen:
            seen.add(tuple(p))
            keep.append(i)
    info = mne.pick_info(info, keep)
    values = np.asarray(values)[keep]
    axes = np.atleast_1d(fig.subplots(1, values.shape[1]))
    for k, (ax, name) in enumerate(zip(axes, names)):
        im, _ = plot_topomap(values[:, k], info, axes=ax, show=False, contours=0, res=32)
        ax.set_title(name)
        fig.colorbar(im, ax=ax, shrink=0.7, label=unit)
