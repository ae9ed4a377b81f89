"""The Brunel (2000) sparse balanced network, the reference benchmark of spiking simulators.

``brunel2000()`` builds the network of NEST's ``brunel_delta_nest`` example in
a :class:`~vbrain.spiking.Network`: ``n_e`` excitatory and ``n_e / 4``
inhibitory ``iaf_psc_delta`` neurons (tau_m 20 ms, C_m 250 pF, V_th 20 mV,
V_reset 10 mV, E_L 0, t_ref 2 ms, V_m starting at 0), each receiving
``C_E = epsilon * n_e`` excitatory and ``C_I = epsilon * n_i`` inhibitory
synapses (fixed in-degree) of weights ``J`` and ``-g J`` (mV), delay 1.5 ms,
plus ``C_E`` external Poisson synapses of rate ``nu_ext = eta * nu_thr``
aggregated into one Poisson generator of rate ``C_E * nu_ext`` per neuron, where
``nu_thr = V_th / (J C_E tau_m)``.

The scripts ``benchmarks/peers/brunel_nest.py`` and ``brunel_brian2.py`` build
the same network in NEST and Brian2.

References
----------
Brunel N (2000). Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208.
"""

from __future__ import annotations

from .network import Network

#: neuron parameters of the benchmark (NEST iaf_psc_delta names)
NEURON = {"tau_m": 20.0, "C_m": 250.0, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0,
          "t_ref": 2.0, "V_m": 0.0}


def brunel2000(
    n_e: int = 8000,
    *,
    g: float = 5.0,
    eta: float = 2.0,
    J: float = 0.1,
    epsilon: float = 0.1,
    delay: float = 1.5,
    dt: float = 0.1,
    seed: int | None = 1,
    record: bool = True,
) -> Network:
    """Build Brunel's network (populations ``"E"`` and ``"I"``); see the module docstring.

    Parameters
    ----------
    n_e : int, default 8000
        Number of excitatory neurons; ``n_e // 4`` inhibitory ones.
    g : float, default 5.0
        Relative strength of inhibition.
    eta : float, default 2.0
        External rate relative to the threshold rate, ``nu_ext / nu_thr``.
    J : float, default 0.1
        Excitatory weight (mV, the jump of V_m).
    epsilon : float, default 0.1
        Connection probability (sets the in-degrees).
    delay : float, default 1.5
        Synaptic delay (ms), also of the external input's effect.
    dt : float, default 0.1
        Step (ms).
    seed : int or None, default 1
        Network seed.
    record : bool, default True
        Record spikes of both populations.
    """
    n_i = n_e // 4
    c_e, c_i = int(epsilon * n_e), int(epsilon * n_i)
    nu_thr = NEURON["V_th"] / (J * c_e * NEURON["tau_m"])  # kHz
    p_rate = 1000.0 * eta * nu_thr * c_e  # Hz
    net = Network(dt=dt, seed=seed)
    net.add_population("E", "iaf_psc_delta", n_e, params=NEURON, record=record)
    net.add_population("I", "iaf_psc_delta", n_i, params=NEURON, record=record)
    for tgt in ("E", "I"):
        net.connect("E", tgt, rule="fixed_indegree", indegree=c_e, weight=J, delay=delay)
        net.connect("I", tgt, rule="fixed_indegree", indegree=c_i, weight=-g * J, delay=delay)
        net.add_poisson(tgt, p_rate, weight=J)
    return net
