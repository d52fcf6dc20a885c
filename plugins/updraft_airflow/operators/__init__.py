"""Operators over the repository engine."""

from updraft_airflow.operators.base import UpdraftOperator
from updraft_airflow.operators.check import TreeCheckOperator
from updraft_airflow.operators.cycle import (
    CycleVerdictOperator,
    RepoApplyOperator,
    RepoPlanOperator,
    anything_to_do,
)
from updraft_airflow.operators.mail import ReportMailOperator
from updraft_airflow.operators.repodata import RepoAssetsOperator, RepodataOperator

__all__ = [
    "CycleVerdictOperator",
    "RepoApplyOperator",
    "RepoAssetsOperator",
    "RepoPlanOperator",
    "RepodataOperator",
    "ReportMailOperator",
    "TreeCheckOperator",
    "UpdraftOperator",
    "anything_to_do",
]
