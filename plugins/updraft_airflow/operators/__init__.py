"""Operators over the repository engine."""

from updraft_airflow.operators.check import TreeCheckOperator
from updraft_airflow.operators.cycle import (
    CycleVerdictOperator,
    RepoPromoteOperator,
    anything_to_do,
)
from updraft_airflow.operators.mail import ReportMailOperator
from updraft_airflow.operators.repodata import RepoAssetsOperator, RepodataOperator

__all__ = [
    "CycleVerdictOperator",
    "RepoAssetsOperator",
    "RepoPromoteOperator",
    "RepodataOperator",
    "ReportMailOperator",
    "TreeCheckOperator",
    "anything_to_do",
]
