"""
tACS entrainment: an Arnold tongue in a virtual brain
=====================================================

Transcranial alternating current stimulation (tACS) over the occipital
cortex of the bundled 76-region connectome, each region a noisy
Stuart-Landau oscillator at 10 Hz (``SupHopf``, just past its Hopf
bifurcation), diffusively coupled with conduction delays. The electric
field reaches the regions through a field map: here a synthetic ``|E|``
image (a 0.5 V/m Gaussian blob under an Oz-like electrode) on the bundled
MNI atlas grid, standing in for the ``magnE`` NIfTI that SimNIBS or ROAST
computes for a real montage, averaged over each parcel by
:class:`vbrain.stimulus.FieldMap`.

For each stimulation frequency around the intrinsic 10 Hz and a few
amplitudes, the phase locking value (PLV) between the stimulus and the most
stimulated region's oscillation (3-20 Hz band, Hilbert phase) measures
entrainment: it is high only where the oscillator gives up its own
frequency for the stimulus', a range that widens with the amplitude (an
Arnold tongue). Away from it the region keeps oscillating at its own
frequency and the PLV stays low.

Run ``python plot_tacs_entrainment.py [--short] [--out FOLDER]``; figures go
to the current folder (or ``--out``). ``--short`` (or
``VBRAIN_EXAMPLE_SHORT=1``) runs three frequencies and one amplitude for 2 s
each; ``VBRAIN_EXAMPLE_DURATION`` (ms) sets the length of each run (under 4 s:
the short grid). The full run takes about a minute.
"""

# %%
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nibabel as nib
import numpy as np
from nilearn import plotting
from scipy import signal

import vbrain as vb
from vbrain.atlas import Atlas
from vbrain.stimulus import FieldMap, Sinusoid, Stimulus

parser = argparse.ArgumentParser(description="tACS entrainment in a virtual brain",
                                 allow_abbrev=False)
parser.add_argument("--short", action="store_true", help="3 frequencies, 1 amplitude, 2 s runs")
parser.add_argument("--out", default=".", help="folder for the figures")
args, _ = parser.parse_known_args()  # (ignore the options of a caller such as pytest)
short = args.short or os.environ.get("VBRAIN_EXAMPLE_SHORT") == "1"
duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", "2000" if short else "6000"))  # ms
short = short or duration < 4000  # a PLV over under 3 s cannot resolve the tongue anyway
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

frequencies = np.array([8.0, 10.0, 12.0]) if short else np.arange(6.0, 14.5, 1.0)  # Hz
amplitudes = [0.001] if short else [0.0003, 0.001, 0.003]  # 1/ms, at the most stimulated region
transient = min(1000.0, duration / 4)  # ms left out of the PLV

# %%
# The electric field: a synthetic |E| map (V/m) on the atlas grid, reduced to one weight
# per region (parcel mean), normalised so that the most stimulated region has weight 1.
conn = vb.Connectome.load("atlases:default")
atlas = Atlas.load("atlases:default").match(conn)
ijk = np.indices(atlas.shape).reshape(3, -1).T
xyz = ijk @ atlas.affine[:3, :3].T + atlas.affine[:3, 3]  # voxel centres, MNI mm
electrode = np.array([0.0, -105.0, 10.0])  # over the occipital pole
magn_e = 0.5 * np.exp(-np.sum((xyz - electrode) ** 2, axis=1) / (2 * 30.0 ** 2))
magn_e = magn_e.reshape(atlas.shape) * (atlas.region_indices() >= 0)  # in the brain only
field = nib.Nifti1Image(magn_e.astype(np.float32), atlas.affine)
pattern = FieldMap(field, atlas, normalize="max")
weights = pattern.weights(conn)
target = int(np.argmax(weights))
labels = list(conn.labels)
print("most stimulated:", [(labels[i], round(float(weights[i]), 2))
                           for i in np.argsort(weights)[::-1][:4]])

# %%
# The network, and one run per (frequency, amplitude): the stimulus drives x.
f0 = 10.0  # Hz, intrinsic frequency of every region
model = vb.models.SupHopf(a=0.01, omega=2 * np.pi * f0 / 1000.0)  # limit cycle of radius 0.1
x0 = np.random.default_rng(0).uniform(-0.1, 0.1, (2, conn.n_regions))


def simulate(stimuli):
    """Target-region x (time ms, values) of one run."""
    sim = vb.Simulation(conn, model, vb.coupling.Difference(a=0.0005), speed=4.0, dt=0.1,
                        noise=vb.noise.Additive(np.array([1e-6, 1e-6])), seed=3,
                        initial_history=x0, stimuli=stimuli,
                        monitors=[vb.monitors.TemporalAverage(1.0, variables=["x"])])
    res = sim.run(duration, progress=False).tavg
    return res.time.values, res.values[:, 0, target]


def plv(t, x, frequency):
    """Phase locking of x (3-20 Hz Hilbert phase) to the stimulus sin(2 pi f t)."""
    b, a = signal.butter(2, [3.0, 20.0], btype="band", fs=1000.0)
    phase = np.angle(signal.hilbert(signal.filtfilt(b, a, x)))
    keep = t > transient
    stim_phase = 2 * np.pi * frequency * t[keep] / 1000.0 - np.pi / 2  # sin = cos(. - pi/2)
    return float(np.abs(np.mean(np.exp(1j * (phase[keep] - stim_phase)))))


t, free = simulate([])
f_psd, psd = signal.welch(free[t > transient], fs=1000.0, nperseg=min(2048, free.size // 2))
peak = f_psd[np.argmax(psd)]
print(f"intrinsic peak of {labels[target]}: {peak:.1f} Hz")

locking = np.empty((len(amplitudes), len(frequencies)))
traces = {}
for i, amp in enumerate(amplitudes):
    for j, f in enumerate(frequencies):
        stim = Stimulus(Sinusoid(f, amp), pattern, variable="x")
        t, x = simulate([stim])
        locking[i, j] = plv(t, x, f)
        if amp == amplitudes[-1 if short else 1]:
            traces[f] = x
    print(f"amplitude {amp:g}/ms: PLV", np.round(locking[i], 2).tolist())

# %%
# Figures: PLV against frequency for each amplitude, and the target region's activity
# when locked (near 10 Hz) and not locked (far from it).
fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
for amp, row in zip(amplitudes, locking):
    axes[0].plot(frequencies, row, "o-", label=f"{amp:g} / ms")
axes[0].axvline(peak, color="0.5", ls="--", lw=1, label=f"intrinsic ({peak:.1f} Hz)")
axes[0].set(xlabel="tACS frequency (Hz)", ylabel="PLV stimulus - region",
            title=f"entrainment of {labels[target]}", ylim=(0, 1.05))
axes[0].legend(title="amplitude", fontsize=8)
show = t > t[-1] - 500.0
for f in (frequencies[len(frequencies) // 2], frequencies[-1]):
    axes[1].plot(t[show], traces[f][show], label=f"{f:g} Hz tACS")
axes[1].plot(t[show], free[show], color="k", lw=0.8, alpha=0.6, label="no stimulation")
axes[1].set(xlabel="time (ms)", ylabel="x", title=f"{labels[target]}, last 500 ms")
axes[1].legend(fontsize=8)
fig.savefig(out / "tacs_entrainment.png", dpi=100)

display = plotting.plot_glass_brain(field, title="synthetic |E| (V/m)", colorbar=True,
                                    plot_abs=False, cmap="hot", threshold=0.01)
display.savefig(out / "tacs_field_map.png")
display.close()
