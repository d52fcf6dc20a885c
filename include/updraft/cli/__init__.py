"""The `updraft` command: main.py parses and dispatches; build, iso and release hold the
commands of those stages (each the DAG's steps from a shell)."""
