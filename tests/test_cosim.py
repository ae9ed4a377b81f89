"""Insets: regions replaced by spiking networks, exchanging through bridges (vbrain.cosim)."""

import numpy as np
import pytest

import vbrain as vb
from vbrain.bridges import RateToCurrent, RateToPoisson, SpikesToRate, SpikesToSynaptic
from vbrain.cosim import Inset
from vbrain.spiking import Network

MPR = dict(eta=-5.0, J=15.0, Delta=1.0, I=1.0)  # a stable focus at r ~ 0.1 kHz


@pytest.fixture(scope="module")
def conn():
    return vb.Connectome.load("atlases:default").subset(np.arange(12))


def qif_net(n=500, k=50, seed=3, dt=0.05):
    """QIF neurons with MPR's parameters; sparse recurrence J/k stands for J r."""
    net = Network(dt=dt, seed=seed)
    net.add_population("qif", "qif", n, params=dict(eta=MPR["eta"], Delta=MPR["Delta"], tau=1.0,
                                                  I_e=MPR["I"]))
    net.connect("qif", "qif", rule="fixed_indegree", indegree=k, weight=MPR["J"] / k, delay=dt)
    return net


def mpr_sim(conn, insets=None, dt=0.05, monitors=None, **kw):
    n = conn.n_regions
    return vb.Simulation(conn, vb.models.MontbrioPazoRoxin(**MPR), vb.coupling.Linear(a=0.01),
                         dt=dt, seed=1, insets=insets, initial_history=np.array([[0.1] * n,
                                                                                 [-2.0] * n]),
                         monitors=monitors or [vb.monitors.TemporalAverage(1.0)], **kw)


class RecordingCurrent(RateToCurrent):
    """The default MPR input bridge, keeping what it received (for the test to check)."""

    def setup(self, model, params):
        super().setup(model, params)
        self.seen = []

    def drive(self, c):
        self.seen.append(c.copy())
        return super().drive(c)


def test_inset_input_is_the_delayed_network_coupling_and_its_output_reaches_the_network(conn):
    label = conn.labels[4]
    bridge = RecordingCurrent("qif")
    sim = mpr_sim(conn, {label: Inset(qif_net(), inputs=[bridge])},
                  monitors=[vb.monitors.Raw()])
    res = sim.run(30.0, progress=False)
    raw = res.raw.sel(variable="r").values  # (steps, regions), state after each step
    n_steps = raw.shape[0]
    # the network input of the inset region, from the recorded states and delays
    w = conn.weights.copy()
    w[4, 4] = 0.0
    d = conn.delay_steps(sim.speed, sim.dt)
    hist = np.vstack([np.full((int(d.max()) + 1, conn.n_regions), 0.1), raw])  # row h0 = t 0
    h0 = int(d.max())
    expected = np.array([0.01 * sum(w[4, j] * hist[h0 + s - d[4, j], j]
                                    for j in range(conn.n_regions) if w[4, j])
                         for s in range(n_steps)])
    received = np.concatenate(RecordingCurrent.last.seen)  # the run's copy of the bridge
    np.testing.assert_allclose(received[:, 0], expected, rtol=1e-12, atol=1e-15)
    # the region's r is the inset's population rate (kHz) through the bridge's 1 ms
    # exponential kernel, step by step: nothing of its neural mass is left
    spikes = res[f"inset_{label}_spikes"]
    assert spikes.shape[0] > 100
    step = np.ceil(spikes.time.values / sim.dt - 1e-6).astype(int) - 1  # in (t_n, t_n+1]
    counts = np.bincount(step, minlength=n_steps)
    a = np.exp(-sim.dt / 1.0)
    r, smooth = 0.0, np.empty(n_steps)
    for n, k in enumerate(counts):
        r = a * r + (1 - a) * k / (500 * sim.dt)
        smooth[n] = r
    np.testing.assert_allclose(raw[:, 4], smooth, rtol=1e-9, atol=1e-12)


@pytest.fixture(autouse=True)
def _track_bridge(monkeypatch):
    """Remember the last RecordingCurrent set up (runs deep-copy the inset's bridges)."""
    original = RecordingCurrent.setup

    def setup(self, model, params):
        original(self, model, params)
        RecordingCurrent.last = self

    monkeypatch.setattr(RecordingCurrent, "setup", setup)


def test_qif_inset_reproduces_the_mean_field_region(conn):
    """A region of 4000 QIF neurons behaves as the MPR mean field it replaces (rates, FC)."""
    label = conn.labels[4]
    mf = mpr_sim(conn, noise=vb.noise.Additive(nsig=[0.0, 1e-3])).run(400.0, progress=False)
    ins = mpr_sim(conn, {label: Inset(qif_net(n=4000, k=400))},
                  noise=vb.noise.Additive(nsig=[0.0, 1e-3])).run(400.0, progress=False)
    r_mf = mf.tavg.sel(variable="r").values[100:]
    r_in = ins.tavg.sel(variable="r").values[100:]
    # the replaced region's mean rate and the others' within 5 %
    assert abs(r_in[:, 4].mean() - r_mf[:, 4].mean()) < 0.05 * r_mf[:, 4].mean()
    np.testing.assert_allclose(r_in.mean(0), r_mf.mean(0), rtol=0.05)
    # the inset's own population rate (Hz) agrees with the region's r (kHz)
    pop = ins[f"inset_{label}_rate"].sel(population="qif").values[100:] / 1000.0
    assert abs(pop.mean() - r_in[:, 4].mean()) < 0.02 * r_in[:, 4].mean()
    # FC (the same noise draws in both runs; the inset adds its own finite-size noise)
    fc_mf, fc_in = np.corrcoef(r_mf.T), np.corrcoef(r_in.T)
    iu = np.triu_indices(conn.n_regions, 1)
    assert np.corrcoef(fc_mf[iu], fc_in[iu])[0, 1] > 0.7


def test_chunking_does_not_change_a_run_with_an_inset(conn):
    label = conn.labels[2]
    a = mpr_sim(conn, {label: Inset(qif_net())}).run(20.0, progress=False)
    b = mpr_sim(conn, {label: Inset(qif_net())}).run(20.0, progress=False, chunk_steps=37)
    for name in a.keys():
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_sweep_member_equals_its_single_run_with_an_inset(conn, tmp_path):
    label = conn.labels[2]
    res = mpr_sim(conn, {label: Inset(qif_net())}).sweep(
        15.0, coupling__a=[0.0, 0.01], threads=1, progress=False, out=tmp_path / "s.nc")
    one = mpr_sim(conn, {label: Inset(qif_net())}).run(15.0, progress=False)
    np.testing.assert_array_equal(res.tavg.isel(batch=1).values, one.tavg.values)
    np.testing.assert_array_equal(res[f"inset_{label}_rate"].isel(batch=1).values,
                                  one[f"inset_{label}_rate"].values)
    assert not np.array_equal(res.tavg.isel(batch=0).values, one.tavg.values)
    back = vb.Result.load(tmp_path / "s.nc")
    assert f"inset_{label}_spikes_1" in back
    np.testing.assert_array_equal(back[f"inset_{label}_spikes_1"].values,
                                  one[f"inset_{label}_spikes"].values)


def test_inset_with_poisson_input_and_synaptic_output_drives_rww(conn):
    label = conn.labels[3]
    net = Network(dt=0.1, seed=2)
    net.add_population("E", "iaf_psc_delta", 400)
    net.connect("E", "E", rule="fixed_indegree", indegree=40, weight=0.1, delay=1.5)
    net.add_poisson("E", 10_000.0, weight=0.1)  # below threshold on its own
    inset = Inset(net, inputs=[RateToPoisson("E", scale=500.0, weight=0.1)])
    sim = vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.5),
                        dt=0.1, seed=1, insets={label: inset},
                        initial_history=np.full((1, conn.n_regions), 0.2),
                        monitors=[vb.monitors.TemporalAverage(1.0)])
    res = sim.run(600.0, progress=False)
    S = res.tavg.sel(variable="S").values[:, 3]
    rate = res[f"inset_{label}_rate"].sel(population="E").values
    # S follows dS/dt = -S/tau_s + (1 - S) gamma H (gamma 0.641 per kHz, H in kHz): after
    # a few tau_s, at its fixed point for the inset's rate, far from saturation
    H = rate[-200:].mean() / 1000.0
    gamma, tau = 0.641, 100.0
    s_star = gamma * H / (1.0 / tau + gamma * H)
    assert 0.2 < s_star < 0.8
    assert abs(S[-100:].mean() - s_star) < 0.03 * s_star


def test_bridges_check_their_inputs(conn):
    with pytest.raises(ValueError, match="fraction"):
        RateToPoisson("E", scale=1.0, fraction=0.0)
    with pytest.raises(ValueError, match="smoothing"):
        SpikesToRate("E", "r", smoothing="gauss")
    with pytest.raises(ValueError, match="unit"):
        SpikesToRate("E", "r", unit="MHz")
    with pytest.raises(ValueError, match="variable must be one of"):
        SpikesToSynaptic("E").setup(vb.models.Generic2dOscillator(), {}, {"E": 10}, 0.1)
    b = SpikesToSynaptic("E", "V")
    with pytest.raises(ValueError, match="tau_s and gamma"):
        b.setup(vb.models.Generic2dOscillator(), {}, {"E": 10}, 0.1)


def test_bad_insets_give_clear_errors(conn):
    label = conn.labels[2]
    with pytest.raises(ValueError, match="no region 'nowhere'"):
        mpr_sim(conn, {"nowhere": Inset(qif_net())}).run(1.0, progress=False)
    with pytest.raises(TypeError, match="must be a vbrain.cosim.Inset"):
        mpr_sim(conn, {label: qif_net()}).run(1.0, progress=False)
    with pytest.raises(TypeError, match="lacks"):
        Inset(object())
    bad = mpr_sim(conn, {label: Inset(qif_net())})
    bad.coupling = vb.coupling.Difference()
    with pytest.raises(ValueError, match="does not read the target"):
        bad.run(1.0, progress=False)
    with pytest.raises(ValueError, match="must divide"):
        mpr_sim(conn, {label: Inset(qif_net(dt=0.03))}).run(1.0, progress=False)
    with pytest.raises(ValueError, match="Checkpoints do not cover insets"):
        mpr_sim(conn, {label: Inset(qif_net())}).run(1.0, out="x.nc", checkpoint_every=1.0)
    with pytest.raises(ValueError, match="No default bridges"):
        vb.Simulation(conn, vb.models.Generic2dOscillator(), insets={label: Inset(qif_net())},
                      dt=0.05).run(1.0, progress=False)
    fast = vb.Connectome(conn.weights, np.where(conn.weights > 0, 0.01, conn.lengths),
                         list(conn.labels), conn.centres)
    with pytest.raises(ValueError, match="delay under one step"):
        mpr_sim(fast, {label: Inset(qif_net())}).run(1.0, progress=False)


def test_stimulus_into_inset_neurons_drives_exactly_the_chosen_fraction(conn):
    """A current pulse into half of an LIF inset: those fire at the f-I rate, the rest not."""
    label = conn.labels[5]
    net = Network(dt=0.1, seed=4)
    net.add_population("E", "iaf_psc_delta", 200)  # NEST defaults: tau_m 10 ms, C_m 250 pF
    inset = Inset(net, inputs=[RateToCurrent("E", gains=[0.0])],
                  outputs=[SpikesToRate("E", "V", scale=0.01)])
    pulse = vb.stimulus.Pulse(time=50.0, width=200.0, amplitude=500.0)  # pA
    stim = vb.stimulus.Stimulus(pulse, vb.stimulus.InsetNeurons(label, "E", fraction=0.5))
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), dt=0.1, seed=1,
                        insets={label: inset}, stimuli=[stim],
                        monitors=[vb.monitors.TemporalAverage(1.0)])
    res = sim.run(300.0, progress=False)
    spikes = res[f"inset_{label}_spikes"]
    t, ids = spikes.time.values, spikes.sel(field="neuron").values
    assert t.min() > 50.0 and t.max() < 250.0 + 0.1
    fired = np.unique(ids)
    assert len(fired) == 100  # round(0.5 * 200)
    # R I = 40 MOhm * 500 pA = 20 mV over a 15 mV threshold gap: the first spike after
    # 10 ln 4 = 13.9 ms, then one every 2 + 13.9 ms (refractory 2 ms): 12 in 200 ms
    counts = np.bincount(ids, minlength=200)[fired]
    assert np.all(counts == 12), np.unique(counts)
    first = np.array([t[ids == i].min() for i in fired])
    np.testing.assert_allclose(first, 50.0 + 10.0 * np.log(4.0), atol=0.1 + 1e-9)
    with pytest.raises(ValueError, match="not an inset"):
        bad = vb.stimulus.Stimulus(pulse, vb.stimulus.InsetNeurons(conn.labels[6], "E"))
        vb.Simulation(conn, vb.models.Generic2dOscillator(), dt=0.1,
                      insets={label: Inset(Network(dt=0.1), inputs=inset.inputs,
                                           outputs=inset.outputs)},
                      stimuli=[bad]).run(1.0, progress=False)


def test_dbs_like_current_into_a_compartmental_inset(conn):
    """InsetNeurons into a CellNetwork: a somatic current pulse makes exactly the chosen cells fire."""
    from vbrain.spiking import Cell, CellNetwork

    label = conn.labels[5]
    net = CellNetwork(dt=0.025, seed=3)
    net.add_population("pyr", Cell.ball_and_stick(dend_nseg=3), 20, positions=np.zeros((20, 3)))
    inset = Inset(net, inputs=[RateToCurrent("pyr", gains=[0.0])],
                  outputs=[SpikesToRate("pyr", "V", scale=0.01)])
    pulse = vb.stimulus.PulseTrain(frequency=100.0, width=1.0, amplitude=1.0, onset=20.0,
                                   stop=60.0)  # nA, 1 ms pulses every 10 ms
    stim = vb.stimulus.Stimulus(pulse, vb.stimulus.InsetNeurons(label, "pyr", fraction=0.25,
                                                               compartment="soma(0.5)"))
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), dt=0.1, seed=1,
                        insets={label: inset}, stimuli=[stim])
    res = sim.run(80.0, progress=False)
    spikes = res[f"inset_{label}_spikes"]
    t, ids = spikes.time.values, spikes.sel(field="neuron").values
    assert len(np.unique(ids)) == 5  # a quarter of 20 cells
    assert np.all(np.bincount(ids, minlength=20)[np.unique(ids)] == 4)  # one spike per pulse
    assert t.min() > 20.0 and t.max() < 60.0 + 5.0
