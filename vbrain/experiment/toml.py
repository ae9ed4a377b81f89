"""A small TOML writer for experiment dicts (Python's tomllib only reads)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_toml"]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"Cannot write {type(v).__name__} {v!r} as TOML.")


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def to_toml(config: Mapping[str, Any]) -> str:
    """Write an experiment dict as TOML (tables, arrays of tables, inline values)."""
    lines: list[str] = []
    scalars = {k: v for k, v in config.items() if not isinstance(v, (Mapping, list)) or
               (isinstance(v, list) and not (v and all(isinstance(x, Mapping) for x in v)))}
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")

    def table(name: str, body: Mapping, header: str) -> None:
        lines.append("")
        lines.append(header)
        subtables = {}
        for k, v in body.items():
            if isinstance(v, Mapping) and v and all(not isinstance(x, Mapping)
                                                    for x in v.values()):
                subtables[k] = v
            else:
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in subtables.items():
            lines.append("")
            lines.append(f"[{name}.{_toml_key(k)}]")
            for kk, vv in v.items():
                lines.append(f"{_toml_key(kk)} = {_toml_value(vv)}")

    for k, v in config.items():
        if k in scalars:
            continue
        if isinstance(v, Mapping):
            table(_toml_key(k), v, f"[{_toml_key(k)}]")
        else:
            for item in v:
                table(_toml_key(k), item, f"[[{_toml_key(k)}]]")
    return "\n".join(lines) + "\n"
