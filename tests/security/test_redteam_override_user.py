"""Red team: an emergency override is recorded "with the OS user". getpass.getuser()
reads $LOGNAME/$USER first: `USER=releng updraft promote ... --override-gate` put the
release manager's name on a packager's override in the ledger and in the mail. The
override now names the account the process runs as."""

from __future__ import annotations

import os
import pwd

from tests.kits import treekit
from updraft.engine.engine import Engine
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords


def test_an_override_names_the_real_account_not_the_environment(engine: Engine) -> None:
    root = engine.layout.root
    spoofed = {"USER": "releng", "LOGNAME": "releng", "LNAME": "releng", "USERNAME": "releng",
               "UPDRAFT_SMTP": "127.0.0.1:9"}

    done = treekit.run_cli("--root", str(root), "promote", "clamav-0.97.6-1.el4.rf", "--to",
                           "smeupdates", "--override-gate", "--reason", "hotfix", env=spoofed)

    assert done.returncode == 0, done.stderr
    with Ledger.open(engine.layout.ledger_url) as ledger:
        [override] = GateRecords(ledger).decisions("override")
    real = pwd.getpwuid(os.getuid()).pw_name
    assert (override.by, override.run) == (real, f"cli:{real}")
    assert (root / "9/smeupdates/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm").is_file()
