"""Checkpoints of a running simulation, for bit-identical resumption.

A checkpoint holds everything the loop carries from one chunk to the next:
the step count, the current state, the delay history buffer and its cursor,
the noise's keys (drawn at random for a seed of None), every monitor's
running state and how many samples each monitor had written to the output
file. It is one ``.npz``
file written atomically (temporary file + rename), tagged with a hash of the
simulation's configuration so that a resume with other settings is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def save(path: str | os.PathLike, *, config: str, step: int, cur: int, x: np.ndarray,
         H: np.ndarray, noise_keys: np.ndarray, noise_eta: np.ndarray,
         monitor_states: list[dict[str, np.ndarray]], sizes: dict[str, int]) -> Path:
    """Write a checkpoint atomically and return its path."""
    path = Path(path)
    arrays: dict[str, Any] = {
        "config": np.array(config), "step": np.array(step), "cur": np.array(cur),
        "x": x, "H": H, "noise_keys": np.asarray(noise_keys, dtype=np.uint64),
        "noise_eta": noise_eta,
        "sizes": np.array(json.dumps(sizes)), "n_monitors": np.array(len(monitor_states)),
    }
    for i, state in enumerate(monitor_states):
        for key, value in state.items():
            arrays[f"monitor{i}__{key}"] = np.asarray(value)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike, config: str) -> dict[str, Any]:
    """Read a checkpoint; refuse it when it was made with another configuration."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable vbrain checkpoint: {err}") from None
    if str(arrays["config"]) != config:
        raise ValueError(
            f"{path} was written by a simulation with other settings (model, parameters, "
            "seed, monitors, duration...); resume with the same Simulation and run arguments, "
            "or delete the checkpoint to start over."
        )
    monitors = []
    for i in range(int(arrays["n_monitors"])):
        prefix = f"monitor{i}__"
        monitors.append({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
    return {
        "step": int(arrays["step"]), "cur": int(arrays["cur"]), "x": arrays["x"],
        "H": arrays["H"], "noise_keys": arrays["noise_keys"], "noise_eta": arrays.get("noise_eta", np.zeros(0)),
        "sizes": json.loads(str(arrays["sizes"])), "monitor_states": monitors,
    }
