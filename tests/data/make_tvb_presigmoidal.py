"""Make ``tvb_presigmoidal.npz`` (tests/test_presigmoidal.py): TVB 2.10's ``PreSigmoidal``.

Run with the TVB reference environment (tvb-library 2.10.0), not vbrain's::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_presigmoidal.py

Per case, TVB's ``PreSigmoidal.__call__(step, history)`` on a ``SparseHistory``
(the simulator's) of random delayed states, for a network whose weight
matrix is diagonal (each region coupled to itself, with its own delay): the
one network on which TVB 2.10's ``__call__`` and the coupling it documents
(``vbrain.coupling.PreSigmoidal``) agree, since TVB sums its weighted sigmoids
over the target axis, not over the sources. Before writing, the script checks
that statement on an asymmetric network with delays: there TVB's output
equals, for every region, the sum over its efferent (dynamic mode) or afferent
(static mode) weights of its *own* delayed output (see the
``vbrain.coupling.PreSigmoidal`` docstring); it stops if TVB disagrees.

States and weights are rounded to float32 first (TVB's history and weights are
float32), so TVB's float64 arithmetic on them is exact to roundoff.

The npz (plain arrays): per case ``<case>__weights`` (n, n), ``__delays`` (n, n)
steps, ``__buffer`` (n_time, n_cvar, n) (TVB's history ring), ``__step``,
``__out`` (n_out, n) TVB's output, and ``__param__<name>`` the parameters
(``dynamic``, ``globalT`` as 0/1).
"""

from pathlib import Path

import numpy as np
from tvb.simulator import coupling
from tvb.simulator.history import SparseHistory

HERE = Path(__file__).parent
N = 7

# case -> (parameters, number of coupling variables, (lo, hi) self-delay steps)
# theta ("region", lo, hi): one value per region
CASES = {
    "static": ({"H": 0.7, "Q": 0.8, "G": 3.0, "P": 1.2, "theta": ("region", -0.5, 0.5),
                "dynamic": False, "globalT": False}, 2, (0, 4)),
    "static_global": ({"H": 0.4, "Q": -0.2, "G": 5.0, "P": 0.9, "theta": 0.3, "dynamic": False,
                       "globalT": True}, 1, (0, 3)),
    # the dynamic c_1 is TVB's diagonal of the delayed state: zero self-delay = the current state
    "dynamic": ({"H": 0.6, "Q": 1.0, "G": 4.0, "P": 1.1, "theta": 0.5, "dynamic": True,
                 "globalT": False}, 2, (0, 0)),
}


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def tvb_call(params, weights, delays, buffer, step):
    """TVB's PreSigmoidal(**params)(step, history) as (n_out, n)."""
    kwargs = {k: (bool(v) if isinstance(v, bool) else np.atleast_1d(np.asarray(v, float)))
              for k, v in params.items()}
    k = coupling.PreSigmoidal(**kwargs)
    k.configure()
    n_cvar = buffer.shape[1]
    hist = SparseHistory(weights, delays, np.arange(n_cvar), 1)
    assert hist.n_time == buffer.shape[0], (hist.n_time, buffer.shape)
    hist.buffer = buffer[..., None]  # as history.initialize() does: the simulator's float64
    return np.asarray(k(step, hist), dtype=np.float64)[..., 0]


def sigmoid(params, u):
    return params["H"] * (params["Q"] + np.tanh(params["G"] * u))


def check_tvb_sums_over_targets(rng):
    """TVB's output on an asymmetric delayed network is each region's own delayed output
    summed over a column (dynamic) or row (static) of the weights, as documented."""
    n = 5
    w = f32(rng.uniform(0.2, 2.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.7))
    np.fill_diagonal(w, 0.0)
    d = rng.integers(0, 4, (n, n))
    n_time = int(d.max()) + 1
    buf = f32(rng.uniform(-1.0, 1.0, (n_time, 2, n)))
    step = 9

    def x(cv, i, lag):  # x_cv,i(t - lag), from TVB's history ring
        return buf[(step - 1 - lag) % n_time, cv, i]

    p = {"H": 0.7, "Q": 0.9, "G": 2.0, "P": 1.3, "theta": 0.2}
    # static: c_i = sum_j w_ij S(P x_i(t - d_ji) - theta), the state 0 where w_ji = 0
    out = tvb_call({**p, "dynamic": False, "globalT": False}, w, d, buf[:, :1], step)
    ref = [sum(w[i, j] * sigmoid(p, p["P"] * (x(0, i, d[j, i]) if w[j, i] else 0.0) - p["theta"])
               for j in range(n)) for i in range(n)]
    np.testing.assert_allclose(out[0], ref, rtol=1e-12)
    # dynamic: c_0,i = sum_j w_ji S(P x_i(t - d_ji) - theta_i(t - d_ji)); c_1 = S(0) = H Q
    # (zero diagonal weights: TVB's sparse history leaves the diagonal state at 0)
    out = tvb_call({**p, "dynamic": True, "globalT": False}, w, d, buf, step)
    ref = [sum(w[j, i] * sigmoid(p, p["P"] * x(0, i, d[j, i]) - x(1, i, d[j, i]))
               for j in range(n)) for i in range(n)]
    np.testing.assert_allclose(out[0], ref, rtol=1e-12)
    np.testing.assert_allclose(out[1], p["H"] * p["Q"], rtol=1e-15)


def main():
    rng = np.random.default_rng(20250601)
    check_tvb_sums_over_targets(rng)
    arrays = {}
    for case, (spec, n_cvar, (dlo, dhi)) in CASES.items():
        params = {k: (rng.uniform(v[1], v[2], N) if isinstance(v, tuple) else v)
                  for k, v in spec.items()}
        w = np.diag(f32(rng.uniform(0.5, 2.0, N)))
        d = np.diag(rng.integers(dlo, dhi + 1, N))
        n_time = int(d.max()) + 1
        buf = f32(rng.uniform(-1.0, 1.0, (n_time, n_cvar, N)))
        if params["dynamic"]:  # thresholds near x so the sigmoid is not saturated
            buf[:, 1] = f32(buf[:, 0] * 0.8 + rng.uniform(-0.2, 0.2, (n_time, N)))
        step = n_time + 3
        out = tvb_call(params, w, d, buf, step)
        arrays.update({f"{case}__weights": w, f"{case}__delays": d, f"{case}__buffer": buf,
                       f"{case}__step": np.int64(step), f"{case}__out": out})
        for name, v in params.items():
            arrays[f"{case}__param__{name}"] = np.asarray(v, dtype=np.float64)
        print(f"{case}: out {out.shape}, range [{out.min():.3g}, {out.max():.3g}]")
    path = HERE / "tvb_presigmoidal.npz"
    np.savez_compressed(path, **arrays)
    print(f"{path.name}: {path.stat().st_size / 1024:.1f} kB")


if __name__ == "__main__":
    main()
