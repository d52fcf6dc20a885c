"""The ISO's release gate: the release managers see what is on the ISO and its
checksums, and approve its publication."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from updraft.gate_text import md_people
from updraft.markup import md_fence, md_text
from updraft_airflow import distribution
from updraft_airflow.gate_record import RecordedGate, form
from updraft_airflow.users import assignees


class IsoApprovalOperator(RecordedGate, ApprovalOperator):
    """Asks `roles.release_managers`; the body is the stage summary, the preflight's
    warnings and every image's sha256. Reject publishes nothing. The question and its
    answer go to the ledger (gate_record); publish proceeds only on that record."""

    gate_kind = "iso"

    def __init__(self, *, stage_task_id: str = "stage", preflight_task_id: str = "preflight",
                 iso_task_id: str = "build_iso",
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Publish ISO {{ params.version }}?")
        form(kwargs)
        super().__init__(**kwargs)
        self.stage_task_id, self.preflight_task_id = stage_task_id, preflight_task_id
        self.iso_task_id = iso_task_id

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        managers = config.roles.release_managers
        if not managers:
            raise AirflowFailException("roles.release_managers lists nobody: name who may "
                                       "approve an ISO in the config")
        ti = context["ti"]
        stage = ti.xcom_pull(task_ids=self.stage_task_id) or {}
        checks = ti.xcom_pull(task_ids=self.preflight_task_id) or {}
        images = ti.xcom_pull(task_ids=self.iso_task_id) or []
        self.assigned_users = assignees(config, "release_managers")
        self.body = (iso_body(stage, checks, images)
                     + f"\n\nAsked of release managers: {md_people(config, managers)}")
        params = context.get("params") or {}
        self.record_question(context, self.assigned_users, self.body,
                             release=str(params.get("release") or ""),
                             family=str(params.get("version") or ""), config=config)
        self.log.info("waiting for a release manager (%s)", ", ".join(managers))
        return super().execute(context)


def iso_body(stage: dict[str, Any], checks: dict[str, Any], images: list[dict[str, Any]]) -> str:
    contents = "\n".join(f"- {md_text(line)}" for line in stage.get("lines", []))
    warnings = "\n".join(f"- {md_text(line)}" for line in checks.get("warnings", [])) or "- none"
    sums = "\n".join(f"{image['sha256']}  {image['iso'].rsplit('/', 1)[-1]} "
                     f"({image['size']:,} bytes)" for image in images)
    return (f"**Contents**\n\n{contents}\n\n**Preflight warnings**\n\n{warnings}\n\n"
            f"**Checksums (sha256)**\n\n{md_fence(sums)}\n\n"
            "Approve copies the ISOs and jigdos to the mirror tree, syncs the stage to smeos, "
            "hardlinks the other repos from the previous version and switches the major "
            "version link. Reject publishes nothing; say why in the comment.")
