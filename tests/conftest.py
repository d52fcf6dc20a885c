"""Shared fixtures: real RPMs built once per session with rpmbuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import treekit
from updraft.rpmfactory import BuiltFamily


@pytest.fixture(scope="session")
def rpm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rpms")


@pytest.fixture(scope="session")
def clamav_old(rpm_store: Path) -> BuiltFamily:
    return treekit.build(treekit.clamav("0.97.5", "2"), rpm_store)


@pytest.fixture(scope="session")
def clamav_new(rpm_store: Path) -> BuiltFamily:
    return treekit.build(treekit.clamav("0.97.6", "1"), rpm_store)
