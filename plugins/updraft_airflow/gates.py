"""Gates: the human decisions of the cycle, in the Airflow UI (Required Actions).

GoNoGoOperator (promotion into a release repo), BuildGateOperator ("Build?"),
SignGateOperator ("Sign?") and ReleaseGateOperator (which families to release) of seed
004's approval questions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft.markup import md_code, md_fence, md_link, md_text
from updraft_airflow import distribution
from updraft_airflow.gate_record import RecordedGate, ledger_url
from updraft_airflow.users import assignees


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
            return _approved_without_asking(f"repos.{self.target}.approval is not set")
        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
        self.assigned_users = assignees(config, config.repos[self.target].approval)
        self.body = _body(plan, self.target, config.repos[self.target].approval or "")
        params = context.get("params") or {}
        self.record_question(context, self.assigned_users, self.body,
                             release=params.get("release") or "", target=self.target,
                             family=params.get("package") or "",
                             digest=str(plan.get("digest") or ""))
        self.log.info("waiting for a Go/NoGo from %s", ", ".join(approvers))
        return super().execute(context)


    def on_recorded(self, context: Any, chosen: list[str], by: str) -> None:
        from updraft.gate import refuse_requests

        if "Reject" in chosen:
            # A NoGo answers the requests of the family's held arrivals: they stay held
            # (nothing lost) and are reported as refused.
            plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
            families = [str(f).rsplit(" (", 1)[0] for f in plan.get("families", [])]
            refuse_requests(ledger_url(self.config_path, context), str(self.target), families,
                            by, distribution.run_trigger(context))


def _body(plan: dict[str, Any], target: str, role: str) -> str:
    families = "\n".join(f"- {md_text(family)}" for family in plan.get("families", []))
    more = plan.get("more_families") or 0
    if more:
        families += f"\n- ... and {more} more"
    digest = md_code(str(plan.get("digest", ""))[:12])
    return (
        f"**{md_text(plan.get('actions', 0))} actions** into **{md_text(target)}** "
        f"(plan {digest}), asked of {md_text(role)}.\n\n{families}\n\n"
        f"{md_fence(plan.get('preview', ''))}\n\n"
        "Approve applies exactly this plan. If the tree changes before it is applied, "
        "nothing moves and the promotion must be approved again. Reject moves nothing."
    )


def _approved_without_asking(reason: str) -> dict[str, Any]:
    return {"chosen_options": ["Approve"], "not_required": True, "reason": reason,
            "responded_by_user": None, "responded_at": None, "params_input": {}}


class BuildGateOperator(RecordedGate, ApprovalOperator):
    """Seed 004's "To build a package or not?": asked of the packagers, the body is the
    build plan (arches, queues, options, rebase). Reject skips the builds: nothing is
    built, signed or landed."""

    gate_kind = "build"

    def __init__(self, *, input_task_id: str = "verify", config_path: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Build? {{ ti.xcom_pull(task_ids='verify')['nvr'] }} "
                                     "for {{ params.release }}")
        super().__init__(**kwargs)
        self.input_task_id = input_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> Any:
        config = distribution.load(self.config_path)
        if not config.roles.packagers:
            self.log.info("roles.packagers lists nobody: building without asking")
            return _approved_without_asking("roles.packagers is empty")
        built = context["ti"].xcom_pull(task_ids=self.input_task_id) or {}
        self.assigned_users = assignees(config, "packagers")
        self.body = (md_fence("\n".join(built.get("plan", []))) + "\n\n"
                     "Approve builds exactly this SRPM on these builders. Reject builds "
                     "nothing.")
        self.record_question(context, self.assigned_users, self.body,
                             release=(context.get("params") or {}).get("release") or "",
                             family=str(built.get("nvr", "")))
        self.log.info("waiting for a packager (%s) to approve the build",
                      ", ".join(config.roles.packagers))
        return super().execute(context)


class SignGateOperator(RecordedGate, ApprovalOperator):
    """Seed 004's "To sign package or not?": asked of the signers after the builder
    report; the body lists the packages. Reject signs nothing and lands nothing."""

    gate_kind = "sign"

    def __init__(self, *, report_task_id: str = "report", config_path: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Sign? {{ ti.xcom_pull(task_ids='verify')['nvr'] }} "
                                     "for {{ params.release }}")
        super().__init__(**kwargs)
        self.report_task_id = report_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> Any:
        config = distribution.load(self.config_path)
        if not config.roles.signers:
            raise AirflowFailException("roles.signers lists nobody: name who may approve "
                                       "signatures in the config")
        report = context["ti"].xcom_pull(task_ids=self.report_task_id) or {}
        self.assigned_users = assignees(config, "signers")
        packages = "\n".join(f"- {md_text(name)}" for name in report.get("rpms", []))
        self.body = (f"Build {md_code(report.get('build_id', ''))} succeeded:\n\n{packages}\n\n"
                     "Approve signs them (and the SRPM) with the `updraft_gpg` key and "
                     f"lands them in {config.landing.upstream_updates} (never-shipped ones "
                     f"in {config.landing.new_packages}). Reject signs and lands nothing.")
        self.record_question(context, self.assigned_users, self.body,
                             release=(context.get("params") or {}).get("release") or "",
                             family=str(report.get("build_id", "")))
        self.log.info("waiting for a signer (%s)", ", ".join(config.roles.signers))
        return super().execute(context)


class ReleaseGateOperator(RecordedGate, HITLOperator):
    """The release Go/NoGo (seed 004 step 8, "User can mark some packages as good"): a
    multiple choice of the releasable families, all proposed, asked of the approvers of
    the target repo (release managers). Its body is the analysis: what goes, what is
    held back and why, and a link to the full report on the release board.

    Nothing releasable: the gate skips itself and everything after it.
    """

    gate_kind = "release"

    template_fields = (*HITLOperator.template_fields, "release")

    def __init__(self, *, release: str = "{{ params.release }}", analysis_task_id: str = "analyse",
                 report_task_id: str = "report", config_path: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Go/NoGo: release updates of {{ params.release }}")
        # The real options come from the analysis when the task runs.
        kwargs.setdefault("options", ["(the analysis' releasable families)"])
        super().__init__(multiple=True, **kwargs)
        self.release = release
        self.analysis_task_id = analysis_task_id
        self.report_task_id = report_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> Any:
        config = distribution.load(self.config_path)
        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        report = context["ti"].xcom_pull(task_ids=self.report_task_id) or {}
        offered = list(analysed.get("options") or [])
        if not offered:
            raise AirflowSkipException("nothing is releasable: no Go/NoGo asked, nothing "
                                       "released (the release board says why)")
        role = config.repos[config.release.target].approval or "release_managers"
        self.assigned_users = assignees(config, role)
        if not self.assigned_users:
            raise AirflowFailException(f"nobody may release: roles.{role} lists nobody in "
                                       "the config")
        self.options, self.defaults = offered, offered
        self.body = _release_body(analysed, report)
        self.record_question(context, self.assigned_users, self.body, release=self.release,
                             target=config.release.target,
                             digest=hashlib.sha256(json.dumps(offered).encode()).hexdigest())
        self.log.info("offering %d families to %s", len(offered),
                      ", ".join(user["id"] for user in self.assigned_users))
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        # A resumed task is a fresh operator: the answer is checked against the options
        # this run offered, not the placeholder of the DAG file.
        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        self.options = list(analysed.get("options") or [])
        return super().execute_complete(context, event)


def _release_body(analysed: dict[str, Any], report: dict[str, Any]) -> str:
    offered = "\n".join(f"- {md_code(name)}" for name in analysed.get("options", []))
    held = []
    for package in analysed.get("held", []):
        older = (f" ({md_text(package['releasable'])} may be released instead)"
                 if package.get("releasable") else "")
        why = "; ".join(md_text(line) for line in package.get("why") or ["not releasable"])
        held.append(f"- {md_code(package['name'] + '-' + package['candidate'])}{older}: {why}")
    return (
        f"**Releasable** (all proposed):\n\n{offered}\n\n"
        + ("**Held back**:\n\n" + "\n".join(held) + "\n\n" if held else "")
        + f"Full report: {md_link('release board', report.get('page', '/updraft/release/'))} "
        f"· this run's copy {md_code(report.get('report', analysed.get('report', '')))}\n\n"
        "Every chosen family moves to smeupdates, gets an advisory, is announced once the "
        "mirrors carry it, and its bugs are closed. A family sharing a bug with one left "
        "out cannot go alone: such an answer releases nothing."
    )
