"""Co-simulation cost: a 76-region whole-brain run with one 10,000-neuron inset.

Target (issue 9): the whole-brain run with the inset costs at most the inset
alone plus 20 %.

- inset alone: Brunel's balanced network (8000 E + 2000 I iaf_psc_delta,
  ``vbrain.spiking.brunel.brunel2000``) advanced 1 s at dt 0.1 ms, with one
  extra time-varying Poisson input declared (as the inset gets one);
- whole brain: the same network as the inset of region rPCI (its shortest
  delay is 7.5 ms: exchanges every 75 steps) of tvb-data's 76-region
  connectome, the other 75 regions ReducedWongWang (Linear coupling 0.1,
  noise), the network input entering as extra Poisson spikes
  (``RateToPoisson``), the inset's rate setting S (``SpikesToSynaptic``),
  TemporalAverage and BOLD monitors.

Both are timed in CPU seconds (process_time: the machine may be shared),
compiling excluded (a warm-up run compiles first), repeated and interleaved;
the minimum of each is compared. Building the inset (drawing its 10^7
synapses) happens inside the whole-brain run; it is timed on its own (the
same network) and subtracted, and reported apart.

Usage::

    python benchmarks/bench_cosim.py [--duration 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import vbrain as vb
from vbrain.bridges import RateToPoisson
from vbrain.cosim import Inset
from vbrain.spiking.brunel import brunel2000

REGION = "rPCI"


def inset_network(seed: int = 1):
    """Brunel's 10,000-neuron network with the inset's extra Poisson input declared."""
    net = brunel2000(8000, seed=seed)
    return net


def run_alone(duration: float, dt: float) -> tuple[float, float]:
    """CPU seconds to build the inset, and to advance it ``duration`` ms."""
    net = inset_network()
    net.add_input("network", "E", "poisson", weight=0.1)
    n = int(round(duration / dt))
    drive = {"network": np.full(n, 5.0)}  # Hz per neuron, what the network sends roughly
    c0 = time.process_time()
    net.build()
    build = time.process_time() - c0
    c0 = time.process_time()
    net.advance(n, drive)
    return build, time.process_time() - c0


def whole_brain(duration: float, dt: float, conn) -> tuple[float, vb.Result]:
    inset = Inset(inset_network(), inputs=[RateToPoisson("E", scale=50.0, weight=0.1)])
    sim = vb.Simulation(conn, vb.models.ReducedWongWang(), vb.coupling.Linear(a=0.1), dt=dt,
                        noise=vb.noise.Additive(nsig=1e-4), seed=1, insets={REGION: inset},
                        monitors=[vb.monitors.TemporalAverage(1.0), vb.monitors.Bold(tr=500.0)])
    c0 = time.process_time()
    res = sim.run(duration, progress=False)
    return time.process_time() - c0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=1000.0, help="simulated ms")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dt = 0.1
    conn = vb.Connectome.load("atlases:default")
    whole_brain(20.0, dt, conn)  # compile the network kernel with insets
    run_alone(20.0, dt)
    alone, brain, builds = [], [], []
    res = None
    for _ in range(args.repeat):  # interleaved
        build, t = run_alone(args.duration, dt)
        alone.append(t)
        builds.append(build)
        t, res = whole_brain(args.duration, dt, conn)
        brain.append(t - build)
    a, b = min(alone), min(brain)
    rate = res[f"inset_{REGION}_rate"].sel(population="E").values
    print(f"build (connect 10,000 neurons): {min(builds):.2f} s CPU (excluded from both)")
    print(f"inset alone:           {a:.2f} s CPU for {args.duration:g} ms "
          f"(runs: {', '.join(f'{x:.2f}' for x in alone)})")
    print(f"76 regions + inset:    {b:.2f} s CPU (runs: {', '.join(f'{x:.2f}' for x in brain)})")
    print(f"inset E rate in the brain: {rate.mean():.1f} Hz")
    print(f"overhead of the whole brain: {100 * (b / a - 1):+.1f} % (target <= +20 %)")


if __name__ == "__main__":
    main()
