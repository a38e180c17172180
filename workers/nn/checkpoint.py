"""A training run's complete state between two epochs, as bytes any worker can read back.

The bytes are an `.npz` archive: the buffers as arrays, everything else (hyperparameters, RNG states,
counters) as one JSON text. They are read with `allow_pickle=False`, so a checkpoint fetched from the
database is data only: reading one can never run code.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig

FORMAT = 1
"""Bumped when the layout below changes; a checkpoint of another format is refused, not misread."""

_ARRAYS = ("params", "running", "first_moment", "second_moment", "best_params", "best_running", "history")


class CheckpointError(ValueError):
    """Bytes that are not a checkpoint of this format, or one made for another training run."""


@dataclass(frozen=True)
class TrainingState:
    """What the training loop carries from epoch to epoch, after `epochs_done` epochs.

    `params`, `running` (batch-norm running statistics), the optimizer's moments (P,) and `optimizer_steps`
    (Adam's t); `best_*` are the weights of the best epoch (restored by early stopping); `history` is the
    learning curve so far, (epochs_done, 5) as in workers/nn/curve.py; `rng_states` are the bit-generator
    states of the shuffling and dropout streams; `config` the hyperparameters as JSON, to refuse a
    mismatched restore.
    """

    config: Mapping[str, Any]
    epochs_done: int
    best_epoch: int
    optimizer_steps: int
    rng_states: Mapping[str, Any]
    params: np.ndarray
    running: np.ndarray
    first_moment: np.ndarray
    second_moment: np.ndarray
    best_params: np.ndarray
    best_running: np.ndarray
    history: np.ndarray

    def to_bytes(self) -> bytes:
        """The state as an uncompressed `.npz` (weights barely compress, and saving should be cheap)."""
        facts = {
            "format": FORMAT,
            "config": self.config,
            "epochs_done": self.epochs_done,
            "best_epoch": self.best_epoch,
            "optimizer_steps": self.optimizer_steps,
            "rng_states": self.rng_states,
        }
        buffer = io.BytesIO()
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(buffer, facts=np.array(json.dumps(facts)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingState:
        """Read back `to_bytes`; raises CheckpointError for anything else (no pickle is ever loaded)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                facts = json.loads(str(archive["facts"]))
                arrays = {name: archive[name] for name in _ARRAYS}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise CheckpointError(f"not a training checkpoint: {error}") from error
        found = facts.get("format") if isinstance(facts, dict) else None
        if found != FORMAT:
            raise CheckpointError(f"checkpoint format {found!r}, this trainer reads {FORMAT}")
        try:
            return cls(
                config=dict(facts["config"]),
                epochs_done=int(facts["epochs_done"]),
                best_epoch=int(facts["best_epoch"]),
                optimizer_steps=int(facts["optimizer_steps"]),
                rng_states=dict(facts["rng_states"]),
                **arrays,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"a checkpoint's facts are incomplete: {error}") from error


def config_json(config: TrainConfig) -> dict[str, Any]:
    """The hyperparameters as JSON would store them (tuples become lists), to compare with a checkpoint's."""
    loaded: dict[str, Any] = json.loads(json.dumps(asdict(config)))
    return loaded


def copy_exactly(target: np.ndarray, saved: np.ndarray) -> None:
    """Copy a saved buffer into a live one; a shape or dtype change would silently alter the results."""
    if saved.shape != target.shape or saved.dtype != target.dtype:
        raise ValueError(f"buffer {saved.dtype}{saved.shape} saved, {target.dtype}{target.shape} expected")
    np.copyto(target, saved)
