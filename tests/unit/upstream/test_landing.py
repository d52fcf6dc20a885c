"""The landing decision alone (pure): priorities, pins, local builds, couplings, new names."""

from __future__ import annotations

from tests.kits.landingkit import CONFIG, make_catalog, make_inventory, make_package
from updraft.upstream.landing import decide


def test_the_highest_priority_source_carrying_a_name_decides() -> None:
    inventory = make_inventory(foo="1.0-1")
    centos = make_catalog("centos", 1, [make_package("foo", "1.0", "2.el6")], inventory)
    epel = make_catalog("epel", 2, [make_package("foo", "1.5", "1.el6")], inventory)
    [landing] = decide(inventory, [epel, centos], CONFIG).landings
    assert (landing.origin, landing.family.label) == ("centos", "1.0-2.el6")

    # centos carries foo but nothing newer: epel's newer one is still not taken (yum's rule).
    centos = make_catalog("centos", 1, [make_package("foo", "1.0", "1.el6")], inventory)
    assert decide(inventory, [centos, epel], CONFIG).landings == []


def test_a_pin_lands_up_to_the_pin_and_says_why_it_stops() -> None:
    inventory = make_inventory(GeoIP="1.4.7-1")
    centos = make_catalog("centos", 1, [make_package("GeoIP", "1.4.8", "1.el5"),
                                    make_package("GeoIP", "1.6.5", "2.el5")], inventory)
    decision = decide(inventory, [centos], CONFIG)
    assert [landing.family.label for landing in decision.landings] == ["1.4.8-1.el5"]
    assert [skip.line() for skip in decision.skips] == [
        "GeoIP-1.6.5-2.el5 from centos not landed: pinned at 1.4.8-1 (GeoIP-1.6.5-2 creates "
        "conflicts on SME 8 and 9; keep 1.4.8-1 (seed 000))"]


def test_a_locally_built_family_never_lands_even_as_a_new_name() -> None:
    inventory = make_inventory(samba="4.6.2-10")
    centos = make_catalog("centos", 1, [make_package("samba", "4.6.2", "12.el7"),
                                    make_package("libsmbclient", "4.6.2", "12.el7", source="samba"),
                                    make_package("samba4", "4.0", "1.el7")], inventory,
                      new={"samba4"})
    decision = decide(inventory, [centos], CONFIG)
    assert decision.landings == []
    assert [skip.name for skip in decision.skips] == ["samba"]


def test_subpackages_we_do_not_ship_go_to_smedev_with_the_srpm() -> None:
    inventory = make_inventory(php="5.3.3-1")
    inventory.known["php"].shipped = {"php", "php-cli"}
    packages = [make_package(name, "5.3.3", "2.el6", source="php")
                for name in ("php", "php-cli", "php-foo")]
    packages.append(make_package("php", "5.3.3", "2.el6", arch="src"))
    [landing] = decide(inventory, [make_catalog("centos", 1, packages, inventory)], CONFIG).landings
    placed = sorted((package.filename, repo) for package, repo in landing.targets)
    assert placed == [
        ("php-5.3.3-2.el6.src.rpm", "smedev"), ("php-5.3.3-2.el6.src.rpm", "smetest"),
        ("php-5.3.3-2.el6.x86_64.rpm", "smetest"), ("php-cli-5.3.3-2.el6.x86_64.rpm", "smetest"),
        ("php-foo-5.3.3-2.el6.x86_64.rpm", "smedev")]


def test_new_names_land_in_smedev_only_when_the_source_allows_it() -> None:
    inventory = make_inventory()
    packages = [make_package("newpkg", "1.0", "1.el6")]
    catalog = make_catalog("epel", 2, packages, inventory, new={"newpkg"})
    [landing] = decide(inventory, [catalog], CONFIG).landings
    assert landing.new and {repo for _, repo in landing.targets} == {"smedev"}
    catalog.land_new = False
    assert decide(inventory, [catalog], CONFIG).landings == []


def test_a_blocked_file_keeps_its_whole_family_out() -> None:
    inventory = make_inventory(foo="1.0-1")
    centos = make_catalog("centos", 1,
                          [make_package("foo", "1.1", "1.el6"),
                           make_package("foo-libs", "1.1", "1.el6", source="foo")], inventory)
    decision = decide(inventory, [centos], CONFIG,
                      blocked={"foo-libs-1.1-1.el6.x86_64.rpm": "bad GPG signature"})
    assert decision.landings == []
    assert decision.skips[0].line() == ("foo-1.1-1.el6 from centos not landed: "
                                        "foo-libs-1.1-1.el6.x86_64.rpm: bad GPG signature")
