"""Rows bound as one PostgreSQL array per column: `unnest(:p_a, :p_b, ...) AS p(a, b, ...)`.

A statement over such rows has the same text for any number of them, so SQLAlchemy compiles it once
and psycopg prepares it once; a multi-row VALUES is a new text for every count, and an executemany is a
statement per row on the server. The batch paths of the workers' recording transaction use it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import JSON, Insert, Table, TableValuedAlias, bindparam, cast, column, func, insert, select
from sqlalchemy.dialects import postgresql

Columns = Sequence[tuple[str, Any]]
"""(name, SQLAlchemy type) of each column; a JSON column goes as Text, cast in the statement (psycopg binds
no array of JSON)."""


def unnested(prefix: str, columns: Columns, *, ordinality: str | None = None) -> TableValuedAlias:
    """The rows as a derived table named `prefix` with the given columns (and, given `ordinality`, a
    column of that name numbering them in the arrays' order), bound as the parameters `<prefix>_<name>`
    (`array_parameters`). Named apart from the table's columns: an UPDATE's parameter named like one of
    its columns would also be SET."""
    arrays = (bindparam(f"{prefix}_{name}", type_=postgresql.ARRAY(kind)) for name, kind in columns)
    return (
        func.unnest(*arrays)
        .table_valued(*(column(name, kind) for name, kind in columns), with_ordinality=ordinality)
        .render_derived(name=prefix)
    )


def insert_rows(table: Table, prefix: str, columns: Columns, *, json_columns: Collection[str] = ()) -> Insert:
    """INSERT INTO table (columns) SELECT ... FROM `unnested(prefix, columns)` in the arrays' order (so
    generated ids follow it), the `json_columns` cast from their text."""
    rows = unnested(prefix, columns, ordinality="position")
    names = [name for name, _ in columns]
    chosen = select(*(cast(rows.c[name], JSON) if name in json_columns else rows.c[name] for name in names))
    return insert(table).from_select(names, chosen.order_by(rows.c.position))


def array_parameters(
    prefix: str, columns: Columns, rows: Sequence[dict[str, Any]], *, json_columns: Collection[str] = ()
) -> dict[str, list[Any]]:
    """The parameters of `unnested(prefix, columns)` for these rows: one list per column, the values of
    `json_columns` as JSON text (None stays NULL)."""
    return {
        f"{prefix}_{name}": [_bound(row[name], name in json_columns) for row in rows] for name, _ in columns
    }


def _bound(value: Any, as_json: bool) -> Any:
    return json.dumps(value) if as_json and value is not None else value
