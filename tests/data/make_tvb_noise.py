"""Make the ``tvb_noise_<case>.npz`` fixtures of tests/test_tvb_noise.py with TVB.

Run with the TVB reference environment (tvb-library 2.10.0, tvb-data 3.0.0), not vbrain's::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_noise.py [case ...]

Each case is one stochastic TVB region simulation on tvb-data's
``connectivity_76.zip`` (weights not normalised, delays at 4 mm/ms) with
additive noise, a constant initial history and a 1 ms TemporalAverage of every
state variable. The draws of two engines never agree, their statistics must:
the fixture keeps, per state variable and region, the mean and the standard
deviation over time of the 1 ms averages after ``skip`` ms (the transient),
and the test compares vbrain's with them.

Each npz (plain arrays, no pickles): ``meta`` (JSON: case, versions, classes,
parameters, integrator, dt, speed, duration, skip, nsig), ``state_names``,
``initial`` (n_state,), ``nsig`` (n_state,), ``ntau`` (ms, 0: white noise), ``mul``
((a, b) of multiplicative noise, empty for additive), ``mean`` and ``std``
(n_state, 76), ``n_samples``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SPEED = 4.0
DT = 0.1

CASES = {
    # the one-variable model near its low-activity fixed point, stochastic Heun
    "rww_heun": dict(model="ReducedWongWang", model_params={},
                     coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
                     integrator="HeunStochastic", nsig=[1e-5], initial=[0.1],
                     duration=30_000.0, skip=5_000.0, seed=42),
    # two variables with different intensities, a bounded rate (r >= 0),
    # Euler-Maruyama
    "mpr_euler": dict(model="MontbrioPazoRoxin", model_params={},
                      coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
                      integrator="EulerStochastic", nsig=[1e-4, 1e-3], initial=[0.1, -2.0],
                      duration=20_000.0, skip=2_000.0, seed=7),
    # exponentially correlated (coloured) noise, correlation time ntau = 10 ms
    "mpr_heun_coloured": dict(model="MontbrioPazoRoxin", model_params={},
                              coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
                              integrator="HeunStochastic", nsig=[1e-3, 1e-2], ntau=10.0,
                              initial=[0.1, -2.0], duration=20_000.0, skip=2_000.0, seed=11),
    # multiplicative: g(S) = sqrt(2 D) (a S + b), TVB's default linear b equation
    "rww_heun_multiplicative": dict(model="ReducedWongWang", model_params={},
                                    coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
                                    integrator="HeunStochastic", nsig=[4e-5], mul=[1.0, 0.0],
                                    initial=[0.1], duration=30_000.0, skip=5_000.0, seed=13),
}


def run(name: str, case: dict) -> dict:
    """Simulate one case with TVB; the fixture's arrays."""
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    conn = Connectivity.from_file("connectivity_76.zip")
    conn.speed = np.array([SPEED])
    model = getattr(models, case["model"])(**{k: np.array([v]) for k, v in
                                              case["model_params"].items()})
    names = tuple(model.state_variables)
    model.variables_of_interest = names
    horizon = int(np.rint(conn.tract_lengths / SPEED / DT).max()) + 1
    ic = np.empty((horizon, len(names), conn.weights.shape[0], 1))
    for i, value in enumerate(case["initial"]):
        ic[:, i] = value
    cpl = getattr(coupling, case["coupling"])(**{k: np.array([v]) for k, v in
                                                  case["coupling_params"].items()})
    kw = dict(nsig=np.array(case["nsig"]), ntau=case.get("ntau", 0.0), noise_seed=case["seed"])
    if "mul" in case:
        from tvb.datatypes import equations

        a, b = case["mul"]
        the_noise = noise.Multiplicative(b=equations.Linear(parameters={"a": a, "b": b}), **kw)
    else:
        the_noise = noise.Additive(**kw)
    integ = getattr(integrators, case["integrator"])(dt=DT, noise=the_noise)
    sim = simulator.Simulator(connectivity=conn, model=model, coupling=cpl, integrator=integ,
                              monitors=(monitors.TemporalAverage(period=1.0),),
                              initial_conditions=ic, simulation_length=case["duration"])
    sim.configure()
    (t, y), = sim.run()
    keep = y[t > case["skip"] + (horizon - 1) * DT, :, :, 0]
    meta = dict(case=name, tvb_library=version("tvb-library"), tvb_data=version("tvb-data"),
                numpy=np.__version__, python=sys.version.split()[0], dt=DT, speed=SPEED,
                **case)
    return dict(meta=np.array(json.dumps(meta)), state_names=np.array(names),
                initial=np.array(case["initial"], dtype=float),
                nsig=np.array(case["nsig"], dtype=float), ntau=np.array(case.get("ntau", 0.0)),
                mul=np.array(case.get("mul", [])),
                mean=keep.mean(axis=0), std=keep.std(axis=0), n_samples=np.array(len(keep)))


def main() -> None:
    """Write the fixtures named on the command line (default: all)."""
    for name in sys.argv[1:] or CASES:
        arrays = run(name, CASES[name])
        np.savez_compressed(HERE / f"tvb_noise_{name}.npz", **arrays)
        print(name, {k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main()
