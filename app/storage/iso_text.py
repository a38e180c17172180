"""Timestamps written as ISO 8601 text by the database, for reads that hand them on as text (the CSV
export, pages of trials as JSON): no parsing into a datetime and formatting back, per row and column."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, func


def utc_iso_text(column: Any, dialect: str, utc_suffix: str) -> ColumnElement[str]:
    """A `UTCDateTime` column as `datetime.isoformat()` writes it in UTC, but ending in `utc_suffix`
    (`+00:00`, or pydantic's `Z`): microseconds unless they are 0, NULL for NULL."""
    if dialect == "sqlite":
        # SQLAlchemy stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite.
        text = func.replace(column, " ", "T", type_=String).concat(utc_suffix)
    else:
        text = func.to_char(
            func.timezone("UTC", column), f'YYYY-MM-DD"T"HH24:MI:SS.US"{utc_suffix}"', type_=String
        )
    return func.replace(text, f".000000{utc_suffix}", utc_suffix, type_=String)
