"""Caviar's public face: the HTTP clients and the objective-plugin contract.

    from caviar import CaviarClient, Trial, TrialPruned

Importing `caviar` never imports the server (`app`, `workers`).
"""

from caviar._objective import Dataset, InvalidParams, Objective, Trial, TrialDiverged, TrialPruned

__all__ = [
    "Dataset",
    "InvalidParams",
    "Objective",
    "Trial",
    "TrialDiverged",
    "TrialPruned",
]
