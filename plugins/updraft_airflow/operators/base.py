"""UpdraftOperator: the base of every operator over the library.

It owns what each of them needs the same way: the config the task reads
(`config_path`, templated; None is $UPDRAFT_CONFIG or the checkout's), the engine over
the tree acting as `airflow:<dag>/<run>`, and ONE mapping of the library's errors to
Airflow's outcomes:

- `updraft.errors.Transient` (a lock held by another writer, a full disk, a server that
  did not answer) is raised as it is: Airflow retries the task (its `retries`);
- any other `UpdraftError` (a config, a param, a refused gate, a changed plan) becomes
  AirflowFailException: a retry would say the same, so the task fails at once with the
  error's one line;
- anything else is a bug and keeps its traceback (retried like any failure).

A subclass implements `run(context)`; a step too small for a class of its own is a
callable run by StepOperator or GoOnOperator, with the same mapping (`@mapped_errors`).
DAG files import these, never Airflow's operators: they wire the adapter and the SDK.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from updraft.errors import Transient, UpdraftError
from updraft_airflow import distribution

if TYPE_CHECKING:
    from email.message import EmailMessage

    from updraft.config.dist import DistConfig
    from updraft.engine.cycle import CycleResult
    from updraft.engine.engine import Engine

P = ParamSpec("P")
R = TypeVar("R")


def airflow_outcome(exc: UpdraftError) -> BaseException:
    """What Airflow should see of a library error: itself (retried) or a failure."""
    if isinstance(exc, Transient):
        return exc
    failed = AirflowFailException(str(exc))
    failed.__cause__ = exc
    return failed


def mapped_errors(function: Callable[P, R]) -> Callable[P, R]:
    """The operators' error mapping for a task callable."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except UpdraftError as exc:
            outcome = airflow_outcome(exc)
            if outcome is exc:
                raise
            raise outcome from exc

    return wrapper


class UpdraftOperator(BaseOperator):
    """Config, engine and error mapping for one step of updraft; subclasses `run`."""

    template_fields: Sequence[str] = ("config_path",)

    def __init__(self, *, config_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_path = config_path

    def execute(self, context: Context) -> Any:
        return mapped_errors(self.run)(context)

    def run(self, context: Context) -> Any:
        raise NotImplementedError(f"{type(self).__name__} implements run(context)")

    def config(self) -> DistConfig:
        """The distribution config as it is now (an edit applies from the next task on)."""
        return distribution.load(self.config_path)

    def engine(self, context: Context) -> Engine:
        """The repository engine over the tree, acting as this task's run."""
        return distribution.engine(self.config_path, distribution.run_trigger(context))

    def push_cycle(self, context: Context, result: CycleResult) -> list[str]:
        """XComs of an applied cycle for the publication steps; returns the arch dirs whose
        repodata awaits publishing (the task's return value, mapped over by `repodata`)."""
        self.push_summary(context, result.summary())
        return [target.label for target in result.unpublished]

    def push_summary(self, context: Context, summary: dict[str, object]) -> None:
        """`summary`, and its `report_file` and `plan_id` by key: what
        updraft_airflow.publication passes on as `apply.output["report_file"]`."""
        ti = context["ti"]
        ti.xcom_push(key="summary", value=summary)
        # An XCom of None is not stored, and a missing key fails the XComArg that reads
        # it: "" stands for "none" (params.optional reads it so).
        ti.xcom_push(key="report_file", value=summary.get("report_file") or "")
        ti.xcom_push(key="plan_id", value=summary.get("plan_id") or "")


class MailingOperator(UpdraftOperator):
    """An UpdraftOperator that mails through the SMTP connection (`updraft_smtp`: host,
    TLS and password are the connection's, never logged)."""

    def __init__(self, *, smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.smtp_conn_id = smtp_conn_id

    def mail(self, config: DistConfig, message: EmailMessage) -> bool:
        """Send `message` to its To:; False (and nothing sent) when it names nobody."""
        from updraft_airflow.operators.mail import send

        sent = send(config, message, self.smtp_conn_id)
        if sent:
            self.log.info("mailed %r to %s", message["Subject"], message["To"])
        return sent


class StepOperator(PythonOperator):
    """A small step: `python_callable` (a library call) under the operators' error mapping.
    Context values it names as keyword arguments (`ti`, `params`) are passed in."""

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(python_callable=mapped_errors(python_callable), **kwargs)


class GoOnOperator(ShortCircuitOperator):
    """Goes on only when `python_callable` says so (False skips what follows), under the
    operators' error mapping."""

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(python_callable=mapped_errors(python_callable), **kwargs)
