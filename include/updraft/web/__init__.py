"""The release engineer's pages (issue 18): what each page shows, computed from the tree
and the ledger. Pure Python, no Airflow: the routes in plugins/updraft_airflow/pages.py
call these and render them (HTML through include/updraft/templates/web, or JSON)."""
