"""The DAG tests' Airflow (a throwaway home and SQLite DB, set before anything imports
airflow) and their fixtures, reused as they are: importing tests.dag.conftest sets the
environment, the names below make its fixtures visible here."""

from tests.dag.conftest import airflow_db, clamav_tree, dagbag, mailbox  # noqa: F401
