"""docker-compose.yaml, Dockerfile and .env.example, read as files (no Docker engine
runs here): every queue a DAG task uses has a worker, every worker shares the tree
volume, and only the signer sees the signing key."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kits import treekit

COMPOSE = treekit.REPO / "docker-compose.yaml"
TREE = "repo-tree"
KEY_MOUNT = "/run/updraft/gnupg"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    # safe_load resolves the YAML anchors and `<<:` merges compose relies on.
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _queues(service: dict[str, Any]) -> set[str] | None:
    """The queues a Celery worker service serves; None for other services."""
    command = service.get("command")
    words = shlex.split(command) if isinstance(command, str) else list(command or [])
    if words[:2] != ["celery", "worker"]:
        return None
    return set(words[words.index("--queues") + 1].split(","))


def _workers(services: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    return {name: queues for name, service in services.items()
            if (queues := _queues(service)) is not None}


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """source -> (target, mode) of a service's volumes."""
    found = {}
    for volume in service.get("volumes", []):
        # The source may hold a ${VAR:?message}: split at the target's leading slash.
        source, target, mode = re.fullmatch(r"(.+?):(/[^:]*)(?::(\w+))?", volume).groups()
        found[source] = (target, mode or "rw")
    return found


def test_the_official_services_are_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "redis", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "airflow-init"} <= set(services)
    assert services["airflow-init"]["command"] == ["/opt/updraft/scripts/compose-init.sh"]
    executor = {s["environment"]["AIRFLOW__CORE__EXECUTOR"]
                for s in services.values() if "environment" in s and s is not services["postgres"]}
    assert executor == {"CeleryExecutor"}


def test_every_queue_a_dag_uses_has_a_worker(dagbag, services) -> None:
    used = {task.queue for dag in dagbag.dags.values() for task in dag.tasks}
    served = set().union(*_workers(services).values())
    assert {"default", "build-x86_64", "sign"} <= used
    assert used <= served, f"no worker serves {sorted(used - served)}"


def test_the_tree_volume_is_shared_by_every_worker(services) -> None:
    workers = _workers(services)
    assert workers
    for name in workers:
        assert _mounts(services[name]).get(TREE) == ("/srv/updraft/tree", "rw"), name
        assert services[name]["environment"]["UPDRAFT_ROOT"] == "/srv/updraft/tree", name
    writers = {name for name, service in services.items()
               if _mounts(service).get(TREE, ("", "ro"))[1] != "ro"}
    assert writers == set(workers)
    assert _mounts(services["airflow-triggerer"])[TREE] == ("/srv/updraft/tree", "ro")


def test_only_the_signer_sees_the_key(services) -> None:
    def sees_key(service: dict[str, Any]) -> bool:
        env = service.get("environment", {})
        return (any(target == KEY_MOUNT for target, _ in _mounts(service).values())
                or any("GPG" in key or "GPG" in str(value) for key, value in env.items()))

    assert {name for name, service in services.items() if sees_key(service)} == \
        {"airflow-worker-sign"}
    signer = services["airflow-worker-sign"]
    assert _queues(signer) == {"sign"}  # no other task ever runs where the key is
    assert _mounts(signer)["${UPDRAFT_GPG_HOME:?set in .env}"] == (KEY_MOUNT, "ro")
    assert f'"gnupghome": "{KEY_MOUNT}"' in signer["environment"]["AIRFLOW_CONN_UPDRAFT_GPG"]


def test_gates_answer_by_user_name_under_fab(services) -> None:
    managers = {s["environment"].get("AIRFLOW__CORE__AUTH_MANAGER")
                for name, s in services.items() if name.startswith("airflow-")}
    assert managers == {"updraft_airflow.auth.UpdraftFabAuthManager"}


def test_env_example_sets_every_required_variable() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = (treekit.REPO / ".env.example").read_text()
    defined = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert required and required <= defined, required - defined


def test_dockerfile_extends_the_stock_image_with_the_tools() -> None:
    dockerfile = (treekit.REPO / "Dockerfile").read_text()
    assert "ARG AIRFLOW_VERSION=3.3.2" in dockerfile
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}\S* AS updraft$", dockerfile,
                     re.MULTILINE)
    installed = set(re.search(r"apt-get install[^\n]*\n([^&]*)&&", dockerfile)[1].split())
    assert {"rpm", "createrepo-c", "gnupg", "xorriso", "isomd5sum", "jigdo-file"} <= installed
    assert "mock" in dockerfile.split("AS builder", 1)[1]
    assert Path(treekit.REPO / "scripts/compose-init.sh").stat().st_mode & 0o111
