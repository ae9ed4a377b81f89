"""Make ``tvb_afferent.npz`` (tests/test_monitors_afferent.py) with TVB's AfferentCoupling monitor.

Run with the TVB reference environment (tvb-library 2.10.0, tvb-data 3.0.0)::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_afferent.py

Three deterministic Heun runs (dt 0.1 ms, 4 mm/ms, 30 ms) from a constant
initial history (``<case>_initial``, per state variable and region) with
TVB's ``AfferentCoupling`` monitor (every step, every coupling variable):
Generic2dOscillator with Linear(a = 0.02, b = 0.1) on ``connectivity_76.zip``,
Kuramoto with its Kuramoto coupling (a = 0.5) on ``connectivity_68.zip`` and
JansenRit with SigmoidalJansenRit (a = 10) on ``connectivity_66.zip``. TVB's
times are stored since the initial state (its own minus (H - 1) dt).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DT, SPEED, DURATION = 0.1, 4.0, 30.0
CASES = {
    "g2d": ("connectivity_76.zip", "Generic2dOscillator", "Linear", {"a": 0.02, "b": 0.1}),
    "kuramoto": ("connectivity_68.zip", "Kuramoto", "Kuramoto", {"a": 0.5}),
    "jansen_rit": ("connectivity_66.zip", "JansenRit", "SigmoidalJansenRit", {"a": 10.0}),
}


def run(conn_file, model_name, coupling_name, coupling_params, seed):
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, simulator

    conn = Connectivity.from_file(conn_file)
    conn.speed = np.array([SPEED])
    horizon = int(np.rint(conn.tract_lengths / SPEED / DT).max()) + 1
    model = getattr(models, model_name)()
    rng = np.random.default_rng(seed)
    initial = np.stack([rng.uniform(*model.state_variable_range[s], conn.weights.shape[0])
                        for s in model.state_variables])
    if model_name == "JansenRit":  # TVB's y1/y5 ranges (+-500) start kV transients
        initial *= 0.02
    sim = simulator.Simulator(
        connectivity=conn, model=model,
        coupling=getattr(coupling, coupling_name)(**{k: np.array([v])
                                                     for k, v in coupling_params.items()}),
        integrator=integrators.HeunDeterministic(dt=DT),
        monitors=(monitors.AfferentCoupling(),),
        initial_conditions=np.repeat(initial[None, :, :, None], horizon, axis=0),
        simulation_length=DURATION)
    sim.configure()
    (t, c), = sim.run()
    return initial, t - (horizon - 1) * DT, c[..., 0]


def main() -> None:
    warnings.simplefilter("ignore")
    out = {}
    for i, (case, spec) in enumerate(CASES.items()):
        initial, t, c = run(*spec, seed=100 + i)
        out.update({f"{case}_initial": initial, f"{case}_t": t, f"{case}_coupling": c})
        print(case, c.shape)
    np.savez_compressed(HERE / "tvb_afferent.npz", **out,
                        source="tvb-library 2.10 monitors.AfferentCoupling; "
                               "tests/data/make_tvb_afferent.py")


if __name__ == "__main__":
    main()
