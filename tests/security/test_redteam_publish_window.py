"""Red team: Airflow applies a plan and publishes repodata in separate tasks. A `cp`
into smeupdates after the apply (which held nothing: the file was not there yet) and
before the publish task ran was published by createrepo_c, which indexes whatever the
arch dir holds. A gated repo's repodata lists admitted files only."""

from __future__ import annotations

import shutil

from tests.kits import treekit
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion

NEW = "clamav-0.97.6-1.el4.rf.i386.rpm"
STRAY = "clamav-0.97.5-2.el4.rf.i386.rpm"


def test_a_cp_between_apply_and_publish_is_not_published(engine: Engine) -> None:
    root = engine.layout.root
    promotion = Promotion(engine.layout, "clamav-0.97.6-1.el4.rf", "smeupdates", "9")
    applied = engine.apply(["9"], promotion, grant=True, scoped=True)  # the Go's apply task
    assert applied.ok and any(t.label == "9/smeupdates/i386" for t in applied.unpublished)

    # The packager's cp lands while the publish tasks wait in their pool.
    shutil.copy(root / "9/smeupdates-testing/i386/RPMS" / STRAY,
                root / "9/smeupdates/i386/RPMS" / STRAY)
    engine.publish(applied.unpublished)

    hrefs = treekit.repo_hrefs(root / "9/smeupdates/i386")
    assert f"RPMS/{NEW}" in hrefs
    assert f"RPMS/{STRAY}" not in hrefs

    result = engine.update_repos()  # the next cycle holds it
    assert "waits for a Go" in result.report
    assert f"RPMS/{STRAY}" not in treekit.repo_hrefs(root / "9/smeupdates/i386")
