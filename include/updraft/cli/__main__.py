"""`python -m updraft.cli`: the same as the `updraft` command."""

from updraft.cli.main import main

main()
