"""Region models against TVB, parameter handling, user models, and FIC.

The ``tests/data/tvb_dfun_<model>.npz`` fixtures hold TVB 2.10's ``dfun``
outputs; regenerate them with ``tests/data/make_tvb_fixtures.py`` (run with a
TVB environment). When tvb is importable here, a live comparison also runs.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from vbrain.models import (
    REGISTRY,
    CoombesByrne,
    CoombesByrne2D,
    DecoBalancedExcInh,
    DumontGutkin,
    Epileptor,
    Epileptor2D,
    EpileptorCodim3,
    EpileptorCodim3SlowMod,
    EpileptorRestingState,
    GastSchmidtKnosche_SD,
    GastSchmidtKnosche_SF,
    Hopfield,
    HopfieldDynamic,
    JansenRit,
    KIonEx,
    Kuramoto,
    LarterBreakspear,
    Model,
    MontbrioPazoRoxin,
    Parameter,
    ReducedWongWang,
    ReducedWongWangExcInh,
    StateVariable,
    SupHopf,
    WilsonCowan,
    ZerlautAdaptationFirstOrder,
    ZerlautAdaptationSecondOrder,
    ZetterbergJansen,
    tune_fic,
)

DATA = Path(__file__).parent / "data"

#: fixture name -> our model class
MODELS = {
    "reduced_wong_wang": ReducedWongWang,
    "wong_wang_exc_inh": ReducedWongWangExcInh,
    "jansen_rit": JansenRit,
    "wilson_cowan": WilsonCowan,
    "kuramoto": Kuramoto,
    "stuart_landau": SupHopf,
    "montbrio": MontbrioPazoRoxin,
    "epileptor": Epileptor,
    "epileptor2d": Epileptor2D,
    "coombes_byrne": CoombesByrne,
    "coombes_byrne_2d": CoombesByrne2D,
    "gast_schmidt_knosche_sd": GastSchmidtKnosche_SD,
    "gast_schmidt_knosche_sf": GastSchmidtKnosche_SF,
    "dumont_gutkin": DumontGutkin,
    "deco_balanced_exc_inh": DecoBalancedExcInh,
    "epileptor_rs": EpileptorRestingState,
    "zetterberg_jansen": ZetterbergJansen,
    "larter_breakspear": LarterBreakspear,
    "hopfield": Hopfield,
    "hopfield_dynamic": HopfieldDynamic,
    "kionex": KIonEx,
    "epileptor_codim3": EpileptorCodim3,
    "epileptor_codim3_slowmod": EpileptorCodim3SlowMod,
    "zerlaut_first": ZerlautAdaptationFirstOrder,
    "zerlaut_second": ZerlautAdaptationSecondOrder,
}
RTOL, ATOL = 1e-10, 1e-12


def _load(name: str) -> dict[str, np.ndarray]:
    with np.load(DATA / f"tvb_dfun_{name}.npz") as f:
        return {k: f[k] for k in f.files}


def _custom_model(cls: type[Model], fx: dict[str, np.ndarray]) -> Model:
    return cls(**{str(p): fx[f"custom__{p}"] for p in fx["custom_names"]})


# -- (1) dfun equals TVB's --------------------------------------------------
@pytest.mark.parametrize("which", ["default", "custom"])
@pytest.mark.parametrize("name", list(MODELS))
def test_dfun_matches_tvb(name: str, which: str) -> None:
    cls = MODELS[name]
    fx = _load(name)
    model = cls() if which == "default" else _custom_model(cls, fx)
    if which == "custom":  # one parameter really is per-region (not a vector parameter)
        assert any(np.ndim(v) == 1 and cls.parameters[n].size == 1
                   for n, v in model.get_params().items())
    dx = model.evaluate(fx[f"state_{which}"], fx[f"coupling_{which}"])
    np.testing.assert_allclose(dx, fx[f"dfun_{which}"], rtol=RTOL, atol=ATOL)


def test_dfun_matches_tvb_live() -> None:
    """Same comparison on fresh random draws, when tvb is importable here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("tvb.simulator.models")
        spec = importlib.util.spec_from_file_location("_mk", DATA / "make_tvb_fixtures.py")
        mk = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mk)
        rng = np.random.default_rng(7)
        for name, cls in MODELS.items():
            fx = mk.compute(name, mk.SPECS[name], rng)
            for which, model in (("default", cls()), ("custom", _custom_model(cls, fx))):
                dx = model.evaluate(fx[f"state_{which}"], fx[f"coupling_{which}"])
                np.testing.assert_allclose(dx, fx[f"dfun_{which}"], rtol=RTOL, atol=ATOL,
                                           err_msg=f"{name} ({which})")


# -- (2) defaults and metadata equal TVB's ------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_defaults_and_metadata_match_tvb(name: str) -> None:
    cls = MODELS[name]
    fx = _load(name)
    tvb_defaults = dict(zip(fx["param_names"].tolist(), fx["param_defaults"]))
    assert list(cls.parameters) == list(tvb_defaults)  # same names, TVB's order
    for pname, value in tvb_defaults.items():
        first = np.ravel(cls.parameters[pname].default)[0]  # a vector's first value
        assert first == pytest.approx(value, rel=1e-15, abs=0), pname
        assert cls.parameters[pname].unit, f"{name}.{pname} has no unit"
    vectors = {k.removeprefix("param_vector__") for k in fx if k.startswith("param_vector__")}
    assert {n for n, p in cls.parameters.items() if p.size > 1} == vectors
    for pname in vectors:  # every value of TVB's default
        np.testing.assert_array_equal(cls.parameters[pname].default, fx[f"param_vector__{pname}"])
    assert cls.state_names() == tuple(fx["state_names"].tolist())
    assert cls.coupling_variables == tuple(fx["cvar_names"].tolist())
    np.testing.assert_array_equal([sv.initial_range for sv in cls.state_variables], fx["svr"])
    lo, hi = cls.bounds_arrays()
    np.testing.assert_array_equal(np.where(np.isinf(lo), np.nan, lo), fx["bounds"][:, 0])
    np.testing.assert_array_equal(np.where(np.isinf(hi), np.nan, hi), fx["bounds"][:, 1])
    voi = tuple(fx["voi"].tolist())
    if cls is Epileptor:  # TVB's ("x2 - x1", "z") holds an expression; we keep its states
        assert voi == ("x2 - x1", "z") and cls.variables_of_interest == ("x1", "x2", "z")
    elif cls is EpileptorRestingState:  # the same, plus the resting-state oscillator
        assert voi == ("x2 - x1", "z", "x_rs")
        assert cls.variables_of_interest == ("x1", "x2", "z", "x_rs")
    else:
        assert cls.variables_of_interest == voi
    assert cls.bold_variable in cls.state_names()
    assert REGISTRY[cls.__name__] is cls


def test_state_bounds() -> None:
    assert ReducedWongWang.bounds_arrays()[0].tolist() == [0.0]
    assert ReducedWongWang.bounds_arrays()[1].tolist() == [1.0]
    lo, hi = MontbrioPazoRoxin.bounds_arrays()
    assert lo[0] == 0.0 and np.isinf(hi[0]) and np.isinf(lo[1])


# -- (3) unknown parameter names ---------------------------------------------
@pytest.mark.parametrize("cls", list(MODELS.values()))
def test_unknown_parameter_raises(cls: type[Model]) -> None:
    with pytest.raises(TypeError, match=rf"{cls.__name__} has no parameter 'not_a_param'.*Valid"):
        cls(not_a_param=1.0)
    with pytest.raises(TypeError, match="has no parameter 'not_a_param'"):
        cls().set_params(not_a_param=1.0)


def test_unknown_parameter_suggests() -> None:
    with pytest.raises(TypeError, match=r"no parameter 'tau_S'\. Did you mean 'tau_s'\?"):
        ReducedWongWang(tau_S=90.0)
    with pytest.raises(TypeError, match=r"Did you mean 'lamda'\?"):
        ReducedWongWangExcInh(lambda_=0.5)


# -- (4) a user-defined model --------------------------------------------------
@njit
def _leaky_dfun(x, c, p, dx, k):  # pragma: no cover - compiled
    tau, mu = p[0, k], p[1, k]
    dx[0, k] = (mu - x[0, k] + c[0, k]) / tau


def test_user_defined_model() -> None:
    try:

        class UserLeaky(Model):
            """dx/dt = (mu - x + c) / tau."""

            state_variables = (StateVariable("x", "1", (-1.0, 1.0)),)
            parameters = {
                "tau": Parameter(10.0, "ms", "time constant"),
                "mu": Parameter(0.5, "1", "resting level"),
            }
            coupling_variables = ("x",)
            dfun = staticmethod(_leaky_dfun)

        rng = np.random.default_rng(0)
        tau = rng.uniform(5.0, 20.0, 7)
        x, c = rng.normal(size=(1, 7)), rng.normal(size=(1, 7))
        model = UserLeaky(tau=tau)
        np.testing.assert_allclose(model.evaluate(x, c), (0.5 - x + c) / tau, rtol=1e-15)
        np.testing.assert_allclose(model.evaluate(x), (0.5 - x) / tau, rtol=1e-15)
        assert REGISTRY["UserLeaky"] is UserLeaky
    finally:
        REGISTRY.pop("UserLeaky", None)


# -- (5) feedback inhibition control ------------------------------------------
def _connectome(n: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.5)
    np.fill_diagonal(W, 0.0)
    return W / W.sum(axis=1).max()


def _steady_excitatory_rate(model, W, a, t_ms=3000.0, dt=0.5) -> np.ndarray:
    """Integrate the deterministic network (Euler, bounds [0, 1]) and return r_e (Hz)."""
    n = W.shape[0]
    S = np.full((2, n), 0.1)
    for _ in range(int(t_ms / dt)):
        S = np.clip(S + dt * model.evaluate(S, a * (W @ S[0])[None]), 0.0, 1.0)
    p = model.get_params()
    I_e = (p["w_p"] * p["J_N"] * S[0] - p["J_i"] * S[1] + p["W_e"] * p["I_o"]
           + p["G"] * p["J_N"] * a * (W @ S[0]) + p["I_ext"])
    y = p.get("M_i", 1.0) * (p["a_e"] * I_e - p["b_e"])
    return y / -np.expm1(-p["d_e"] * y)


def test_fic_clamps_excitatory_rates() -> None:
    W, a = _connectome(), 0.5  # effective Deco coupling G * a = 1.0
    untuned = ReducedWongWangExcInh()
    r_untuned = _steady_excitatory_rate(untuned, W, a)
    assert np.max(np.abs(r_untuned - 3.0)) > 5.0  # strongly coupled: far off target

    J = tune_fic(untuned, W, a)
    assert J.shape == (20,) and np.all(J > 1.0) and np.ptp(J) > 0.1
    tuned = ReducedWongWangExcInh(J_i=J)
    r = _steady_excitatory_rate(tuned, W, a)
    assert np.max(np.abs(r - 3.0)) < 0.1
    np.testing.assert_array_equal(untuned.J_i, 1.0)  # the input model is not modified


def test_fic_with_regional_gain() -> None:
    """DecoBalancedExcInh: the gain M_i enters the tuning (ignoring it misses the target)."""
    W, a = _connectome(), 0.5
    gain = np.linspace(1.0, 2.0, 20)
    J = tune_fic(DecoBalancedExcInh(M_i=gain), W, a)
    r = _steady_excitatory_rate(DecoBalancedExcInh(M_i=gain, J_i=J), W, a, t_ms=20_000.0)
    assert np.max(np.abs(r - 3.0)) < 0.01  # (a higher gain relaxes more slowly)
    J_plain = tune_fic(ReducedWongWangExcInh(), W, a)
    r_plain = _steady_excitatory_rate(DecoBalancedExcInh(M_i=gain, J_i=J_plain), W, a,
                                      t_ms=20_000.0)
    assert np.max(np.abs(r_plain - 3.0)) > 1.0


def test_fic_isolated_nodes_near_deco_value() -> None:
    # without network input, J_i ~ 1 nA keeps the node at 3 Hz (Deco et al. 2014)
    J = tune_fic(ReducedWongWangExcInh(), np.zeros((3, 3)), 0.0)
    np.testing.assert_allclose(J, 1.0107, atol=1e-3)
    r = _steady_excitatory_rate(ReducedWongWangExcInh(J_i=J), np.zeros((3, 3)), 0.0)
    np.testing.assert_allclose(r, 3.0, atol=0.1)


def test_fic_errors_and_warnings() -> None:
    W = _connectome()
    with pytest.warns(RuntimeWarning, match="unstable"):
        tune_fic(ReducedWongWangExcInh(), W, 2.0)
    with pytest.raises(ValueError, match="without inhibition"):
        tune_fic(ReducedWongWangExcInh(), W, 0.0, target_rate=50.0)
    with pytest.raises(ValueError, match=r"must be square"):
        tune_fic(ReducedWongWangExcInh(), W[:, :5], 0.5)
    with pytest.raises(TypeError, match="model must be ReducedWongWangExcInh"):
        tune_fic(ReducedWongWang(), W, 0.5)
