"""Values given as constants, arrays or distributions (weights, delays, initial states).

A *value spec* is one of

- a number: the same value everywhere;
- an array of the expected shape;
- a distribution dict: ``{"distribution": "normal", "mean": m, "std": s}``,
  ``{"distribution": "uniform", "low": a, "high": b}``,
  ``{"distribution": "lognormal", "mean": m, "std": s}`` (``m``, ``s`` of the
  underlying normal, as numpy) or ``{"distribution": "exponential", "scale": b}``;
  optional ``"min"``/``"max"`` keys clip the drawn values (as NEST's
  ``redraw``-free clipping).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._check import check_array, check_option

DISTRIBUTIONS = {
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "lognormal": ("mean", "std"),
    "exponential": ("scale",),
}


def is_distribution(spec: Any) -> bool:
    """Whether ``spec`` is a distribution dict."""
    return isinstance(spec, dict)


def draw(name: str, spec: Any, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Resolve a value spec to a float64 array of ``shape``.

    Parameters
    ----------
    name : str
        Parameter name, for error messages.
    spec : float, array-like or dict
        The value spec (see the module docstring).
    shape : tuple of int
        Shape of the result; an array spec must have this shape (or be a scalar).
    rng : numpy.random.Generator
        Source of the random draws.

    Returns
    -------
    numpy.ndarray
        float64 array of ``shape``.
    """
    if is_distribution(spec):
        spec = dict(spec)
        kind = check_option(f"{name}['distribution']", spec.pop("distribution", None),
                            DISTRIBUTIONS)
        lo, hi = spec.pop("min", None), spec.pop("max", None)
        needed = DISTRIBUTIONS[kind]
        missing = [k for k in needed if k not in spec]
        extra = [k for k in spec if k not in needed]
        if missing or extra:
            raise ValueError(
                f"{name}: a {kind!r} distribution takes keys {list(needed)} (and optional "
                f"'min'/'max'), but got {sorted(spec)}."
            )
        args = [float(spec[k]) for k in needed]
        if kind in ("normal", "lognormal") and args[1] < 0:
            raise ValueError(f"{name}: 'std' must be >= 0, but got {args[1]}.")
        if kind == "uniform" and args[1] < args[0]:
            raise ValueError(f"{name}: 'high' must be >= 'low', but got {args}.")
        if kind == "exponential" and args[0] <= 0:
            raise ValueError(f"{name}: 'scale' must be > 0, but got {args[0]}.")
        out = getattr(rng, kind)(*args, size=shape).astype(np.float64)
        if lo is not None or hi is not None:
            out = np.clip(out, lo, hi)
        return out
    arr = check_array(name, spec)
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{name} must be a scalar, a distribution dict or an array of shape "
            f"{tuple(shape)}, but got an array of shape {arr.shape}."
        )
    return arr.copy()
