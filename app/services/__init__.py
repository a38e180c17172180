"""Use cases over storage and domain: they flush, the caller (request or worker) commits."""
