"""YAHPO Gym's LCBench surrogate, evaluated with onnxruntime alone (no yahpo_gym, so numpy 2 is fine).

How yahpo_gym 1.0.2 builds the model input (`BenchmarkSet._config_to_xs` and `benchmarks/lcbench.py`):
two inputs, `x_cat` int32 of shape (n, 1) holding the task id's integer code from `encoding.json`
(`encoding["OpenML_task_id"][task]`, "#na#" is 0), and `x_cont` float32 of shape (n, 8) holding the
raw values, no log or scaling (the network does its own), in the order of `cont_names`: epoch,
batch_size, learning_rate, momentum, weight_decay, num_layers, max_units, max_dropout. The output has
shape (n, 6), columns in the order of `y_names`: time, val_accuracy, val_cross_entropy,
val_balanced_accuracy, test_cross_entropy, test_balanced_accuracy; yahpo_gym returns them as they are
(no rescaling). We evaluate at full fidelity, epoch = 52.

Cross-checked against yahpo-gym 1.0.2 (numpy 1.26, onnxruntime, ConfigSpace 0.6.1, its own venv) with
`bench/yahpo_crosscheck.py`: 20 random configurations on each of tasks 3945 and 189906 agree to
max |difference| = 0 (the same float32 network on the same input; see that script's docstring).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "yahpo"
"""The folder holding `lcbench/` (the shared copy of slds-lmu/yahpo_data); `YAHPO_DATA` overrides it."""
FULL_FIDELITY_EPOCH = 52
CONTINUOUS_INPUTS = (
    "epoch",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)
OUTPUTS = (
    "time",
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
)
YAHPO_SO_TASKS = ("167168", "189873", "189906")
"""The LCBench instances of YAHPO-SO, the single-objective suite of the YAHPO Gym paper (v1.0)."""
DEFAULT_TASKS = (*YAHPO_SO_TASKS, "3945", "7593", "34539")

LCBENCH_SPACE: dict[str, Any] = {
    "batch_size": {"type": "int", "low": 16, "high": 512, "scale": "log"},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "scale": "log"},
    "max_dropout": {"type": "float", "low": 0.0, "high": 1.0},
    "max_units": {"type": "int", "low": 64, "high": 1024, "scale": "log"},
    "momentum": {"type": "float", "low": 0.1, "high": 0.99},
    "num_layers": {"type": "int", "low": 1, "high": 5},
    "weight_decay": {"type": "float", "low": 1e-5, "high": 0.1},
}


def data_dir() -> Path:
    return Path(os.environ.get("YAHPO_DATA", DEFAULT_DATA))


@cache
def _session(model_path: str) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])


@cache
def _task_codes(encoding_path: str) -> dict[str, int]:
    return dict(json.loads(Path(encoding_path).read_text())["OpenML_task_id"])


class LCBenchSurrogate:
    """Predicted final validation accuracy (percent) of one LCBench task; deterministic, ~0.1 ms a call."""

    def __init__(self, task: str, folder: Path | None = None) -> None:
        scenario = (folder or data_dir()) / "lcbench"
        codes = _task_codes(str(scenario / "encoding.json"))
        if task not in codes or task == "#na#":
            raise ValueError(f"unknown LCBench task {task!r}; known: {', '.join(sorted(codes)[1:])}")
        self.task = task
        self._code = codes[task]
        self._session = _session(str(scenario / "model.onnx"))

    def predict(self, configs: Sequence[Mapping[str, Any]], epoch: int = FULL_FIDELITY_EPOCH) -> np.ndarray:
        """Every output for each configuration: shape (len(configs), 6), columns as in `OUTPUTS`."""
        x_cont = np.array(
            [
                [epoch if name == "epoch" else config[name] for name in CONTINUOUS_INPUTS]
                for config in configs
            ],
            dtype=np.float32,
        ).reshape(len(configs), len(CONTINUOUS_INPUTS))
        x_cat = np.full((len(configs), 1), self._code, dtype=np.int32)
        (output,) = self._session.run(["output"], {"x_cat": x_cat, "x_cont": x_cont})
        return np.asarray(output, dtype=np.float64)

    def val_accuracy(self, config: Mapping[str, Any]) -> float:
        return float(self.predict([config])[0, OUTPUTS.index("val_accuracy")])


def available(folder: Path | None = None) -> bool:
    scenario = (folder or data_dir()) / "lcbench"
    return (scenario / "model.onnx").is_file() and (scenario / "encoding.json").is_file()
