"""
Resting-state functional connectivity at the edge of bifurcation
================================================================

The reduced Wong-Wang model (w=0.9, I_o=0.3, as in Deco et al. 2013) on the
bundled 76-region connectome, with noise and conduction delays. Sixteen global
couplings run as one batch; the agreement between simulated functional
connectivity (FC, correlations of the synaptic gating S) and the structural
weights (SC) peaks just below the coupling where the network jumps to its
high-activity state.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import vbrain as vb

duration = float(os.environ.get("VBRAIN_EXAMPLE_DURATION", 10_000))  # ms

conn = vb.Connectome.load("atlases:default")
sim = vb.Simulation(
    conn,
    vb.models.ReducedWongWang(w=0.9, I_o=0.3),
    vb.coupling.Linear(),
    speed=4.0,
    dt=0.1,
    noise=vb.noise.Additive(nsig=1e-4),
    seed=0,
    monitors=[vb.monitors.TemporalAverage(10.0)],
)
a_values = np.linspace(0.0, 0.02, 16)
res = sim.sweep(duration, coupling__a=a_values)
S = res.tavg.sel(variable="S", time=slice(1000, None))  # drop the first second
print(res)

# %%
# SC-FC agreement and mean activity per coupling value.
iu = np.triu_indices(conn.n_regions, 1)
fcs = [np.corrcoef(S.values[..., b].T) for b in range(len(a_values))]
sc_fc = np.array([np.corrcoef(conn.weights[iu], fc[iu])[0, 1] for fc in fcs])
best = int(np.argmax(sc_fc))
print(f"best SC-FC correlation {sc_fc[best]:.3f} at a = {a_values[best]:.4f}")

fig, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
ax = axes[0]
ax.plot(a_values, sc_fc, "o-", label="SC-FC correlation")
ax.plot(a_values, S.mean(dim=("time", "region")), "s--", label="mean S")
ax.set(xlabel="global coupling a (1)", ylabel="(1)", title="16 couplings in one batched run")
ax.legend()
im = axes[1].imshow(np.log1p(conn.weights), cmap="viridis")
axes[1].set(title="structural weights (log1p)", xlabel="source region", ylabel="target region")
fig.colorbar(im, ax=axes[1])
im = axes[2].imshow(fcs[best], vmin=-1, vmax=1, cmap="RdBu_r")
axes[2].set(title=f"simulated FC at a = {a_values[best]:.4f}", xlabel="region", ylabel="region")
fig.colorbar(im, ax=axes[2])
fig.savefig("resting_state_fc.png", dpi=100)
