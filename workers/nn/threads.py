"""Limit the threads of NumPy's BLAS (and any OpenMP pool) in this process.

A worker running several trial processes on one machine wants 1 thread each: small matrix products gain
nothing from more, and oversubscribed cores slow every process down.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def limit_blas_threads(n: int) -> None:
    """Cap every BLAS and OpenMP thread pool loaded in this process at n threads, from now on."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    # threadpool_limits applies the limit when constructed; not using it as a context manager keeps it.
    threadpool_limits(limits=n)
