"""
Simulated EEG and BOLD from one Jansen-Rit network
==================================================

A Jansen-Rit neural mass in each of the bundled connectome's 76 regions,
driven by noise, produces an alpha rhythm. Two forward models run inside the
simulation loop: a 64-channel EEG (MNE sphere head model, BioSemi montage) and
Balloon-Windkessel BOLD at TR = 1 s, driven by the pyramidal output PSP y0
(JR's y1 swings negative, which the balloon model cannot take). The EEG becomes an ``mne.io.Raw`` and the
BOLD a 4-D NIfTI image on the bundled MNI parcellation.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mne
import numpy as np
from nilearn import image, plotting

import vbrain as vb
from vbrain.atlas import Atlas
from vbrain.forward import LeadField

duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", 20_000))  # ms

conn = vb.Connectome.load("atlases:default")
leadfield = LeadField.sphere(conn, montage="biosemi64")
nsig = np.zeros(6)
nsig[4] = 1e-3  # noise on the excitatory input (mV/ms)^2 / ms, as in TVB's JR demos
sim = vb.Simulation(
    conn,
    vb.models.JansenRit(),
    vb.coupling.SigmoidalJansenRit(a=1.0),
    speed=4.0,
    dt=0.1,
    noise=vb.noise.Additive(nsig),
    seed=2,
    monitors=[vb.monitors.EEG(leadfield, period=4.0), vb.monitors.Bold(tr=1000.0, variable="y0")],
)
res = sim.run(duration)
raw = res.to_raw(leadfield)
bold_img = res.to_nifti(Atlas.load("atlases:default").match(conn))
print(raw)
print(bold_img.shape)

# %%
# EEG spectrum and the topography of alpha power; BOLD variability in the brain.
tmin = min(2.0, duration / 4000)  # skip the transient (s)
psd = raw.copy().crop(tmin=tmin).compute_psd(fmin=1.0, fmax=40.0, verbose=False)
freqs, power = psd.freqs, psd.get_data()
alpha = power[:, (freqs >= 8) & (freqs <= 12)].mean(axis=1)
peak = freqs[np.argmax(power.mean(axis=0))]
print(f"EEG spectral peak at {peak:.1f} Hz")

fig = plt.figure(figsize=(14, 4), constrained_layout=True)
ax = fig.add_subplot(1, 3, 1)
ax.semilogy(freqs, power.T * 1e12, color="0.6", lw=0.5)
ax.semilogy(freqs, power.mean(axis=0) * 1e12, color="k", lw=2)
ax.set(xlabel="frequency (Hz)", ylabel="PSD (µV²/Hz)", title=f"EEG spectra (peak {peak:.1f} Hz)")
ax = fig.add_subplot(1, 3, 2)
mne.viz.plot_topomap(alpha, raw.info, axes=ax, show=False)
ax.set_title("alpha (8-12 Hz) power")
ax = fig.add_subplot(1, 3, 3)
bold = res.bold.sel(variable="bold")
ax.plot(bold.time / 1000, 100 * bold.values[:, :6])
ax.set(xlabel="time (s)", ylabel="BOLD (% signal change)", title="BOLD, 6 regions")
fig.savefig("eeg_bold_forward.png", dpi=100)

display = plotting.plot_stat_map(image.math_img("np.std(img, axis=-1)", img=bold_img),
                                 title="BOLD standard deviation", display_mode="z", cut_coords=5)
display.savefig("bold_std_map.png")
