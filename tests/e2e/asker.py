"""An ask/tell client process for the chaos test: `python -m tests.e2e.asker API_URL SEARCH_ID NAME`."""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from caviar import CaviarClient


def objective(trial: Any) -> dict[str, float]:
    loss = (trial.params["x"] - 0.5) ** 2
    for step in (1, 2):
        time.sleep(random.uniform(0.02, 0.1))
        trial.report(step, loss=loss + 1 / step)
    return {"loss": loss}


if __name__ == "__main__":
    api_url, search_id, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with CaviarClient(api_url) as client:
        client.optimize(search_id, objective, asker=name)
