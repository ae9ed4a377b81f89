"""Brunel (2000) balanced network against NEST 3.10 and Brian2 (fixtures made by
benchmarks/peers/brunel_nest.py and brunel_brian2.py) and, when importable, NEST live."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vbrain.spiking import isi_cv
from vbrain.spiking.brunel import brunel2000

DATA = Path(__file__).parent / "data"


def _ref(tool):
    return json.loads((DATA / f"brunel_{tool}.json").read_text())


def _stats(net, duration):
    net.run(duration)
    te, ie = net.spikes("E")
    ti, _ = net.spikes("I")
    s = duration / 1000.0
    return te.size / 8000 / s, ti.size / 2000 / s, isi_cv(te, ie)


def test_brunel_short_matches_nest_first_300ms():
    nest = _ref("nest")
    rate_e, rate_i, cv = _stats(brunel2000(seed=3), 300.0)
    # the first 300 ms of NEST's 1 s run (initial transient from V_m = 0 included)
    assert rate_e == pytest.approx(nest["rate_e_hz_first"], rel=0.05)
    assert rate_i == pytest.approx(nest["rate_i_hz_first"], rel=0.05)
    assert cv == pytest.approx(nest["cv_e_first"], rel=0.10)


@pytest.mark.slow
def test_brunel_1s_matches_nest_and_brian2():
    rate_e, rate_i, cv = _stats(brunel2000(seed=1), 1000.0)
    for tool in ("nest", "brian2"):
        ref = _ref(tool)
        assert rate_e == pytest.approx(ref["rate_e_hz"], rel=0.05), tool
        assert rate_i == pytest.approx(ref["rate_i_hz"], rel=0.05), tool
        assert cv == pytest.approx(ref["cv_e"], rel=0.05), tool


def test_brunel_small_vs_nest_live():
    nest = pytest.importorskip("nest")
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1, "rng_seed": 5})
    n_e, n_i = 2000, 500
    params = {"tau_m": 20.0, "C_m": 250.0, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0,
              "t_ref": 2.0, "V_m": 0.0}
    E = nest.Create("iaf_psc_delta", n_e, params=params)
    I = nest.Create("iaf_psc_delta", n_i, params=params)
    noise = nest.Create("poisson_generator", params={"rate": 2.0 * 20.0 / (0.1 * 200 * 20.0)
                                                     * 200 * 1000.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(noise, E + I, syn_spec={"weight": 0.1, "delay": 1.5})
    nest.Connect(E, E + I, {"rule": "fixed_indegree", "indegree": 200},
                 {"weight": 0.1, "delay": 1.5})
    nest.Connect(I, E + I, {"rule": "fixed_indegree", "indegree": 50},
                 {"weight": -0.5, "delay": 1.5})
    nest.Connect(E, rec)
    nest.Simulate(500.0)
    nest_rate = rec.get("n_events") / n_e / 0.5
    net = brunel2000(n_e=2000, seed=5)
    net.run(500.0)
    ours = net.spikes("E")[0].size / n_e / 0.5
    assert ours == pytest.approx(nest_rate, rel=0.05)
    assert np.isfinite(ours)
