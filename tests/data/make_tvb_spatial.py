"""Make ``tvb_spatial.npz`` (tests/test_monitors_spatial.py) with TVB's region-averaging monitors.

Run with the TVB reference environment (tvb-library 2.10.0, tvb-data 3.0.0)::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_spatial.py

One deterministic Generic2dOscillator run (Heun, dt 0.1 ms, Linear coupling
a = 0.02) on tvb-data's ``connectivity_96.zip`` at 4 mm/ms, from a constant
initial history (``initial``, per state variable and region), 100 ms, with
three monitors: ``SpatialAverage`` with its default mask (the connectome's
cortical flags: two groups) every 0.5 ms, ``SpatialAverage`` with the mask
``arange(96) % 4`` every 0.5 ms, and ``GlobalAverage`` every 2.5 ms.

TVB counts steps from the end of the initial history (H - 1 = 375 steps here),
and its monitors sample when that count is a multiple of their period: with
periods of 5 and 25 steps, which divide 375, they sample at the same instants
as vbrain's. Times are stored in vbrain's time base (since the initial state).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DT, SPEED, DURATION, A = 0.1, 4.0, 100.0, 0.02


def main() -> None:
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, simulator

    warnings.simplefilter("ignore")
    conn = Connectivity.from_file("connectivity_96.zip")
    conn.speed = np.array([SPEED])
    horizon = int(np.rint(conn.tract_lengths / SPEED / DT).max()) + 1
    n = conn.weights.shape[0]
    rng = np.random.default_rng(96)
    initial = np.stack([rng.uniform(-1.5, 1.5, n), rng.uniform(-3.0, 3.0, n)])
    mask = np.arange(n) % 4
    sim = simulator.Simulator(
        connectivity=conn, model=models.Generic2dOscillator(),
        coupling=coupling.Linear(a=np.array([A])), integrator=integrators.HeunDeterministic(dt=DT),
        monitors=(monitors.SpatialAverage(period=0.5),
                  monitors.SpatialAverage(period=0.5, spatial_mask=mask),
                  monitors.GlobalAverage(period=2.5)),
        initial_conditions=np.repeat(initial[None, :, :, None], horizon, axis=0),
        simulation_length=DURATION)
    sim.configure()
    (t_c, y_c), (t_m, y_m), (t_g, y_g) = sim.run()
    shift = (horizon - 1) * DT
    np.savez_compressed(
        HERE / "tvb_spatial.npz", initial=initial, mask=mask, horizon=horizon,
        cortical=np.asarray(conn.cortical, dtype=bool),
        t_cortical=t_c - shift, cortical_mean=y_c[..., 0], t_mask=t_m - shift, mask_mean=y_m[..., 0],
        t_global=t_g - shift, global_mean=y_g[..., 0, 0],
        source="tvb-library 2.10 monitors.SpatialAverage / GlobalAverage; "
               "tests/data/make_tvb_spatial.py")


if __name__ == "__main__":
    main()
