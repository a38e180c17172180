"""Idempotency-Key on POST /searches: a retry gets the same search; the key with another spec is a 422."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.services.idempotency import FINGERPRINT_VERSION
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Search
from tests.integration.helpers import quick_spec, row_counts


def test_retry_with_the_same_key_and_spec_returns_the_search_it_created(
    client: TestClient, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "notebook-cell-7"}
    first = client.post("/searches", json=quick_spec(), headers=headers)
    retry = client.post("/searches", json=quick_spec(), headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert row_counts(settings) == (1, 2)


def test_same_spec_written_differently_counts_as_the_same_spec(client: TestClient) -> None:
    headers = {"Idempotency-Key": "k", "content-type": "application/json"}
    spec = quick_spec()
    first = client.post("/searches", json=spec, headers=headers)
    reordered = dict(reversed(list(spec.items())))
    reordered["direction"] = "maximize"  # the default, spelled out
    retry = client.post("/searches", content=json.dumps(reordered, indent=4), headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]


def test_nested_defaults_and_number_types_do_not_change_the_spec(client: TestClient) -> None:
    headers = {"Idempotency-Key": "nested"}
    spec = quick_spec(pruner={"kind": "median"}, dataset="spirals")
    first = client.post("/searches", json=spec, headers=headers)
    spelled_out = quick_spec(
        pruner={"kind": "median", "warmup_steps": 1, "min_trials": 5},
        dataset={"name": "spirals", "noise": 0.2, "n_samples": 600.0},
    )
    spelled_out["space"]["hidden_units"].update(low=16.0, high=64.0, scale="log")
    retry = client.post("/searches", json=spelled_out, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert retry.json()["id"] == first.json()["id"]


def test_a_retry_without_a_seed_gets_the_search_its_random_seed_was_drawn_for(client: TestClient) -> None:
    headers = {"Idempotency-Key": "unseeded"}
    spec = quick_spec()
    del spec["seed"]
    first = client.post("/searches", json=spec, headers=headers)
    retry = client.post("/searches", json=spec, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["seed"] == first.json()["seed"]


def test_a_fingerprint_stored_by_an_earlier_release_does_not_refuse_the_retry(
    client: TestClient, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "across-an-upgrade"}
    first = client.post("/searches", json=quick_spec(), headers=headers).json()
    with session_scope(settings.database_url) as session:
        search = session.get(Search, first["id"])
        assert search is not None and search.request_fingerprint is not None
        assert (
            search.request_fingerprint.startswith(FINGERPRINT_VERSION)
            and len(search.request_fingerprint) == 64
        )
        search.request_fingerprint = "ab" * 32  # a bare sha256 of the spec as sent, as 0002 stored them
    retry = client.post("/searches", json=quick_spec(), headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first["id"]


def test_same_key_with_a_different_spec_is_422_and_creates_nothing(
    client: TestClient, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "reused"}
    first = client.post("/searches", json=quick_spec(), headers=headers)
    other = client.post("/searches", json=quick_spec(seed=4), headers=headers)
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert str(first.json()["id"]) in error["message"]
    assert row_counts(settings) == (1, 2)


def test_without_a_key_each_post_creates_a_search(client: TestClient, settings: Settings) -> None:
    client.post("/searches", json=quick_spec())
    client.post("/searches", json=quick_spec())
    assert row_counts(settings) == (2, 4)
