"""Uploaded datasets: validated, stored by content hash, run by workers that fetch and cache them."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import StoredDataset
from tests.integration.helpers import quick_spec
from workers.worker import run_worker


def npz_bytes(X: np.ndarray, y: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y)
    return buffer.getvalue()


def two_blobs(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 3)) + y[:, None] * 3.0
    return X, y


def stored_count(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(StoredDataset)) or 0


def test_npz_upload_is_stored_once_by_content(client: TestClient, settings: Settings) -> None:
    content = npz_bytes(*two_blobs())
    first = client.post("/datasets", data={"name": "blobs2"}, files={"file": ("d.npz", content)})
    assert first.status_code == 201, first.text
    assert first.json() | {"created_at": None} == first.json() | {
        "name": "blobs2",
        "n_rows": 120,
        "n_features": 3,
        "n_classes": 2,
        "created_at": None,
    }
    again = client.post("/datasets", data={"name": "blobs2"}, files={"file": ("d.npz", content)})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert stored_count(settings) == 1
    assert client.get("/datasets/blobs2").json()["id"] == first.json()["id"]
    assert "digits" in client.get("/datasets").json()["builtin"]


def test_csv_upload_takes_the_named_label_column(client: TestClient) -> None:
    X, y = two_blobs()
    rows = ["a,b,c,label"] + [
        f"{r[0]},{r[1]},{r[2]},{'yes' if t else 'no'}" for r, t in zip(X, y, strict=True)
    ]
    response = client.post(
        "/datasets",
        data={"name": "csv-blobs", "label_column": "label"},
        files={"file": ("d.csv", "\n".join(rows).encode())},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["n_features"], response.json()["n_classes"]) == (3, 2)


def test_invalid_uploads_are_rejected_and_store_nothing(client: TestClient, settings: Settings) -> None:
    X, y = two_blobs()
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    cases = {
        "non-finite values": npz_bytes(X_nan, y),
        "a single class": npz_bytes(X, np.zeros_like(y)),
        "mismatched lengths": npz_bytes(X, y[:-1]),
        "not an npz file": b"definitely not a zip archive",
    }
    for reason, content in cases.items():
        response = client.post("/datasets", data={"name": "bad"}, files={"file": ("d.npz", content)})
        assert response.status_code == 422, reason
        assert response.json()["error"]["message"], reason
    no_label = client.post("/datasets", data={"name": "bad"}, files={"file": ("d.csv", b"a,b\n1,2\n3,4\n")})
    assert no_label.status_code == 422
    builtin_name = client.post(
        "/datasets", data={"name": "digits"}, files={"file": ("d.npz", npz_bytes(X, y))}
    )
    assert builtin_name.status_code == 422
    assert builtin_name.json()["error"]["field"] == "name"
    assert stored_count(settings) == 0


def test_search_on_an_uploaded_dataset_runs_on_a_worker(client: TestClient, settings: Settings) -> None:
    client.post("/datasets", data={"name": "blobs2"}, files={"file": ("d.npz", npz_bytes(*two_blobs()))})
    created = client.post("/searches", json=quick_spec(dataset="blobs2"))
    assert created.status_code == 201, created.text
    run_worker(settings, burst=True)
    search = client.get(f"/searches/{created.json()['id']}").json()
    assert search["counts"]["completed"] == 4
    assert search["best"]["value"] > 0.9
    assert list(settings.dataset_cache_dir.glob("*.npz")), "the worker cached the fetched dataset"
