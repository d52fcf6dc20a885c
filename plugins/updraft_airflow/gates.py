"""Gates: the human decisions of the cycle, in the Airflow UI (Required Actions).

GoNoGoOperator (promotion into a release repo), BuildGateOperator ("Build?"),
SignGateOperator ("Sign?") and ReleaseGateOperator (which families to release, in
release_gate) of seed 004's approval questions. Each offers Approve (Go) and Reject
(NoGo) with an optional comment, records its decision in the ledger and waits as long
as `gates:` says (gate_record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from updraft.gate_text import md_blocks, md_people, report_blocks
from updraft.markup import md_code, md_link, md_text
from updraft.web.links import family_url
from updraft_airflow import distribution
from updraft_airflow.gate_record import RecordedGate, form, ledger_url
from updraft_airflow.release_gate import ReleaseGateOperator
from updraft_airflow.users import assignees

if TYPE_CHECKING:
    from updraft.ledger.gates import Decision

__all__ = ["BuildGateOperator", "GoNoGoOperator", "ReleaseGateOperator", "SignGateOperator"]


class GoNoGoOperator(RecordedGate, ApprovalOperator):
    """Asks the approvers the config names for the target repo; its body is the plan.

    Who must answer is read from the YAML when the task runs (`repos.<target>.approval`
    names a role, `roles.<role>` its members), so a change of release managers needs no
    DAG change. A target without an approval role needs no Go: the task says so and
    lets the promotion through. Reject skips everything downstream: nothing moves.
    The question (with the plan's digest) and the answer go to the ledger (gate_record).
    """

    gate_kind = "promote"

    template_fields = (*ApprovalOperator.template_fields, "target")

    def __init__(self, *, plan_task_id: str = "plan", target: str = "{{ params.target }}",
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Go/NoGo: promote {{ params.package }} to "
                                     "{{ params.target }}")
        form(kwargs)
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id
        self.target = target

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        approvers = config.approvers(config.check_repo(self.target))
        if not approvers:
            self.log.info("repos.%s.approval is not set: no Go/NoGo needed", self.target)
            return _approved_without_asking(f"repos.{self.target}.approval is not set")
        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
        self.assigned_users = assignees(config, config.repos[self.target].approval)
        self.body = _body(plan, self.target, config.repos[self.target].approval or "",
                          md_people(config, approvers))
        params = context.get("params") or {}
        self.record_question(context, self.assigned_users, self.body,
                             release=params.get("release") or "", target=self.target,
                             family=params.get("package") or "",
                             digest=str(plan.get("digest") or ""), config=config)
        self.log.info("waiting for a Go/NoGo from %s", ", ".join(approvers))
        return super().execute(context)

    def on_recorded(self, context: Context, decision: Decision) -> None:
        from updraft.gate import refuse_requests

        if decision.nogo:
            # A NoGo answers the requests of the family's held arrivals: they stay held
            # (nothing lost) and are reported as refused.
            plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
            families = [str(f).rsplit(" (", 1)[0] for f in plan.get("families", [])]
            refuse_requests(ledger_url(self.config_path, context), str(self.target), families,
                            decision.by or "timeout", distribution.run_trigger(context))


def _body(plan: dict[str, Any], target: str, role: str, approvers: str) -> str:
    """The plan grouped by family (report.py's blocks) as lists, every value quoted."""
    families = ", ".join(md_code(family) for family in plan.get("families", []))
    more = plan.get("more_families") or 0
    if more:
        families += f" and {md_text(more)} more"
    digest = md_code(str(plan.get("digest", ""))[:12])
    pages = ", ".join(md_link(name, family_url(str(name)))
                      for name in plan.get("family_names", []))
    return (
        f"**{md_text(plan.get('actions', 0))} actions** into **{md_text(target)}** "
        f"(plan {digest}) for {families or 'no family'}\n\n"
        + (f"Family pages: {pages}\n\n" if pages else "") +
        f"Asked of {md_text(role)}: {approvers}\n\n"
        f"{md_blocks(report_blocks(str(plan.get('preview', ''))))}\n\n"
        "Approve applies exactly this plan. If the tree changes before it is applied, "
        "nothing moves and the promotion must be approved again. Reject moves nothing; "
        "say why in the comment."
    )


def _approved_without_asking(reason: str) -> dict[str, Any]:
    return {"chosen_options": ["Approve"], "not_required": True, "reason": reason,
            "responded_by_user": None, "responded_at": None, "params_input": {}}


class BuildGateOperator(RecordedGate, ApprovalOperator):
    """Seed 004's "To build a package or not?": asked of the packagers, the body is the
    build plan (arches, queues, options, rebase). Reject skips the builds: nothing is
    built, signed or landed."""

    gate_kind = "build"

    def __init__(self, *, input_task_id: str = "verify",
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Build? {{ ti.xcom_pull(task_ids='verify')['nvr'] }} "
                                     "for {{ params.release }}")
        form(kwargs)
        super().__init__(**kwargs)
        self.input_task_id = input_task_id

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        if not config.roles.packagers:
            self.log.info("roles.packagers lists nobody: building without asking")
            return _approved_without_asking("roles.packagers is empty")
        built = context["ti"].xcom_pull(task_ids=self.input_task_id) or {}
        self.assigned_users = assignees(config, "packagers")
        plan = "\n".join(f"- {md_text(line)}" for line in built.get("plan", []))
        self.body = (f"**Build {md_code(built.get('nvr', ''))}**\n\n{plan}\n\n"
                     f"Asked of packagers: {md_people(config, config.roles.packagers)}\n\n"
                     "Approve builds exactly this SRPM on these builders. Reject builds "
                     "nothing; say why in the comment.")
        self.record_question(context, self.assigned_users, self.body,
                             release=(context.get("params") or {}).get("release") or "",
                             family=str(built.get("nvr", "")), config=config)
        self.log.info("waiting for a packager (%s) to approve the build",
                      ", ".join(config.roles.packagers))
        return super().execute(context)


class SignGateOperator(RecordedGate, ApprovalOperator):
    """Seed 004's "To sign package or not?": asked of the signers after the builder
    report; the body lists the packages. Reject signs nothing and lands nothing."""

    gate_kind = "sign"

    def __init__(self, *, report_task_id: str = "report",
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Sign? {{ ti.xcom_pull(task_ids='verify')['nvr'] }} "
                                     "for {{ params.release }}")
        form(kwargs)
        super().__init__(**kwargs)
        self.report_task_id = report_task_id

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        if not config.roles.signers:
            raise AirflowFailException("roles.signers lists nobody: name who may approve "
                                       "signatures in the config")
        report = context["ti"].xcom_pull(task_ids=self.report_task_id) or {}
        self.assigned_users = assignees(config, "signers")
        packages = "\n".join(f"- {md_text(name)}" for name in report.get("rpms", []))
        self.body = (f"Build {md_code(report.get('build_id', ''))} succeeded:\n\n{packages}\n\n"
                     f"Asked of signers: {md_people(config, config.roles.signers)}\n\n"
                     "Approve signs them (and the SRPM) with the `updraft_gpg` key and "
                     f"lands them in {md_text(config.landing.upstream_updates)} (never-shipped "
                     f"ones in {md_text(config.landing.new_packages)}). Reject signs and lands "
                     "nothing; say why in the comment.")
        # The N-V-R, as Build? records it (the build id is no family's name).
        verified = context["ti"].xcom_pull(task_ids="verify") or {}
        self.record_question(context, self.assigned_users, self.body,
                             release=(context.get("params") or {}).get("release") or "",
                             family=str(verified.get("nvr") or report.get("build_id", "")),
                             config=config)
        self.log.info("waiting for a signer (%s)", ", ".join(config.roles.signers))
        return super().execute(context)
