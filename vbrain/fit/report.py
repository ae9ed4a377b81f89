"""The fit report: figures (PNG) and a short page (HTML and Markdown).

:func:`write_report` writes, beside the fitted model:

- ``fc.png``: empirical and simulated FC side by side (same colour scale) and
  the scatter of their upper triangles with Pearson's r;
- ``fcd.png``: the histograms of the empirical and simulated FCD values with
  the KS distance (when an FCD target was fitted);
- ``spectra.png``: empirical vs simulated log-PSDs (when spectra were fitted);
- ``landscape.png``: the loss over the grid (a line for one parameter, a map
  for two: the minimum over any further ones) and/or the optimiser's
  candidates coloured by loss;
- ``report.html`` and ``report.md``: the fitted values, the goodness of fit
  and the figures.

Figures are drawn on ``matplotlib.figure.Figure`` objects (no pyplot state,
no display needed).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .objectives import upper_triangle

logger = logging.getLogger(__name__)

__all__ = ["write_report"]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), constrained_layout=True)


def _target_values(target: Any) -> np.ndarray:
    return np.asarray(getattr(target, "values", target), dtype=np.float64)


def _fc_figure(result: Any, path: Path) -> Path | None:
    if "fc" not in result.targets or "fc" not in result.simulated:
        return None
    emp = _target_values(result.targets["fc"])
    sim = result.simulated["fc"]
    off = np.concatenate([upper_triangle(emp), upper_triangle(sim)])
    vmax = float(np.nanmax(np.abs(off))) or 1.0
    fig = _figure(13, 4)
    axes = fig.subplots(1, 3)
    for ax, mat, title in ((axes[0], emp, "empirical FC"), (axes[1], sim, "simulated FC")):
        m = mat.copy()
        np.fill_diagonal(m, np.nan)
        im = ax.imshow(m, vmin=-vmax, vmax=vmax, cmap="RdBu_r", interpolation="nearest")
        ax.set(title=title, xlabel="region", ylabel="region")
    fig.colorbar(im, ax=axes[:2], shrink=0.8, label="Pearson r (1)")
    x, y = upper_triangle(emp), upper_triangle(sim)
    r = float(np.corrcoef(x, y)[0, 1])
    axes[2].scatter(x, y, s=3, alpha=0.4)
    lim = [min(x.min(), y.min()), max(x.max(), y.max())]
    axes[2].plot(lim, lim, "k--", lw=0.8)
    axes[2].set(xlabel="empirical FC (1)", ylabel="simulated FC (1)",
                title=f"upper triangles: r = {r:.3f}")
    fig.savefig(path, dpi=100)
    return path


def _fcd_figure(result: Any, path: Path) -> Path | None:
    if "fcd" not in result.targets or "fcd" not in result.simulated:
        return None
    emp = _target_values(result.targets["fcd"])
    if emp.ndim == 2:
        emp = upper_triangle(emp)
    sim = result.simulated["fcd"]
    bins = np.linspace(min(emp.min(), sim.min()), max(emp.max(), sim.max()), 40)
    fig = _figure(6, 4)
    ax = fig.subplots()
    ax.hist(emp, bins=bins, density=True, alpha=0.5, label="empirical")
    ax.hist(sim, bins=bins, density=True, alpha=0.5, label="simulated")
    ks = result.goodness.get("fcd_ks", np.nan)
    ax.set(xlabel="FCD value (correlation of windowed FC, 1)", ylabel="density (1)",
           title=f"FCD distributions: KS = {ks:.3f}")
    ax.legend()
    fig.savefig(path, dpi=100)
    return path


def _spectra_figure(result: Any, path: Path) -> Path | None:
    if "psd" not in result.simulated:
        return None
    f = result.simulated["psd_freqs"]
    sim, emp = result.simulated["psd"], result.simulated["psd_target"]
    fig = _figure(6, 4)
    ax = fig.subplots()
    for row in emp:
        ax.plot(f, row, color="C0", lw=0.3, alpha=0.3)
    for row in sim:
        ax.plot(f, row, color="C1", lw=0.3, alpha=0.3)
    ax.plot(f, emp.mean(axis=0), color="C0", lw=2, label="empirical (mean over channels)")
    ax.plot(f, sim.mean(axis=0), color="C1", lw=2, label="simulated (mean over channels)")
    ax.set(xlabel="frequency (Hz)", ylabel="log10 PSD (centred per channel)",
           title=f"spectra: distance = {result.goodness.get('spectral', np.nan):.3f}")
    ax.legend()
    fig.savefig(path, dpi=100)
    return path


def _axis_label(name: str) -> str:
    return name.replace("__", ".")


def _landscape_figure(result: Any, path: Path) -> Path | None:
    scores, search = result.scores, result.search
    if scores is None and search is None:
        return None
    panels = (scores is not None) + (search is not None)
    fig = _figure(6.5 * panels, 4.5)
    axes = np.atleast_1d(fig.subplots(1, panels))
    k = 0
    if scores is not None:
        ax = axes[k]
        k += 1
        dims = [d for d in scores.dims if scores.sizes[d] > 1] or list(scores.dims[:1])
        reduced = scores.min([d for d in scores.dims if d not in dims[:2]]) \
            if len(scores.dims) > len(dims[:2]) else scores
        if len(dims) == 1:
            d = dims[0]
            ax.plot(reduced[d].values, reduced.transpose(d).values, "o-")
            ax.set(xlabel=_axis_label(d), ylabel="loss (lower is better)")
            if d in result.best and np.ndim(result.best[d]) == 0:
                ax.axvline(result.best[d], color="k", ls="--", lw=0.8, label="fitted")
                ax.legend()
        else:
            dx, dy = dims[:2]
            z = reduced.transpose(dy, dx).values
            mesh = ax.pcolormesh(reduced[dx].values, reduced[dy].values, z, shading="nearest",
                                 cmap="viridis")
            fig.colorbar(mesh, ax=ax, label="loss (lower is better)")
            if all(np.ndim(result.best.get(d, np.nan)) == 0 for d in (dx, dy)):
                ax.plot(result.best.get(dx), result.best.get(dy), "r*", ms=14, label="fitted")
                ax.legend()
            ax.set(xlabel=_axis_label(dx), ylabel=_axis_label(dy))
        extra = " (min over the other parameters)" if len(scores.dims) > 2 else ""
        ax.set_title(f"grid: {scores.size} points{extra}")
    if search is not None:
        ax = axes[k]
        hist = search.history
        names = [v for v in hist.data_vars if v not in ("loss", "generation")
                 and hist[v].ndim == 1]
        loss = hist["loss"].values
        if len(names) >= 2:
            sc = ax.scatter(hist[names[0]].values, hist[names[1]].values, c=loss, s=12,
                            cmap="viridis")
            fig.colorbar(sc, ax=ax, label="loss")
            ax.plot(search.best[names[0]], search.best[names[1]], "r*", ms=14)
            ax.set(xlabel=_axis_label(names[0]), ylabel=_axis_label(names[1]))
        elif len(names) == 1:
            ax.scatter(hist[names[0]].values, loss, c=hist["generation"].values, s=12)
            ax.set(xlabel=_axis_label(names[0]), ylabel="loss")
        else:
            ax.plot(hist["generation"].values, loss, ".")
            ax.set(xlabel="generation", ylabel="loss")
        ax.set_title(f"{search.method}: {search.n_evaluations} candidates, "
                     f"{search.n_sweeps} sweeps")
    fig.savefig(path, dpi=100)
    return path


def _fmt(v: Any) -> str:
    if np.ndim(v):
        a = np.asarray(v)
        return f"per-region vector, mean {a.mean():.4g} (range {a.min():.4g} .. {a.max():.4g})"
    return f"{float(v):.6g}"


def write_report(result: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write the figures and the report page of a :class:`~vbrain.fit.personalize.FitResult`.

    Parameters
    ----------
    result : FitResult
    out_dir : path-like
        Existing folder.

    Returns
    -------
    dict of str to Path
        The files written (``report_html``, ``report_md``, figures).
    """
    out = Path(out_dir)
    figs = {}
    for key, fn in (("fc", _fc_figure), ("fcd", _fcd_figure), ("spectra", _spectra_figure),
                    ("landscape", _landscape_figure)):
        try:
            p = fn(result, out / f"{key}.png")
        except (ValueError, TypeError, IndexError) as err:  # a figure must not sink the fit
            logger.warning("report: could not draw %s.png (%s)", key, err)
            p = None
        if p is not None:
            figs[key] = p
    sim = result.sim
    rows_params = [(k.replace("__", "."), _fmt(v)) for k, v in result.best.items()]
    good = result.goodness
    notes = {"fc_corr": "Pearson r of FC upper triangles (higher is better)",
             "fc_dist": "FC distance (lower is better)",
             "fcd_ks": "KS distance of FCD distributions (lower is better)",
             "spectral": "spectral distance (lower is better)",
             "loss": "total weighted loss (minimised)"}
    rows_good = [(k, f"{v:.4g}", notes.get(k, "")) for k, v in good.items()]
    setup = (f"{type(sim.model).__name__} on {sim.connectome.name or 'connectome'} "
             f"({sim.connectome.n_regions} regions), {sim.coupling!r}, dt={sim.dt} ms, "
             f"speed={sim.speed} mm/ms, noise {sim.noise!r}, seed {sim.seed}; "
             f"{result.duration / 1000:g} s simulated per candidate; "
             f"search: {result.settings.get('method')}")
    captions = {"fc": "Empirical vs simulated functional connectivity",
                "fcd": "FCD value distributions", "spectra": "Power spectra",
                "landscape": "Parameter landscape"}
    md = ["# vbrain fit report", "", setup, "", "## Fitted parameters", "",
          "| parameter | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in rows_params]
    md += ["", "## Goodness of fit", "", "| measure | value | meaning |", "|---|---|---|"]
    md += [f"| {k} | {v} | {n} |" for k, v, n in rows_good]
    for key, p in figs.items():
        md += ["", f"## {captions[key]}", "", f"![{captions[key]}]({p.name})"]
    md += ["", ("Re-run the model: `vbrain simulate --config model.json` "
                "(or `vbrain.fit.load_simulation('model.json')`)."), ""]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md))

    def table(head, rows):
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                       for r in rows)
        return f"<table><tr>{cells}</tr>{body}</table>"

    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>vbrain fit report</title>",
             ("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
              "img{max-width:100%}</style></head><body>"),
             "<h1>vbrain fit report</h1>", f"<p>{html.escape(setup)}</p>",
             "<h2>Fitted parameters</h2>", table(("parameter", "value"), rows_params),
             "<h2>Goodness of fit</h2>", table(("measure", "value", "meaning"), rows_good)]
    for key, p in figs.items():
        parts += [f"<h2>{captions[key]}</h2>", f"<img src='{p.name}' alt='{captions[key]}'>"]
    parts += [("<p>Re-run the model: <code>vbrain simulate --config model.json</code> (or "
               "<code>vbrain.fit.load_simulation('model.json')</code>).</p></body></html>")]
    html_path = out / "report.html"
    html_path.write_text("\n".join(parts))
    return {"report_html": html_path, "report_md": md_path,
            **{f"figure_{k}": v for k, v in figs.items()}}
