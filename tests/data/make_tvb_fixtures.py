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
- ``param_vector__<name>``: every value of a vector parameter (TVB's default
  holds more than one; ``param_defaults`` has its first), only for those
- ``custom_names`` (str), ``custom__<name>``: custom values (scalar, (N,), or a
  vector parameter's values)
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
# custom values: a float, ("region", lo, hi) for a per-region uniform array, or a list: the
# values of a vector parameter.
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
    "hopfield": (models.Hopfield, (-1.0, 2.0), {"taux": ("region", 0.5, 2.0), "tauT": 3.0}, {}),
    # TVB's Hopfield with dynamic = 1: configure() sets cvar = [0, 1] and dfun = dfunDyn
    "hopfield_dynamic": ("HopfieldDynamic", (0.0, 1.0),
                         {"tauT": ("region", 2.0, 8.0), "taux": 0.7}, {}),
    # TVB's full DKi and Kg ranges give K_o = 4.8 - 3 DKi + Kg < 0 (log of a negative) in part
    "kionex": (models.KIonEx, (0.0, 1.0),
               {"E": ("region", -70.0, 0.0), "K_bath": 8.0, "J": 2.0, "eta": 0.5, "Delta": 0.8,
                "c_minus": -45.0, "R_minus": 0.4, "c_plus": -15.0, "R_plus": -0.6, "Vstar": -33.0,
                "Cm": 1.2, "tau_n": 5.0, "gamma": 0.05, "epsilon": 0.0012},
               {"DKi": (-10.0, -3.0), "Kg": (-10.0, -5.0)}),
    # z widened around the burst path: both signs of Cardano's discriminant and negative
    # radicands (principal cube roots); custom: another path (TVB's SlowMod Ain -> Bin),
    # branch N = 2, no modification, the other unfolding type b = -1
    "epileptor_codim3": (models.EpileptorCodim3, (-1.0, 1.0),
                         {"dstar": ("region", -0.1, 0.5), "mu1_start": 0.05494,
                          "mu2_start": 0.2731, "nu_start": 0.287, "mu1_stop": -0.0461,
                          "mu2_stop": 0.243, "nu_stop": 0.3144, "N": 2, "modification": False,
                          "b": -1.0, "R": 0.45, "c": 0.003, "Ks": 0.5},
                         {"z": (-0.5, 0.6)}),
    # uA, uB drawn (TVB's range is [0, 0]): the end points move; custom: all four points
    # moved, branch N = 3, per-region radius
    "epileptor_codim3_slowmod": (models.EpileptorCodim3SlowMod, (-1.0, 1.0),
                                 {"R": ("region", 0.3, 0.6), "mu1_Ain": -0.02285,
                                  "mu2_Ain": 0.3448, "nu_Ain": 0.2014, "mu1_Bin": -0.07465,
                                  "mu2_Bin": 0.3351, "nu_Bin": 0.2053, "mu1_Aend": 0.1,
                                  "mu2_Aend": 0.2, "nu_Aend": -0.3, "mu1_Bend": -0.05,
                                  "mu2_Bend": 0.1, "nu_Bend": -0.35, "N": 3, "b": -1.0,
                                  "c": 0.004, "cA": 0.0005, "cB": 0.0008, "dstar": -0.05,
                                  "Ks": -0.3},
                                 {"z": (-0.5, 0.6), "uA": (-1.5, 1.5), "uB": (-1.5, 1.5)}),
    # W_i and ou_drift drawn (TVB's ranges are [0, 0]) and c_0 partly negative: the noise drive
    # and the floor of the excitatory input; custom: adaptation of i, drives, another P_e
    "zerlaut_first": (models.ZerlautAdaptationFirstOrder, (-0.005, 0.02),
                      {"b_e": ("region", 0.0, 120.0), "a_i": 2.0, "b_i": 10.0, "tau_w_i": 50.0,
                       "E_L_e": -63.0, "T": 10.0, "N_tot": 8000, "K_ext_i": 100,
                       "external_input_ex_ex": 0.002, "external_input_ex_in": 0.001,
                       "external_input_in_ex": 0.001, "weight_noise": 5.0, "tau_OU": 3.0,
                       "P_e": [-0.05, 0.005, -0.02, 0.002, -0.0004, 0.01, -0.036, 0.0074,
                               0.0013, -0.04]},
                      {"W_i": (0.0, 20.0), "ou_drift": (-1e-3, 1e-3)}),
    # the same; custom: S_i (second order only), per-region E_L_e, another P_i
    "zerlaut_second": (models.ZerlautAdaptationSecondOrder, (-0.005, 0.02),
                       {"E_L_e": ("region", -70.0, -60.0), "S_i": 0.7, "a_i": 2.0, "b_i": 10.0,
                        "tau_w_i": 50.0, "g": 0.25, "N_tot": 8000, "K_ext_e": 300, "T": 15.0,
                        "external_input_ex_ex": 0.002, "external_input_in_ex": 0.001,
                        "external_input_in_in": 0.001,
                        "P_i": [-0.05, 0.004, -0.008, 0.0002, -0.0005, 0.0014, -0.015, 0.0045,
                                0.0028, -0.015]},
                       {"W_i": (0.0, 20.0), "ou_drift": (-1e-3, 1e-3)}),
}


def _param_names(cls):
    return [n for n in cls.declarative_attrs if isinstance(getattr(cls, n), NArray)]


def _with_defaults(cls, name, **defaults):
    """A subclass of TVB's ``cls`` with other NArray defaults (same traits, same order), for a
    mode TVB switches with a flag in configure() (the fixture's defaults are that mode's)."""
    attrs = {}
    for n in _param_names(cls):
        t = getattr(cls, n)
        value = np.array(defaults.get(n, t.default), dtype=t.dtype).reshape(t.default.shape)
        attrs[n] = NArray(label=t.label, dtype=t.dtype, domain=t.domain, doc=t.doc, default=value)
    return type(name, (cls,), attrs)


#: spec classes given by name (built on first use)
_DERIVED = {"HopfieldDynamic": lambda: _with_defaults(models.Hopfield, "HopfieldDynamic",
                                                       dynamic=1)}


def _dfun(model, state, coupling):
    out = model.dfun(state[..., np.newaxis], coupling[..., np.newaxis])
    return np.array(out[..., 0], dtype=np.float64)  # copy: Kuramoto reuses its buffer


def compute(name, spec, rng):
    """Fixture arrays of one model (see the module docstring)."""
    cls, crange, custom, svr_override = spec
    if isinstance(cls, str):
        cls = _DERIVED[cls]()
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
    for p in pnames:  # vector parameters (polynomial coefficients): every value
        v = np.asarray(getattr(model, p), dtype=float).ravel()
        if v.size > 1:
            out[f"param_vector__{p}"] = v
    state, coupling = draw()
    out.update(state_default=state, coupling_default=coupling, dfun_default=_dfun(model, state, coupling))

    kwargs, stored = {}, {}
    reshape = cls().spatial_param_reshape
    for p, v in custom.items():
        if isinstance(v, tuple):
            arr = rng.uniform(v[1], v[2], size=N_NODES)
            kwargs[p] = arr.reshape(reshape)
            stored[p] = arr
        elif isinstance(v, list):
            kwargs[p] = stored[p] = np.array(v, dtype=float)
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
