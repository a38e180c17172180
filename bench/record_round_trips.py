"""Round trips to the database per recording transaction of a worker's chain (issue 14, goal 1).

On PostgreSQL the two workers' recorders take turns on the search row, so what a recording transaction
costs is mostly its round trips. This counts them for `record_and_refill` (the recorder's transaction in
workers/chain.py) on the zero-cost search bench/throughput.py runs, at several batch sizes: statements
sent, plus BEGIN and COMMIT (psycopg sends BEGIN on its own before the first statement) and any ping of a
pooled connection (app/storage/db.py pings one only if the server closed it or it sat idle). The counts
do not depend on the machine's load.

    .venv/bin/python bench/record_round_trips.py [--backend postgresql|sqlite] [--statements]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.trial_state import TrialState  # noqa: E402
from app.services.searches import create_search  # noqa: E402
from app.services.spec_model import SearchSpec  # noqa: E402
from app.services.trial_batches import Refill, claim_queued, record_and_refill  # noqa: E402
from app.services.trial_runs import ClaimedRun, DeferredEpoch, Outcome  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.storage.db import get_engine, session_scope  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.storage.models import utcnow  # noqa: E402
from bench.stack import scratch_database  # noqa: E402
from bench.zero_cost import zero_cost_spec  # noqa: E402

BATCH_SIZES = (1, 2, 4, 8, 16)


class RoundTrips:
    """Counts what a block sends to the database through `engine`: statements (an executemany is one:
    psycopg pipelines it), pre-pings, BEGIN and COMMIT."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        self._counting = False
        event.listen(engine, "before_cursor_execute", self._statement)
        if engine.dialect.name == "postgresql":
            # SQLite's BEGIN IMMEDIATE goes through a cursor (app/storage/db.py), so it is counted there.
            event.listen(engine, "begin", lambda _connection: self._note("BEGIN"))
        event.listen(engine, "commit", lambda _connection: self._note("COMMIT"))
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> bool:
            self._note("pre-ping")
            return bool(ping(dbapi_connection))

        engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.sent = []
        self._counting = True
        try:
            yield self.sent
        finally:
            self._counting = False

    def _note(self, what: str) -> None:
        if self._counting:
            self.sent.append(what)

    def _statement(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool
    ) -> None:
        self._note(("executemany: " if many else "") + " ".join(statement.split())[:150])


def outcome_of(run: ClaimedRun) -> Outcome:
    """What the `quadratic` objective's run hands the recorder: its result and its one deferred report."""
    loss = sum((float(value) - 0.5) ** 2 for value in run.params.values())
    now = utcnow()
    epoch = DeferredEpoch(step=1, metrics={"loss": loss}, own_curve={1: loss})
    return Outcome(
        TrialState.COMPLETED, {"loss": loss}, loss, started_at=now, finished_at=now, epochs=(epoch,)
    )


def measure(database_url: str, *, show_statements: bool) -> list[tuple[int, int, int]]:
    """(batch size, trials claimed in the transaction, round trips) of one recording transaction per size."""
    upgrade(database_url)
    settings = Settings(database_url=database_url, redis_url="redis://127.0.0.1:1/0")
    with session_scope(database_url) as session:
        search, _ = create_search(session, SearchSpec(**zero_cost_spec("trips", 1000, 16)), settings)
        search_id = search.id
    held: list[ClaimedRun] = []
    with session_scope(database_url) as session:
        refill = Refill()
        claim_queued(session, search_id, "w1", needed=max(BATCH_SIZES), extra=0, refill=refill)
        held += refill.claimed
    trips = RoundTrips(get_engine(database_url))
    rows = []
    for size in BATCH_SIZES:
        batch, held = held[:size], held[size:]
        with trips.counting() as sent, session_scope(database_url) as session:
            # As the chain asks after a batch: the trial its job thread waits for, and ones to hold ahead.
            refill = record_and_refill(
                session, search_id, [(run, outcome_of(run)) for run in batch], "w1", needed=1, extra=size - 1
            )
        held += refill.claimed
        rows.append((len(batch), len(refill.claimed), len(sent)))
        if show_statements:
            print(f"-- batch of {len(batch)}: {len(sent)} round trips")
            for line in sent:
                print("   ", line)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--statements", action="store_true", help="print what each transaction sent")
    args = parser.parse_args(argv)
    with scratch_database(args.backend, "record_trips_bench", args.postgres_url) as database_url:
        rows = measure(database_url, show_statements=args.statements)
        get_engine(database_url).dispose()
    print(f"{args.backend}: round trips per recording transaction (record_and_refill)")
    print("| batch | claimed | round trips | per trial |")
    print("|---:|---:|---:|---:|")
    for size, claimed, count in rows:
        print(f"| {size} | {claimed} | {count} | {count / size:.1f} |")


if __name__ == "__main__":
    main()
