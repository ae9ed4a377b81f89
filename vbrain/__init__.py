"""vbrain: personalized virtual brains.

Connectome-coupled neural-mass networks with conduction delays, integrated by
a compiled (numba) loop. Units: ms, mm, mm/ms, Hz.
"""

__version__ = "0.1.0"

from . import coupling, models, monitors, noise  # noqa: E402
from .connectome import Connectome  # noqa: E402
from .result import Result  # noqa: E402
from .simulation import Simulation, SimulationDiverged, SimulationInterrupted  # noqa: E402

__all__ = ["Simulation", "SimulationDiverged", "SimulationInterrupted", "Result", "Connectome",
           "coupling", "models", "monitors", "noise"]

#: submodules imported on first use, ``vb.stimulus`` etc. (they pull in heavier dependencies)
_LAZY = ("stimulus", "bridges", "cosim", "spiking")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'vbrain' has no attribute {name!r}")
