"""/datasets: upload your own data (.npz with X and y, or CSV with a label column)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ReadSessionDep, SettingsDep, UnitOfWorkDep
from app.api.schemas import ErrorResponse
from app.domain.catalog import BUILTIN_DATASETS
from app.errors import InvalidSpec
from app.services import datasets as service

router = APIRouter(prefix="/datasets", tags=["datasets"])


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="sha256 of the stored content; use it or the name as a spec's `dataset`.")
    name: str
    n_rows: int
    n_features: int
    n_classes: int
    created_at: datetime


class DatasetList(BaseModel):
    builtin: list[str]
    uploaded: list[DatasetOut]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": DatasetOut, "description": "The same content was uploaded before."},
        422: {"model": ErrorResponse},
    },
)
async def upload_dataset(
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    response: Response,
    file: Annotated[UploadFile, File(description=".npz with arrays X and y, or a CSV file")],
    name: Annotated[str, Form(description="How specs refer to it.")],
    label_column: Annotated[str | None, Form(description="CSV only: the column holding the labels.")] = None,
    format: Annotated[Literal["npz", "csv"] | None, Form(description="Default: from the file name.")] = None,
) -> DatasetOut:
    """Upload a dataset; it is validated, stored in the database and usable by every worker."""
    content = await file.read(settings.max_dataset_bytes + 1)
    fmt = format or _format_from_name(file.filename)
    # Parsing a large file takes seconds (in a parser process): wait for it in a thread, not on the loop.
    stored, created = await run_in_threadpool(
        service.upload_dataset,
        uow.session,
        name=name,
        content=content,
        fmt=fmt,
        label_column=label_column,
        max_bytes=settings.max_dataset_bytes,
        max_cells=settings.max_dataset_cells,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return DatasetOut.model_validate(stored)


@router.get("")
def list_datasets(session: ReadSessionDep) -> DatasetList:
    """Built-in dataset names and uploaded datasets."""
    uploaded = [DatasetOut.model_validate(d) for d in service.list_datasets(session)]
    return DatasetList(builtin=sorted(BUILTIN_DATASETS), uploaded=uploaded)


@router.get("/{id_or_name}", responses={404: {"model": ErrorResponse}})
def get_dataset(
    id_or_name: Annotated[str, Path(min_length=1, max_length=200, description="A dataset id or name.")],
    session: ReadSessionDep,
) -> DatasetOut:
    """One uploaded dataset, by id or name."""
    return DatasetOut.model_validate(service.get_dataset(session, id_or_name))


def _format_from_name(filename: str | None) -> Literal["npz", "csv"]:
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix == "npz":
        return "npz"
    if suffix == "csv":
        return "csv"
    raise InvalidSpec("format", "say `format` (npz or csv), or name the file *.npz or *.csv")
