"""Hostile cases: a compromised mirror, a malicious changelog, a careless `cp`, a full disk,
a forged gate. Each asserts the real outcome on disk, in repodata, in the ledger or over HTTP."""
