"""updraft: the update cycle of an RPM-based distribution (domain library, no Airflow)."""
