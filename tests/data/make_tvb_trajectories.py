"""Make the ``tvbtraj_<case>.npz`` fixtures of tests/test_tvb_trajectories.py with TVB.

Run with the TVB reference environment (tvb-library 2.10.0, tvb-data 3.0.0), not vbrain's::

    /tmp/peers/tvb/bin/python tests/data/make_tvb_trajectories.py [case ...] [--dump DIR]

Each case is one deterministic TVB region simulation on one of tvb-data's
connectomes (``connectivity_76.zip`` unless the case names another; weights not
normalised, delays at 4 mm/ms unless the case sets ``speed``), a model,
a long-range coupling, a deterministic integrator, an explicit initial
history and the Raw monitor with ``variables_of_interest`` = every state
variable.

Initial history: row ``r`` of the ``horizon`` rows (the last is t = 0) is at
``t_r = (r - (horizon - 1)) * dt`` and holds, for state variable ``s`` and
region ``i``::

    x[r, s, i] = center[s, i] + amp[s, i] * sin(2 pi t_r / period[s, i] + phase[s, i])

with center/amp/period/phase drawn per case (center within the middle 60 % of
the range, amp up to 20 % of it; the range is the model's
``state_variable_range`` or a sub-range of it for models whose full range
starts them in violent transients). Varying in time, it checks how the delayed
history is indexed. The npz stores these four arrays and the test rebuilds
the history with the same expression.

TVB conventions (tvb-library 2.10): with a provided history of ``horizon``
rows TVB labels output k = 1, 2, ... with time (horizon - 1 + k) * dt; the
fixture stores ``t`` = that time - (horizon - 1) * dt, i.e. time since the
initial state, which is vbrain's Raw time base. TVB keeps the coupling
history (and the undelayed x_i used by Difference/Kuramoto) and the weights
in float32, so a float64 engine agrees to ~1e-7 relative only.

Multi-mode models (TVB state (variable, node, mode), e.g. the Stefanescu-Jirsa
reduced sets with 3 modes): each (variable, mode) pair is one vbrain state
variable ``<variable>_<mode>``, mode innermost; ``state_names``, the history
arrays and ``y`` use that order (TVB's ``x.transpose(0, 2, 1)`` flattened).

Each npz (plain arrays, no pickles):

- ``meta``: JSON string: case, versions, classes, parameters (the overrides
  passed to both simulators, and TVB's full parameter set), integrator, dt,
  speed, duration, horizon, compare_until_ms and why
- ``model__<name>``, ``coupling__<name>``: the overrides (scalar or (76,))
- ``state_names``; ``dt``, ``speed``, ``duration``, ``horizon``, ``compare_until``
- ``hist_center``, ``hist_amp``, ``hist_period``, ``hist_phase``: (n_state, 76)
- ``hist_first``, ``hist_last``: rows 0 and horizon-1 of the history (a check)
- ``t`` (n_samples,), ``y`` (n_samples, n_state, 76): every step of the
  first ``n_full`` steps (1 ms), then every ``every`` ms (default 5) up to
  ``store_until`` (default ``duration``), float64

Random draws (history, per-region parameters) are seeded by crc32 of the case
name, so the fixtures are reproducible case by case.

Two optional case keys: ``vbrain_model``, the vbrain class of a TVB class run in a
mode vbrain gives its own class (TVB's Hopfield with dynamic = 1 is vbrain's
HopfieldDynamic; ``meta["vbrain_model_class"]``), and ``tvb_coupling``, a
``TVB_VARIANTS`` coupling run instead of TVB's own (PreSigmoidal summed over the
sources; ``meta["tvb_coupling_class"]``, ``meta["tvb_coupling_note"]``). Parameters
go to TVB as its traits take them (``_tvb_value``: arrays of the trait's dtype,
plain bools for boolean attributes) and to vbrain as floats.
"""

from __future__ import annotations

import json
import platform
import sys
import zlib
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SPEED = 4.0

# Oscillating Wilson-Cowan parameters (Wilson & Cowan 1972, limit cycle).
_WC = dict(c_ee=16.0, c_ei=12.0, c_ie=15.0, c_ii=3.0, a_e=1.3, b_e=4.0, a_i=2.0, b_i=3.7, P=1.25)

# case -> settings. ranges: per state variable (lo, hi) of the history draw
# (default: TVB's state_variable_range); ("region", lo, hi) parameter values are
# per-region uniform draws. compare_until: ms of the stretch the test compares
# (the run's duration unless roundoff-sensitive, see there).
CASES = {
    # Generic2dOscillator with the three deterministic schemes and two couplings
    "g2d_sigmoidal_heun": dict(
        model="Generic2dOscillator", model_params={},
        coupling="Sigmoidal", coupling_params=dict(cmin=-1.0, cmax=1.0, midpoint=0.0, a=1.0, sigma=20.0),
        integrator="heun", dt=0.1, duration=300.0),
    "g2d_linear_euler": dict(
        model="Generic2dOscillator", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator="euler", dt=0.1, duration=300.0),
    "g2d_linear_rk4": dict(
        model="Generic2dOscillator", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator="rk4", dt=0.1, duration=300.0),
    "jansen_rit": dict(
        model="JansenRit", model_params={},
        coupling="SigmoidalJansenRit", coupling_params=dict(a=1.0),
        integrator="heun", dt=0.1, duration=300.0, every=10.0,
        # TVB's ranges (y1 +-500, y5 +-500 mV/ms) start kV transients that dwarf the rhythm
        ranges=[(0.0, 0.2), (10.0, 30.0), (5.0, 25.0), (-1.0, 1.0), (-5.0, 5.0), (-5.0, 5.0)]),
    "wilson_cowan": dict(
        model="WilsonCowan", model_params=_WC,
        coupling="Linear", coupling_params=dict(a=0.005, b=0.0),
        integrator="heun", dt=0.1, duration=300.0),
    "kuramoto": dict(
        model="Kuramoto", model_params=dict(omega=("region", 0.04, 0.08)),  # 6-13 Hz
        # no 1/N in TVB's sparse Kuramoto coupling: a * (mean afferent weight sum 39) ~ 2 omega
        coupling="Kuramoto", coupling_params=dict(a=0.003),
        integrator="heun", dt=0.1, duration=300.0),
    "suphopf": dict(
        model="SupHopf", model_params=dict(a=0.2, omega=0.3),
        coupling="Difference", coupling_params=dict(a=0.01),
        integrator="heun", dt=0.1, duration=300.0,
        # TVB's +-5 range is stiff at dt 0.1 (|dx/dt| ~ x^3) and overflows
        ranges=[(-1.0, 1.0), (-1.0, 1.0)]),
    "montbrio": dict(
        model="MontbrioPazoRoxin", model_params={},
        coupling="Scaling", coupling_params=dict(a=0.01),
        integrator="heun", dt=0.1, duration=300.0),
    "reduced_wong_wang": dict(
        model="ReducedWongWang", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator="heun", dt=0.1, duration=300.0),
    # TVB clamps every row of a provided initial history to state_variable_boundaries
    # (history.py: integrator.bound_and_clamp(history[it])) before the first step
    "reduced_wong_wang_clamped_history": dict(
        model="ReducedWongWang", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator="heun", dt=0.1, duration=50.0, every=1.0,
        ranges=[(-0.25, 1.25)]),  # S beyond its bounds [0, 1] in part of the history
    "wong_wang_exc_inh": dict(
        model="ReducedWongWangExcInh", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator="heun", dt=0.1, duration=300.0),
    "epileptor": dict(
        model="Epileptor", model_params=dict(Kvf=0.3, Kf=0.3, Ks=-0.2),
        coupling="Difference", coupling_params=dict(a=0.02),
        integrator="heun", dt=0.05, duration=300.0, every=10.0,
        # near the attractor: TVB's full ranges start fast transients that amplify roundoff
        ranges=[(-1.8, -1.2), (-12.0, -8.0), (2.8, 3.6), (-1.2, -0.6), (0.0, 0.3), (-0.2, 0.0)]),
    "larter_breakspear": dict(
        # d_V = 0.55 (TVB default 0.65): still chaotic, but float32 roundoff needs ~100 ms
        # instead of ~35 ms to grow past 1e-7, so the compared stretch spans 2 max delays
        model="LarterBreakspear", model_params=dict(d_V=0.55),
        # a ~ QV_max / 2 / (mean afferent weight sum 39.3): c_0 ~ a mean firing rate
        coupling="HyperbolicTangent", coupling_params=dict(a=0.0128, b=1.0, midpoint=0.0, sigma=0.55),
        integrator="heun", dt=0.1, duration=300.0,
        # on the attractor: starts with Z too high or V too low run away (Z grows without bound)
        ranges=[(-0.3, 0.3), (0.05, 0.45), (-0.05, 0.15)],
        compare_until=80.0, store_until=80.0, every=2.0,
        compare_note="chaotic: TVB's float32 coupling history (~6e-8 relative) grows past "
                     "1e-7 of max|x| after ~100 ms and reaches 1e-2 by 300 ms; only the "
                     "first 80 ms are stored and compared"),
}
# region stimuli (TVB's StimuliRegion, Sinusoid temporal equation, into the model's stvar):
# how a stimulus enters each scheme (Euler once, Heun predictor + corrector, RK4 at the end)
_STIM = dict(frequency_hz=40.0, amp=0.5, regions={3: 1.0, 17: 0.5, 40: 2.0, 60: -1.0})
for _scheme in ("euler", "heun", "rk4"):
    CASES[f"g2d_stimulus_{_scheme}"] = dict(
        model="Generic2dOscillator", model_params={},
        coupling="Linear", coupling_params=dict(a=0.02, b=0.0),
        integrator=_scheme, dt=0.1, duration=100.0, stimulus=_STIM)

# the stimulus into TVB's default targets, the model's stvar: Jansen-Rit's y1 and y2 (its
# cvar), Montbrio's V alone (its stvar differs from its cvar r, V)
CASES["jansen_rit_stimulus"] = dict(CASES["jansen_rit"], duration=100.0, every=10.0,
                                    stimulus=dict(_STIM, amp=2.0))
CASES["montbrio_stimulus"] = dict(CASES["montbrio"], duration=60.0, every=2.0,
                                  stimulus=dict(_STIM, amp=0.2))

# other tvb-data connectomes, conduction speeds and time steps: delays rounded from other
# lengths / (speed dt), other horizons; the 192-region set has 22 zero-length edges with
# weight (zero delay: the coupling reads the current state, as TVB does)
CASES["jansen_rit_tvb192"] = dict(
    CASES["jansen_rit"], connectivity="connectivity_192.zip", speed=2.5, dt=0.05,
    coupling_params=dict(a=10.0), duration=100.0, every=10.0, n_full=4)
CASES["wilson_cowan_tvb66_euler"] = dict(
    model="WilsonCowan", model_params={}, coupling="Linear", coupling_params=dict(a=0.05, b=0.0),
    integrator="euler", dt=0.1, duration=200.0, connectivity="connectivity_66.zip", speed=3.0)
CASES["wong_wang_exc_inh_tvb96_rk4"] = dict(
    model="ReducedWongWangExcInh", model_params={},
    coupling="Linear", coupling_params=dict(a=0.5, b=0.0),
    integrator="rk4", dt=0.1, duration=200.0, connectivity="connectivity_96.zip", speed=6.0)
CASES["kuramoto_tvb68_dt02"] = dict(
    CASES["kuramoto"], coupling_params=dict(a=0.01), dt=0.2, duration=300.0,
    connectivity="connectivity_68.zip")
CASES["g2d_sigmoidal_tvb68_euler"] = dict(
    model="Generic2dOscillator", model_params=dict(a=-0.5, tau=2.0, I=0.5),
    coupling="Sigmoidal", coupling_params=dict(a=2.0, sigma=2.0, midpoint=0.5, cmin=-1.0, cmax=1.0),
    integrator="euler", dt=0.1, duration=300.0, connectivity="connectivity_68.zip", speed=5.0)

CASES["epileptor2d_tvb96"] = dict(
    model="Epileptor2D", model_params=dict(x0=("region", -2.4, -1.6), Ks=-0.5, Kvf=0.2, r=0.002),
    coupling="Difference", coupling_params=dict(a=0.05),
    integrator="heun", dt=0.05, duration=300.0, every=5.0, connectivity="connectivity_96.zip",
    ranges=[(-1.8, -1.2), (2.8, 3.6)])

# QIF mean fields beyond Montbrio-Pazo-Roxin
CASES["coombes_byrne_tvb68"] = dict(
    model="CoombesByrne", model_params={}, coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
    integrator="heun", dt=0.01, duration=50.0, every=1.0, n_full=5,
    connectivity="connectivity_68.zip")
CASES["coombes_byrne_2d"] = dict(
    model="CoombesByrne2D", model_params=dict(eta=("region", -1.0, 3.0)),
    coupling="Linear", coupling_params=dict(a=0.01, b=0.0),
    integrator="rk4", dt=0.05, duration=100.0, every=2.0)
CASES["gast_schmidt_knosche_sd_tvb66"] = dict(
    model="GastSchmidtKnosche_SD", model_params={}, coupling="Scaling", coupling_params=dict(a=0.01),
    integrator="heun", dt=0.01, duration=60.0, every=1.0, n_full=5,
    connectivity="connectivity_66.zip")
CASES["gast_schmidt_knosche_sf"] = dict(
    model="GastSchmidtKnosche_SF", model_params={}, coupling="Scaling", coupling_params=dict(a=0.01),
    integrator="euler", dt=0.01, duration=60.0, every=1.0, n_full=5,
    compare_until=45.0, store_until=45.0,
    compare_note="a burst from ~45 ms amplifies TVB's float32 history roundoff (1e-9 before, "
                 "6e-6 of max|V| by 60 ms); the first 45 ms are stored and compared")
CASES["dumont_gutkin_tvb96"] = dict(
    model="DumontGutkin", model_params=dict(J_ee=5.0, J_ie=8.0), coupling="Linear",
    coupling_params=dict(a=0.05, b=0.0), integrator="heun", dt=0.05, duration=200.0, every=20.0,
    n_full=4, connectivity="connectivity_96.zip",
    # near the low-activity state: TVB's full V range starts some nodes past the QIF blow-up
    ranges=[(0.0, 0.3), (-2.5, -1.5), (0.0, 0.5), (0.0, 0.5)] * 2)

CASES["deco_balanced_exc_inh"] = dict(
    model="DecoBalancedExcInh", model_params=dict(M_i=("region", 1.0, 2.0), J_i=1.2),
    coupling="Linear", coupling_params=dict(a=0.2, b=0.0),
    integrator="heun", dt=0.1, duration=300.0, every=10.0)

CASES["epileptor_rs_tvb192"] = dict(
    model="EpileptorRestingState", model_params=dict(x0=("region", -2.4, -2.0), Ks=-0.2, K_rs=0.5),
    coupling="Difference", coupling_params=dict(a=0.02),
    integrator="heun", dt=0.05, duration=100.0, every=10.0, n_full=4,
    connectivity="connectivity_192.zip")

CASES["zetterberg_jansen_tvb68"] = dict(
    model="ZetterbergJansen", model_params=dict(P=("region", 0.08, 0.16)),
    coupling="Linear", coupling_params=dict(a=0.05, b=0.0),
    integrator="heun", dt=0.1, duration=200.0, every=40.0, n_full=4,
    connectivity="connectivity_68.zip",
    # TVB's ranges (up to +-500 mV) start kV transients: a few mV around rest instead
    ranges=[(-2.0, 8.0), (-1.0, 1.0)] * 5 + [(-5.0, 5.0), (-5.0, 5.0)])

# Hopfield (static threshold) as a continuous Hopfield network: the sigmoid in the coupling
CASES["hopfield_tvb66"] = dict(
    model="Hopfield", model_params=dict(taux=("region", 0.8, 1.5)),
    coupling="HyperbolicTangent", coupling_params=dict(a=0.5, b=1.0, midpoint=0.5, sigma=0.3),
    integrator="heun", dt=0.1, duration=100.0, every=10.0, n_full=4,
    connectivity="connectivity_66.zip")
# the dynamic threshold (TVB's Hopfield with dynamic = 1: vbrain's HopfieldDynamic) with TVB's
# PreSigmoidal coupling, its weighted sum over sources (TVB 2.10 sums over targets, see
# TVB_VARIANTS)
CASES["hopfield_dynamic_presigmoidal_tvb68"] = dict(
    model="Hopfield", vbrain_model="HopfieldDynamic",
    model_params=dict(dynamic=1, tauT=("region", 3.0, 8.0)),
    coupling="PreSigmoidal", tvb_coupling="PreSigmoidalOverSources",
    coupling_params=dict(H=2.0, Q=1.0, G=10.0, P=1.0, theta=0.5, dynamic=True, globalT=False),
    integrator="heun", dt=0.1, duration=100.0, every=10.0, n_full=4,
    connectivity="connectivity_68.zip")
CASES["kionex_tvb66"] = dict(
    model="KIonEx", model_params=dict(E=("region", -10.0, 0.0)),
    coupling="Linear", coupling_params=dict(a=0.05, b=0.0),
    integrator="heun", dt=0.01, duration=20.0, every=5.0, n_full=3,
    connectivity="connectivity_66.zip",
    # near rest (V -78 mV, x 0.03): TVB's full ranges give K_o < 0 (log of a negative) in part
    ranges=[(0.0, 0.5), (-80.0, -50.0), (0.0, 0.2), (-4.0, -2.0), (-9.0, -6.0)])

# Stefanescu-Jirsa reduced sets: 3 modes per variable (stored as <sv>_<mode>, mode innermost);
# the Linear offset b is added to each mode's coupling and the model sums the xi modes.
# Fast variables within +-1.5 / +-2 (TVB's +-4 is unstable at this dt: |d xi'/d xi| ~ 150)
CASES["reduced_set_fhn_tvb66"] = dict(
    # a = 0.7: with TVB's 0.45 the middle mode amplifies roundoff ~4e3-fold over 60 ms
    model="ReducedSetFitzHughNagumo", model_params=dict(a=0.7, K11=("region", 0.3, 0.7)),
    coupling="Linear", coupling_params=dict(a=0.002, b=0.01),
    integrator="heun", dt=0.05, duration=60.0, every=20.0, n_full=1,
    connectivity="connectivity_66.zip", ranges=[(-1.5, 1.5)] * 3 + [(-1.0, 1.0)] * 3
    + [(-1.5, 1.5)] * 3 + [(-1.0, 1.0)] * 3)
CASES["reduced_set_hr_tvb66"] = dict(
    model="ReducedSetHindmarshRose", model_params=dict(mu=2.8),
    coupling="Linear", coupling_params=dict(a=0.002, b=0.0),
    integrator="heun", dt=0.05, duration=40.0, every=20.0, n_full=1,
    connectivity="connectivity_66.zip",
    ranges=[(-2.0, 2.0)] * 3 + [(-25.0, 20.0)] * 3 + [(2.0, 10.0)] * 3
    + [(-2.0, 2.0)] * 3 + [(-20.0, 20.0)] * 3 + [(2.0, 10.0)] * 3)

# Saggio's codimension-3 Epileptor, class c2s bursting (c 5x TVB's default: ~2 bursts in
# 300 ms), slow permittivity coupling through z as with the Epileptor
CASES["epileptor_codim3_tvb66"] = dict(
    model="EpileptorCodim3", model_params=dict(c=0.005, Ks=-0.5, dstar=("region", 0.2, 0.35)),
    coupling="Difference", coupling_params=dict(a=0.01),
    integrator="heun", dt=0.1, duration=300.0, every=20.0, n_full=4,
    connectivity="connectivity_66.zip")
# the end points drift at TVB's top speed (0.3 rad in 300 ms) from per-region starts
# (TVB's uA, uB range is [0, 0]): the regions burst in different, changing classes (with
# cA = cB = 0 the trajectories differ by O(1)); z starts near the onsets, c at TVB's top
CASES["epileptor_codim3_slowmod_tvb68"] = dict(
    model="EpileptorCodim3SlowMod", model_params=dict(c=0.01, cA=0.001, cB=0.001, Ks=-0.5),
    coupling="Difference", coupling_params=dict(a=0.1),
    integrator="heun", dt=0.1, duration=300.0, every=30.0, n_full=2,
    connectivity="connectivity_68.zip",
    ranges=[(0.4, 0.6), (-0.1, 0.1), (0.1, 0.5), (0.0, 1.5), (0.0, 1.5)])

# Zerlaut's AdEx mean fields with a weak external drive onto both populations (0.315 Hz, as
# in TVB-AdEx studies) and Linear coupling of the excitatory rates: about half of the
# network switches to the high-activity state, the rest decays, adaptation W_e (b_e per
# region) builds up; history near the low-activity state, W_i and ou_drift drawn (TVB's
# ranges are [0, 0])
_ZERLAUT_DRIVE = dict(external_input_ex_ex=0.315e-3, external_input_in_ex=0.315e-3)
CASES["zerlaut_first_tvb68"] = dict(
    model="ZerlautAdaptationFirstOrder",
    model_params=dict(_ZERLAUT_DRIVE, b_e=("region", 0.0, 120.0)),
    coupling="Linear", coupling_params=dict(a=2.0, b=0.0),
    integrator="heun", dt=0.1, duration=90.0, every=10.0, n_full=1,
    connectivity="connectivity_68.zip",
    ranges=[(0.001, 0.03), (0.005, 0.05), (0.0, 100.0), (0.0, 10.0), (-1e-3, 1e-3)])
# the second order with a stronger drive (4 Hz, as in di Volo et al. 2019; most regions
# switch up, the covariances rise and fall): with the weak one, regions passing near the
# threshold between the two states amplify TVB's float32 coupling history (~6e-8) past 1e-6
# within 30 ms
CASES["zerlaut_second_tvb66"] = dict(
    model="ZerlautAdaptationSecondOrder",
    model_params=dict(external_input_ex_ex=0.004, external_input_in_ex=0.004, S_i=0.8),
    coupling="Linear", coupling_params=dict(a=1.0, b=0.0),
    integrator="heun", dt=0.1, duration=50.0, every=10.0, n_full=1,
    connectivity="connectivity_66.zip",
    ranges=[(0.001, 0.03), (0.005, 0.05), (0.0, 0.5e-3), (-0.5e-3, 0.5e-3), (0.0, 0.5e-3),
            (0.0, 100.0), (0.0, 10.0), (-1e-3, 1e-3)])

INTEGRATORS = {"heun": "HeunDeterministic", "euler": "EulerDeterministic",
               "rk4": "RungeKutta4thOrderDeterministic"}


def history(center, amp, period, phase, horizon, dt):
    """Initial history (horizon, n_state, n_regions); the last row is t = 0."""
    t = (np.arange(horizon) - (horizon - 1)) * dt
    return center + amp * np.sin(2.0 * np.pi * t[:, None, None] / period + phase)


def draw_history(ranges, n_regions, seed):
    """center, amp, period, phase arrays (n_state, n_regions)."""
    rng = np.random.default_rng(seed)
    lo = np.array([r[0] for r in ranges], float)[:, None]
    hi = np.array([r[1] for r in ranges], float)[:, None]
    w = hi - lo
    shape = (len(ranges), n_regions)
    center = rng.uniform(lo + 0.2 * w, hi - 0.2 * w, shape)
    amp = rng.uniform(0.0, 0.2, shape) * w
    period = rng.uniform(5.0, 40.0, shape)
    phase = rng.uniform(0.0, 2.0 * np.pi, shape)
    return center, amp, period, phase


def resolve_params(spec_params, n_regions, seed):
    """Scalars as float, ("region", lo, hi) as a seeded per-region uniform array."""
    rng = np.random.default_rng(seed + 1000)
    out = {}
    for k, v in spec_params.items():
        out[k] = rng.uniform(v[1], v[2], n_regions) if isinstance(v, tuple) else float(v)
    return out


def _version(dist):
    try:
        return version(dist)
    except Exception:  # importable without its metadata
        return "unknown"


def _tvb_params(obj):
    from tvb.basic.neotraits.api import NArray

    out = {}
    for name in type(obj).declarative_attrs:
        if isinstance(getattr(type(obj), name), NArray):
            v = np.asarray(getattr(obj, name), dtype=float).ravel()
            out[name] = v.tolist() if v.size > 1 else float(v[0])
    return out


def _tvb_value(cls, name, value):
    """A parameter value as TVB's trait takes it: an array of the NArray's dtype (Hopfield's
    ``dynamic`` is an int array), or a plain bool for a boolean Attr (PreSigmoidal's flags)."""
    from tvb.basic.neotraits.api import NArray

    trait = getattr(cls, name)
    if not isinstance(trait, NArray):
        return trait.field_type(value)
    return np.atleast_1d(np.asarray(value, dtype=trait.dtype))


def _presigmoidal_over_sources():
    """TVB's PreSigmoidal with its weighted sum over the sources, as its docstring describes.

    tvb-library 2.10's ``PreSigmoidal.__call__`` sums over axis 0 of its (target, cvar,
    source) arrays, the targets (see vbrain.coupling.PreSigmoidal and
    tests/data/make_tvb_presigmoidal.py, which checks it), so each region receives its own
    delayed output. This subclass keeps TVB's sigmoid, parameters and delayed states and sums
    over axis 2, as TVB's generic ``Coupling.__call__`` does; in the dynamic mode the second
    input is the node's own current output S(P x_i(t) - theta_i(t)) (TVB: the diagonal of
    the delayed state, 0 where w_ii = 0). Static: theta per source.
    """
    from tvb.simulator import coupling as tvb_coupling

    class PreSigmoidalOverSources(tvb_coupling.PreSigmoidal):
        def __call__(self, step, history):
            if self.globalT:
                raise NotImplementedError("globalT")
            g = history.es_weights  # (target, 1, source, mode)
            x_i, x_j = history.query(step)  # (cvar, node, mode), (target, cvar, source, mode)

            def sig(u):
                return self.H * (self.Q + np.tanh(self.G * u))

            if self.dynamic:
                c0 = (g[:, 0] * sig(self.P * x_j[:, 0] - x_j[:, 1])).sum(axis=1)
                return np.array([c0, sig(self.P * x_i[0] - x_i[1])])
            a = sig(self.P * x_j - self.theta[:, np.newaxis])
            return (g * a).sum(axis=2).transpose((1, 0, 2))

    return PreSigmoidalOverSources


#: coupling classes a case names with ``tvb_coupling`` instead of TVB's own
TVB_VARIANTS = {"PreSigmoidalOverSources": _presigmoidal_over_sources}


def _monitors_every_variable(mcls):
    """TVB's model class, or a subclass whose ``variables_of_interest`` may name every state
    variable where TVB's choices leave some out (EpileptorCodim3SlowMod's omit uA, uB)."""
    from tvb.basic.neotraits.api import List

    trait, names = mcls.variables_of_interest, tuple(mcls().state_variables)
    if set(names) <= set(trait.element_choices or names):
        return mcls
    voi = List(of=str, label=trait.label, choices=names, default=trait.default, doc=trait.doc)
    return type(mcls.__name__, (mcls,), {"variables_of_interest": voi})


def run_tvb(case, spec, duration=None, seed=None):
    """Run one case in TVB; return a dict of everything the fixture needs (full resolution)."""
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling as tvb_coupling
    from tvb.simulator import integrators, models, monitors, simulator

    duration = spec["duration"] if duration is None else duration
    seed = zlib.crc32(case.encode()) if seed is None else seed
    dt = spec["dt"]
    speed = spec.get("speed", SPEED)
    conn = Connectivity.from_file(spec.get("connectivity", "connectivity_76.zip"))
    conn.speed = np.array([speed])
    conn.configure()
    n = conn.number_of_regions
    conn.set_idelays(dt)
    horizon = int(conn.idelays.max()) + 1

    mparams = resolve_params(spec["model_params"], n, seed)
    mcls = _monitors_every_variable(getattr(models, spec["model"]))
    model = mcls(**{k: _tvb_value(mcls, k, v) for k, v in mparams.items()})
    model.variables_of_interest = tuple(model.state_variables)
    cparams = {k: float(v) for k, v in spec["coupling_params"].items()}
    ccls = (TVB_VARIANTS[spec["tvb_coupling"]]() if "tvb_coupling" in spec
            else getattr(tvb_coupling, spec["coupling"]))
    cpl = ccls(**{k: _tvb_value(ccls, k, v) for k, v in cparams.items()})
    integ = getattr(integrators, INTEGRATORS[spec["integrator"]])(dt=dt)

    # multi-mode models (TVB state (sv, node, mode)): one vbrain variable per (sv, mode),
    # mode innermost, named <sv>_<mode>; the history and output are flattened that way
    modes = model.number_of_modes
    names = [f"{s}_{i}" if modes > 1 else s for s in model.state_variables for i in range(modes)]
    ranges = spec.get("ranges") or [tuple(model.state_variable_range[s])
                                    for s in model.state_variables for _ in range(modes)]
    center, amp, period, phase = draw_history(ranges, n, seed)
    hist = history(center, amp, period, phase, horizon, dt)

    stim = None
    if "stimulus" in spec:
        from tvb.datatypes import equations, patterns

        st = spec["stimulus"]
        temporal = equations.Sinusoid()
        temporal.parameters["amp"] = st["amp"]
        temporal.parameters["frequency"] = st["frequency_hz"] / 1000.0  # TVB: kHz (time in ms)
        weight = np.zeros(n)
        for i, w in st["regions"].items():
            weight[i] = w
        stim = patterns.StimuliRegion(temporal=temporal, connectivity=conn, weight=weight)
    sim = simulator.Simulator(connectivity=conn, conduction_speed=speed, model=model, coupling=cpl,
                              integrator=integ, monitors=[monitors.Raw()], stimulus=stim,
                              initial_conditions=hist.reshape(horizon, -1, modes, n)
                              .transpose(0, 1, 3, 2), simulation_length=duration)
    sim.configure()
    assert sim.connectivity.horizon == horizon
    (t, y), = sim.run()
    t = np.asarray(t, float) - (horizon - 1) * dt  # time since the initial state
    y = np.asarray(y, float)  # (time, sv, region, mode) -> (time, sv * mode, region)
    y = y.transpose(0, 1, 3, 2).reshape(len(y), -1, n)
    n_steps = int(round(duration / dt))
    assert y.shape == (n_steps, len(names), n), y.shape
    assert np.allclose(t, np.arange(1, n_steps + 1) * dt), t[:3]
    if not np.all(np.isfinite(y)):
        raise RuntimeError(f"{case}: TVB diverged")
    return dict(t=t, y=y, names=names, horizon=horizon, mparams=mparams, cparams=cparams,
                hist=hist, center=center, amp=amp, period=period, phase=phase, ranges=ranges,
                model=model, coupling=cpl, integrator=integ, duration=duration)


def fixture(case, spec, out):
    """Subsample a run_tvb() result into the fixture arrays."""
    dt = spec["dt"]
    n_full = spec.get("n_full", int(round(1.0 / dt)))
    every = int(round(spec.get("every", 5.0) / dt))
    n_steps = int(round(spec.get("store_until", out["duration"]) / dt))
    k = np.union1d(np.arange(1, n_full + 1), np.arange(every, n_steps + 1, every))  # step numbers
    compare_until = spec.get("compare_until", out["duration"])
    meta = dict(
        case=case, tvb_library=_version("tvb-library"), tvb_data=_version("tvb-data"),
        numpy=np.__version__, python=platform.python_version(),
        connectivity=f"tvb-data {spec.get('connectivity', 'connectivity_76.zip')} "
                     "(Connectivity.from_file), weights not normalised",
        connectivity_file=spec.get("connectivity", "connectivity_76.zip"),
        speed_mm_per_ms=spec.get("speed", SPEED), dt_ms=dt, duration_ms=out["duration"], horizon=out["horizon"],
        model_class=spec["model"], coupling_class=spec["coupling"],
        integrator=spec["integrator"], integrator_class=type(out["integrator"]).__name__,
        model_params_overrides={k: (v.tolist() if np.ndim(v) else v) for k, v in out["mparams"].items()},
        coupling_params=out["cparams"],
        tvb_model_params=_tvb_params(out["model"]), tvb_coupling_params=_tvb_params(out["coupling"]),
        state_names=out["names"], history_ranges=[[float(v) for v in r] for r in out["ranges"]],
        history="x[r,s,i] = center + amp*sin(2*pi*t_r/period + phase), t_r = (r-(horizon-1))*dt",
        monitor="Raw, variables_of_interest = all state variables",
        samples=f"steps 1..{n_full} then every {every} steps; t = (k)*dt since the initial state",
        compare_until_ms=compare_until, compare_note=spec.get("compare_note", "whole run"),
    )
    if "vbrain_model" in spec:  # TVB's class in a mode for which vbrain has its own class
        meta["vbrain_model_class"] = spec["vbrain_model"]
    if "tvb_coupling" in spec:  # not TVB's own coupling class: see TVB_VARIANTS
        meta["tvb_coupling_class"] = spec["tvb_coupling"]
        meta["tvb_coupling_note"] = TVB_VARIANTS[spec["tvb_coupling"]].__doc__.strip()
    arrays = dict(
        meta=np.array(json.dumps(meta)), state_names=np.array(out["names"]),
        dt=np.float64(dt), speed=np.float64(spec.get("speed", SPEED)), duration=np.float64(out["duration"]),
        horizon=np.int64(out["horizon"]), compare_until=np.float64(compare_until),
        hist_center=out["center"], hist_amp=out["amp"], hist_period=out["period"],
        hist_phase=out["phase"], hist_first=out["hist"][0], hist_last=out["hist"][-1],
        t=out["t"][k - 1], y=out["y"][k - 1],
    )
    if "stimulus" in spec:
        st = spec["stimulus"]
        arrays["stim_frequency_hz"] = np.float64(st["frequency_hz"])
        arrays["stim_amp"] = np.float64(st["amp"])
        arrays["stim_regions"] = np.array(list(st["regions"]), dtype=np.int64)
        arrays["stim_weights"] = np.array(list(st["regions"].values()), dtype=np.float64)
    for name, v in out["mparams"].items():
        arrays[f"model__{name}"] = np.asarray(v, dtype=np.float64)
    for name, v in out["cparams"].items():
        arrays[f"coupling__{name}"] = np.float64(v)
    return arrays


def main(argv):
    dump = None
    if "--dump" in argv:
        i = argv.index("--dump")
        dump = Path(argv[i + 1])
        dump.mkdir(parents=True, exist_ok=True)
        argv = argv[:i] + argv[i + 2:]
    for case in argv or CASES:
        spec = CASES[case]
        out = run_tvb(case, spec)
        if dump is not None:  # full resolution, for choosing compare_until / checking sizes
            np.savez(dump / f"full_{case}.npz", t=out["t"], y=out["y"], hist=out["hist"],
                     horizon=out["horizon"])
        path = HERE / f"tvbtraj_{case}.npz"
        np.savez_compressed(path, **fixture(case, spec, out))
        print(f"{case}: horizon {out['horizon']}, {len(out['t'])} steps, "
              f"{path.stat().st_size / 1024:.0f} kB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
