"""The Airflow adapter for updraft: operators, hooks, sensors, gates and the plugin.

It only adapts the domain library in include/updraft (which never imports Airflow).
The operators and DAGs arrive with the Airflow foundation issue.
"""
