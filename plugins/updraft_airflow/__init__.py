"""The Airflow adapter of updraft: operators, gates, triggers and assets.

Every decision lives in `updraft` (include/); these classes read params and
connections, call the library, log, and push small XComs. Modules here import the
library's heavy parts (rpm, createrepo_c, the ledger) only inside `execute`/`run`, so
DAG files that import them still parse in milliseconds.
"""
