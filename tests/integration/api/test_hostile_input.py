"""Hostile bodies, headers and cursors: a 4xx in the one error shape, nothing written, the API healthy."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.integration.api.results import queued_search, record
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.helpers import quick_spec, row_counts


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def raw_spec(placeholder: str, replacement: str, **changes: Any) -> bytes:
    """The quick spec as JSON text, `"PLACEHOLDER"` replaced by raw JSON (which `json.dumps` can't write)."""
    text = json.dumps(quick_spec(**changes))
    assert f'"{placeholder}"' in text
    return text.replace(f'"{placeholder}"', replacement).encode()


HOSTILE_BODIES = {
    "20-digit max_trials": raw_spec("BIG", "1" + "0" * 19, budget={"max_trials": "BIG"}),
    "5000-digit fixed value": raw_spec("BIG", "9" * 5000, space={"learning_rate": 0.01, "epochs": "BIG"}),
    "30-digit int bound": raw_spec(
        "BIG", "9" * 30, space={"hidden_units": {"type": "int", "low": 16, "high": "BIG"}}
    ),
    "20-digit choice": raw_spec(
        "BIG", "1" + "0" * 20, space={"optimizer": {"type": "categorical", "choices": ["adam", "BIG"]}}
    ),
    "300 deep name": raw_spec("DEEP", nested(300), name="DEEP"),
    "600 deep fixed value": raw_spec("DEEP", nested(600), space={"learning_rate": 0.01, "epochs": "DEEP"}),
    "900 deep choice": raw_spec(
        "DEEP", nested(900), space={"optimizer": {"type": "categorical", "choices": ["adam", "DEEP"]}}
    ),
    "900 deep dataset option": raw_spec("DEEP", nested(900), dataset={"name": "digits", "noise": "DEEP"}),
    "surrogate in the name": raw_spec("SURROGATE", '"\\ud800"', name="SURROGATE"),
    "surrogate in a choice": raw_spec(
        "SURROGATE",
        '"\\ud800"',
        space={"optimizer": {"type": "categorical", "choices": ["adam", "SURROGATE"]}},
    ),
    "surrogate as a parameter name": raw_spec(
        "SURROGATE", '"\\udfff"', space={"learning_rate": 0.01, "SURROGATE": 1}
    ),
    "surrogate as the dataset": raw_spec("SURROGATE", '"\\ud800"', dataset="SURROGATE"),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_search_bodies_are_4xx_and_write_nothing(
    client: TestClient, settings: Settings, body: bytes
) -> None:
    response = client.post("/searches", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert_error_shape(response.json(), response.json()["error"]["code"])
    assert row_counts(settings) == (0, 0)
    assert client.post("/searches", json=quick_spec()).status_code == 201


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "instant",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-14:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59.999999+00:00",
    ],
)
def test_cursors_near_year_1_or_9999_are_422_not_500(
    client: TestClient, settings: Settings, instant: str
) -> None:
    search_id, trials = queued_search(client, 2)
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.5}, value=0.5)
    for path, sort in (
        ("/searches", "created_at"),
        ("/searches", "-updated_at"),
        ("/trials", "started_at"),
        (f"/searches/{search_id}/trials", "created_at"),
        (f"/searches/{search_id}/trials", "-finished_at"),
    ):
        cursor = cursor_of({"sort": sort, "after": [instant, 1]})
        response = client.get(path, params={"sort": sort, "cursor": cursor})
        assert response.status_code in (200, 422), (path, sort, response.text)
        if response.status_code == 422:
            assert response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("key", ["clé".encode(), "☃".encode(), b"k" * 201, b"two words"])
def test_an_idempotency_key_that_is_not_short_printable_ascii_is_422(
    client: TestClient, settings: Settings, key: bytes
) -> None:
    response = client.post("/searches", json=quick_spec(), headers={"Idempotency-Key": key})
    assert response.status_code == 422, response.text
    assert_error_shape(response.json(), "invalid_request")
    assert row_counts(settings) == (0, 0)


def test_a_non_ascii_last_event_id_is_422(client: TestClient) -> None:
    search_id, _ = queued_search(client, 1)
    response = client.get(f"/searches/{search_id}/events", headers={"Last-Event-ID": "é".encode()})
    assert response.status_code == 422
    assert_error_shape(response.json(), "invalid_spec")


def test_a_body_declared_larger_than_the_limit_is_413_unread(client: TestClient, settings: Settings) -> None:
    too_big = settings.max_request_bytes + 1
    body = b'{"name": "' + b"x" * too_big + b'"}'
    response = client.post("/searches", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert_error_shape(response.json(), "payload_too_large")
    assert row_counts(settings) == (0, 0)


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient, settings: Settings) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(100):  # 100 x 64 KiB = 6.4 MiB offered, no Content-Length
            sent += 1
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/searches", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert_error_shape(response.json(), "payload_too_large")


def test_a_space_with_too_many_parameters_is_422(client: TestClient, settings: Settings) -> None:
    space = {
        f"p{i}": {"type": "float", "low": 0, "high": 1} for i in range(settings.max_space_parameters + 1)
    }
    response = client.post("/searches", json=quick_spec(objective="mlp", space=space))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "space"
    assert "CAVIAR_MAX_SPACE_PARAMETERS" in response.json()["error"]["message"]


def test_a_grid_over_too_many_categorical_combinations_is_422(client: TestClient) -> None:
    space = {
        "learning_rate": 0.01,
        "optimizer": {"type": "categorical", "choices": ["gd", "momentum", "rmsprop", "adam"]},
        "activation": {"type": "categorical", "choices": ["relu", "tanh"]},
        "batch_norm": {"type": "categorical", "choices": [True, False]},
        "hidden_units": {"type": "categorical", "choices": list(range(16, 160))},
    }
    response = client.post("/searches", json=quick_spec(space=space, strategy={"kind": "grid"}))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "strategy.kind"
