"""The Stefanescu-Jirsa reduced sets (3 modes per population) against TVB.

``data/tvb_dfun_reduced_set_<fhn|hr>.npz`` hold TVB 2.10's defaults, metadata,
derived quantities (``update_derived_parameters``) and ``dfun`` outputs in
vbrain's layout (one row per (variable, mode), mode innermost); regenerate them
with ``data/make_tvb_reduced_set.py`` (run with a TVB environment). When tvb is
importable here, a live comparison also runs. Whole trajectories are in
test_tvb_trajectories.py (``reduced_set_*`` cases).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

import vbrain as vb
from vbrain.models import REGISTRY, ReducedSetFitzHughNagumo, ReducedSetHindmarshRose
from vbrain.models import stefanescu_jirsa as sj

DATA = Path(__file__).parent / "data"
MODELS = {"fhn": ReducedSetFitzHughNagumo, "hr": ReducedSetHindmarshRose}
RTOL, ATOL = 1e-10, 1e-12


def _load(name: str) -> dict[str, np.ndarray]:
    with np.load(DATA / f"tvb_dfun_reduced_set_{name}.npz") as f:
        return {k: f[k] for k in f.files}


def _custom(cls, fx):
    return cls(**{str(p): fx[f"custom__{p}"] for p in fx["custom_names"]})


def _derived_rows(model, n: int) -> np.ndarray:
    return model.parameter_array(n)[len(model.parameters):]


def _check_against(cls, fx, which: str) -> None:
    model = cls() if which == "default" else _custom(cls, fx)
    n = fx[f"state_{which}"].shape[1]
    derived = _derived_rows(model, n)
    ref = fx[f"derived_{which}"]
    np.testing.assert_allclose(derived, np.broadcast_to(ref.reshape(len(ref), -1), derived.shape),
                               rtol=1e-13, atol=0, err_msg=f"{cls.__name__} derived ({which})")
    dx = model.evaluate(fx[f"state_{which}"], fx[f"coupling_{which}"])
    np.testing.assert_allclose(dx, fx[f"dfun_{which}"], rtol=RTOL, atol=ATOL,
                               err_msg=f"{cls.__name__} dfun ({which})")


# -- dfun and derived quantities equal TVB's ------------------------------------
@pytest.mark.parametrize("which", ["default", "custom"])
@pytest.mark.parametrize("name", list(MODELS))
def test_dfun_and_derived_match_tvb(name: str, which: str) -> None:
    fx = _load(name)
    if which == "custom":  # K11 and mu really are per-region; mu takes 3 distinct values
        model = _custom(MODELS[name], fx)
        assert np.ndim(model.K11) == 1 and np.unique(model.mu).size == 3
        assert model.nv != 1500.0
    _check_against(MODELS[name], fx, which)


def test_dfun_and_derived_match_tvb_live() -> None:
    """Same comparison on fresh random draws, when tvb is importable here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("tvb.simulator.models")
        spec = importlib.util.spec_from_file_location("_mk", DATA / "make_tvb_reduced_set.py")
        mk = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mk)
        rng = np.random.default_rng(11)
        for name, cls in MODELS.items():
            fx = mk.compute(name, mk.SPECS[name], rng)
            for which in ("default", "custom"):
                _check_against(cls, fx, which)


# -- defaults and metadata equal TVB's --------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_defaults_and_metadata_match_tvb(name: str) -> None:
    cls = MODELS[name]
    fx = _load(name)
    tvb_defaults = dict(zip(fx["param_names"].tolist(), fx["param_defaults"]))
    assert list(cls.parameters) == list(tvb_defaults)  # TVB's order, then nv, nu
    for pname, value in tvb_defaults.items():
        assert cls.parameters[pname].default == pytest.approx(value, rel=1e-15, abs=0), pname
        assert cls.parameters[pname].unit, pname
    assert int(fx["n_modes"]) == sj.N_MODES == 3
    assert cls.state_names() == tuple(fx["state_names"].tolist())
    assert cls.coupling_variables == tuple(fx["cvar_names"].tolist())
    assert cls.variables_of_interest == tuple(fx["voi"].tolist())
    assert cls.derived == tuple(fx["derived_names"].tolist())
    np.testing.assert_array_equal([sv.initial_range for sv in cls.state_variables], fx["svr"])
    lo, hi = cls.bounds_arrays()
    assert np.all(np.isinf(lo)) and np.all(np.isinf(hi))  # TVB sets no boundaries
    # one row per (TVB variable, mode), mode innermost
    tvb_names = fx["tvb_state_names"].tolist()
    assert cls.state_names() == tuple(f"{s}_{i}" for s in tvb_names for i in range(3))
    assert cls.bold_variable in cls.state_names()
    assert cls.eeg_signal == {"xi_0": 1.0, "xi_1": 1.0, "xi_2": 1.0}
    assert REGISTRY[cls.__name__] is cls
    assert vb.models.get_model(cls.__name__.lower()) is cls


# -- the coupling as TVB applies it ------------------------------------------------
@pytest.mark.parametrize("cls", list(MODELS.values()))
def test_coupling_is_the_sum_of_the_xi_modes(cls) -> None:
    """c_0 = sum of the three xi rows drives every mode; the alpha rows are unused (TVB)."""
    rng = np.random.default_rng(3)
    n = 9
    lo, hi = np.array([sv.initial_range for sv in cls.state_variables]).T
    x = rng.uniform(lo[:, None], hi[:, None], (len(lo), n))
    c = rng.uniform(-0.5, 0.5, (6, n))
    model = cls()
    dx = model.evaluate(x, c)
    summed = np.zeros_like(c)
    summed[0] = c[:3].sum(axis=0)
    np.testing.assert_allclose(model.evaluate(x, summed), dx, rtol=1e-13, atol=1e-13)
    no_alpha = c.copy()
    no_alpha[3:] = 0.0
    np.testing.assert_array_equal(model.evaluate(x, no_alpha), dx)
    # a Linear offset b on every mode's coupling counts three times, in xi and alpha
    b = np.zeros_like(c)
    b[:] = 0.01
    shift = model.evaluate(x, b) - model.evaluate(x)
    driven = np.isin(cls.state_names(), cls.coupling_variables)[:, None]
    scale = model.tau if cls is ReducedSetFitzHughNagumo else 1.0
    np.testing.assert_allclose(shift, np.where(driven, 3 * 0.01 * scale, 0.0) + 0 * x,
                               rtol=0, atol=1e-12)


# -- derived quantities: computed once per distinct combination, recomputed in sweeps ---
def test_derived_once_per_distinct_population(monkeypatch) -> None:
    calls = []
    original = sj._integrals

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(sj, "_integrals", counting)
    mu = np.array([0.0, 0.3, 0.0, 0.3, 0.3, 0.0])
    tau = np.linspace(2.0, 4.0, 6)  # not in the population: no extra computation
    model = ReducedSetFitzHughNagumo(mu=mu, tau=tau)
    rows = _derived_rows(model, 6)
    assert len(calls) == 2
    for value in (0.0, 0.3):
        single = _derived_rows(ReducedSetFitzHughNagumo(mu=value), 1)[:, 0]
        for k in np.flatnonzero(mu == value):
            np.testing.assert_array_equal(rows[:, k], single)
    assert not np.allclose(rows[:, 0], rows[:, 1])


def test_inhibitory_modes_use_nu() -> None:
    """nu != nv (TVB's FitzHugh-Nagumo set fails there): the inhibitory quantities follow nu."""
    names = ReducedSetFitzHughNagumo.derived
    mixed = dict(zip(names, _derived_rows(ReducedSetFitzHughNagumo(nv=900, nu=1200), 1)[:, 0]))
    e900 = dict(zip(names, _derived_rows(ReducedSetFitzHughNagumo(nv=900, nu=900), 1)[:, 0]))
    e1200 = dict(zip(names, _derived_rows(ReducedSetFitzHughNagumo(nv=1200, nu=1200), 1)[:, 0]))
    for i in range(3):
        assert mixed[f"e_i_{i}"] == e900[f"e_i_{i}"]
        assert mixed[f"f_i_{i}"] == e1200[f"f_i_{i}"]
        assert mixed[f"II_i_{i}"] == e1200[f"II_i_{i}"]
        assert mixed[f"m_i_{i}"] == e900[f"m_i_{i}"]
    assert e900["f_i_1"] != e1200["f_i_1"]


def test_counts_where_tvb_arange_overshoots() -> None:
    # np.arange(1/7, 1, 1/7) has 7 points for nv = 6 (TVB fails there): the intended 6 are used
    z, g, modes = sj._population(6, 0.0, 1.0)
    assert z.shape == g.shape == (6,) and modes.shape == (3, 6)
    np.testing.assert_allclose(z, norm.ppf(np.arange(1, 7) / 7.0), rtol=1e-12)
    dx = ReducedSetHindmarshRose(nv=6, nu=18).evaluate(
        np.zeros((18, 2)) + 1.0, np.zeros((6, 2)))
    assert np.all(np.isfinite(dx))


def test_sweep_recomputes_derived_rows_per_member() -> None:
    conn = vb.Connectome.load("atlases:default").subset(list(range(8)))
    model = ReducedSetFitzHughNagumo()
    lo, hi = np.array([sv.initial_range for sv in model.state_variables]).T
    init = np.linspace(lo / 4, hi / 4, 8).T  # (12, 8)
    sim = vb.Simulation(conn, model, vb.coupling.Linear(a=0.002), speed=4.0, dt=0.05,
                        integrator="heun", monitors=[vb.monitors.Raw()], initial_history=init)
    mus = np.array([0.0, 0.4])  # mu enters the dynamics only through the derived rows
    batch = sim.sweep(10.0, model__mu=mus, threads=1, progress=False)["raw"].values
    for b, mu in enumerate(mus):
        single = sim.set_params(model__mu=mu).run(10.0, progress=False)["raw"].values
        np.testing.assert_array_equal(batch[..., b], single)
    assert not np.allclose(batch[..., 0], batch[..., 1])


# -- validation ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", list(MODELS.values()))
def test_population_sizes_are_checked(cls) -> None:
    msg = r"nv \(neurons per population\) must be a positive multiple of the number of modes \(3\)"
    with pytest.raises(ValueError, match=msg + ", got 1000"):
        cls(nv=1000)
    with pytest.raises(ValueError, match=r"nu .* got 0"):
        cls(nu=0)
    with pytest.raises(ValueError, match=r"nu .* got -3"):
        cls().set_params(nu=-3.0)
    with pytest.raises(ValueError, match=r"nv .* got 1500.5"):
        cls(nv=1500.5)
    with pytest.raises(ValueError, match=r"nv .* got 7"):
        cls(nv=np.array([3.0, 7.0]))
    with pytest.raises(ValueError, match=r"sigma \(the spread of the excitabilities\) must be > 0"):
        cls(sigma=0.0)
    with pytest.raises(ValueError, match="must be a positive multiple"):  # rows from a sweep
        cls.derive({**{k: np.atleast_1d(float(p.default)) for k, p in cls.parameters.items()},
                    "nu": np.array([1500.0, 1501.0])})
    assert cls(nv=3.0, nu=300).nv == 3.0
