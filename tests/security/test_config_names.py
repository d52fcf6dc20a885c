"""Config names and path templates never lead out of the tree: refused at load time with
one line naming the key, before anything is created on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.kits import treekit
from updraft.config.dist import load_config
from updraft.errors import ConfigError

Mutation = Callable[[dict], None]


def _release(name: str) -> Mutation:
    def mutate(raw: dict) -> None:
        raw["releases"][name] = raw["releases"][9]
    return mutate


def _repo(name: str) -> Mutation:
    def mutate(raw: dict) -> None:
        raw["repos"][name] = {"tier": 0}
    return mutate


def _paths(binaries: str, sources: str = "{release}/{repo}/SRPMS") -> Mutation:
    def mutate(raw: dict) -> None:
        raw["paths"] = {"binaries": binaries, "sources": sources}
    return mutate


def _set(key: str, value: object) -> Mutation:
    def mutate(raw: dict) -> None:
        raw[key] = value
    return mutate


def _archdir(name: str) -> Mutation:
    def mutate(raw: dict) -> None:
        raw["releases"][9]["arches"][name] = ["i386"]
    return mutate


CASES = {
    "release ../x": (_release("../x"), "releases"),
    "release a/b": (_release("a/b"), "releases"),
    "release /etc": (_release("/etc"), "releases"),
    "release ..": (_release(".."), "releases"),
    "release .": (_release("."), "releases"),
    "release with NUL": (_release("9\0x"), "releases"),
    "repo ../../etc": (_repo("../../etc"), "repos"),
    "repo empty": (_repo(""), "repos"),
    "repo with newline": (_repo("smetest\nsmeos"), "repos"),
    "repo .updraft": (_repo(".updraft"), "repos"),
    "arch dir ../i386": (_archdir("../i386"), "releases.9.arches"),
    "template climbs out": (_paths("../../{release}/{repo}/{arch}/RPMS"), "paths.binaries"),
    "template is absolute": (_paths("/srv/{release}/{repo}/{arch}/RPMS"), "paths.binaries"),
    "sources template climbs out": (_paths("{release}/{repo}/{arch}",
                                           "{release}/{repo}/../../../SRPMS"), "paths.sources"),
    "template without {release}": (_paths("{repo}/{arch}/RPMS", "{repo}/SRPMS"),
                                   "paths.binaries"),
    "template without {repo}": (_paths("{release}/{arch}/RPMS", "{release}/SRPMS"),
                                "paths"),
    "template with an attribute": (_paths("{release}/{repo}/{arch.__class__}/RPMS"),
                                   "paths.binaries"),
    "template with an unknown field": (_paths("{release}/{repo}/{arch}/{home}"),
                                       "paths.binaries"),
    "state_dir climbs out": (_set("state_dir", "../../etc/updraft"), "state_dir"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_name_or_template_leading_out_of_the_tree_is_refused_at_load(
        case: str, tmp_path: Path) -> None:
    mutate, key = CASES[case]
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    mutate(raw)
    config_file = tmp_path / "hostile.yaml"
    config_file.write_text(yaml.safe_dump(raw))

    with pytest.raises(ConfigError) as refused:
        load_config(config_file)

    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{config_file}: {key}")
    assert "refused" in message or "must contain" in message or "placeholder" in message


def test_the_cli_refuses_a_hostile_config_in_one_line_creating_nothing(tmp_path: Path) -> None:
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    _release("../../escaped")(raw)
    config_file = tmp_path / "conf" / "hostile.yaml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(raw))
    root = tmp_path / "a" / "b" / "tree"

    import subprocess
    import sys
    done = subprocess.run(
        [sys.executable, "-m", "updraft.cli", "--config", str(config_file), "--root", str(root),
         "update-repos"], capture_output=True, text=True, check=False)

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "releases" in done.stderr and "'../../escaped'" in done.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["conf", "hostile.yaml"]
