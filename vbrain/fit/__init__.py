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
from .personalize import FitResult, fit, load_model_config, load_simulation, load_targets
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

__all__ = [
    "FIC",
    "AsLoss",
    "Combined",
    "FCCorrelation",
    "FCDKSDistance",
    "FCDistance",
    "FitResult",
    "Objective",
    "SearchResult",
    "SpectralDistance",
    "as_series",
    "best_params",
    "cma_search",
    "de_search",
    "evaluate",
    "fic_inhibition",
    "fit",
    "functional_connectivity",
    "grid_search",
    "ks_statistic",
    "load_model_config",
    "load_simulation",
    "load_targets",
    "upper_triangle",
]

