"""Zerlaut's AdEx mean fields: the transfer function's erfc, and sweeps over their parameters.

Their dfuns and trajectories against TVB are in tests/test_models.py and
tests/test_tvb_trajectories.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

import vbrain as vb
from vbrain.models import zerlaut


@njit(cache=True)
def _erfc_all(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = zerlaut._erfc(x[i])


def _erfc(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _erfc_all(x, out)
    return out


def test_erfc_within_6_ulp():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-6.0, 27.0, 3000), rng.uniform(-1e-2, 1e-2, 300),
                        np.linspace(-6.0, 27.0, 1000), [0.0, 1e-300, -1e-300, 1.5, 3.75]])
    with mpmath.workdps(30):
        exact = np.array([float(mpmath.erfc(mpmath.mpf(float(v)))) for v in x])
    ulp = np.abs(_erfc(x) - exact) / np.spacing(exact)
    assert ulp.max() <= 6.0, x[np.argmax(ulp)]


def test_erfc_matches_scipy():
    """Also without mpmath (CI): against scipy's erfc where it is accurate to a few ulp
    (beyond x ~ 4 its error grows to hundreds of ulp: no reference there)."""
    from scipy.special import erfc

    x = np.concatenate([np.linspace(-6.0, 3.0, 20001), [0.0, -1e-300, 1e-300]])
    np.testing.assert_allclose(_erfc(x), erfc(x), rtol=2e-15, atol=0)


def test_erfc_tails_and_special_values():
    x = np.array([26.0, 27.6, 40.0, 1e300, np.inf, -27.6, -1e300, -np.inf, np.nan, 0.0, -0.0])
    got = _erfc(x)
    np.testing.assert_allclose(got[0], math.erfc(26.0), rtol=2e-15)  # 6e-296
    np.testing.assert_array_equal(got[1:5], 0.0)
    np.testing.assert_array_equal(got[5:8], 2.0)
    assert np.isnan(got[8])
    np.testing.assert_allclose(got[9:], 1.0, rtol=2e-16)


@pytest.mark.parametrize("cls", [vb.models.ZerlautAdaptationFirstOrder,
                                 vb.models.ZerlautAdaptationSecondOrder])
def test_sweep_equals_single_runs(cls):
    """A 2-member sweep over the external drive equals the two single runs, bit for bit."""
    conn = vb.Connectome.load("atlases:default").subset(list(range(8)))
    names = cls.state_names()
    init = np.array([[{"E": 0.01, "I": 0.02, "W_e": 20.0}.get(n, 0.0)] * 8 for n in names])
    sim = vb.Simulation(conn, cls(), vb.coupling.Linear(a=0.05), speed=4.0, dt=0.1,
                        integrator="heun", initial_history=init,
                        monitors=[vb.monitors.Raw(variables=list(names))])
    drives = np.array([0.0005, 0.004])  # kHz
    batch = sim.sweep(20.0, model__external_input_ex_ex=drives, threads=1,
                      progress=False)["raw"].values
    assert np.abs(batch[..., 0] - batch[..., 1]).max() > 1e-3  # the drive matters
    for b, drive in enumerate(drives):
        single = sim.set_params(model__external_input_ex_ex=drive).run(
            20.0, progress=False)["raw"].values
        np.testing.assert_array_equal(batch[..., b], single)
