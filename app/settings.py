"""One settings object for the API, the workers, the CLI and Alembic."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_NAMES = frozenset({"localhost", "testserver"})
"""Host names that reach this machine only (`testserver`: Starlette's test client)."""


def is_loopback(host: str) -> bool:
    """Whether a bind address or `Host` name reaches this machine only (`0.0.0.0`, `*`, other names: no)."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Configuration from the environment (`CAVIAR_` prefix; `DATABASE_URL`/`REDIS_URL` also accepted)."""

    model_config = SettingsConfigDict(env_prefix="CAVIAR_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="sqlite:///.caviar/caviar.db",
        validation_alias=AliasChoices("CAVIAR_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; a SQLite file under .caviar/ by default, PostgreSQL in production.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CAVIAR_REDIS_URL", "REDIS_URL"),
        description="Redis URL; unset means `caviar up` starts an embedded redis-server.",
    )
    queue_name: str = Field(default="caviar-trials", description="RQ queue the trial ids go to.")
    max_trials_per_search: int = Field(default=10_000, ge=1, description="Upper bound on budget.max_trials.")
    max_parallel_per_search: int = Field(default=256, ge=1, description="Upper bound on budget.max_parallel.")
    # A killed worker's trial is running again within lease + reconcile + heartbeat (10 + 2 + 2 s):
    # under the 15 s an operator expects, with five beats per lease so a slow beat is no expiry.
    lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A running trial whose worker has not heartbeated for this long is re-queued.",
    )
    heartbeat_seconds: float = Field(default=2.0, gt=0, description="How often workers heartbeat.")
    # An epoch of a small network takes milliseconds and its checkpoint as long again on PostgreSQL: a
    # floor in time keeps the tax negligible, and a crash loses at most this much training.
    checkpoint_min_seconds: float = Field(
        default=10.0,
        ge=0,
        description="A worker stores a trial's checkpoint at most this often (and not before this long into "
        "its run), whatever the spec's checkpoint_every says.",
    )
    reconcile_seconds: float = Field(
        default=2.0, gt=0, description="How often each worker re-queues trials whose lease expired."
    )
    ask_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="An ask/tell client's claim on a trial: it must report (or tell) at least this often.",
    )
    max_concurrent_requests: int = Field(
        default=15,
        ge=1,
        description="API requests worked on at once (the database pool's size); the rest wait their turn.",
    )
    admission_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request that waited this long for its turn is answered 503."
    )
    max_attempts: int = Field(default=3, ge=1, description="Runs of one trial before it is marked failed.")
    trial_timeout_seconds: int = Field(default=3600, ge=1, description="Wall-clock limit of one trial run.")
    # A worker runs trials back to back without a trip through the queue: the next one is claimed in
    # the transaction that records the last, and while trials are cheap it holds a few claimed ahead,
    # so it never waits between them. The chain returns to the queue now and then, so searches take turns.
    worker_prefetch: int = Field(
        default=16,
        ge=0,
        description="Most trials a worker claims ahead (leased to it) while a search's trials are cheap "
        "(0: none; the next trial is still claimed in the transaction that records the last one).",
    )
    prefetch_seconds: float = Field(
        default=0.1,
        gt=0,
        description="Work a worker holds claimed ahead while trials are cheap, in seconds of trials (at "
        "least one trial, at most worker_prefetch): enough to cover recording the last ones.",
    )
    cheap_trial_seconds: float = Field(
        default=2.0,
        ge=0,
        description="A trial that ran for less than this makes its search's trials cheap to its worker.",
    )
    worker_chain_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a worker goes on claiming a search's next trials before it takes the "
        "queue's next job (another search's, maybe); each trial's time limit stays trial_timeout_seconds.",
    )
    worker_blas_threads: int = Field(default=1, ge=1, description="BLAS threads per worker process.")
    log_level: str = Field(default="INFO", description="Logging level of the API, workers and CLI.")
    dataset_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "caviar" / "datasets",
        description="Where workers cache uploaded datasets fetched from the database.",
    )
    max_dataset_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Largest accepted dataset upload."
    )
    max_dataset_cells: int = Field(
        default=10_000_000,
        ge=1,
        description="Largest uploaded dataset, in rows x columns once decompressed and parsed.",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body except dataset uploads; larger ones are refused (413) unread.",
    )
    max_json_depth: int = Field(
        default=32, ge=4, description="Deepest nesting of arrays and objects in a body."
    )
    max_space_parameters: int = Field(
        default=200, ge=1, description="Most parameters (tunable and fixed) in one search space."
    )
    max_importance_trials: int = Field(
        default=2000,
        ge=10,
        description="`/importance` fits on at most this many completed trials (the latest).",
    )
    importance_seconds: float = Field(
        default=10.0,
        gt=0,
        description="`/importance` stops growing its forest and permuting after this long (the answer says "
        "`complete: false`); it stops at once when the client disconnects.",
    )
    # Above what any single item may weigh (a trial's params are at most a request body), so a page always
    # holds at least one item and a client following cursors gets everything.
    max_response_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024 * 1024,
        description="Largest JSON response: list pages end early (with a cursor) before passing it; "
        "responses that cannot page are refused (422 `response_too_large`).",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1", "localhost", "[::1]", "::1", "testserver"],
        description="Host header values the API answers (`*` for any): guards against DNS rebinding.",
    )
    auth: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="API keys: `required`, `off`, or `auto`: required unless the API binds to a loopback "
        "address and answers loopback host names only (the embedded default).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[], description="Origins allowed to call the API from a browser (CORS); none by default."
    )

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, raw: object) -> object:
        # `CAVIAR_ALLOWED_HOSTS=a,b` as well as a JSON list.
        if isinstance(raw, str):
            if raw.lstrip().startswith("["):
                return json.loads(raw)
            return [part.strip() for part in raw.split(",") if part.strip()]
        return raw

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, url: str) -> str:
        # `postgresql://` would select psycopg2, which we do not install.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError(
                f"heartbeat_seconds ({self.heartbeat_seconds}) must be at most half of lease_seconds "
                f"({self.lease_seconds}), or healthy trials would be re-queued"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def keys_required(self, bind_host: str | None) -> bool:
        """Whether the API refuses requests without a key. `auto`: unless it binds to a loopback address
        and answers loopback host names only. `bind_host` None (an app embedded in a test or another
        server): only the allowed host names count."""
        if self.auth != "auto":
            return self.auth == "required"
        exposed_bind = bind_host is not None and not is_loopback(bind_host)
        return exposed_bind or not all(is_loopback(host) for host in self.allowed_hosts)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
