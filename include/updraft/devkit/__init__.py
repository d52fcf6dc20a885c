"""Tooling for demos and tests, never used by a production run: the demo distribution,
rpmbuild-made packages, the Bugzilla REST stand-in and the local SMTP sink."""
