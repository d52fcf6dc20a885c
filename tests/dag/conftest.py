"""Airflow for the DAG tests (tests/kits/airflow_env.py): imported first, so Airflow reads
the throwaway home's configuration."""

from tests.kits.airflow_env import airflow_db, clamav_tree, dagbag, mailbox  # noqa: F401
