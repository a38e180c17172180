"""Caviar's public face: the HTTP clients and the objective-plugin contract.

    from caviar import CaviarClient, Trial, TrialPruned

Importing `caviar` never imports the server (`app`, `workers`): it needs httpx and tenacity only.
"""

from caviar._async import AsyncCaviarClient
from caviar._endpoints import DEFAULT_API_URL
from caviar._errors import CaviarAPIError
from caviar._objective import (
    CheckpointingTrial,
    Dataset,
    InvalidParams,
    LiveTrial,
    Objective,
    StoppableTrial,
    Trial,
    TrialDiverged,
    TrialPruned,
)
from caviar._sync import CaviarClient
from caviar._transport import RetryPolicy

__all__ = [
    "DEFAULT_API_URL",
    "AsyncCaviarClient",
    "CaviarAPIError",
    "CaviarClient",
    "CheckpointingTrial",
    "Dataset",
    "InvalidParams",
    "LiveTrial",
    "Objective",
    "RetryPolicy",
    "StoppableTrial",
    "Trial",
    "TrialDiverged",
    "TrialPruned",
]
