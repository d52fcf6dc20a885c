"""Which upstream SRPMs we rebuild, and the build requests the sync hands over (issue 17 §2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.landingkit import make_catalog, make_inventory, make_package
from updraft.build.requests import BuildRequest, RequestBook, coupled_requests, rebuilt, request
from updraft.errors import UpdraftError
from updraft.upstream.landing import decide

CONFIG = treekit.sme_config()


def test_policies_and_release_patterns_say_what_we_rebuild() -> None:
    assert rebuilt(CONFIG, "9", "initscripts") and rebuilt(CONFIG, "9", "anaconda")
    assert rebuilt(CONFIG, "9", "samba") and rebuilt(CONFIG, "9", "samba4")
    assert not rebuilt(CONFIG, "9", "clamav") and not rebuilt(CONFIG, "9", "libtevent")
    cern = CONFIG.model_copy(
        update={
            "releases": {
                "9": CONFIG.releases["9"].model_copy(update={"rebuild": ("*",)}),
                "10": CONFIG.releases["10"],
            }
        }
    )
    assert rebuilt(cern, "9", "clamav") and not rebuilt(cern, "10", "clamav")


def test_a_rebuilt_family_fetches_only_its_srpm_and_never_lands() -> None:
    inventory = make_inventory(initscripts="9.03.40-2", samba="4.6.2-10", clamav="0.97.5-1")
    centos = make_catalog(
        "centos",
        1,
        [
            make_package("initscripts", "9.03.49", "1.el6"),
            make_package("initscripts", "9.03.49", "1.el6", arch="src"),
            make_package("samba", "4.6.2", "12.el7"),
            make_package("samba", "4.6.2", "12.el7", arch="src"),
            make_package("clamav", "0.97.6", "1.el6"),
        ],
        inventory,
    )
    decision = decide(inventory, [centos], CONFIG)
    assert [landing.family.name for landing in decision.landings] == ["clamav"]
    assert sorted((r.family.name, r.srpm.filename) for r in decision.rebuilds) == [
        ("initscripts", "initscripts-9.03.49-1.el6.src.rpm"),
        ("samba", "samba-4.6.2-12.el7.src.rpm"),
    ]
    lines = {skip.line() for skip in decision.skips}
    assert (
        "initscripts-9.03.49-1.el6 from centos not landed: built locally from the upstream "
        "SRPM, never taken from upstream: a build request (rebuilt from each new upstream "
        "SRPM with our patches, up to SME 9 (seed 000))"
    ) in lines


def test_a_new_name_we_rebuild_is_a_build_request_not_a_landing() -> None:
    """initscripts first seen upstream (the demo's): its SRPM goes to the builders, its
    binaries stay upstream; a new name without a policy still lands in smedev."""
    inventory = make_inventory(clamav="0.97.5-1")
    packages = [make_package("initscripts", "9.03.49", "1.el6"),
                make_package("initscripts", "9.03.49", "1.el6", arch="src"),
                make_package("fail2ban", "0.8.14", "1.el6")]
    centos = make_catalog("centos", 1, packages, inventory, new={"initscripts", "fail2ban"})
    decision = decide(inventory, [centos], CONFIG)
    assert [landing.family.name for landing in decision.landings] == ["fail2ban"]
    assert [(r.family.name, r.srpm.filename) for r in decision.rebuilds] == [
        ("initscripts", "initscripts-9.03.49-1.el6.src.rpm")]


def test_a_rebuild_without_an_srpm_upstream_is_said_and_requests_nothing() -> None:
    inventory = make_inventory(anaconda="13.21-1")
    centos = make_catalog("centos", 1, [make_package("anaconda", "13.22", "1.el6")], inventory)
    decision = decide(inventory, [centos], CONFIG)
    assert decision.rebuilds == [] and decision.landings == []
    assert "but the source publishes none" in decision.skips[0].reason


def test_the_kernel_request_carries_its_policy_parameters_for_the_gate() -> None:
    kernel = request(CONFIG, "9", "kernel", "kernel-2.6.32-754.el6", "new upstream")
    assert kernel.ask_parameters and kernel.defaults == {"without": ["debug", "debuginfo"]}
    samba = request(CONFIG, "9", "samba", "samba-4.6.2-12.el7", "new upstream")
    assert not samba.ask_parameters and samba.defaults == {}
    assert BuildRequest.from_json(kernel.to_json()) == kernel


def test_a_request_from_outside_names_a_package_never_a_path() -> None:
    raw = request(CONFIG, "9", "samba", "samba-4.6.2-12.el7", "x").to_json()
    with pytest.raises(UpdraftError):
        BuildRequest.from_json({**raw, "nvr": "../../etc/passwd"})


def test_a_coupled_landing_requests_its_partners_rebuild() -> None:
    found = coupled_requests(
        CONFIG,
        "9",
        [("libtevent", "0.9.31-2.el6"), ("clamav", "1-1")],
        {"samba": "4.6.2-10.el6.sme", "clamav": "1-1"},
    )
    assert [(r.name, r.nvr, r.reason) for r in found] == [
        ("samba", "samba-4.6.2-10.el6.sme", "coupled: libtevent-0.9.31-2.el6 landed")
    ]


def test_each_request_goes_out_once(tmp_path: Path) -> None:
    book = RequestBook(tmp_path)
    samba = request(CONFIG, "9", "samba", "samba-4.6.2-12.el7", "x")
    again = request(CONFIG, "9", "samba", "samba-4.6.2-12.el7", "coupled")
    assert book.fresh([samba, again]) == [samba]
    assert book.fresh([samba]) == []
    book.forget([samba.key])
    assert book.fresh([samba]) == [samba]
