"""The DAG tests' Airflow (a throwaway home and SQLite DB, set before anything imports
airflow) and their fixtures, reused as they are: importing tests.kits.airflow_env sets the
environment, the names below make its fixtures visible here."""

from tests.kits.airflow_env import airflow_db, clamav_tree, dagbag, mailbox  # noqa: F401
