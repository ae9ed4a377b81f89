"""
A hippocampal CA1 inset in a virtual brain: raster, LFP, EEG and BOLD
======================================================================

The right hippocampus (``rHC``) of the bundled 76-region connectome is replaced
by a small CA1 microcircuit of compartmental neurons, while the other 75
regions stay Reduced Wong-Wang neural masses. The circuit is

- pyramidal cells with a soma (``hh``), a basal dendrite in stratum oriens, an
  apical trunk through stratum radiatum and a tuft in stratum
  lacunosum-moleculare (passive dendrites);
- fast-spiking basket cells, single-compartment ``hh`` cells, which inhibit the
  pyramidal somata (perisomatic GABA_A) and each other, and are excited by the
  pyramidal cells: pyramidal-interneuron gamma (PING);
- a theta-rhythmic current into the basket cells standing for the medial septum's
  GABAergic pacing (the septum is not a region of the connectome).

In the connectome the hippocampus' only afferent is the parahippocampal cortex
(``rPHC``), i.e. the entorhinal input. Its coupling (the delayed, weighted ``S``
of rPHC, exactly what rHC's neural mass would receive) becomes Poisson spike
trains onto the pyramidal tufts (the temporoammonic path) and onto the basket
cells (feed-forward inhibition). The pyramidal cells' rate drives rHC's
synaptic gating ``S`` with the region model's own equation, so the inset's
output reaches the regions rHC projects to, the EEG and the BOLD signal.

The network exchanges with the inset every 5 ms (the rPHC -> rHC delay at
4 mm/ms). The CA1 LFP is the line-source potential of every transmembrane
current at an electrode in stratum pyramidale. A 10-20 EEG (MNE sphere head
model) and Balloon-Windkessel BOLD run inside the simulation loop.

Run ``python plot_ca1_inset.py [--short] [--out FOLDER]``; the figure goes to
the current folder (or ``--out``). ``--short`` (or ``VBRAIN_EXAMPLE_SHORT=1``)
simulates 1 s of a 40 + 10 cell circuit with BOLD sampled every 100 ms, in
well under a minute; the full run is 20 s of 200 + 50 cells (about a minute).
``VBRAIN_EXAMPLE_DURATION`` (ms) sets the duration; below 5 s it also selects
the small circuit.
"""

# %%
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.signal import welch

import vbrain as vb
from vbrain.bridges import RateToPoisson, SpikesToSynaptic
from vbrain.cosim import Inset
from vbrain.forward import LeadField
from vbrain.spiking import Cell, CellNetwork, Morphology, Section
from vbrain.stimulus import InsetNeurons, Sinusoid, Stimulus

parser = argparse.ArgumentParser(description="A CA1 inset in a virtual brain", allow_abbrev=False)
parser.add_argument("--short", action="store_true", help="a 1 s run of a small circuit")
parser.add_argument("--out", default=".", help="folder for the figure")
args, _ = parser.parse_known_args()  # (ignore the options of a caller such as pytest)
short = args.short or os.environ.get("VBRAIN_EXAMPLE_SHORT") == "1"
duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", "1000" if short else "20000"))  # ms
small = short or duration < 5000.0
n_pyr, n_bc = (40, 10) if small else (200, 50)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %%
# The cells. Lengths in um along z, the somato-dendritic axis (stratum oriens below
# the somata, radiatum and lacunosum-moleculare above); Ra 150 Ohm cm and a membrane
# resistance of 20 kOhm cm2 in the dendrites, typical of CA1 pyramids. The first
# synapse of each cell receives the network's Poisson input (the engine's default).


def pyramidal_cell() -> Cell:
    """Soma, basal dendrite (oriens), apical trunk (radiatum), tuft (lacunosum-moleculare)."""
    sections = [
        Section("soma", np.array([[0, 0, -10, 20.0], [0, 0, 10, 20.0]]), swc_type=1),
        Section("basal", np.array([[0, 0, -10, 2.0], [0, 0, -160, 1.5]]), parent=0,
                parent_x=0.0, nseg=3, swc_type=3),
        Section("apical", np.array([[0, 0, 10, 3.0], [0, 0, 310, 2.0]]), parent=0,
                parent_x=1.0, nseg=5, swc_type=4),
        Section("tuft", np.array([[0, 0, 310, 1.5], [0, 0, 460, 1.0]]), parent=2,
                parent_x=1.0, nseg=3, swc_type=4),
    ]
    cell = Cell(Morphology(sections), Ra=150.0)
    cell.insert("hh", "soma")
    cell.insert("pas", ["basal", "apical", "tuft"], g=5e-5, e=-65.0)
    # temporoammonic (entorhinal) AMPA input on the tuft, perisomatic GABA_A from
    # basket cells, recurrent CA1 collaterals on the basal dendrite
    cell.add_synapse("tam", "tuft(0.5)", "exp2", tau1=0.5, tau2=3.0, e=0.0)
    cell.add_synapse("gaba", "soma(0.5)", "exp2", tau1=0.5, tau2=8.0, e=-75.0)
    cell.add_synapse("rec", "basal(0.5)", "exp2", tau1=0.5, tau2=3.0, e=0.0)
    return cell


def basket_cell() -> Cell:
    """A single 25 um compartment with hh (NEURON's squid kinetics at 6.3 degC, a stand-in
    for a fast-spiking cell): its rate grows gradually from ~5 to ~80 Hz as a Poisson
    input of 1 nS events rises from 50 Hz to 3 kHz, without depolarisation block."""
    cell = Cell(Morphology([Section("soma", np.array([[0, 0, -12.5, 25.0],
                                                      [0, 0, 12.5, 25.0]]), swc_type=1)]))
    cell.insert("hh", "soma")
    cell.add_synapse("ampa", "soma(0.5)", "exp2", tau1=0.3, tau2=2.0, e=0.0)
    cell.add_synapse("gaba", "soma(0.5)", "exp2", tau1=0.5, tau2=5.0, e=-75.0)
    return cell


# %%
# The circuit: somata scattered over a 300 x 300 um patch of stratum pyramidale
# (basket cells at its border with oriens); connection probabilities scale with
# the population sizes so each cell gets the same number of inputs in both modes.
# Weights are peak conductances, uS, chosen so that the pyramidal cells fire sparsely
# (~4 Hz) and the basket cells, excited by ~20 pyramidal cells each, fire in gamma
# volleys (~35 Hz per cell) that silence the pyramids for about one GABA_A decay.
rng = np.random.default_rng(0)


def layer(n: int, depth: float, spread: float) -> np.ndarray:
    """Positions (n, 3), um: uniform in the patch, normal in depth (z)."""
    pos = np.zeros((n, 3))
    pos[:, :2] = rng.uniform(-150.0, 150.0, size=(n, 2))
    pos[:, 2] = rng.normal(depth, spread, size=n)
    return pos


ca1 = CellNetwork(dt=0.025, seed=3, electrode=[0.0, 0.0, 0.0])  # electrode in pyramidale
ca1.add_population("pyr", pyramidal_cell(), n_pyr, positions=layer(n_pyr, 0.0, 10.0))
ca1.add_population("bc", basket_cell(), n_bc, positions=layer(n_bc, -30.0, 15.0))
ca1.connect("pyr", "bc", "ampa", weight=0.002, delay=1.0, p=min(1.0, 20 / n_pyr))
ca1.connect("bc", "pyr", "gaba", weight=0.004, delay=1.0, p=min(1.0, 5 / n_bc))
ca1.connect("bc", "bc", "gaba", weight=0.001, delay=1.0, p=min(1.0, 5 / n_bc))
ca1.connect("pyr", "pyr", "rec", weight=0.001, delay=1.5, p=min(1.0, 2 / n_pyr))

# %%
# The brain: Reduced Wong-Wang regions, linear coupling, noise on S.
conn = vb.Connectome.load("atlases:default")
labels = list(conn.labels)
hc, phc = labels.index("rHC"), labels.index("rPHC")
model = vb.models.ReducedWongWang(w=0.5)
coupling = vb.coupling.Linear(a=0.01)

# Bridges. rHC's coupling is c = a * w[rHC, rPHC] * S_rPHC. In the model S relates to
# rPHC's rate H as S = gamma tau_s H / (1 + gamma tau_s H) (gamma per ms per kHz), about
# gamma tau_s H at low rates, so H ~ c / (a w gamma tau_s): each of K_TAM entorhinal
# fibres onto a pyramidal cell fires at H, and the cell's Poisson input rate is
# K_TAM * H (K_FF fibres onto each basket cell: feed-forward inhibition). A constant
# baseline stands for the Schaffer collateral input from CA3, which the connectome lacks.
gamma_tau = model.gamma / 1000.0 * model.tau_s  # per Hz: 0.641e-3 / (ms Hz) * 100 ms
per_unit_c = 1.0 / (coupling.a * conn.weights[hc, phc] * gamma_tau)  # Hz per unit coupling
K_TAM, K_FF = 20, 5
inputs = [
    RateToPoisson("pyr", scale=K_TAM * per_unit_c, baseline=50.0, weight=0.002),
    RateToPoisson("bc", scale=K_FF * per_unit_c, weight=0.001),
]
# The pyramidal rate H (Hz) drives rHC's S with the model's equation
# dS/dt = -S/tau_s + (1 - S) gamma H; the model's gamma is per kHz, the bridge's per Hz.
outputs = [SpikesToSynaptic("pyr", "S", gamma=gamma_tau / model.tau_s, tau_s=model.tau_s)]
inset = Inset(ca1, inputs=inputs, outputs=outputs, record_every=1.0)
# Septal theta: 8 Hz, +-0.03 nA into every basket cell (1.5 uA/cm2 on its 1960 um2,
# a fraction of its rheobase: it modulates their firing, it does not drive it alone).
theta = Stimulus(Sinusoid(frequency=8.0, amplitude=0.03), InsetNeurons("rHC", "bc"))

leadfield = LeadField.sphere(conn, montage="standard_1020")
tr = 100.0 if small else 500.0  # BOLD sampling period, ms
sim = vb.Simulation(
    conn, model, coupling, speed=4.0, dt=0.1,
    noise=vb.noise.Additive(nsig=1e-4), seed=1,
    initial_history=np.full((1, conn.n_regions), 0.1),
    monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.EEG(leadfield, period=2.0),
              vb.monitors.Bold(tr=tr)],
    stimuli=[theta], insets={"rHC": inset},
)
res = sim.run(duration, progress=False)

# %%
# What came back: the inset's spikes, population rates and LFP beside the monitors.
spikes = res["inset_rHC_spikes"]
rates = res["inset_rHC_rate"]
lfp = res["inset_rHC_lfp"]
t_spk = spikes.time.values
cell_id = spikes.sel(field="neuron").values
pop = spikes.sel(field="population").values
for q, name in enumerate(["pyr", "bc"]):
    n = (n_pyr, n_bc)[q]
    print(f"{name}: {np.sum(pop == q) / n / (duration / 1000):.1f} Hz per cell")
skip = min(500.0, duration / 5)  # ms of transient left out of spectra
fs = 1000.0 / float(lfp.time[1] - lfp.time[0])
x = lfp.sel(time=slice(skip, None)).values
freqs, power = welch(x - x.mean(), fs=fs, nperseg=min(len(x), int(fs)))  # 1 Hz bins
band = (freqs >= 4) & (freqs <= 100)


def peak(lo: float, hi: float) -> float:
    """Frequency (Hz) of the largest LFP power in [lo, hi] Hz."""
    sel = (freqs >= lo) & (freqs <= hi)
    return float(freqs[sel][np.argmax(power[sel])])


print(f"LFP: std {1e3 * x.std():.2f} uV, spectral peaks: theta {peak(4, 12):.0f} Hz, "
      f"gamma {peak(25, 100):.0f} Hz")

# %%
# The figure: inset raster, LFP and its spectrum; the exchange with the brain (the
# entorhinal drive per fibre the bridge delivered, the pyramidal rate it evokes, and
# rHC's S that rate sets); EEG and BOLD.
fig = plt.figure(figsize=(15, 9), constrained_layout=True)
axes = fig.subplot_mosaic([["raster", "raster", "spec"], ["lfp", "lfp", "exchange"],
                           ["eeg", "eeg", "bold"]])
window = (max(skip, duration - 1000.0), duration)  # the last second
ax = axes["raster"]
for q, (name, color) in enumerate([("pyramidal", "tab:blue"), ("basket", "tab:red")]):
    sel = (pop == q) & (t_spk >= window[0])
    ax.plot(t_spk[sel], cell_id[sel] + (n_pyr if q else 0), "|", ms=3, color=color, label=name)
ax.set(xlim=window, ylabel="cell", title="CA1 inset at rHC: spikes")
ax.legend(loc="upper right", fontsize=8)
ax = axes["lfp"]
seg = lfp.sel(time=slice(*window))
ax.plot(seg.time, 1e3 * (seg - x.mean()), color="k", lw=0.8)
ax.set(xlim=window, xlabel="time (ms)", ylabel="LFP (uV)",
       title="LFP in stratum pyramidale (line-source)")
ax = axes["spec"]
ax.semilogy(freqs[band], power[band] * 1e6, color="k")
ax.axvspan(4, 12, color="tab:green", alpha=0.2, label="theta")
ax.axvspan(25, 100, color="tab:orange", alpha=0.2, label="gamma")
ax.set(xlabel="frequency (Hz)", ylabel="PSD (uV²/Hz)", title="LFP spectrum")
ax.legend(fontsize=8)
ax = axes["exchange"]
S = res.tavg.sel(variable="S")
drive = S.sel(region="rPHC") / gamma_tau  # Hz per fibre (delayed by 5 ms in the run)
pyr_rate = np.convolve(rates.sel(population="pyr"), np.ones(50) / 50, mode="same")  # 50 ms
ax.plot(S.time / 1000, drive, color="tab:purple", lw=0.8, label="rPHC drive per fibre")
ax.plot(rates.time / 1000, pyr_rate, color="tab:blue", lw=0.8, label="pyramidal rate (50 ms)")
ax.set(xlabel="time (s)", ylabel="rate (Hz)", title="brain -> CA1 -> brain")
twin = ax.twinx()
twin.plot(S.time / 1000, S.sel(region="rHC"), color="0.4", lw=0.8, label="rHC S")
twin.set_ylabel("rHC S")
ax.legend(handles=ax.get_lines() + twin.get_lines(), fontsize=7, loc="lower right")
ax = axes["eeg"]
eeg = res.eeg
channels = ["T8", "P8", "Fz", "O1"]
t_eeg = eeg.time.values / 1000.0  # s
for k, ch in enumerate(channels):
    trace = eeg.sel(sensor=ch).values.ravel()
    trace = trace - trace.mean()
    ax.plot(t_eeg, trace / (np.abs(trace).max() + 1e-30) + 2.2 * k, lw=0.7)
ax.set(yticks=2.2 * np.arange(len(channels)), yticklabels=channels, xlabel="time (s)",
       title="simulated EEG (each channel scaled to its peak)")
ax = axes["bold"]
bold = res.bold.sel(variable="bold")
for label in ["rHC", "rPHC", "rPFCM", "lHC"]:
    ax.plot(bold.time / 1000, 100 * bold.sel(region=label), label=label)
ax.set(xlabel="time (s)", ylabel="BOLD (% signal change)", title="BOLD")
ax.legend(fontsize=8)
fig.savefig(out / "ca1_inset.png", dpi=100)
