"""Input validation helpers: one helper per kind of check.

Every error names the parameter, what was expected and what was found, so a
user can fix the call without reading the source.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import numpy as np


def suggest(name: str, valid: Iterable[str]) -> str:
    """Return ' Did you mean X?' when ``name`` is close to a valid name, else ''."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``allowed``; return it."""
    allowed = list(allowed)
    if value not in allowed:
        hint = suggest(value, allowed) if isinstance(value, str) else ""
        raise ValueError(
            f"{name} must be one of {allowed}, but got {value!r} instead.{hint}"
        )
    return value


def validate_type(name: str, value: Any, types: type | tuple[type, ...]) -> Any:
    """Check ``isinstance(value, types)``; return it."""
    if not isinstance(value, types):
        names = (
            " or ".join(t.__name__ for t in types)
            if isinstance(types, tuple)
            else types.__name__
        )
        raise TypeError(f"{name} must be {names}, but got {type(value).__name__}.")
    return value


def check_range(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Check that a scalar lies within [low, high]; return it as float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, but got {value!r}.") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, but got {v}.")
    if low is not None and (v < low or (v == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, but got {v}.")
    if high is not None and (v > high or (v == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, but got {v}.")
    return v


def check_array(
    name: str,
    value: Any,
    *,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    nonnegative: bool = False,
    dtype: type = np.float64,
) -> np.ndarray:
    """Convert to an array of ``dtype`` and check shape, finiteness and sign.

    ``shape`` entries of None accept any length on that axis.
    """
    if np.iscomplexobj(value) and np.dtype(dtype).kind != "c":
        raise TypeError(f"{name} must be real, but it is complex (dtype "
                        f"{np.asarray(value).dtype}); pass real values.")
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be numeric array-like, but it could not be converted "
            f"to {np.dtype(dtype).name}: {err}"
        ) from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == a for s, a in zip(shape, arr.shape)
        )
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, but got {arr.shape}.")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, but has {np.count_nonzero(~np.isfinite(arr))} "
            f"NaN/Inf value(s), the first at index {tuple(int(i) for i in bad)}."
        )
    if nonnegative and np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"{name} must be non-negative, but has {np.count_nonzero(arr < 0)} "
            f"negative value(s), the first {arr[tuple(bad)]} at index "
            f"{tuple(int(i) for i in bad)}."
        )
    return arr


def check_random_state(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a numpy Generator from None, an int or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, but got {seed!r}.")


def byte_size(n_bytes: float) -> str:
    """Human-readable byte count, e.g. '512.0 MiB'."""
    if n_bytes < 1024:
        return f"{n_bytes:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n_bytes /= 1024
        if n_bytes < 1024 or unit == "GiB":
            break
    return f"{n_bytes:.1f} {unit}"
