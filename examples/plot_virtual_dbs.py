"""
Virtual DBS of a basal-ganglia-thalamo-cortical loop with a spiking inset
=========================================================================

A whole-brain network (tvb-data's 96-region macaque connectome, which has the
basal ganglia and thalamus) in which the right pallidum, ``BG-Pa_R``, is
replaced by a spiking network of the subthalamo-pallidal (STN-GPe) circuit:
the region stands for the STN-GPe pair, the pacemaker of parkinsonian beta
oscillations. Its delayed reciprocal loop (excitatory STN -> inhibitory GPe
-> STN) oscillates in the beta band under strong striatal inhibition of the
GPe, the mechanism of Kumar et al. (2011); the rhythm reaches the cortex
through the motor thalamus (``TM-F_R``). Halfway through the run, 130 Hz deep
brain stimulation (biphasic 60 us pulses, a current into 30 % of the STN
neurons, as Rubin and Terman 2004 model it) is switched on. The figures
show the inset's raster and population rates around the onset, beta power
in the inset, the thalamus and the motor cortex before and during DBS, and
the simulated EEG spectrum at C4 (over the right motor cortex) and C3
(control).

The pieces
----------
Inset (``vbrain.spiking.Network``): ``iaf_psc_exp`` neurons, 400 STN and 800
GPe (100 and 200 in the short mode), sparse random connections (30 inputs
per neuron and projection), delays STN->GPe 6 ms, GPe->STN 6 ms, GPe->GPe
4 ms (those of Holgado et al. 2010). Poisson drives stand for the cortex
(into STN) and for the GPe's other excitatory afferents; the striatal
inhibition of the GPe comes from the network through the input bridge. The
parameters are ours, chosen so that the loop oscillates near 23 Hz at these
sizes (STN ~40 Hz, GPe ~22 Hz); the architecture follows Kumar et al. (2011).
The step is 0.02 ms so that a 60 us phase is three steps.

Region model: Montbrio-Pazo-Roxin (``MontbrioPazoRoxin``, tau = 10 ms:
rates of ~9 Hz, a rate ``r`` in kHz like the spiking population rate), with
weak noise on ``V`` (``nsig`` = 2e-6) so that the cortical spectra show what
the loop sends; with stronger noise the same beta reaches the cortex but
stands less far above the noise (at ``nsig`` = 1e-5 the beta change at C4
shrinks from about -5.5 to -1.6 dB in the short run).

Bridges and their scaling:

- in: the pallidum's network input is, with the row-normalised weights, ``a``
  times the weighted mean rate of its afferents (the striatal regions
  ``BG-Cd_R``, ``BG-Pu_R``, ``BG-Acc_R``), in kHz. ``RateToPoisson`` turns it
  into inhibitory Poisson trains into every GPe neuron at ``K_STR`` (110)
  afferents times that mean rate (Hz): ``scale = K_STR * 1000 / a``
  (~1 kHz of -40 pA events at the striatal ~9 Hz).
- out: ``SpikesToRate`` sets the region's ``r`` to the STN population rate in
  kHz (1 ms exponential kernel), the unit of the other regions' ``r``. The
  pallidum's own ``J`` is set to 0: its leftover ``V`` (read by nobody, as
  ``cv`` = 0) then stays bounded when the inset's bursts set ``r``.

Connectome: tvb96's matrix, as loaded, has the pallidum receiving only from
the frontal thalamus and projecting to the striatum, and the striatum
projecting to most of the cortex: the reverse of the anatomical loop
(cortex -> striatum -> pallidum -> thalamus -> cortex). We use its transpose,
which gives that loop. Its weights are CoCoMac's ordinal codes (0-3):
whether a projection exists, not its efficacy; we raise the efficacy of the
pallido-thalamic projection and of the motor thalamus's cortical projections
tenfold (``LOOP_GAIN``), the driver pathways of this loop, then normalise
each region's inputs to sum to one.

EEG: MNE spherical head model, 10-20 montage; cortical regions are dipoles
along the atlas orientations, subcortical ones (no orientation in tvb96, and
closed fields) are silent (lead-field scale 0). The EEG signal is ``V``, at
1 nA m per unit (vbrain's default scale): absolute EEG power is arbitrary
here, its change with DBS is the point.

Results (full run, 16 s, DBS from 8 s; beta = mean PSD over 13-30 Hz): STN
rate -30 dB, GPe -27 dB, thalamus -31 dB, right M1 -13 dB, left M1 +2.0 dB
(outside the loop: estimation noise, -0.9 to +2.0 dB over seeds 1-6), EEG C4
-5.5 dB and C3 -3.4 dB (volume conduction from the right hemisphere). The
short run gives the same picture, less precisely.

Run ``python plot_virtual_dbs.py [--short] [--out FOLDER]``; the figures go
to the current folder (or ``--out``). The full run simulates 16 s (about a
minute on a loaded 2-core machine); ``--short`` (or ``VBRAIN_EXAMPLE_SHORT=1``) 2 s with the small
inset. ``VBRAIN_EXAMPLE_DURATION`` (ms) sets the duration directly; runs
shorter than 5 s use the small inset.

References
----------
Kumar A, Cardanobile S, Rotter S, Aertsen A (2011). The role of inhibition in
generating and controlling Parkinson's disease oscillations in the basal
ganglia. Front Syst Neurosci 5:86.

Holgado AJN, Terry JR, Bogacz R (2010). Conditions for the generation of beta
oscillations in the subthalamic nucleus-globus pallidus network. J Neurosci
30:12340-12352.

Rubin JE, Terman D (2004). High frequency stimulation of the subthalamic
nucleus eliminates pathological thalamic rhythmicity in a computational
model. J Comput Neurosci 16:211-235.

Montbrio E, Pazo D, Roxin A (2015). Macroscopic description for networks of
spiking neurons. Phys Rev X 5:021028.
"""

# %%
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mne
import numpy as np
from scipy.signal import welch

import vbrain as vb
from vbrain.bridges import RateToPoisson, SpikesToRate
from vbrain.cosim import Inset
from vbrain.forward import LeadField
from vbrain.spiking import Network
from vbrain.stimulus import InsetNeurons, PulseTrain, Stimulus

parser = argparse.ArgumentParser(description="Virtual DBS with a spiking STN-GPe inset",
                                 allow_abbrev=False)
parser.add_argument("--short", action="store_true", help="simulate 2 s with a small inset")
parser.add_argument("--out", default=".", help="folder for the figures")
args, _ = parser.parse_known_args()  # (ignore the options of a caller such as pytest)
short = args.short or os.environ.get("VBRAIN_EXAMPLE_SHORT") == "1"
duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", "2000" if short else "16000"))  # ms
short = short or duration < 5000.0
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
mne.set_log_level("WARNING")

INSET = "BG-Pa_R"        # the region replaced by the STN-GPe inset
THALAMUS = "TM-F_R"      # its thalamic target
CORTEX = "RM-M1_R"       # motor cortex on the inset's side ...
CONTROL = "RM-M1_L"      # ... and on the other side (no inset there)
BETA = (13.0, 30.0)      # Hz
LOOP_GAIN = 10.0         # efficacy of the pallido-thalamic and thalamo-cortical projections
K_STR = 110.0            # striatal afferents per GPe neuron
A = 75.0                 # coupling: network input a r ~ 0.7, half the own J tau r ~ 1.4
N_STN = 100 if short else 400
DT, DT_INSET = 0.1, 0.02  # ms; 0.02 ms divides the 60 us pulse phase and the simulation step
t_on = duration / 2.0     # DBS switched on, ms
settle = min(500.0, duration / 8.0)  # transients skipped after the start and after the onset

# %%
# The connectome: the anatomical loop, strengthened where it carries the rhythm.
tvb96 = vb.Connectome.load("atlases:tvb96")
labels = list(tvb96.labels)
idx = {name: labels.index(name) for name in (INSET, THALAMUS, CORTEX, CONTROL)}
weights = tvb96.weights.T.copy()  # [i, j] = j -> i with the anatomical direction (see above)
weights[idx[THALAMUS], idx[INSET]] *= LOOP_GAIN
cortex_rows = np.asarray(tvb96.cortical, dtype=bool)
weights[cortex_rows, idx[THALAMUS]] *= LOOP_GAIN
weights /= weights.sum(axis=1, keepdims=True)
# subcortical regions have no orientation: a dummy unit vector, silenced by a zero scale below
orientations = tvb96.orientations.copy()
orientations[~cortex_rows] = (0.0, 0.0, 1.0)
conn = vb.Connectome(weights, tvb96.lengths.T.copy(), labels, tvb96.centres,
                     cortical=tvb96.cortical, orientations=orientations, name="tvb96 loop")


# %%
# The STN-GPe inset.
def stn_gpe(n_stn: int, seed: int = 1) -> Network:
    """Excitatory STN and inhibitory GPe LIF populations whose delayed loop oscillates."""
    net = Network(dt=DT_INSET, seed=seed)
    start = {"distribution": "uniform", "low": -60.0, "high": -50.0}
    common = {"C_m": 60.0, "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 2.0,
              "tau_syn_ex": 2.0, "V_m": start}  # pF, mV, ms
    net.add_population("STN", "iaf_psc_exp", n_stn,
                       params={**common, "tau_m": 6.0, "tau_syn_in": 6.0})
    net.add_population("GPe", "iaf_psc_exp", 2 * n_stn,
                       params={**common, "tau_m": 12.0, "tau_syn_in": 5.0})
    k = 30  # inputs per neuron and projection
    net.connect("STN", "GPe", rule="fixed_indegree", indegree=k, weight=40.0, delay=6.0)  # pA
    net.connect("GPe", "STN", rule="fixed_indegree", indegree=k, weight=-40.0, delay=6.0)
    net.connect("GPe", "GPe", rule="fixed_indegree", indegree=k, weight=-20.0, delay=4.0)
    net.add_poisson("STN", 2000.0, weight=40.0)  # cortex (hyperdirect pathway)
    net.add_poisson("GPe", 2000.0, weight=40.0)  # other excitatory afferents of the GPe
    return net


inset = Inset(stn_gpe(N_STN),
              inputs=[RateToPoisson("GPe", scale=K_STR * 1000.0 / A, weight=-40.0)],
              outputs=[SpikesToRate("STN", "r", unit="kHz", width=1.0)])
# 130 Hz, 60 us cathodic-first biphasic pulses, an effective 20 nA into 30 % of the STN:
# each pulse raises V by 20 mV in its first phase (C_m = 60 pF) and makes those neurons fire
dbs = Stimulus(PulseTrain(130.0, 0.06, 20_000.0, onset=t_on, biphasic=True),
               InsetNeurons(INSET, "STN", fraction=0.3))

# %%
# The simulation: MPR regions (the pallidum's own recurrence off, see above), EEG in the loop.
leadfield = LeadField.sphere(conn, montage="standard_1020", scale=np.where(cortex_rows, 1e-9, 0.0))
J = np.full(conn.n_regions, 15.0)
J[idx[INSET]] = 0.0
sim = vb.Simulation(
    conn, vb.models.MontbrioPazoRoxin(tau=10.0, eta=-5.0, J=J, Delta=1.0),
    vb.coupling.Linear(a=A), speed=4.0, dt=DT, seed=1,
    noise=vb.noise.Additive(nsig=[0.0, 2e-6]),
    initial_history=np.array([[0.0092] * conn.n_regions, [-1.73] * conn.n_regions]),
    insets={INSET: inset}, stimuli=[dbs],
    monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.EEG(leadfield, period=1.0,
                                                                signal="V")],
)
res = sim.run(duration)
raw = res.to_raw(leadfield)

# %%
# Beta power before (off) and during DBS (on), from 1 ms samples.
name = "inset_" + "".join(ch if ch.isalnum() else "_" for ch in INSET)
rates = res[f"{name}_rate"]
r = res.tavg.sel(variable="r")
windows = {"off": (settle, t_on), "on": (t_on + settle, duration)}


def spectrum(times: np.ndarray, x: np.ndarray, window: tuple[float, float]):
    """Welch PSD (per Hz) of a 1 kHz series within a time window (ms)."""
    sel = (times >= window[0]) & (times < window[1])
    seg = x[sel] - x[sel].mean()
    return welch(seg, fs=1000.0, nperseg=min(512, len(seg) // 2))


def band_power(f: np.ndarray, p: np.ndarray) -> float:
    """Mean PSD within the beta band."""
    return float(p[(f >= BETA[0]) & (f <= BETA[1])].mean())


def plot_psd(ax, f: np.ndarray, p: np.ndarray, fmax: float, *args, **kwargs) -> None:
    """PSD from 1 Hz to ``fmax`` on a log scale."""
    keep = (f >= 1.0) & (f <= fmax)
    ax.semilogy(f[keep], p[keep], *args, **kwargs)


def shade_beta(ax) -> None:
    """Grey beta band behind the curves, leaving the limits to the data."""
    lo, hi = ax.get_ylim()
    ax.axvspan(*BETA, color="0.9", zorder=0)
    ax.set_ylim(lo, hi)


series = {
    "STN rate (Hz)": (rates.time.values, rates.sel(population="STN").values),
    "GPe rate (Hz)": (rates.time.values, rates.sel(population="GPe").values),
    f"{THALAMUS} r (kHz)": (r.time.values, r.sel(region=THALAMUS).values),
    f"{CORTEX} r (kHz)": (r.time.values, r.sel(region=CORTEX).values),
    f"{CONTROL} r (kHz)": (r.time.values, r.sel(region=CONTROL).values),
}
eeg_t = raw.times * 1000.0 + float(res.eeg.time.values[0])  # ms
for ch in ("C4", "C3"):
    series[f"EEG {ch} (V)"] = (eeg_t, raw.get_data(picks=[ch])[0])
spectra = {key: {state: spectrum(t, x, w) for state, w in windows.items()}
           for key, (t, x) in series.items()}
beta = {key: {state: band_power(*s) for state, s in v.items()} for key, v in spectra.items()}
print(f"beta power ({BETA[0]:g}-{BETA[1]:g} Hz mean PSD), DBS off -> on:")
for key, b in beta.items():
    db = 10 * np.log10(b["on"] / b["off"])
    print(f"  {key:18s} {b['off']:.3e} -> {b['on']:.3e}   ({db:+.1f} dB)")

# %%
# Figure 1: the inset around the DBS onset.
spikes = res[f"{name}_spikes"]
t_sp = spikes.time.values
neuron, pop = spikes.sel(field="neuron").values, spikes.sel(field="population").values
view = (t_on - min(500.0, t_on), t_on + min(500.0, duration - t_on))
fig, axes = plt.subplots(3, 1, figsize=(10, 9), constrained_layout=True,
                         gridspec_kw={"height_ratios": [2, 1, 1.2]})
ax = axes[0]
for q, (popname, color, shown) in enumerate((("STN", "C3", N_STN), ("GPe", "C0", N_STN))):
    keep = (pop == q) & (neuron < shown) & (t_sp >= view[0]) & (t_sp < view[1])
    ax.plot(t_sp[keep], neuron[keep] + q * N_STN, "|", ms=2, color=color, label=popname)
ax.axvline(t_on, color="k", lw=1)
ax.set(xlim=view, ylabel="neuron", title=f"Inset at {INSET} (STN-GPe), DBS on at "
       f"{t_on / 1000:g} s: raster ({N_STN} of each population)")
ax.legend(loc="upper left", markerscale=4)
ax = axes[1]
rt = rates.time.values
sel = (rt >= view[0]) & (rt < view[1])
for popname, color in (("STN", "C3"), ("GPe", "C0")):
    ax.plot(rt[sel], rates.sel(population=popname).values[sel], color=color, lw=0.8,
            label=popname)
ax.axvline(t_on, color="k", lw=1)
ax.set(xlim=view, xlabel="time (ms)", ylabel="population rate (Hz)")
ax.legend(loc="upper left")
ax = axes[2]
for key, color in (("STN rate (Hz)", "C3"), ("GPe rate (Hz)", "C0")):
    for state, ls in (("off", "-"), ("on", "--")):
        plot_psd(ax, *spectra[key][state], 150.0, ls, color=color,
                 label=f"{key.split()[0]} DBS {state}")
shade_beta(ax)
ax.set(xlim=(1, 150), xlabel="frequency (Hz)", ylabel="PSD (Hz²/Hz)",
       title="population-rate spectra (beta band shaded)")
ax.legend(ncol=2)
fig.savefig(out / "virtual_dbs_inset.png", dpi=100)

# %%
# Figure 2: thalamus, motor cortex and EEG, DBS off vs on; beta change everywhere.
fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
panels = [(axes[0, 0], [f"{THALAMUS} r (kHz)"], "thalamus (r, kHz²/Hz)"),
          (axes[0, 1], [f"{CORTEX} r (kHz)", f"{CONTROL} r (kHz)"], "motor cortex (r, kHz²/Hz)"),
          (axes[1, 0], ["EEG C4 (V)", "EEG C3 (V)"], "EEG (V²/Hz)")]
for ax, keys, what in panels:
    for key, color in zip(keys, ("C3", "C0")):
        for state, ls in (("off", "-"), ("on", "--")):
            plot_psd(ax, *spectra[key][state], 60.0, ls, color=color,
                     label=f"{key.rsplit(' ', 1)[0]} DBS {state}")
    shade_beta(ax)
    ax.set(xlim=(1, 60), xlabel="frequency (Hz)", ylabel=f"PSD, {what}")
    ax.legend()
axes[0, 0].set_title(f"{THALAMUS}: the inset's thalamic target")
axes[0, 1].set_title(f"{CORTEX} (inset side) and {CONTROL} (control)")
axes[1, 0].set_title("simulated EEG: C4 over the right motor cortex, C3 control")
ax = axes[1, 1]
change = [10 * np.log10(b["on"] / b["off"]) for b in beta.values()]
ax.barh(range(len(change)), change, color=["C3" if c < 0 else "C2" for c in change])
ax.set_yticks(range(len(change)), [k.rsplit(" ", 1)[0] for k in beta])
ax.invert_yaxis()
ax.axvline(0, color="k", lw=0.8)
ax.set(xlabel="beta power change, DBS on vs off (dB)", title="beta (13-30 Hz) power")
fig.savefig(out / "virtual_dbs_cortex_eeg.png", dpi=100)
