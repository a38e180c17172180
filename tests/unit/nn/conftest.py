"""The trainer's tests run with one BLAS thread, as trials do in a worker.

Several OpenBLAS threads on a busy 2-core machine spin against each other and can make a training run
10x slower; one thread is also what the benchmark and the workers use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield
