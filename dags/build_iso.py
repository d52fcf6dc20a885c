"""build_iso: seed 002's official ISO, from the stage to the switched version link."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from updraft_airflow import distribution
from updraft_airflow.iso_gate import IsoApprovalOperator
from updraft_airflow.operators.iso import (
    IsoFreezeOperator,
    IsoPreflightOperator,
    IsoPublishOperator,
    IsoStageOperator,
    IsoThawOperator,
    MockChrootOperator,
)

config = distribution.load()
releases = list(config.releases)

with DAG(
    dag_id="build_iso",
    description="Stage, preflight, installer and ISO in a mock chroot, implantisomd5, "
                "checksums, jigdo, approval, hardlinked publish",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "iso"],
    render_template_as_native_obj=True,
    params={
        "release": Param(releases[-1], enum=releases, description="the major release"),
        "version": Param(type="string", minLength=1,
                         description="the ISO's version: 10.1 (final), 10.1rc1, 10.1beta2"),
        "arches": Param(None, type=["null", "array"], items={"type": "string"},
                        description="arch dirs (empty: iso.arches or every arch dir)"),
        "force_installer": Param(False, type="boolean",
                                 description="rebuild the installer even if unchanged"),
    },
    doc_md=f"""
### Build an official ISO ({config.name}, seed 002)

1. **freeze** — no package moves into {", ".join(config.iso.freeze_repos)} until the
   run ends (**thaw**, a teardown: it runs whatever the outcome).
2. **stage** — the engine refreshes the stage (smeos + smeupdates +
   smeupdates-testing, never smetest); the ISO tree is laid out from it with the
   cdrom.image content and the anaconda translations.
3. **preflight** — release package bumped, .buildstamp, menu title, release files,
   release-key signatures, dependency closure, verified packages: fails with the list.
4. **build_installer** — only when anaconda or cdrom.image changed (content hash);
   **build_iso** — createrepo_c with comps, xorriso, implantisomd5, jigdo, SHA256SUM,
   and the SRPMS ISO. Backend `{config.iso.backend}` (`mock -r {config.iso.mock_config}`).
5. **approve** — the release managers see the contents and checksums.
6. **publish** — ISOs and jigdos copied, the stage synced to {config.iso.published_repo},
   the other repos hardlinked from the previous version, the `<release>` link switched.
""",
) as dag:
    freeze = IsoFreezeOperator(task_id="freeze")
    stage = IsoStageOperator(task_id="stage", pool="repo_tree")
    preflight = IsoPreflightOperator(task_id="preflight")
    build_installer = MockChrootOperator(task_id="build_installer", build_step="installer",
                                         force="{{ params.force_installer }}")
    build_iso = MockChrootOperator(task_id="build_iso", build_step="iso",
                                   trigger_rule="none_failed")
    approve = IsoApprovalOperator(task_id="approve")
    publish = IsoPublishOperator(task_id="publish", pool="repo_tree")
    thaw = IsoThawOperator(task_id="thaw", trigger_rule="all_done")
    freeze >> stage >> preflight >> build_installer >> build_iso >> approve >> publish >> thaw
    thaw.as_teardown(setups=freeze)
