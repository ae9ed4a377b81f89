"""Make the BOLD reference fixtures from the peers (run by hand, not by the tests).

Three parts, each run with the peer's own interpreter:

    /tmp/peers/neurolib/bin/python tests/data/make_bold_fixture.py neurolib
    /tmp/peers/tvb/bin/python      tests/data/make_bold_fixture.py tvb
    /tmp/peers/tvb/bin/python      tests/data/make_bold_fixture.py balloon

``neurolib`` -> ``bold_neurolib_step.npz``: neurolib 0.6.2's Balloon-Windkessel
integrator (``neurolib.models.bold.timeIntegration.simulateBOLD``: Euler,
Friston 2003 parameters and classic coefficients) driven by two 1 s / 2 s
steps at dt = 0.1 ms, started at rest (s = 0, f = v = q = 1; neurolib's
``BOLDModel`` itself starts the vasodilatory signal at 1, so its integrator is
called directly), sampled every 100 ms.

``tvb`` -> ``bold_tvb_hrf.npz``: tvb-library 2.10's ``monitors.Bold``
(``sample(step, state)`` called for every step, as the simulator does) with
each HRF kernel, on a step plus a slow sinusoid at dt = 0.5 ms, TR = 500 ms.

``balloon`` -> ``bold_tvb_balloon.npz``: tvb-library 2.10's Balloon-Windkessel
analyser (``tvb.analyzers.fmri_balloon.BalloonModel``, its defaults: the revised
coefficients of Stephan et al. 2007 with TVB's own constants, tau_s = 1.54 s,
tau_f = 1.44 s, tau_o = 0.98 s, V0 = 4, E0 = 0.4, epsilon = 0.5; Heun at the
input's sample period) on ``drive_tvb`` sampled every 1 ms, stored every 100 ms.

The inputs are defined by closed formulas (``drive_neurolib``, ``drive_tvb``)
that the tests re-create, so only the outputs are stored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

# -- neurolib -----------------------------------------------------------------
NL_DT = 0.1  # ms
NL_DURATION = 30_000.0  # ms
NL_EVERY = 1000  # steps between stored samples (100 ms)


def drive_neurolib(dt: float = NL_DT, duration: float = NL_DURATION) -> np.ndarray:
    """Drive (n_steps, 2): row i is the drive during step i, i.e. the state at (i + 1) dt.

    Region 0: 1.0 for 1000 < t <= 2000 ms; region 1: 0.5 for 3000 < t <= 5000 ms.
    """
    n = int(round(duration / dt))
    t = (np.arange(n) + 1) * dt
    x = np.zeros((n, 2))
    x[(t > 1000.0 + 1e-9) & (t <= 2000.0 + 1e-9), 0] = 1.0
    x[(t > 3000.0 + 1e-9) & (t <= 5000.0 + 1e-9), 1] = 0.5
    return x


def make_neurolib() -> None:
    import neurolib
    from neurolib.models.bold import timeIntegration as ti

    z = drive_neurolib().T.copy()  # neurolib: (N, T)
    n = z.shape[0]
    bold, *_ = ti.simulateBOLD(z, NL_DT * 1e-3, np.ones(n), X=np.zeros(n), F=np.ones(n),
                               Q=np.ones(n), V=np.ones(n))
    idx = np.arange(NL_EVERY - 1, z.shape[1], NL_EVERY)
    np.savez_compressed(
        HERE / "bold_neurolib_step.npz",
        t_ms=(idx + 1) * NL_DT, bold=bold[:, idx].T, dt_ms=NL_DT,
        params=np.array([0.65, 0.41, 0.98, 0.32, 0.34, 0.02]),
        params_names=np.array(["kappa", "gamma", "tau_s", "alpha", "rho", "V0"]),
        coefficients="friston2003: k1 = 7 rho, k2 = 2, k3 = 2 rho - 0.2",
        source=f"neurolib {getattr(neurolib, '__version__', '0.6.2')} simulateBOLD, Euler, "
               "initial X=0, F=Q=V=1; drive: tests/data/make_bold_fixture.py drive_neurolib",
    )


# -- TVB -----------------------------------------------------------------------
TVB_DT = 0.5  # ms
TVB_DURATION = 40_000.0  # ms
TVB_TR = 500.0  # ms
TVB_KERNELS = {"volterra": "FirstOrderVolterra", "gamma": "Gamma",
               "double_exponential": "DoubleExponential", "mixture_of_gammas": "MixtureOfGammas"}


def drive_tvb(dt: float = TVB_DT, duration: float = TVB_DURATION) -> np.ndarray:
    """Drive (n_steps, 2): row i is the state after step i + 1, at time (i + 1) dt.

    Region 0: 1 for 5000 < t <= 6000 ms, else 0.1; region 1: 0.5 + 0.3 sin(2 pi 0.1 t / 1000).
    """
    n = int(round(duration / dt))
    t = (np.arange(n) + 1) * dt
    x = np.empty((n, 2))
    x[:, 0] = np.where((t > 5000.0 + 1e-9) & (t <= 6000.0 + 1e-9), 1.0, 0.1)
    x[:, 1] = 0.5 + 0.3 * np.sin(2 * np.pi * 0.1 * t / 1000.0)
    return x


def make_tvb() -> None:
    from types import SimpleNamespace

    import tvb
    from tvb.datatypes import equations
    from tvb.simulator import monitors

    x = drive_tvb()
    out = {}
    for key, cls in TVB_KERNELS.items():
        mon = monitors.Bold(period=TVB_TR, hrf_kernel=getattr(equations, cls)())
        mon.voi = np.array([0])
        sim = SimpleNamespace(integrator=SimpleNamespace(dt=TVB_DT), number_of_nodes=2,
                              model=SimpleNamespace(number_of_modes=1))
        mon._config_time(sim)
        times, values = [], []
        for i in range(x.shape[0]):
            step = i + 1  # TVB's simulator: step n hands the state after n steps
            res = mon.sample(step, x[i].reshape(1, 2, 1))
            if res is not None:
                times.append(res[0])
                values.append(np.asarray(res[1])[0, :, 0])
        out[f"t_{key}"] = np.array(times)
        out[f"bold_{key}"] = np.array(values)
    np.savez_compressed(
        HERE / "bold_tvb_hrf.npz", dt_ms=TVB_DT, tr_ms=TVB_TR, **out,
        source=f"tvb-library {getattr(tvb, '__version__', '2.10')} monitors.Bold, default kernel "
               "parameters; drive: tests/data/make_bold_fixture.py drive_tvb",
    )


BALLOON_DT = 1.0  # ms, the input's sample period = TVB's integration step
BALLOON_EVERY = 100  # samples between stored ones (100 ms)


def make_tvb_balloon() -> None:
    import tvb
    from tvb.analyzers.fmri_balloon import BalloonModel
    from tvb.datatypes import time_series

    x = drive_tvb(BALLOON_DT)  # row i: the drive of step i + 1, ending at (i + 1) dt
    # TVB's analyser starts at rest at the first sample and drives step k (ending at
    # sample k) with sample k: sample 0 (t = 0) is never used
    data = np.concatenate([np.zeros((1, 2)), x])[:, None, :, None]
    ts = time_series.TimeSeries(data=data, sample_period=BALLOON_DT, sample_period_unit="ms",
                                      time=np.arange(len(data)) * BALLOON_DT)
    ts.configure()
    model = BalloonModel(time_series=ts)
    bold = np.asarray(model.evaluate().data)[:, 0, :, 0]
    idx = np.arange(BALLOON_EVERY, len(data), BALLOON_EVERY)
    np.savez_compressed(
        HERE / "bold_tvb_balloon.npz", dt_ms=BALLOON_DT, t_ms=idx * BALLOON_DT, bold=bold[idx],
        tau_s=model.tau_s, tau_f=model.tau_f, tau_o=model.tau_o, alpha=model.alpha, TE=model.TE,
        V0=model.V0, E0=model.E0, epsilon=float(np.asarray(model.epsilon).ravel()[0]),
        nu_0=model.nu_0, r_0=model.r_0,
        source=f"tvb-library {getattr(tvb, '__version__', '2.10')} "
               "analyzers.fmri_balloon.BalloonModel, defaults (RBM, nonlinear, HeunDeterministic); "
               "drive: tests/data/make_bold_fixture.py drive_tvb(1.0)",
    )


if __name__ == "__main__":
    parts = {"neurolib": make_neurolib, "tvb": make_tvb, "balloon": make_tvb_balloon}
    if len(sys.argv) != 2 or sys.argv[1] not in parts:
        sys.exit(f"usage: python {Path(__file__).name} {{{'|'.join(parts)}}}")
    parts[sys.argv[1]]()
