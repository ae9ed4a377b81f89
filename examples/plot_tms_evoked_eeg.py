"""
TMS-evoked EEG from a virtual brain
===================================

Single TMS pulses to the right primary motor cortex (``rM1``) of the bundled
76-region connectome, each region a noise-driven Jansen-Rit column. A pulse is
modelled at the neural-mass scale as a 1 ms rectangular input to the
excitatory-interneuron drive of the targeted column (JR's ``y4``, the
derivative of the excitatory postsynaptic potential ``y1``): it raises
``y4`` by 10 mV/ms. A 64-channel EEG (MNE sphere head model, BioSemi montage)
is simulated inside the loop; the pulses become MNE events, the EEG is
epoched and averaged, and the evoked response is shown as MNE's butterfly
plot with topographies at its peaks, beside the region-level responses.

Run ``python plot_tms_evoked_eeg.py [--short] [--out FOLDER]``; the figures
go to the current folder (or ``--out``). ``--short`` (or the environment
variable ``VBRAIN_EXAMPLE_SHORT=1``) simulates 2 s instead of 21 s;
``VBRAIN_EXAMPLE_DURATION`` (ms) sets the duration directly.
"""

# %%
import argparse
import operator
import os
from functools import reduce
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mne
import numpy as np

import vbrain as vb
from vbrain.forward import LeadField
from vbrain.stimulus import Labels, Pulse, Stimulus

parser = argparse.ArgumentParser(description="TMS-evoked EEG from a virtual brain",
                                 allow_abbrev=False)
parser.add_argument("--short", action="store_true", help="simulate 2 s instead of 21 s")
parser.add_argument("--out", default=".", help="folder for the figures")
args, _ = parser.parse_known_args()  # (ignore the options of a caller such as pytest)
short = args.short or os.environ.get("VBRAIN_EXAMPLE_SHORT") == "1"
duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", "2000" if short else "21000"))  # ms
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
mne.set_log_level("WARNING")

# %%
# The virtual brain, its EEG and the pulses: from 1 s on (the first second lets the
# network settle), one every 700-1300 ms (jittered, as in TMS-EEG sessions, so that the
# ongoing alpha rhythm is not entrained by a regular train), each 1 ms of 10 mV/ms^2 into
# rM1's y4. A sum of single pulses is itself a waveform.
target = "rM1"
conn = vb.Connectome.load("atlases:default")
leadfield = LeadField.sphere(conn, montage="biosemi64")
rng = np.random.default_rng(0)
pulse_times = 1000.0 + np.cumsum(np.r_[0.0, rng.uniform(700.0, 1300.0, 100)])
pulse_times = np.round(pulse_times[pulse_times < duration - 400.0])  # whole ms
pulses = reduce(operator.add, [Pulse(t, width=1.0, amplitude=10.0) for t in pulse_times])
tms = Stimulus(pulses, Labels(target), variable="y4")

nsig = np.zeros(6)
nsig[4] = 1e-3  # background noise on the excitatory input, (mV/ms)^2 / ms
sim = vb.Simulation(
    conn,
    vb.models.JansenRit(),
    vb.coupling.SigmoidalJansenRit(a=1.0),
    speed=4.0,
    dt=0.1,
    noise=vb.noise.Additive(nsig),
    seed=7,
    monitors=[vb.monitors.EEG(leadfield, period=1.0),
              vb.monitors.TemporalAverage(1.0, variables=["y1", "y2"])],
    stimuli=[tms],
)
res = sim.run(duration, progress=False)

# %%
# Epochs around the pulses. Raw sample n averages [n, n + 1) ms, so a pulse at t ms
# (whole ms here) starts sample t.
raw = res.to_raw(leadfield)
onsets_ms = pulse_times
events = np.c_[onsets_ms.astype(int), np.zeros(len(onsets_ms), int),
               np.ones(len(onsets_ms), int)]
epochs = mne.Epochs(raw, events, event_id={"TMS": 1}, tmin=-0.1, tmax=0.4,
                    baseline=(None, 0.0), preload=True, verbose=False)
evoked = epochs.average()
print(f"{len(epochs)} pulses; evoked peak {np.abs(evoked.data).max() * 1e6:.1f} µV at "
      f"{evoked.times[np.abs(evoked.data).max(axis=0).argmax()] * 1000:.0f} ms")

fig = evoked.plot_joint(times="peaks", title=f"TMS to {target}: evoked EEG ({len(epochs)} "
                        "pulses)", show=False)
fig.savefig(out / "tms_evoked_eeg.png", dpi=100)

# %%
# The same response in the regions: JR's EEG signal y1 - y2 averaged over the pulses, in
# the target and in all regions, ordered by the weight of their connection from the target.
# With this coupling the evoked response stays mostly local: the other regions show little
# beyond the ongoing alpha that the average over the pulses has not removed.
tavg = res.tavg
signal = tavg.sel(variable="y1").values - tavg.sel(variable="y2").values  # (time, region), mV
t = tavg.time.values
lags = np.arange(-100, 400)  # ms
trials = np.stack([signal[np.searchsorted(t, t0 + lags[0]):][: lags.size] for t0 in onsets_ms])
response = trials.mean(axis=0)
response -= response[lags < 0].mean(axis=0)
labels = list(conn.labels)
i_target = labels.index(target)
order = [i for i in np.argsort(conn.weights[:, i_target])[::-1] if i != i_target]

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
axes[0].plot(lags, response[:, i_target], color="k")
axes[0].axvline(0.0, color="0.6", lw=0.8, ls="--")
axes[0].set(xlabel="time after the pulse (ms)", ylabel="y1 - y2 (mV)",
            title=f"stimulated region {target}")
lim = np.abs(response[:, order]).max()
im = axes[1].imshow(response[:, order].T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                    extent=(lags[0], lags[-1], len(order) - 0.5, -0.5), interpolation="nearest")
axes[1].set_yticks(range(0, len(order), 5), [labels[i] for i in order[::5]], fontsize=7)
axes[1].set(xlabel="time after the pulse (ms)",
            title=f"other regions, strongest input from {target} on top")
fig.colorbar(im, ax=axes[1], label="y1 - y2 (mV)")
fig.savefig(out / "tms_evoked_regions.png", dpi=100)
