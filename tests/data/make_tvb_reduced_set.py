"""Make the ``tvb_dfun_reduced_set_<name>.npz`` fixtures of tests/test_reduced_set.py with TVB.

Run with the TVB reference environment (tvb-library 2.10.0), not vbrain's::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_reduced_set.py [fhn] [hr]

TVB's ``ReducedSetFitzHughNagumo`` (``fhn``) and ``ReducedSetHindmarshRose``
(``hr``) have three modes: their state is (variable, node, mode). Everything
here is stored in vbrain's layout, one row per (variable, mode) pair, mode
innermost: TVB's ``x`` (n_sv, n, 3) is stored as
``x.transpose(0, 2, 1).reshape(n_sv * 3, n)`` (likewise the per-mode coupling
and ``dfun``), and row names are ``<variable>_<mode>``.

For each model it records TVB's parameter defaults (the NArray traits, then
the class attributes ``nv`` and ``nu``) and metadata (state variables,
``state_variable_range``, ``cvar``, ``variables_of_interest``,
``number_of_modes``), TVB's derived quantities (``update_derived_parameters``
at ``configure``) and TVB's ``model.dfun`` on N_NODES random states drawn
within ``state_variable_range`` and random per-mode coupling values, once
with the default parameters and once with a custom set: other scalar values,
other ``nv`` / ``nu``, a per-region ``K11`` (spatialised as TVB's simulator
does, shape (n, 1)) and a per-region ``mu`` taking three distinct values. TVB
computes its derived quantities for one ``mu`` only, so the custom ``dfun``
and derived rows are evaluated group by group (one configured TVB model per
``mu`` value) and put back in node order. Local coupling is 0.

Each npz holds plain arrays (no pickles):

- ``state_names``, ``cvar_names``, ``voi``: str arrays, mode-expanded
  (``tvb_state_names`` and ``tvb_cvar_names``: TVB's own); ``n_modes``
- ``svr`` (n_state, 2), per mode-expanded variable
- ``param_names`` (str), ``param_defaults`` (float)
- ``derived_names``: TVB's derived arrays flattened, ``<attr>_<j><k>`` for a
  3x3 matrix (TVB's ``[j, k]``), ``<attr>_<i>`` for a per-mode vector
- ``derived_default`` (n_derived,), ``derived_custom`` (n_derived, N)
- ``custom_names`` (str), ``custom__<name>``: custom values (scalar or (N,))
- ``state_default``, ``coupling_default``, ``dfun_default`` and the same with
  ``_custom``: (n_state, N), (n_cvar, N), (n_state, N)
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from tvb.basic.neotraits.api import NArray
from tvb.simulator import models

N_NODES = 40
HERE = Path(__file__).parent

# name -> (TVB class, derived attributes in order, coupling value range, custom scalars,
#          custom nv / nu, per-region K11 range, the distinct per-region mu values)
SPECS = {
    "fhn": (models.ReducedSetFitzHughNagumo,
            ("Aik", "Bik", "Cik", "e_i", "f_i", "IE_i", "II_i", "m_i", "n_i"), (-0.5, 0.5),
            {"tau": 2.5, "a": 0.6, "b": 0.8, "K12": 0.2, "K21": 0.25, "sigma": 0.5},
            (900, 900),  # TVB's FitzHugh-Nagumo set needs nu == nv
            (0.2, 0.8), (0.0, 0.3, 0.7)),
    "hr": (models.ReducedSetHindmarshRose,
           ("A_ik", "B_ik", "C_ik", "a_i", "b_i", "c_i", "d_i", "e_i", "f_i", "h_i", "p_i",
            "IE_i", "II_i", "m_i", "n_i"), (-0.5, 0.5),
           {"r": 0.01, "a": 0.9, "b": 2.8, "c": 0.8, "d": 4.0, "s": 4.5, "xo": -1.4,
            "K12": 0.2, "K21": 0.1, "sigma": 0.4},
           (1200, 900), (0.2, 0.8), (2.0, 2.8, 3.3)),
}


def _param_names(cls):
    return [n for n in cls.declarative_attrs if isinstance(getattr(cls, n), NArray)]


def to_vbrain(a):
    """(n_sv, n, modes) -> (n_sv * modes, n), mode innermost."""
    n_sv, n, m = a.shape
    return np.ascontiguousarray(a.transpose(0, 2, 1).reshape(n_sv * m, n))


def derived_names(model, attrs):
    names = []
    for attr in attrs:
        v = np.asarray(getattr(model, attr))
        if v.shape == (model.number_of_modes, model.number_of_modes):
            names += [f"{attr}_{j}{k}" for j in range(v.shape[0]) for k in range(v.shape[1])]
        else:
            names += [f"{attr}_{i}" for i in range(model.number_of_modes)]
    return names


def derived_values(model, attrs, n):
    """TVB's derived arrays as rows (n_derived, n): matrices ravelled, vectors per mode."""
    rows = []
    for attr in attrs:
        v = np.asarray(getattr(model, attr), dtype=np.float64)
        m = model.number_of_modes
        if v.shape == (m, m):
            rows += [np.full(n, x) for x in v.ravel()]
        else:  # (1, modes), or (n, modes) for a per-region factor
            v = np.broadcast_to(v, (n, m))
            rows += [v[:, i].copy() for i in range(m)]
    return np.array(rows)


def make_model(cls, params, nv_nu=None):
    model = cls(**{k: np.asarray(v, dtype=np.float64).reshape(-1, 1) if np.ndim(v)
                   else np.array([v]) for k, v in params.items()})
    if nv_nu is not None:
        model.nv, model.nu = nv_nu
    model.configure()
    return model


def _dfun(model, state, coupling):
    return np.array(model.dfun(state, coupling), dtype=np.float64)


def compute(name, spec, rng):
    """Fixture arrays of one model (see the module docstring)."""
    cls, attrs, crange, scalars, nv_nu, k11_range, mu_values = spec
    model = make_model(cls, {})
    m = model.number_of_modes
    svnames = list(model.state_variables)
    svr = np.array([model.state_variable_range[s] for s in svnames], float)
    pnames = _param_names(cls)
    defaults = [float(np.asarray(getattr(model, p)).ravel()[0]) for p in pnames]
    out = {
        "tvb_state_names": np.array(svnames),
        "tvb_cvar_names": np.array([svnames[i] for i in model.cvar]),
        "n_modes": np.int64(m),
        "state_names": np.array([f"{s}_{i}" for s in svnames for i in range(m)]),
        "cvar_names": np.array([f"{svnames[c]}_{i}" for c in model.cvar for i in range(m)]),
        "voi": np.array([f"{s}_{i}" for s in model.variables_of_interest for i in range(m)]),
        "svr": np.repeat(svr, m, axis=0),
        "param_names": np.array(pnames + ["nv", "nu"]),
        "param_defaults": np.array(defaults + [float(model.nv), float(model.nu)]),
        "derived_names": np.array(derived_names(model, attrs)),
    }

    def draw():
        state = rng.uniform(svr[:, :1, None], svr[:, 1:, None], size=(len(svnames), N_NODES, m))
        coupling = rng.uniform(*crange, size=(len(model.cvar), N_NODES, m))
        return state, coupling

    state, coupling = draw()
    out.update(state_default=to_vbrain(state), coupling_default=to_vbrain(coupling),
               dfun_default=to_vbrain(_dfun(model, state, coupling)),
               derived_default=derived_values(model, attrs, 1)[:, 0])

    k11 = rng.uniform(*k11_range, size=N_NODES)
    mu = rng.choice(np.array(mu_values), size=N_NODES)
    mu[:len(mu_values)] = mu_values  # every value present
    state, coupling = draw()
    dfun = np.empty_like(state)
    derived = np.empty((len(out["derived_names"]), N_NODES))
    for value in mu_values:  # one TVB model per distinct mu
        idx = np.flatnonzero(mu == value)
        cmodel = make_model(cls, dict(scalars, mu=value, K11=k11[idx]), nv_nu)
        dfun[:, idx] = _dfun(cmodel, state[:, idx], coupling[:, idx])
        derived[:, idx] = derived_values(cmodel, attrs, idx.size)
    out.update(state_custom=to_vbrain(state), coupling_custom=to_vbrain(coupling),
               dfun_custom=to_vbrain(dfun), derived_custom=derived)
    custom = dict(scalars, nv=float(nv_nu[0]), nu=float(nv_nu[1]), K11=k11, mu=mu)
    out["custom_names"] = np.array(list(custom))
    for p, v in custom.items():
        out[f"custom__{p}"] = np.asarray(v, dtype=np.float64)
    for key in ("dfun_default", "dfun_custom", "derived_custom"):
        if not np.all(np.isfinite(out[key])):
            raise RuntimeError(f"{name}: TVB returned non-finite {key}")
    return out


def main(names):
    """Write the fixtures named (all when none); each model has its own seeded generator."""
    warnings.simplefilter("ignore")
    unknown = set(names) - set(SPECS)
    if unknown:
        raise SystemExit(f"unknown fixtures {sorted(unknown)}; known: {list(SPECS)}")
    for i, (name, spec) in enumerate(SPECS.items()):
        if names and name not in names:
            continue
        out = compute(name, spec, np.random.default_rng(20250601 + i))
        path = HERE / f"tvb_dfun_reduced_set_{name}.npz"
        np.savez_compressed(path, **out)
        print(f"{name}: {len(out['param_names'])} parameters, {len(out['derived_names'])} "
              f"derived rows, {len(out['state_names'])} state rows, "
              f"{path.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main(sys.argv[1:])
