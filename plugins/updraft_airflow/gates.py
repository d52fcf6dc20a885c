"""GoNoGoOperator: the release managers' Go/NoGo on a promotion, in the Airflow UI."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from updraft_airflow import distribution


class GoNoGoOperator(ApprovalOperator):
    """Asks the approvers the config names for the target repo; its body is the plan.

    Who must answer is read from the YAML when the task runs (`repos.<target>.approval`
    names a role, `roles.<role>` its members), so a change of release managers needs no
    DAG change. A target without an approval role needs no Go: the task says so and
    lets the promotion through. Reject skips everything downstream: nothing moves.
    """

    template_fields = (*ApprovalOperator.template_fields, "target")

    def __init__(self, *, plan_task_id: str = "plan", target: str = "{{ params.target }}",
                 config_path: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Go/NoGo: promote {{ params.package }} to "
                                     "{{ params.target }}")
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id
        self.target = target
        self.config_path = config_path

    def execute(self, context: Any) -> Any:
        config = distribution.load(self.config_path)
        approvers = config.approvers(config.check_repo(self.target))
        if not approvers:
            self.log.info("repos.%s.approval is not set: no Go/NoGo needed", self.target)
            return {"chosen_options": ["Approve"], "not_required": True,
                    "responded_by_user": None, "responded_at": None, "params_input": {}}
        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
        self.assigned_users = [{"id": user, "name": user} for user in approvers]
        self.body = _body(plan, self.target, config.repos[self.target].approval or "")
        self.log.info("waiting for a Go/NoGo from %s", ", ".join(approvers))
        return super().execute(context)


def _body(plan: dict[str, Any], target: str, role: str) -> str:
    families = "\n".join(f"- {family}" for family in plan.get("families", []))
    more = plan.get("more_families") or 0
    if more:
        families += f"\n- ... and {more} more"
    digest = str(plan.get("digest", ""))[:12]
    return (
        f"**{plan.get('actions', 0)} actions** into **{target}** (plan `{digest}`), "
        f"asked of {role}.\n\n{families}\n\n"
        f"```\n{plan.get('preview', '')}\n```\n\n"
        "Approve applies exactly this plan. If the tree changes before it is applied, "
        "nothing moves and the promotion must be approved again. Reject moves nothing."
    )
