"""RepodataOperator publishes repodata; RepoAssetsOperator announces the changed repos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from updraft.engine.action import Touched
from updraft_airflow import distribution
from updraft_airflow.assets import REPOS_ALIAS, repo_asset


def _targets(repo_dirs: str | Sequence[str], config: Any) -> list[Touched]:
    labels = [repo_dirs] if isinstance(repo_dirs, str) else list(repo_dirs or [])
    targets = []
    for label in labels:
        try:
            target = Touched.from_label(str(label))
            config.check_release(target.release)
            config.check_repo(target.repo)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        targets.append(target)
    return targets


class RepodataOperator(BaseOperator):
    """createrepo_c on the given repo arch dirs (`9/smetest/i386`), each swapped in whole.

    Safe to retry and to run beside other runs: one createrepo_c per arch dir at a time,
    and each reflects the packages on disk when it starts.
    """

    template_fields: Sequence[str] = ("repo_dir", "config_path")
    ui_color = "#eaf7ea"

    def __init__(self, *, repo_dir: str | Sequence[str], config_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo_dir = repo_dir
        self.config_path = config_path

    def execute(self, context: Any) -> list[str]:
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        published = []
        for target in _targets(self.repo_dir, engine.config):
            path = engine.repodata.publish(target)
            self.log.info("published %s (%s)", target.label, path)
            published.append(target.label)
        return published


class RepoAssetsOperator(BaseOperator):
    """One asset event per changed repo (`updraft://9/smeupdates`), through REPOS_ALIAS."""

    template_fields: Sequence[str] = ("repo_dirs", "plan_id")

    def __init__(self, *, repo_dirs: str | Sequence[str], plan_id: str | None = None,
                 config_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(outlets=[REPOS_ALIAS], **kwargs)
        self.repo_dirs = repo_dirs
        self.plan_id = plan_id
        self.config_path = config_path

    def execute(self, context: Any) -> list[str]:
        config = distribution.load(self.config_path)
        archdirs: dict[tuple[str, str], list[str]] = {}
        for target in _targets(self.repo_dirs, config):
            archdirs.setdefault((target.release, target.repo), []).append(target.archdir)
        announced = []
        for (release, repo), dirs in sorted(archdirs.items()):
            asset = repo_asset(release, repo)
            extra = {"release": release, "repo": repo, "archdirs": sorted(dirs),
                     "plan_id": self.plan_id or None}
            context["outlet_events"][REPOS_ALIAS].add(asset, extra=extra)
            self.log.info("asset event %s %s", asset.uri, extra)
            announced.append(asset.uri)
        return announced
