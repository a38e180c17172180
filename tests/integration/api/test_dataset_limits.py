"""Hostile uploads: zip bombs, lying headers, huge CSV fields, ids claimed by someone else's upload."""

from __future__ import annotations

import hashlib
import io
import threading
import tracemalloc
import zipfile

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.domain.dataset_files import dataset_to_npz_bytes, parse_upload
from app.settings import Settings
from tests.integration.api.test_datasets import npz_bytes, stored_count, two_blobs
from tests.integration.live_server import serve


def npz_claiming(shape: tuple[int, ...], descr: str = "|b1", data_bytes: int | None = None) -> bytes:
    """An .npz whose `X.npy` header claims `shape`; `data_bytes` zero bytes follow (all of them if None)."""
    itemsize = np.dtype(descr).itemsize
    remaining = int(np.prod(shape, dtype=object)) * itemsize if data_bytes is None else data_bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as handle:
            header = {"descr": descr, "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(handle, header)  # type: ignore[no-untyped-call]
            chunk = bytes(1 << 20)
            while remaining > 0:
                handle.write(chunk[: min(remaining, len(chunk))])
                remaining -= len(chunk)
        with archive.open("y.npy", "w") as handle:
            np.lib.format.write_array(handle, np.arange(shape[0] if shape[0] < 10**7 else 10) % 2)
    return buffer.getvalue()


def upload(client: TestClient, content: bytes, filename: str = "d.npz", name: str = "mine") -> httpx.Response:
    return client.post("/datasets", data={"name": name}, files={"file": (filename, content)})


def test_a_zip_bomb_is_refused_without_being_decompressed(client: TestClient, settings: Settings) -> None:
    bomb = npz_claiming((1_000_000, 190))
    assert len(bomb) < 400_000
    tracemalloc.start()
    try:
        response = client.post("/datasets", data={"name": "bomb"}, files={"file": ("d.npz", bomb)})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "file"
    assert peak < 50 * 2**20, f"{peak} bytes allocated"
    assert stored_count(settings) == 0


def test_a_header_claiming_a_terabyte_is_422_not_a_memory_error(
    client: TestClient, settings: Settings
) -> None:
    liar = npz_claiming((1_000_000, 1_000_000), "<f8", data_bytes=1024)
    response = client.post("/datasets", data={"name": "liar"}, files={"file": ("d.npz", liar)})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "file"
    assert stored_count(settings) == 0


def test_a_csv_field_over_131072_characters_is_422(client: TestClient, settings: Settings) -> None:
    rows = [f"{i},{i % 2}" for i in range(20)]
    rows[3] = "1" * 131_073 + ",0"
    response = client.post(
        "/datasets", data={"name": "wide"}, files={"file": ("d.csv", "\n".join(rows).encode())}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "file"
    assert stored_count(settings) == 0


def test_a_long_csv_label_is_refused_before_numpy_pads_every_cell_to_it(client: TestClient) -> None:
    rows = [f"{i},{'a' if i % 2 else 'b'}" for i in range(20)]
    rows[3] = "1," + "z" * 131_000
    response = client.post(
        "/datasets", data={"name": "pad"}, files={"file": ("d.csv", "\n".join(rows).encode())}
    )
    assert response.status_code == 422, response.text
    assert "characters" in response.json()["error"]["message"]


def test_uploads_over_the_cell_limit_are_refused(client: TestClient, settings: Settings) -> None:
    small = Settings(**{**settings.model_dump(), "max_dataset_cells": 100})
    X, y = two_blobs(60)
    with TestClient(create_app(small)) as limited:
        response = upload(limited, npz_bytes(X, y))
        assert response.status_code == 422, response.text
        assert "cells" in response.json()["error"]["message"]


def test_an_upload_named_like_another_uploads_id_cannot_hijack_it(client: TestClient) -> None:
    victim = parse_upload(npz_bytes(*two_blobs()), "npz", None, 10**8)
    victim_id = hashlib.sha256(dataset_to_npz_bytes(victim)).hexdigest()
    X, y = two_blobs(40)
    attack = upload(client, npz_bytes(X * 100, y), name=victim_id)
    assert attack.status_code == 422
    assert attack.json()["error"]["field"] == "name"
    mine = upload(client, npz_bytes(*two_blobs()), name="victim")
    assert mine.status_code == 201
    assert mine.json()["id"] == victim_id
    assert mine.json()["n_rows"] == 120
    assert client.get(f"/datasets/{victim_id}").json()["name"] == "victim"


@pytest.mark.slow
def test_other_requests_are_answered_while_a_large_upload_is_parsed(settings: Settings) -> None:
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.6f},{b:.6f},{c:.6f},{int(a > 0)}" for a, b, c in rng.normal(size=(300_000, 3)))
    finished: list[str] = []
    with serve(settings) as url:

        def send_upload() -> None:
            httpx.post(
                f"{url}/datasets",
                data={"name": "large"},
                files={"file": ("d.csv", rows.encode())},
                timeout=120,
            ).raise_for_status()
            finished.append("upload")

        uploading = threading.Thread(target=send_upload)
        uploading.start()
        while uploading.is_alive():
            assert httpx.get(f"{url}/healthz", timeout=120).status_code == 200
            if "upload" not in finished:
                finished.append("healthz")
        uploading.join()
    assert finished[-1] == "upload"
    assert finished.count("healthz") >= 2, finished
