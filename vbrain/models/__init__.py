"""Neural-mass region models; one module per model, all registered by class name."""

from .base import REGISTRY, Model, Parameter, StateVariable
from .coombes_byrne import CoombesByrne, CoombesByrne2D
from .dumont_gutkin import DumontGutkin
from .epileptor import Epileptor, Epileptor2D, EpileptorRestingState
from .epileptor_codim3 import EpileptorCodim3, EpileptorCodim3SlowMod
from .fic import tune_fic
from .fitzhugh_nagumo import FitzHughNagumo
from .gast_schmidt_knosche import GastSchmidtKnosche_SD, GastSchmidtKnosche_SF
from .generic_2d_oscillator import Generic2dOscillator
from .hopfield import Hopfield, HopfieldDynamic
from .jansen_rit import JansenRit, ZetterbergJansen
from .k_ion_exchange import KIonEx
from .kuramoto import Kuramoto
from .larter_breakspear import LarterBreakspear
from .linear import Linear
from .montbrio import MontbrioPazoRoxin
from .reduced_wong_wang import ReducedWongWang
from .stefanescu_jirsa import ReducedSetFitzHughNagumo, ReducedSetHindmarshRose
from .stuart_landau import SupHopf
from .wilson_cowan import WilsonCowan
from .wong_wang_exc_inh import DecoBalancedExcInh, ReducedWongWangExcInh
from .zerlaut import ZerlautAdaptationFirstOrder, ZerlautAdaptationSecondOrder

__all__ = [
    "REGISTRY",
    "Model",
    "Parameter",
    "StateVariable",
    "Generic2dOscillator",
    "FitzHughNagumo",
    "Linear",
    "ReducedWongWang",
    "ReducedWongWangExcInh",
    "DecoBalancedExcInh",
    "JansenRit",
    "ZetterbergJansen",
    "WilsonCowan",
    "Kuramoto",
    "SupHopf",
    "MontbrioPazoRoxin",
    "Epileptor",
    "Epileptor2D",
    "EpileptorRestingState",
    "EpileptorCodim3",
    "EpileptorCodim3SlowMod",
    "LarterBreakspear",
    "CoombesByrne",
    "CoombesByrne2D",
    "GastSchmidtKnosche_SD",
    "GastSchmidtKnosche_SF",
    "DumontGutkin",
    "Hopfield",
    "HopfieldDynamic",
    "KIonEx",
    "ZerlautAdaptationFirstOrder",
    "ZerlautAdaptationSecondOrder",
    "ReducedSetFitzHughNagumo",
    "ReducedSetHindmarshRose",
    "tune_fic",
]


def get_model(name: str) -> type[Model]:
    """Look a model class up by name (case-insensitive)."""
    from .._check import suggest

    by_lower = {k.lower(): v for k, v in REGISTRY.items()}
    try:
        return by_lower[name.lower()]
    except KeyError:
        raise ValueError(
            f"Unknown model {name!r}.{suggest(name, REGISTRY)} "
            f"Available: {sorted(REGISTRY)}."
        ) from None
