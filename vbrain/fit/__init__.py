"""Fitting virtual brains to a subject: objectives, searches, personalized models.

- :mod:`~vbrain.fit.objectives`: goodness of fit of every batch member against
  empirical targets (FC correlation and distance, FCD KS distance, spectral
  distance, weighted combinations);
- :mod:`~vbrain.fit.search`: grid search, differential evolution and CMA-ES,
  each candidate set run as batched sweeps (optionally on Dask through
  :mod:`vbrain.parallel`), with per-region parameters and FIC re-tuning;
- :mod:`~vbrain.fit.personalize`: the whole fit from target files to a
  re-runnable model and a report (``vbrain fit``).
"""

from .objectives import (
    AsLoss,
    Combined,
    FCCorrelation,
    FCDistance,
    FCDKSDistance,
    Objective,
    SpectralDistance,
    as_series,
    functional_connectivity,
    ks_statistic,
    upper_triangle,
)
from .search import (
    FIC,
    SearchResult,
    best_params,
    cma_search,
    de_search,
    evaluate,
    fic_inhibition,
    grid_search,
)

__all__ = ["Objective", "AsLoss", "Combined", "FCCorrelation", "FCDistance", "FCDKSDistance",
           "SpectralDistance", "as_series", "functional_connectivity", "ks_statistic",
           "upper_triangle", "FIC", "SearchResult", "best_params", "cma_search", "de_search",
           "evaluate", "fic_inhibition", "grid_search", "fit", "FitResult", "load_model_config",
           "load_simulation"]


def __getattr__(name):
    if name in ("fit", "FitResult", "load_model_config", "load_simulation"):
        from . import personalize

        return getattr(personalize, name)
    raise AttributeError(f"module 'vbrain.fit' has no attribute {name!r}")
