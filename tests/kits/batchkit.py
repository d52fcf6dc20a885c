"""Test kit for the sync → "Start building?" chain: the build requests a sync's handover
emitted (the `updraft-build-requests` asset event in the metadata DB), and a DAG run's task
states keyed as the UI shows them (`build[0]` for a mapped task)."""

from __future__ import annotations

from typing import Any


def states(run: Any) -> dict[str, str]:
    return {
        (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state
        for ti in run.get_task_instances()
    }


def requests_event() -> dict[str, Any]:
    """The extra of the newest build-requests event: {"requests": [...]}."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        event = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "updraft-build-requests")
            .order_by(AssetEvent.id.desc())
        ).first()
        assert event is not None, [(m.uri, m.name) for m in session.scalars(select(AssetModel))]
        return dict(event.extra)
