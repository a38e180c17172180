"""The BLAS thread limit the worker applies at start-up."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from workers.nn import limit_blas_threads


def test_limit_blas_threads_caps_every_blas_pool() -> None:
    with threadpool_limits(limits=None):  # puts the original limits back after the test
        limit_blas_threads(1)

        pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert pools
        assert all(pool["num_threads"] == 1 for pool in pools)
