"""Spiking insets: point-neuron and compartmental networks that can replace a region.

The point-neuron engine (:class:`Network`) runs populations of NEST-style neuron
models connected by delayed projections in one compiled step loop; the
compartmental engine (:class:`CellNetwork`) runs multi-compartment cells. Both
implement the inset engine contract used by the co-simulation (``dt``, ``time``,
``populations``, ``add_input``, ``advance``, ``spikes``).
"""

from .network import Network
from .neurons import (
    MODELS,
    AeifCondExp,
    HHPscAlpha,
    IafCondAlpha,
    IafCondExp,
    IafPscAlpha,
    IafPscDelta,
    IafPscExp,
    Izhikevich,
    NeuronModel,
    QIF,
)
from .signals import isi_cv, population_rate

__all__ = [
    "MODELS",
    "QIF",
    "AeifCondExp",
    "HHPscAlpha",
    "IafCondAlpha",
    "IafCondExp",
    "IafPscAlpha",
    "IafPscDelta",
    "IafPscExp",
    "Izhikevich",
    "Network",
    "NeuronModel",
    "isi_cv",
    "population_rate",
]

# compartmental engine (Hines solver, NEURON-like hh/pas, SWC, line-source LFP)
from .compartmental import Cell, CellNetwork, Synapse
from .morphology import Morphology, Section, SWCError, read_swc, write_swc

__all__ += ["Cell", "CellNetwork", "Morphology", "SWCError", "Section", "Synapse", "read_swc",
            "write_swc"]
