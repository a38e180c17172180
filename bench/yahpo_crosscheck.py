"""Check bench/lcbench.py against yahpo-gym 1.0.2 itself: same configurations, same predictions.

yahpo-gym pins numpy < 2, so it runs in its own virtualenv, made once:

    python3 -m venv /tmp/yahpo-venv
    /tmp/yahpo-venv/bin/pip install "numpy<2" yahpo-gym==1.0.2 onnxruntime ConfigSpace==0.6.1
    .venv/bin/python bench/yahpo_crosscheck.py [--yahpo-python /tmp/yahpo-venv/bin/python]

Draws `--configs` random configurations of our LCBench space (through Caviar's own SearchSpace, so
they have the types our strategies propose) for each task, asks both evaluators for val_accuracy at
epoch 52, and fails if any pair differs by more than `--tolerance`. Not run by `make bench`.

Result on this machine (numpy 1.26.4 / onnxruntime 1.32.0 there, numpy 2 here): 20 configurations
on each of tasks 3945 and 189906, max |ours - yahpo_gym| = 0.0 (identical float32 inputs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.space import SearchSpace  # noqa: E402
from bench.lcbench import FULL_FIDELITY_EPOCH, LCBENCH_SPACE, LCBenchSurrogate, data_dir  # noqa: E402

YAHPO_SIDE = """
import json, sys
from yahpo_gym.benchmark_set import BenchmarkSet
jobs = json.load(open(sys.argv[1]))
values = {}
for task, configs in jobs.items():
    bench = BenchmarkSet("lcbench", instance=task, multithread=False)
    values[task] = [
        float(bench.objective_function({**c, "OpenML_task_id": task, "epoch": EPOCH})[0]["val_accuracy"])
        for c in configs
    ]
json.dump(values, open(sys.argv[2], "w"))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yahpo-python", default="/tmp/yahpo-venv/bin/python")
    parser.add_argument("--tasks", default="3945,189906")
    parser.add_argument("--configs", type=int, default=20)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)
    space = SearchSpace.from_spec(LCBENCH_SPACE)
    rng = np.random.default_rng(20220701)
    jobs = {
        task: [space.from_unit(rng.random(len(space.names))) for _ in range(args.configs)]
        for task in args.tasks.split(",")
    }
    with tempfile.TemporaryDirectory() as scratch:
        settings = Path(scratch) / "yahpo.yaml"
        settings.write_text(f"data_path: {data_dir()}\n")
        configs = Path(scratch) / "configs.json"
        configs.write_text(json.dumps(jobs))
        answers = Path(scratch) / "answers.json"  # not stdout: yahpo_gym prints citations there
        subprocess.run(
            [
                args.yahpo_python,
                "-c",
                YAHPO_SIDE.replace("EPOCH", str(FULL_FIDELITY_EPOCH)),
                str(configs),
                str(answers),
            ],
            env={"YAHPO_LOCAL_CONFIG": str(settings), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        theirs = json.loads(answers.read_text())
    worst = 0.0
    for task, task_configs in jobs.items():
        ours = [LCBenchSurrogate(task).val_accuracy(config) for config in task_configs]
        gaps = np.abs(np.array(ours) - np.array(theirs[task]))
        worst = max(worst, float(gaps.max()))
        print(f"task {task}: {len(ours)} configurations, max |ours - yahpo_gym| = {gaps.max():.3g}")
        for config, mine, reference in list(zip(task_configs, ours, theirs[task], strict=True))[:3]:
            print(f"  {mine:9.5f} {reference:9.5f}  {config}")
    if worst > args.tolerance:
        raise SystemExit(f"disagreement {worst:.3g} exceeds the tolerance {args.tolerance}")
    print(f"agree within {args.tolerance}")


if __name__ == "__main__":
    main()
