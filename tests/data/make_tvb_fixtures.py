"""Make the ``tvb_dfun_<model>.npz`` fixtures of tests/test_models.py with TVB.

Run with the TVB reference environment (tvb-library 2.10.0), not vbrain's::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_fixtures.py [name ...]

(names: only those fixtures are written; new specs go at the end of ``SPECS``,
so that the fixtures before them keep their draws).

For each model it records TVB's parameter defaults and metadata (state
variables, ``state_variable_range``, ``state_variable_boundaries``, ``cvar``,
``variables_of_interest``) and TVB's ``model.dfun`` on N_NODES random states
drawn within ``state_variable_range`` and random coupling values, once with
the default parameters and once with a non-default set in which one
parameter is a per-region array. Local coupling is 0 (vbrain has none).

Each npz holds plain arrays (no pickles):

- ``state_names``, ``cvar_names``, ``voi``: str arrays
- ``svr`` (n_state, 2), ``bounds`` (n_state, 2, NaN = none)
- ``param_names`` (str), ``param_defaults`` (float)
- ``custom_names`` (str), ``custom__<name>``: custom values (scalar or (N,))
- ``state_default``, ``coupling_default``, ``dfun_default`` and the same with
  ``_custom``: (n_state, N), (n_cvar, N), (n_state, N)
"""

import sys
from pathlib import Path

import numpy as np
from tvb.basic.neotraits.api import NArray
from tvb.simulator import models

N_NODES = 50
HERE = Path(__file__).parent

# fixture name -> (TVB class, coupling value range, custom params, state-range overrides)
# custom values: a float, or ("region", lo, hi) for a per-region uniform array.
SPECS = {
    "reduced_wong_wang": (models.ReducedWongWang, (0.0, 0.5),
                          {"w": ("region", 0.4, 0.9), "I_o": 0.3, "J_N": 0.3}, {}),
    "wong_wang_exc_inh": (models.ReducedWongWangExcInh, (0.0, 1.0),
                          {"J_i": ("region", 0.5, 1.5), "G": 1.3, "lamda": 0.4, "I_ext": 0.05}, {}),
    "jansen_rit": (models.JansenRit, (0.0, 0.05),
                   {"mu": ("region", 0.1, 0.3), "A": 3.5, "v0": 6.0}, {}),
    "wilson_cowan": (models.WilsonCowan, (0.0, 1.0),
                     {"P": ("region", 0.0, 2.0), "shift_sigmoid": False, "c_ee": 14.0, "r_e": 0.8}, {}),
    "kuramoto": (models.Kuramoto, (-1.0, 1.0), {"omega": ("region", 0.5, 2.0)}, {}),
    "stuart_landau": (models.SupHopf, (-1.0, 1.0), {"a": ("region", -1.0, 1.0), "omega": 0.3}, {}),
    "montbrio": (models.MontbrioPazoRoxin, (-1.0, 1.0),
                 {"eta": ("region", -6.0, -4.0), "J": 14.5, "cv": 0.5, "tau": 1.5, "I": 0.2}, {}),
    # z is widened below 0 so that the z < 0 branch of the energy equation is exercised.
    "epileptor": (models.Epileptor, (-1.0, 1.0),
                  {"x0": ("region", -2.5, -1.5), "modification": True, "Ks": -0.2, "Kvf": 0.5,
                   "Kf": 0.3, "tt": 1.5, "slope": 0.5},
                  {"z": (-1.0, 5.0)}),
    "larter_breakspear": (models.LarterBreakspear, (0.0, 1.0),
                          {"d_V": ("region", 0.5, 0.7), "C": 0.2, "t_scale": 0.8}, {}),
    # default: the z < 0 term of h (z widened); custom: the sigmoidal (modified) h
    "epileptor2d": (models.Epileptor2D, (-1.0, 1.0),
                    {"x0": ("region", -2.5, -1.5), "modification": True, "Ks": -0.2, "Kvf": 0.5,
                     "tt": 0.8, "slope": 0.5, "Iext": 3.3},
                    {"z": (-1.0, 5.0)}),
    "coombes_byrne": (models.CoombesByrne, (-1.0, 1.0),
                      {"eta": ("region", 5.0, 15.0), "alpha": 1.3, "v_syn": -8.0, "k": 1.5,
                       "Delta": 0.8}, {}),
    "coombes_byrne_2d": (models.CoombesByrne2D, (-1.0, 1.0),
                         {"eta": ("region", -2.0, 4.0), "v_syn": -6.0, "k": 0.7, "Delta": 0.6},
                         {}),
    "gast_schmidt_knosche_sd": (models.GastSchmidtKnosche_SD, (-1.0, 1.0),
                                {"eta": ("region", -7.0, -4.0), "tau": 1.5, "tau_A": 8.0,
                                 "alpha": 0.7, "I": 0.3, "J": 18.0, "cr": 0.8, "cv": 0.4}, {}),
    "gast_schmidt_knosche_sf": (models.GastSchmidtKnosche_SF, (-1.0, 1.0),
                                {"eta": ("region", -1.0, 3.0), "tau": 1.5, "tau_A": 8.0,
                                 "alpha": 5.0, "I": 0.3, "Delta": 1.5, "cr": 0.8, "cv": 0.4}, {}),
    "dumont_gutkin": (models.DumontGutkin, (-1.0, 1.0),
                      {"eta_e": ("region", -6.0, -3.0), "J_ee": 5.0, "J_ie": 8.0, "tau_e": 8.0,
                       "tau_i": 12.0, "tau_s": 2.0, "Gamma": 3.0, "I_i": 0.5}, {}),
    "deco_balanced_exc_inh": (models.DecoBalancedExcInh, (0.0, 1.0),
                              {"M_i": ("region", 1.0, 3.0), "J_i": 1.3, "G": 1.5, "lamda": 0.3,
                               "I_ext": 0.02}, {}),
    "epileptor_rs": (models.EpileptorRestingState, (-1.0, 1.0),
                     {"x0": ("region", -2.5, -1.5), "Ks": -0.2, "Kvf": 0.5, "Kf": 0.3,
                      "K_rs": 2.0, "I_rs": 0.3, "tt": 0.9, "a_rs": -1.5, "tau_rs": 1.5},
                     {"z": (-1.0, 5.0)}),
    "zetterberg_jansen": (models.ZetterbergJansen, (-5.0, 15.0),
                          {"He": ("region", 3.0, 6.0), "gamma_1T": 2.0, "P": 0.2, "Q": 0.05,
                           "rho_2": 5.0}, {}),
}


def _param_names(cls):
    return [n for n in cls.declarative_attrs if isinstance(getattr(cls, n), NArray)]


def _dfun(model, state, coupling):
    out = model.dfun(state[..., np.newaxis], coupling[..., np.newaxis])
    return np.array(out[..., 0], dtype=np.float64)  # copy: Kuramoto reuses its buffer


def compute(name, spec, rng):
    """Fixture arrays of one model (see the module docstring)."""
    cls, crange, custom, svr_override = spec
    model = cls()
    model.configure()
    svnames = list(model.state_variables)
    svr = np.array([svr_override.get(s, model.state_variable_range[s]) for s in svnames], float)
    bnd = getattr(model, "state_variable_boundaries", None) or {}
    bounds = np.full((len(svnames), 2), np.nan)
    for i, s in enumerate(svnames):
        if s in bnd:
            lo, hi = bnd[s]
            # TVB stores an open side as None, inf or float max
            bounds[i] = [np.nan if lo is None or abs(lo) > 1e300 else lo,
                         np.nan if hi is None or abs(hi) > 1e300 else hi]
    pnames = _param_names(cls)
    defaults = np.array([float(np.asarray(getattr(model, p)).ravel()[0]) for p in pnames])
    ncvar = len(model.cvar)

    def draw():
        state = rng.uniform(svr[:, :1], svr[:, 1:], size=(len(svnames), N_NODES))
        coupling = rng.uniform(*crange, size=(ncvar, N_NODES))
        return state, coupling

    out = {
        "state_names": np.array(svnames),
        "cvar_names": np.array([svnames[i] for i in model.cvar]),
        "voi": np.array(list(model.variables_of_interest)),
        "svr": np.array([model.state_variable_range[s] for s in svnames], float),
        "bounds": bounds,
        "param_names": np.array(pnames),
        "param_defaults": defaults,
    }
    state, coupling = draw()
    out.update(state_default=state, coupling_default=coupling, dfun_default=_dfun(model, state, coupling))

    kwargs, stored = {}, {}
    reshape = cls().spatial_param_reshape
    for p, v in custom.items():
        if isinstance(v, tuple):
            arr = rng.uniform(v[1], v[2], size=N_NODES)
            kwargs[p] = arr.reshape(reshape)
            stored[p] = arr
        else:
            kwargs[p] = np.array([v])
            stored[p] = np.float64(v)
    cmodel = cls(**kwargs)
    cmodel.configure()
    state, coupling = draw()
    out.update(state_custom=state, coupling_custom=coupling, dfun_custom=_dfun(cmodel, state, coupling))
    out["custom_names"] = np.array(list(stored))
    for p, v in stored.items():
        out[f"custom__{p}"] = v
    for key in ("dfun_default", "dfun_custom"):
        if not np.all(np.isfinite(out[key])):
            raise RuntimeError(f"{name}: TVB returned non-finite {key}")
    return out


def main(names):
    """Write the fixtures named (all when none). Every spec is computed, in order: each
    draws from one generator, so a fixture's draws depend on the specs before it."""
    unknown = set(names) - set(SPECS)
    if unknown:
        raise SystemExit(f"unknown fixtures {sorted(unknown)}; known: {list(SPECS)}")
    rng = np.random.default_rng(20240601)
    for name, spec in SPECS.items():
        out = compute(name, spec, rng)
        if names and name not in names:
            continue
        np.savez_compressed(HERE / f"tvb_dfun_{name}.npz", **out)
        print(f"{name}: {len(out['param_names'])} parameters, states {out['state_names'].tolist()}, "
              f"cvar {out['cvar_names'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1:])
