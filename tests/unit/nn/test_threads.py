"""The BLAS thread limit the worker applies at start-up."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from workers.nn import limit_blas_threads


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_limit_blas_threads_caps_every_blas_pool() -> None:
    # The session runs with one BLAS thread (conftest.py): raise it first, or the check below would hold
    # whatever limit_blas_threads did. The context puts the session's limit back afterwards.
    with threadpool_limits(limits=2):
        assert _blas_threads() and all(threads == 2 for threads in _blas_threads())
        limit_blas_threads(1)
        assert all(threads == 1 for threads in _blas_threads())
