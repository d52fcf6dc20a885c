"""The Bugzilla REST stand-in for the tests (it lives in updraft.devkit.bugzilla_standin, where
`make run` and the end-to-end stack start it too)."""

from updraft.devkit.bugzilla_standin import BugzillaServer, bug

__all__ = ["BugzillaServer", "bug"]
