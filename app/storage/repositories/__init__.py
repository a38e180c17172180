"""Every query over an aggregate lives in its repository, next to the indexes it needs."""

from app.storage.repositories.api_keys import ApiKeyRepository
from app.storage.repositories.checkpoints import CheckpointRepository
from app.storage.repositories.datasets import DatasetRepository
from app.storage.repositories.events import EventRepository
from app.storage.repositories.nudges import NudgeRepository
from app.storage.repositories.searches import SearchRepository
from app.storage.repositories.trials import TrialRepository
from app.storage.repositories.workers import WorkerRepository

__all__ = [
    "ApiKeyRepository",
    "CheckpointRepository",
    "DatasetRepository",
    "EventRepository",
    "NudgeRepository",
    "SearchRepository",
    "TrialRepository",
    "WorkerRepository",
]
