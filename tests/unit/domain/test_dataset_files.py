"""Uploaded datasets: parsing, validation errors, and the storage round trip."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from app.domain.dataset_files import dataset_from_npz_bytes, dataset_to_npz_bytes, parse_upload
from caviar import InvalidParams

LIMIT = 1_000_000


def csv_bytes(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def twelve_rows(label: str = "{}") -> list[str]:
    return [f"{i}.5,{-i},{label.format('yes' if i % 3 else 'no')}" for i in range(12)]


def test_csv_with_a_named_label_column_maps_labels_to_sorted_indices() -> None:
    content = csv_bytes(["a,b,kind", *twelve_rows()])

    dataset = parse_upload(content, "csv", "kind", LIMIT)

    assert dataset.X.shape == (12, 2)
    assert dataset.X[1].tolist() == [1.5, -1.0]
    assert dataset.n_classes == 2
    assert dataset.y[:3].tolist() == [0, 1, 1]  # "no" < "yes"


def test_csv_label_column_can_be_any_column() -> None:
    rows = ["kind,a,b"] + [f"{'cat' if i % 2 else 'dog'},{i},{i * 2}" for i in range(12)]

    dataset = parse_upload(csv_bytes(rows), "csv", "kind", LIMIT)

    assert dataset.X[3].tolist() == [3.0, 6.0]
    assert dataset.y[:2].tolist() == [1, 0]


def test_csv_without_header_uses_the_last_column_and_numeric_label_order() -> None:
    rows = [f"{i},{i + 1},{[2, 10, 9][i % 3]}" for i in range(12)]

    dataset = parse_upload(csv_bytes(rows), "csv", None, LIMIT)

    assert dataset.X.shape == (12, 2)
    assert dataset.n_classes == 3
    assert dataset.y[:3].tolist() == [0, 2, 1]  # 2 < 9 < 10 as numbers


def test_npz_with_x_and_y_is_accepted() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), np.array([5, 7] * 10)

    dataset = parse_upload(npz_bytes(X=X, y=y), "npz", None, LIMIT)

    np.testing.assert_array_equal(dataset.X, X)
    assert dataset.y.tolist() == [0, 1] * 10
    assert dataset.n_classes == 2


def test_npz_label_column_names_the_labels_array() -> None:
    X = np.arange(30.0).reshape(10, 3)

    dataset = parse_upload(npz_bytes(X=X, target=np.array(["a", "b"] * 5)), "npz", "target", LIMIT)

    assert dataset.n_classes == 2


def test_same_content_gets_the_same_name() -> None:
    content = csv_bytes(["a,b,kind", *twelve_rows()])

    assert (
        parse_upload(content, "csv", "kind", LIMIT).name == parse_upload(content, "csv", "kind", LIMIT).name
    )


def test_dataset_survives_the_npz_storage_round_trip() -> None:
    original = parse_upload(csv_bytes(["a,b,kind", *twelve_rows()]), "csv", "kind", LIMIT)

    restored = dataset_from_npz_bytes(dataset_to_npz_bytes(original))

    assert restored.name == original.name
    assert restored.n_classes == original.n_classes
    np.testing.assert_array_equal(restored.X, original.X)
    np.testing.assert_array_equal(restored.y, original.y)


def test_storage_bytes_are_the_same_for_the_same_dataset() -> None:
    dataset = parse_upload(csv_bytes(["a,b,kind", *twelve_rows()]), "csv", "kind", LIMIT)

    content = dataset_to_npz_bytes(dataset)

    assert dataset_to_npz_bytes(dataset) == content
    # Zip entries carry a modification time; a fixed one keeps bytes equal across calls at any moment.
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_stored_dataset_can_be_renamed_when_loaded() -> None:
    dataset = parse_upload(csv_bytes(["a,b,kind", *twelve_rows()]), "csv", "kind", LIMIT)

    assert dataset_from_npz_bytes(dataset_to_npz_bytes(dataset), name="abc123").name == "abc123"


@pytest.mark.parametrize(
    ("content", "fmt", "label_column", "field", "message"),
    [
        (csv_bytes(["a,b,kind", *twelve_rows()]), "csv", "label", "label_column", "no column"),
        (b"", "csv", None, "file", "empty"),
        (b"\xff\xfe\x00bad", "csv", None, "file", "UTF-8"),
        (csv_bytes(["a,b,kind"]), "csv", "kind", "file", "no data rows"),
        (csv_bytes(["a,b,kind", *twelve_rows(), "1,2"]), "csv", "kind", "file", "data row 13 has 2 fields"),
        (csv_bytes(["a,b,kind", *twelve_rows(), "x,2,yes"]), "csv", "kind", "file", "'x' is not a number"),
        (csv_bytes(["a,b,kind", *twelve_rows(), "nan,2,yes"]), "csv", "kind", "file", "finite"),
        (csv_bytes(["a,b,kind", *twelve_rows("same")]), "csv", "kind", "file", "at least 2 classes"),
        (csv_bytes(["a,b,kind", "1,2,x", "3,4,y"]), "csv", "kind", "file", "at least 10 examples"),
        (csv_bytes(["kind", "x", "y"]), "csv", "kind", "file", "feature column"),
        (b"not a zip", "npz", None, "file", "npz"),
        (npz_bytes(features=np.zeros((10, 2)), y=np.arange(10) % 2), "npz", None, "file", "'X'"),
        (npz_bytes(X=np.zeros((10, 2)), y=np.arange(10) % 2), "npz", "target", "label_column", "no array"),
        (npz_bytes(X=np.zeros(10), y=np.arange(10) % 2), "npz", None, "file", "2-D"),
        (npz_bytes(X=np.zeros((10, 2)), y=np.arange(9) % 2), "npz", None, "file", "9 labels"),
        (npz_bytes(X=np.full((10, 2), np.inf), y=np.arange(10) % 2), "npz", None, "file", "finite"),
        (npz_bytes(X=np.zeros((10, 2)), y=np.array([0.0, np.nan] * 5)), "npz", None, "file", "finite"),
    ],
)
def test_bad_upload_is_refused_with_a_reason(
    content: bytes, fmt: str, label_column: str | None, field: str, message: str
) -> None:
    with pytest.raises(InvalidParams, match=message) as error:
        parse_upload(content, fmt, label_column, LIMIT)  # type: ignore[arg-type]

    assert error.value.name == field


def test_upload_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidParams, match="limit is 100") as error:
        parse_upload(b"x" * 101, "csv", None, 100)

    assert error.value.name == "file"


def test_npz_with_pickled_objects_is_refused() -> None:
    content = npz_bytes(X=np.array([[object()]] * 10, dtype=object), y=np.arange(10) % 2)

    with pytest.raises(InvalidParams, match="npz") as error:
        parse_upload(content, "npz", None, LIMIT)

    assert error.value.name == "file"


def test_npz_that_decompresses_far_beyond_the_limit_is_refused() -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.zeros((2000, 100)), y=np.arange(2000) % 2)
    content = buffer.getvalue()

    with pytest.raises(InvalidParams, match="decompresses"):
        parse_upload(content, "npz", None, len(content) + 10)


def test_stored_archive_that_is_not_a_dataset_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(InvalidParams):
        dataset_from_npz_bytes(buffer.getvalue())
