"""The run report: one self-contained HTML page per simulation run.

:func:`write_run_report` draws the figures that apply to a run and embeds
them as PNG ``data:`` URIs, so the page opens offline, by itself, in any
browser (no scripts, no network, no side files). Sections, each present only
when the run has what it shows:

- **Run**: the settings, status and provenance;
- **Time series**: each neural monitor (temporal average, subsample, raw);
- **Spectra**: Welch spectra of the neural signals and of the sensors;
- **Functional connectivity**: simulated FC (from BOLD when there are enough
  volumes, else from the neural signal) beside the subject's FC with the
  scatter of the upper triangles, and the FCD against the subject's;
- **Connectome**: the strongest connections on nilearn's glass brain, the
  weight matrix and the tract lengths;
- **Stimuli**: each stimulus' time course and the regions it reaches;
- **Insets**: spike rasters and population rates of regions replaced by
  spiking networks;
- **BOLD**: region time courses and axial slices of the simulated BOLD
  (through the atlas, on the MNI152 template);
- **EEG/MEG**: sensor traces and scalp topographies (MNE) of the band powers;
- **Fit**: fitted values and goodness of fit, when the run was fitted.

Drawing a figure must not sink a run: a figure that fails is replaced by a
note in the page (and a log warning).
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from . import plotting as pl

logger = logging.getLogger(__name__)

__all__ = ["write_run_report"]

_NEURAL = ("tavg", "subsample", "raw")
_BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
          "gamma": (30.0, 45.0)}


class _Page:
    """Sections of figures and tables, rendered to one HTML string."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n_figures = 0

    def section(self, title: str, text: str = "") -> None:
        anchor = title.lower().replace(" ", "-").replace("/", "-")
        self.parts.append(f"<h2 id='{anchor}'>{html.escape(title)}</h2>")
        if text:
            self.parts.append(f"<p>{html.escape(text)}</p>")

    def table(self, rows: Sequence[Sequence[Any]], head: Sequence[str] = ()) -> None:
        cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                       for r in rows)
        self.parts.append(f"<table>{'<tr>' + cells + '</tr>' if cells else ''}{body}</table>")

    def figure(self, draw: Any, width: float, height: float, caption: str, *,
               layout: str | None = "constrained") -> None:
        """Draw with ``draw(fig)``; embed it, or a note when drawing fails."""
        try:
            fig = pl.new_figure(width, height, layout=layout)
            extra = draw(fig)
            uri = pl.to_data_uri(fig)
        except Exception as err:  # noqa: BLE001 - a figure must not sink the report
            logger.warning("report: could not draw %r (%s: %s)", caption, type(err).__name__, err)
            self.parts.append(f"<p class='note'>{html.escape(caption)}: not drawn "
                              f"({html.escape(type(err).__name__)}: {html.escape(str(err))})</p>")
            return
        text = caption + (f" {extra}" if isinstance(extra, str) and extra else "")
        self.parts.append(f"<figure><img src='{uri}' alt='{html.escape(caption)}'>"
                          f"<figcaption>{html.escape(text)}</figcaption></figure>")
        self.n_figures += 1

    def render(self, title: str) -> str:
        style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
                 "table{border-collapse:collapse;margin:0.5em 0}"
                 "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
                 "figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
                 "figcaption{font-size:90%;color:#555}.note{color:#a33}"
                 "nav a{margin-right:1em}")
        nav = "".join(f"<a href='#{p.split(chr(39))[1]}'>{p.split('>')[1].split('<')[0]}</a>"
                      for p in self.parts if p.startswith("<h2 id="))
        return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
                f"<h1>{html.escape(title)}</h1><nav>{nav}</nav>" + "\n".join(self.parts)
                + f"<p class='foot'>vbrain {__version__}</p></body></html>\n")


def _times(da: Any) -> np.ndarray:
    return np.asarray(da["time"].values, dtype=np.float64)


def _sfreq(da: Any) -> float | None:
    t = _times(da)
    return 1000.0 / float(np.median(np.diff(t))) if t.size > 1 else None


def _region_signal(res: Any, monitors: Sequence[str]) -> tuple[str, Any] | None:
    """The first monitor among ``monitors`` with samples, as (name, DataArray)."""
    for name in monitors:
        if name in res and res[name].sizes.get("time", 0) > 0 and "region" in res[name].dims:
            return name, res[name]
    return None


def _unit(da: Any, var: Any = None) -> str:
    if var is not None and "unit" in da.coords:
        return str(da["unit"].sel(variable=var).values)
    return str(da.attrs.get("units", ""))


def _target_matrix(targets: Mapping[str, Any] | None, kind: str) -> np.ndarray | None:
    if not targets or kind not in targets:
        return None
    return np.asarray(getattr(targets[kind], "values", targets[kind]), dtype=np.float64)


def _fc_section(page: _Page, res: Any, targets: Mapping[str, Any] | None, labels: Sequence[str]
                ) -> None:
    from .fit.objectives import functional_connectivity

    bold = _region_signal(res, ("bold", "bold_hrf"))
    neural = _region_signal(res, _NEURAL)
    use = bold if bold is not None and bold[1].sizes["time"] >= 10 else neural
    if use is None or use[1].sizes["time"] < 3:
        return
    name, da = use
    series = np.asarray(da.isel(variable=0).values, dtype=np.float64)
    sim_fc = functional_connectivity(series)
    emp = _target_matrix(targets, "fc")
    if emp is not None and emp.shape != sim_fc.shape:
        emp = _match(targets["fc"], emp, labels)
    page.section("Functional connectivity",
                 f"Pearson correlation between regions of the {name} signal "
                 f"({da.sizes['time']} samples)" +
                 (", against the subject's FC." if emp is not None else "."))

    def draw(fig: Any) -> str:
        r = pl.fc_panels(fig, sim_fc, emp, source=f" ({name})")
        return "" if r is None else f"Upper-triangle correlation r = {r:.3f}."

    page.figure(draw, 14 if emp is not None else 6, 4.2, "Functional connectivity")
    fcd_target = _target_matrix(targets, "fcd")
    if bold is None or fcd_target is None:
        return
    from vbrain.pipelines.fmri import fcd

    attrs = getattr(targets["fcd"], "attrs", {})
    window, step = attrs.get("window", "60 s"), attrs.get("step", "2 s")
    bseries = np.asarray(bold[1].isel(variable=0).values, dtype=np.float64)
    tr = float(np.median(np.diff(_times(bold[1])))) if bold[1].sizes["time"] > 1 else None
    try:
        sim_fcd = np.asarray(fcd(bseries, window, step, tr=tr).values)
    except ValueError as err:  # too few volumes for one window
        page.parts.append(f"<p class='note'>FCD not computed: {html.escape(str(err))}</p>")
        return

    def draw_fcd(fig: Any) -> str:
        from .fit.objectives import ks_statistic, upper_triangle

        a1, a2, a3 = fig.subplots(1, 3)
        for ax, m, title in ((a1, fcd_target, "subject's FCD"), (a2, sim_fcd, "simulated FCD")):
            im = ax.imshow(m, vmin=-1, vmax=1, cmap="viridis", interpolation="nearest")
            ax.set(title=title, xlabel="window (index)", ylabel="window (index)")
        fig.colorbar(im, ax=[a1, a2], shrink=0.8, label="correlation of windowed FC (1)")
        e, s = upper_triangle(fcd_target), upper_triangle(sim_fcd)
        bins = np.linspace(-1, 1, 41)
        a3.hist(e, bins=bins, density=True, alpha=0.5, label="subject")
        a3.hist(s, bins=bins, density=True, alpha=0.5, label="simulated")
        ks = ks_statistic(e, s)
        a3.set(xlabel="FCD value (1)", ylabel="density (1)", title=f"KS distance {ks:.3f}")
        a3.legend()
        return f"KS distance of the FCD distributions = {ks:.3f}."

    page.figure(draw_fcd, 14, 4.2, "Functional connectivity dynamics")


def _match(target: Any, values: np.ndarray, labels: Sequence[str]) -> np.ndarray | None:
    """The target FC restricted to the simulated regions (by label), or None."""
    coords = getattr(target, "coords", {})
    if "region_i" not in coords:
        return None
    tl = [str(x) for x in target["region_i"].values]
    if not set(labels) <= set(tl):
        return None
    idx = [tl.index(lab) for lab in labels]
    return values[np.ix_(idx, idx)]


def _connectome_section(page: _Page, conn: Any, atlas: Any) -> None:
    page.section("Connectome", f"{conn.name or 'connectome'}: {conn.n_regions} regions, "
                               f"{int(np.count_nonzero(conn.weights))} connections.")
    coords = None
    if atlas is not None:
        try:
            coords = np.asarray(atlas.region_centres(), dtype=np.float64)
        except (ValueError, AttributeError):
            coords = None
    if coords is None:
        coords = np.asarray(conn.centres, dtype=np.float64)
    page.figure(lambda fig: pl.glass_brain_connectome(fig, conn.weights, coords),
                10, 3.4, "Strongest 5% of connections on the glass brain (node size: strength)",
                layout=None)

    def draw(fig: Any) -> None:
        a1, a2 = fig.subplots(1, 2)
        w = np.array(conn.weights, dtype=np.float64)
        im = a1.imshow(np.log10(np.where(w > 0, w, np.nan)), cmap="magma",
                       interpolation="nearest")
        a1.set(title="weights [i, j]: from j to i", xlabel="source region j",
               ylabel="target region i")
        fig.colorbar(im, ax=a1, label="log10 weight")
        lengths = np.asarray(conn.lengths)[w > 0]
        a2.hist(lengths, bins=40)
        a2.set(xlabel="tract length (mm)", ylabel="connections", title="tract lengths")

    page.figure(draw, 11, 4, "Weights and tract lengths")


def _time_series_section(page: _Page, res: Any) -> None:
    present = [n for n in _NEURAL if n in res and res[n].sizes.get("time", 0) > 0]
    if not present:
        return
    page.section("Time series", "Neural state of the regions, per monitor and state variable.")
    for name in present:
        da = res[name]
        for var in da["variable"].values[:3]:
            x = np.asarray(da.sel(variable=var).values, dtype=np.float64)
            labels = [str(r) for r in da["region"].values]
            unit, t = _unit(da, var), _times(da)
            page.figure(lambda fig, x=x, t=t, labels=labels, var=var, unit=unit,
                        name=name: pl.time_series(fig, t, x, labels, ylabel=f"{var} ({unit})",
                                                  title=f"{name}: {var}"),
                12, 3.4, f"{name} monitor, variable {var}")


def _spectra_section(page: _Page, res: Any) -> None:
    rows = []
    for name in _NEURAL + ("eeg", "meg", "seeg"):
        if name not in res:
            continue
        da = res[name]
        fs = _sfreq(da)
        if fs is None or da.sizes["time"] < 16 or fs < 20.0:
            continue
        rows.append((name, da, fs))
    if not rows:
        return
    page.section("Spectra", "Welch power spectra (segments of up to 2 s) up to 100 Hz: mean "
                            "log power over regions or sensors, with the spread (10th-90th "
                            "percentile).")

    def draw(fig: Any) -> None:
        axes = np.atleast_1d(fig.subplots(1, len(rows)))
        for ax, (name, da, fs) in zip(axes, rows):
            if "variable" in da.dims:
                var = da["variable"].values[0]
                x, unit = np.asarray(da.sel(variable=var).values), _unit(da, var)
                label = f"{name}: {var}"
            else:
                x, unit, label = np.asarray(da.values), _unit(da), name
            f, p = pl.psd(np.asarray(x, dtype=np.float64), fs)
            keep = (f > 0) & (f <= 100.0)  # the band EEG and fMRI studies look at
            # log10 values on linear axes: log-scaled axes cost seconds of tick layout
            p = np.log10(np.maximum(p[keep].reshape(keep.sum(), -1), 1e-300))
            lo, hi = np.percentile(p, [10, 90], axis=1)
            ax.fill_between(f[keep], lo, hi, alpha=0.3)
            ax.plot(f[keep], p.mean(axis=1), lw=1.5)
            ax.set(xlabel="frequency (Hz)", ylabel=f"log10 PSD ({unit}²/Hz)", title=label)

    page.figure(draw, 5.5 * len(rows), 4, "Power spectra")


def _bold_section(page: _Page, res: Any, atlas: Any) -> None:
    found = _region_signal(res, ("bold", "bold_hrf"))
    if found is None:
        return
    name, da = found
    page.section("BOLD", f"Simulated BOLD ({name} monitor): {da.sizes['time']} volumes, "
                         f"TR {np.median(np.diff(_times(da))) if da.sizes['time'] > 1 else _times(da)[0]:g} ms.")
    x = np.asarray(da.isel(variable=0).values, dtype=np.float64)
    if da.sizes["time"] > 1:
        labels = [str(r) for r in da["region"].values]
        page.figure(lambda fig: pl.time_series(fig, _times(da), x, labels,
                                               ylabel="BOLD signal change (1)", title=name),
                    12, 3.4, "BOLD time courses")
    if atlas is None:
        return
    from nilearn.image import index_img, new_img_like

    from .forward.nifti import bold_to_nifti

    def draw(fig: Any) -> None:
        img = bold_to_nifti(da, atlas)
        if da.sizes["time"] >= 3:
            data = np.asarray(img.get_fdata()).std(axis=3)
            shown, what = new_img_like(img, data, copy_header=True), "temporal std"
        else:
            shown, what = index_img(img, -1), "last volume"
        pl.brain_slices(fig, shown, title=f"BOLD {what}",
                        cmap="viridis" if what == "temporal std" else "RdBu_r")

    page.figure(draw, 12, 2.8, "BOLD on the MNI152 template (axial slices)", layout=None)


def _sensor_section(page: _Page, res: Any, leadfield: Any) -> None:
    name = next((n for n in ("eeg", "meg", "seeg") if n in res and res[n].sizes["time"] > 1),
                None)
    if name is None:
        return
    da = res[name]
    unit = _unit(da)
    x = np.asarray(da.values, dtype=np.float64)
    fs = _sfreq(da)
    page.section(name.upper(), f"{da.sizes['sensor']} sensors sampled at {fs:g} Hz.")
    labels = [str(s) for s in da["sensor"].values]
    page.figure(lambda fig: pl.time_series(fig, _times(da), x, labels,
                                           ylabel=f"{name.upper()} ({unit})", title=name),
                12, 3.4, "Sensor traces")
    info = getattr(leadfield, "info", None)
    if info is None or name == "seeg":
        return
    f, p = pl.psd(x, fs)
    bands = [(b, lo, hi) for b, (lo, hi) in _BANDS.items()
             if hi <= fs / 2 and np.count_nonzero((f >= lo) & (f < hi)) >= 1]
    if not bands:
        return

    def draw(fig: Any) -> None:
        import mne

        picks = mne.pick_channels(info.ch_names, labels, ordered=True)
        sub = mne.pick_info(info, picks)
        values = np.stack([p[(f >= lo) & (f < hi)].mean(axis=0) for _, lo, hi in bands], axis=1)
        pl.topomaps(fig, values, sub, [f"{b} {lo:g}-{hi:g} Hz" for b, lo, hi in bands],
                    unit=f"{unit}²/Hz")

    page.figure(draw, 3.2 * len(bands), 3.2, "Band power topographies (mean PSD in each band)")


def _variables_text(variable: Any) -> str:
    if variable is None:
        return "(the model's stimulus variables)"
    return variable if isinstance(variable, str) else ", ".join(variable)


def _stimuli_section(page: _Page, stimuli: Sequence[Any], res: Any, connectome: Any) -> None:
    attrs = getattr(res, "attrs", {})
    dt, n_steps = float(attrs.get("dt_ms", 0.1)), int(attrs.get("n_steps", 0))
    if n_steps < 1:
        return
    labels = list(connectome.labels) if connectome is not None else []
    page.section("Stimuli", f"{len(stimuli)} stimulus time course(s) on the simulation grid "
                            f"(dt = {dt:g} ms); each line shows the range of the waveform "
                            "within each pixel, so brief pulses stay visible.")
    rows = [(k, type(s.waveform).__name__, _targets_text(s, connectome, labels),
             _variables_text(s.variable), repr(s.waveform)[:160])
            for k, s in enumerate(stimuli)]
    page.table(rows, ("#", "waveform", "regions (weight)", "variable", "parameters"))

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(stimuli), 1, squeeze=False)[:, 0]
        n_bins = min(n_steps, 2000)
        edges = np.linspace(0, n_steps, n_bins + 1).astype(np.int64)
        for ax, s in zip(axes, stimuli):
            lo, hi = np.empty(n_bins), np.empty(n_bins)
            for b in range(0, n_bins, 200):  # bounded memory for long runs
                e = edges[b:min(b + 200, n_bins) + 1]
                v = s.waveform.values(np.arange(e[0], e[-1]), dt)
                starts = e[:-1] - e[0]
                lo[b:b + len(starts)] = np.minimum.reduceat(v, starts)
                hi[b:b + len(starts)] = np.maximum.reduceat(v, starts)
            t = edges[:-1] * dt
            ax.fill_between(t, lo, hi, step="post", lw=0.8, color="C3")
            ax.plot(t, hi, drawstyle="steps-post", lw=0.6, color="C3")
            ax.set(xlabel="time (ms)", ylabel="amplitude (variable unit/ms)",
                   title=f"{type(s.waveform).__name__} -> "
                         f"{_targets_text(s, connectome, labels, short=True)}")

    page.figure(draw, 12, 2.2 * len(stimuli) + 0.6, "Stimulus timelines")


def _targets_text(stim: Any, connectome: Any, labels: Sequence[str], short: bool = False) -> str:
    """The regions a stimulus reaches, with their weights."""
    if connectome is None:
        return type(stim.pattern).__name__
    try:
        w = np.asarray(stim.weights(connectome), dtype=np.float64)
    except (ValueError, TypeError) as err:
        return f"{type(stim.pattern).__name__} ({err})"
    hit = np.flatnonzero(w)
    order = hit[np.argsort(-np.abs(w[hit]), kind="stable")]
    shown = [f"{labels[i]}" + ("" if short else f" ({w[i]:.3g})") for i in order[:6]]
    return ", ".join(shown) + (f" +{len(order) - 6} more" if len(order) > 6 else "")


def _insets_section(page: _Page, res: Any) -> None:
    """Spike rasters and population rates of the regions replaced by spiking insets."""
    rasters = [n for n in res.data if n.startswith("inset_") and "_spikes" in n]
    if not rasters:
        return
    page.section("Insets", f"{len(rasters)} region(s) replaced by spiking networks: spike "
                           "rasters (one row per neuron, populations stacked) and population "
                           "rates.")
    for name in rasters:
        da = res[name]
        base = name.split("_spikes")[0]
        pops = json.loads(da.attrs.get("populations", "[]"))
        rate = res[base + "_rate"] if base + "_rate" in res else None

        def draw(fig: Any, da=da, pops=pops, rate=rate, base=base) -> None:
            a1, a2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
            t = np.asarray(da["time"].values, dtype=np.float64)
            table = np.asarray(da.values)
            neuron, pop = (table[:, 0], table[:, 1]) if table.size else (np.empty(0),) * 2
            offset = np.zeros(len(pops) + 1)
            for q in range(len(pops)):
                sel = pop == q
                offset[q + 1] = offset[q] + (neuron[sel].max() + 1 if sel.any() else 0)
                a1.scatter(t[sel], neuron[sel] + offset[q], s=0.5, color=f"C{q}",
                           label=pops[q], rasterized=True)
            a1.set(xlabel="time (ms)", ylabel="neuron (populations stacked)",
                   title=f"{base[6:]}: {len(t)} spikes")
            if pops:
                a1.legend(markerscale=10, fontsize=8, loc="upper right")
            if rate is not None and rate.sizes["time"] > 0:
                for q, p in enumerate(rate["population"].values):
                    a2.plot(rate["time"].values, np.asarray(rate.sel(population=p).values),
                            lw=0.8, color=f"C{q}", label=str(p))
                a2.legend(fontsize=8)
            a2.set(xlabel="time (ms)", ylabel="population rate (Hz)", title="rates")

        page.figure(draw, 12, 3.6, f"Inset raster: {base[6:]}")


def _fit_section(page: _Page, fit: Any) -> None:
    page.section("Fit", "Fitted parameter values and goodness of fit (the full fit report is "
                        "in the fit/ folder).")
    rows = [(k.replace("__", "."), f"{float(v):.6g}" if np.ndim(v) == 0 else
             f"per-region, mean {np.mean(v):.4g}") for k, v in fit.best.items()]
    page.table(rows, ("parameter", "fitted value"))
    page.table([(k, f"{v:.4g}") for k, v in fit.goodness.items()], ("measure", "value"))


def write_run_report(result: Any, path: str | os.PathLike, *, connectome: Any = None,
                     atlas: Any = None, leadfield: Any = None,
                     targets: Mapping[str, Any] | None = None, stimuli: Sequence[Any] | None = None,
                     fit: Any = None, title: str = "vbrain run", description: str = "",
                     settings: Sequence[tuple[str, str]] | None = None) -> Path:
    """Write the HTML report of a simulation run.

    Parameters
    ----------
    result : Result
        The run's output (any monitors).
    path : path-like
        The ``.html`` file to write (its folder must exist).
    connectome : Connectome, optional
        Shown on the glass brain (section "Connectome").
    atlas : Atlas, optional
        Matching the connectome: places the regions (MNI mm) on the glass brain
        and maps BOLD to voxels for the slices.
    leadfield : LeadField, optional
        Sensor positions for the EEG/MEG topographies.
    targets : dict, optional
        The subject's ``fc`` and ``fcd`` (arrays or labelled DataArrays), as
        :func:`vbrain.fit.personalize.load_targets` returns them.
    stimuli : sequence of Stimulus, optional
        Drawn as timelines.
    fit : FitResult, optional
        Fitted values and goodness of fit.
    title, description : str
        Page title and introduction.
    settings : sequence of (str, str), optional
        Rows of the "Run" table (default: from the result's provenance).

    Returns
    -------
    pathlib.Path
        The file written (atomic: a temporary file, then a rename).
    """
    path = Path(path)
    page = _Page()
    page.section("Run", description)
    attrs = getattr(result, "attrs", {})
    rows = list(settings) if settings else [
        (k, str(attrs[k])) for k in ("model", "coupling", "integrator", "dt_ms",
                                     "speed_mm_per_ms", "noise", "seed", "connectome")
        if k in attrs]
    rows += [("status", getattr(result, "status", "complete"))]
    rows += [("outputs", ", ".join(f"{k} {dict(result[k].sizes)}" for k in result.data))]
    rows += [(k, str(attrs[k])) for k in ("vbrain_version", "connectome_sha256") if k in attrs]
    page.table(rows, ("setting", "value"))
    labels = list(connectome.labels) if connectome is not None else []
    _time_series_section(page, result)
    _spectra_section(page, result)
    if not labels:
        found = _region_signal(result, _NEURAL + ("bold", "bold_hrf"))
        labels = [str(r) for r in found[1]["region"].values] if found else []
    _fc_section(page, result, targets, labels)
    if connectome is not None:
        _connectome_section(page, connectome, atlas)
    if stimuli:
        _stimuli_section(page, list(stimuli), result, connectome)
    _insets_section(page, result)
    _bold_section(page, result, atlas)
    _sensor_section(page, result, leadfield)
    if fit is not None:
        _fit_section(page, fit)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(page.render(title), encoding="utf-8")
    os.replace(tmp, path)
    logger.info("report: %d figures in %s", page.n_figures, path)
    return path
