"""Make the ``neurolibtraj_<case>.npz`` fixtures of tests/test_neurolib.py with neurolib.

Run with neurolib 0.6's environment (``bash /work/shared/peers/setup.sh neurolib``),
not vbrain's, giving tvb-data's 76-region connectome (the zip vbrain's
``atlases:default`` reads; ``python -c "from vbrain import atlases;
print(atlases.connectome_path('default'))"`` prints its path)::

    /tmp/peers/neurolib/bin/python tests/data/make_neurolib_trajectories.py PATH/connectivity_76.zip

Each case is a deterministic neurolib run (``FHNModel`` or ``WWModel``) on that connectome (``Cmat`` its
weights, ``lengthMat`` its tract lengths in mm, ``signalV`` = 4 m/s = 4 mm/ms,
dt 0.1 ms, forward Euler, no Ornstein-Uhlenbeck noise: ``sigma_ou = 0``) from a
constant initial history drawn per region (neurolib's ``xs_init``/``ys_init`` of
shape (N, 1)). Stored: the first ``n_full`` steps, then every ``every`` ms; the
state after step k is at t = k dt (neurolib's ``t`` and vbrain's ``Raw``).
neurolib keeps everything in float64, so the two should agree to roundoff.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SPEED, DT = 4.0, 0.1

CASES = {
    # neurolib's default coupling, with K small enough for Euler at dt 0.1 on tvb-data's
    # unnormalised weights (row sums ~39)
    "fhn_diffusive": dict(model="fhn", coupling="diffusive", K_gl=0.02, duration=300.0,
                          every=10.0, n_full=5, seed=11),
    "fhn_additive": dict(model="fhn", coupling="additive", K_gl=0.01, duration=300.0,
                         every=10.0, n_full=5, seed=12, params=dict(x_ext=0.8, tau=15.0)),
    # the Deco et al. (2014) excitatory-inhibitory Wong-Wang model (its coupling is additive;
    # neurolib 0.6.2 integrates it with tau_inh = tau_exc: ww/timeIntegration.py reads
    # tau_inh from params["tau_exc"])
    "ww": dict(model="ww", coupling="additive", K_gl=0.05, duration=300.0, every=10.0,
               n_full=5, seed=13),
}
#: neurolib model: (module, class, initial-value parameters, outputs), in vbrain's state order
MODELS = {
    "fhn": ("neurolib.models.fhn", "FHNModel", ("xs_init", "ys_init"), ("x", "y")),
    "ww": ("neurolib.models.ww", "WWModel", ("ses_init", "sis_init"), ("se", "si")),
}


def read_tvb_zip(path):
    """Weights and tract lengths (mm) from a tvb-data connectivity zip."""
    with zipfile.ZipFile(path) as z:
        names = {Path(n).name.split(".")[0]: n for n in z.namelist()}
        weights = np.loadtxt(io.BytesIO(z.read(names["weights"])))
        lengths = np.loadtxt(io.BytesIO(z.read(names["tract_lengths"])))
    return weights, lengths


def run(case, spec, weights, lengths):
    import importlib

    module, cls, inits, outputs = MODELS[spec["model"]]
    model = getattr(importlib.import_module(module), cls)(Cmat=weights, Dmat=lengths, seed=1)
    p = model.params
    n = weights.shape[0]
    p.update(dt=DT, signalV=SPEED, K_gl=spec["K_gl"], sigma_ou=0.0, duration=spec["duration"])
    if "coupling" in p:  # FHN: diffusive or additive; WW: additive only
        p["coupling"] = spec["coupling"]
    for key, value in spec.get("params", {}).items():
        p[key] = value if key not in ("x_ext", "y_ext") else np.full(n, value)
    rng = np.random.default_rng(spec["seed"])
    init = rng.uniform(0.0, 0.5, size=(2, n, 1))
    for name, value in zip(inits, init):
        p[name] = value
    model.run()
    y = np.stack([getattr(model, name).T for name in outputs], axis=1)  # (n_steps, 2, n)
    t = np.asarray(model.t, dtype=float)
    steps = np.rint(t / DT).astype(int)
    every = int(round(spec["every"] / DT))
    keep = (steps <= spec["n_full"]) | (steps % every == 0)
    meta = dict(case=case, model=spec["model"], coupling=spec["coupling"],
                neurolib_params={k: v for k, v in spec.get("params", {}).items()})
    import neurolib
    meta["neurolib_version"] = getattr(neurolib, "__version__", "unknown")
    return dict(t=t[keep], y=y[keep], init=init[:, :, 0], K_gl=spec["K_gl"], dt=DT,
                speed=SPEED, weights_sum=weights.sum(), lengths_sum=lengths.sum(),
                meta=json.dumps(meta))


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    weights, lengths = read_tvb_zip(argv[0])
    for case in argv[1:] or CASES:
        out = run(case, CASES[case], weights, lengths)
        path = HERE / f"neurolibtraj_{case}.npz"
        np.savez_compressed(path, **out)
        print(f"{case}: {len(out['t'])} samples, {path.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main(sys.argv[1:])
