"""Assets: a changed repo is an Asset, so downstream DAGs schedule on facts.

`updraft://<release>/<repo>` (e.g. updraft://9/smeupdates) gets an event each time the
repo's repodata is published with new content. The repos a run touches are known only
when it applies, so events go out through one AssetAlias. The tree itself is watched
by an AssetWatcher: a packager's `cp` becomes an event within seconds.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias, AssetWatcher

from updraft_airflow.triggers import TreeDropTrigger

REPOS_ALIAS = AssetAlias("updraft-repos", group="updraft")
# A sync's build requests (issue 17 §2): extra {"requests": [BuildRequest JSON, ...]}.
BUILD_REQUESTS = Asset(name="updraft-build-requests", uri="updraft://build-requests",
                       group="updraft")


def repo_asset(release: str, repo: str) -> Asset:
    return Asset(uri=f"updraft://{release}/{repo}", group="updraft")


def tree_drops(config_path: str, poll_interval: float = 5.0, settle: float = 0.5) -> Asset:
    """The tree's unsettled changes, watched by the triggerer: a `cp` is announced about
    two quiet `settle`s after it ends (a copy under way keeps writing, so it waits)."""
    trigger = TreeDropTrigger(config_path=config_path, poll_interval=poll_interval,
                              settle=settle)
    return Asset(name="updraft-tree-drops", uri="updraft://tree/drops", group="updraft",
                 watchers=[AssetWatcher(name="updraft_tree_watch", trigger=trigger)])
