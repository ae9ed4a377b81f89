"""
Resting-state functional connectivity from a noisy Wong-Wang network
====================================================================

Simulate the reduced Wong-Wang model on the bundled 76-region connectome with
noise and conduction delays, then compare the functional connectivity of the
synaptic gating variable with the structural weights.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import vbrain as vb

duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", 20_000))  # ms

conn = vb.Connectome.load("atlases:default")
sim = vb.Simulation(
    conn,
    vb.models.ReducedWongWang(),
    vb.coupling.Linear(a=0.05),
    speed=4.0,
    dt=0.1,
    noise=vb.noise.Additive(nsig=1e-5),
    seed=0,
    monitors=[vb.monitors.TemporalAverage(10.0)],
)
res = sim.run(duration)
S = res.tavg.sel(variable="S")
print(res)

# %%
# Functional connectivity after the first second of transient.
x = S.sel(time=slice(1000, None)).values
fc = np.corrcoef(x.T)
iu = np.triu_indices(conn.n_regions, 1)
sc_fc = np.corrcoef(conn.weights[iu], fc[iu])[0, 1]
print(f"SC-FC correlation: {sc_fc:.3f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
axes[0].plot(S.time / 1000, x[:, :0].T if False else S.values[:, :5])
axes[0].set(xlabel="time (s)", ylabel="S (1)", title="synaptic gating, 5 regions")
im = axes[1].imshow(np.log1p(conn.weights), cmap="viridis")
axes[1].set(title="structural weights (log1p)", xlabel="source region", ylabel="target region")
fig.colorbar(im, ax=axes[1])
im = axes[2].imshow(fc, vmin=-1, vmax=1, cmap="RdBu_r")
axes[2].set(title=f"simulated FC (SC-FC r = {sc_fc:.2f})", xlabel="region", ylabel="region")
fig.colorbar(im, ax=axes[2])
fig.savefig("resting_state_fc.png", dpi=100)
