"""The CA1 inset example (examples/plot_ca1_inset.py): the inset fires, its LFP has the
circuit's rhythms, its output drives the region, and the figure is written."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import welch

SCRIPT = Path(__file__).parents[1] / "examples" / "plot_ca1_inset.py"


def run_example(out: Path, *argv: str, duration: str | None = None) -> dict:
    """Run the script as ``__main__`` with ``argv``; return its namespace."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", [str(SCRIPT), "--out", str(out), *argv])
        mp.delenv("VBRAIN_EXAMPLE_SHORT", raising=False)
        if duration is None:
            mp.delenv("VBRAIN_EXAMPLE_DURATION", raising=False)
        else:
            mp.setenv("VBRAIN_EXAMPLE_DURATION", duration)
        return runpy.run_path(str(SCRIPT), run_name="__main__")


def lfp_spectrum(ns: dict, skip: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectrum (1 Hz bins) of the inset's LFP after ``skip`` ms."""
    lfp = ns["res"]["inset_rHC_lfp"].sel(time=slice(skip, None)).values
    fs = 1000.0 / float(np.diff(ns["res"]["inset_rHC_lfp"].time.values[:2])[0])
    return welch(lfp - lfp.mean(), fs=fs, nperseg=min(len(lfp), int(fs)))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ca1")
    return out, run_example(out, "--short")


def test_short_mode_is_the_small_circuit_for_one_second(short_run):
    _, ns = short_run
    assert (ns["n_pyr"], ns["n_bc"]) == (40, 10)
    assert ns["duration"] == 1000.0
    assert ns["res"].tavg.time.values[-1] == pytest.approx(999.5)


def test_both_populations_fire_at_plausible_rates(short_run):
    _, ns = short_run
    spikes = ns["res"]["inset_rHC_spikes"]
    pop = spikes.sel(field="population").values
    ids = spikes.sel(field="neuron").values
    t = spikes.time.values
    assert np.all((t > 0) & (t <= 1000.0))
    pyr_rate = np.sum(pop == 0) / 40 / 1.0  # Hz per cell over 1 s
    bc_rate = np.sum(pop == 1) / 10 / 1.0
    # CA1 pyramids fire sparsely, fast-spiking basket cells several times faster
    assert 1.0 < pyr_rate < 20.0, pyr_rate
    assert 10.0 < bc_rate < 80.0, bc_rate
    assert bc_rate > 3 * pyr_rate
    # most cells take part (not a few runaway cells)
    assert len(np.unique(ids[pop == 0])) >= 30
    assert len(np.unique(ids[pop == 1])) == 10
    # the recorded population rates agree with the raster
    rates = ns["res"]["inset_rHC_rate"]
    np.testing.assert_allclose(rates.sel(population="pyr").values.mean(), pyr_rate, rtol=1e-9)


def test_lfp_is_finite_varies_and_carries_the_septal_theta(short_run):
    _, ns = short_run
    lfp = ns["res"]["inset_rHC_lfp"].values
    assert np.all(np.isfinite(lfp))
    assert lfp.std() > 1e-4  # mV: > 0.1 uV (about 2 uV here)
    freqs, power = lfp_spectrum(ns)
    low = (freqs >= 4) & (freqs <= 12)  # the example's theta band (below it: slow 1/f power)
    assert freqs[low][np.argmax(power[low])] == pytest.approx(8.0, abs=1.0)  # the 8 Hz drive


def test_inset_output_sets_the_region_gating_and_reaches_eeg_and_bold(short_run):
    _, ns = short_run
    res, model = ns["res"], ns["model"]
    S = res.tavg.sel(variable="S", region="rHC").values
    H = res["inset_rHC_rate"].sel(population="pyr").values[-300:].mean()  # Hz
    # rHC's S follows dS/dt = -S/tau_s + (1 - S) gamma H, H the pyramidal rate (the
    # model's gamma is per kHz): near its fixed point after ~ tau_s / (1 + gamma tau_s H)
    gt = model.gamma / 1000.0 * model.tau_s
    s_star = gt * H / (1.0 + gt * H)
    assert 0.05 < s_star < 0.6
    assert abs(S[-300:].mean() - s_star) < 0.15 * s_star
    assert np.all(np.isfinite(res.eeg.values)) and res.eeg.values.std() > 0
    bold = res.bold.sel(variable="bold")
    assert bold.time.values[1] - bold.time.values[0] == pytest.approx(100.0)  # short TR
    assert np.all(np.isfinite(bold.values)) and float(np.abs(bold.sel(region="rHC")).max()) > 0


def test_the_figure_is_written(short_run):
    out, _ = short_run
    png = out / "ca1_inset.png"
    assert png.exists() and png.stat().st_size > 30_000
    import matplotlib.image as mpimg

    img = mpimg.imread(png)
    assert img.shape[0] > 500 and img.shape[1] > 1000
    assert img[..., :3].std() > 0.05  # not blank


@pytest.mark.slow
def test_full_circuit_has_theta_nested_gamma(tmp_path):
    """200 + 50 cells, 5 s: a PING gamma peak (30-60 Hz) well above its surroundings."""
    ns = run_example(tmp_path, duration="5000")
    assert (ns["n_pyr"], ns["n_bc"]) == (200, 50)
    freqs, power = lfp_spectrum(ns, skip=500.0)
    gamma = (freqs >= 30) & (freqs <= 60)
    f_gamma = freqs[gamma][np.argmax(power[gamma])]
    assert 35.0 <= f_gamma <= 55.0
    beta = (freqs >= 15) & (freqs <= 25)
    assert power[gamma].max() > 10 * np.median(power[beta])
    low = (freqs >= 3) & (freqs <= 15)
    assert freqs[low][np.argmax(power[low])] == pytest.approx(8.0, abs=1.0)
    # the basket cells, paced by the septal drive, fire theta-modulated
    rate = ns["res"]["inset_rHC_rate"].sel(population="bc").values[500:]
    f, p = welch(rate - rate.mean(), fs=1000.0, nperseg=1000)
    low = (f >= 3) & (f <= 15)
    assert f[low][np.argmax(p[low])] == pytest.approx(8.0, abs=1.0)
    # driven by the brain: the pyramidal rate (50 ms means) follows rPHC's S
    pyr = ns["res"]["inset_rHC_rate"].sel(population="pyr").values[500:5000]
    phc = ns["res"].tavg.sel(variable="S", region="rPHC").values[500:5000]
    assert np.corrcoef(pyr.reshape(-1, 50).mean(1), phc.reshape(-1, 50).mean(1))[0, 1] > 0.4
    assert (tmp_path / "ca1_inset.png").stat().st_size > 30_000
