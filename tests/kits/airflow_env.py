"""Airflow for the DAG tests: a throwaway home and SQLite DB, this checkout's DAG files.

The environment is set when this module is imported, before any test module imports
airflow (Airflow reads its configuration once, at import).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit.mailsink import MailSink
from updraft.engine.engine import Engine

HOME = Path(tempfile.mkdtemp(prefix="updraft-airflow-home-"))
os.environ.update({
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(treekit.REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(treekit.REPO / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
    "UPDRAFT_CONFIG": str(treekit.CONFIG_FILE),
})


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    from airflow.models import import_all_models
    from airflow.utils import db

    db.resetdb()
    import_all_models()  # before any responder thread touches the models (import lock)
    yield
    shutil.rmtree(HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dagbag(airflow_db: None):  # airflow is imported lazily
    import importlib
    import pkgutil

    from airflow.dag_processing.dagbag import DagBag

    import updraft_airflow
    from updraft_airflow import distribution

    # What a DAG processor pays once, not per file: the adapter's modules and the config.
    # Loaded here first, parsing a file costs only its own code (test_dagbag).
    for found in pkgutil.walk_packages(updraft_airflow.__path__, "updraft_airflow."):
        importlib.import_module(found.name)
    distribution.load()
    return DagBag(dag_folder=str(treekit.REPO / "dags"))


@pytest.fixture
def clamav_tree(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared clamav tree (tests/conftest.py), served to the DAGs through UPDRAFT_ROOT."""
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
    return engine.layout.root


@pytest.fixture
def mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSink]:
    """A real SMTP server, reached through the `updraft_smtp` connection."""
    with MailSink(tmp_path / "mail") as sink:
        connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": sink.port,
                      "extra": {"disable_ssl": True, "disable_tls": True}}
        monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_SMTP", json.dumps(connection))
        yield sink
