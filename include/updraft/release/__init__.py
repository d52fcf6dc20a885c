"""Release: Bugzilla-driven releasability, Go/NoGo, advisories, release notes (seed 000)."""
