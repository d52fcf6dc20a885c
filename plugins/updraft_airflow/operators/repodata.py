"""RepodataOperator publishes repodata; RepoAssetsOperator announces the changed repos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from updraft.engine.action import Touched
from updraft_airflow import params
from updraft_airflow.assets import REPOS_ALIAS, repo_asset
from updraft_airflow.operators.base import UpdraftOperator

if TYPE_CHECKING:
    from updraft.config.dist import DistConfig


def _targets(repo_dirs: str | Sequence[str], config: DistConfig) -> list[Touched]:
    targets = []
    for label in params.text_list(repo_dirs, "repo_dir"):
        try:
            target = Touched.from_label(label)
        except ValueError as exc:
            raise params.ParamError(str(exc)) from exc
        config.check_release(target.release)
        config.check_repo(target.repo)
        targets.append(target)
    return targets


class RepodataOperator(UpdraftOperator):
    """createrepo_c on the given repo arch dirs (`9/smetest/i386`), each swapped in whole.

    Safe to retry and to run beside other runs: one createrepo_c per arch dir at a time,
    and each reflects the packages on disk when it starts.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "repo_dir")
    ui_color = "#eaf7ea"

    def __init__(self, *, repo_dir: str | Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo_dir = repo_dir

    def run(self, context: Context) -> list[str]:
        engine = self.engine(context)
        published = []
        for target in _targets(self.repo_dir, engine.config):
            path = engine.repodata.publish(target)
            self.log.info("published %s (%s)", target.label, path)
            published.append(target.label)
        return published


class RepoAssetsOperator(UpdraftOperator):
    """One asset event per changed repo (`updraft://9/smeupdates`), through REPOS_ALIAS."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "repo_dirs", "plan_id")

    def __init__(self, *, repo_dirs: str | Sequence[str], plan_id: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(outlets=[REPOS_ALIAS], **kwargs)
        self.repo_dirs = repo_dirs
        self.plan_id = plan_id

    def run(self, context: Context) -> list[str]:
        config = self.config()
        archdirs: dict[tuple[str, str], list[str]] = {}
        for target in _targets(self.repo_dirs, config):
            archdirs.setdefault((target.release, target.repo), []).append(target.archdir)
        announced = []
        for (release, repo), dirs in sorted(archdirs.items()):
            asset = repo_asset(release, repo)
            extra: dict[str, Any] = {"release": release, "repo": repo, "archdirs": sorted(dirs),
                     "plan_id": params.optional(self.plan_id, "plan_id")}
            context["outlet_events"][REPOS_ALIAS].add(asset, extra=extra)
            self.log.info("asset event %s %s", asset.uri, extra)
            announced.append(asset.uri)
        return announced
