"""Vector parameters and derived rows of a model's parameter array."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import vbrain as vb
from vbrain.models import Model, Parameter, StateVariable


@njit(cache=True)
def _poly_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    c0, c1, c2, tau = p[0, k], p[1, k], p[2, k], p[3, k]
    rate = p[5, k]  # derived: gain / tau
    v = x[0, k]
    dx[0, k] = rate * (c0 + c1 * v + c2 * v * v) - v / tau + c[0, k]


class _Poly(Model):
    """dx/dt = (gain / tau) (c0 + c1 x + c2 x^2) - x / tau + c."""

    state_variables = (StateVariable("x", "1", (-0.5, 0.5)),)
    parameters = {
        "coeffs": Parameter((0.1, -1.0, -0.5), "1", "polynomial coefficients c0, c1, c2"),
        "tau": Parameter(10.0, "ms", "time constant"),
        "gain": Parameter(2.0, "1", "input gain"),
    }
    derived = ("rate",)
    coupling_variables = ("x",)
    dfun = staticmethod(_poly_dfun)

    @classmethod
    def derive(cls, rows):
        return {"rate": rows["gain"] / rows["tau"]}


def _reference(model: _Poly, x: np.ndarray, c: np.ndarray) -> np.ndarray:
    c0, c1, c2 = model.coeffs
    return model.gain / model.tau * (c0 + c1 * x + c2 * x * x) - x / model.tau + c


def test_vector_parameter_rows_and_derived_rows():
    tau = np.linspace(5.0, 20.0, 4)
    model = _Poly(coeffs=[0.2, -2.0, 0.3], tau=tau)
    assert _Poly.parameter_rows() == {"coeffs": 0, "tau": 3, "gain": 4}
    p = model.parameter_array(4)
    assert p.shape == (6, 4)
    np.testing.assert_array_equal(p[:3], np.repeat([[0.2], [-2.0], [0.3]], 4, axis=1))
    np.testing.assert_array_equal(p[5], 2.0 / tau)
    x = np.array([[-0.4, 0.0, 0.1, 0.5]])
    c = np.array([[0.0, 0.1, -0.2, 0.3]])
    np.testing.assert_allclose(model.evaluate(x, c), _reference(model, x, c), rtol=1e-15)
    assert isinstance(model.get_params()["coeffs"], np.ndarray)


def test_vector_parameter_errors():
    with pytest.raises(ValueError, match=r"coeffs is a vector of 3 numbers.*shape \(2,\)"):
        _Poly(coeffs=[1.0, 2.0])
    with pytest.raises(ValueError, match="vector of 3"):
        _Poly(coeffs=0.5)
    with pytest.raises(TypeError, match="does not define derive"):
        class _NoDerive(Model):
            state_variables = (StateVariable("x", "1", (0.0, 1.0)),)
            parameters = {"tau": Parameter(1.0)}
            derived = ("rate",)
            coupling_variables = ("x",)
            dfun = staticmethod(_poly_dfun)


def test_sweep_recomputes_derived_rows_per_member():
    conn = vb.Connectome.load("atlases:default").subset(list(range(8)))
    sim = vb.Simulation(conn, _Poly(), vb.coupling.Linear(a=0.01), speed=4.0, dt=0.1,
                        integrator="heun", monitors=[vb.monitors.Raw()], seed=3)
    taus = np.array([4.0, 12.0])
    batch = sim.sweep(20.0, model__tau=taus, threads=1, progress=False)["raw"].values
    for b, tau in enumerate(taus):
        single = sim.set_params(model__tau=tau).run(20.0, progress=False)["raw"].values
        np.testing.assert_array_equal(batch[..., b], single)
    with pytest.raises(ValueError, match="Cannot sweep 'model__coeffs': a vector parameter"):
        sim.sweep(1.0, model__coeffs=np.zeros(2), threads=1, progress=False)


def test_cli_lists_vector_defaults(capsys):
    from vbrain.cli import main

    assert main(["models"]) == 0
    assert "Generic2dOscillator" in capsys.readouterr().out
