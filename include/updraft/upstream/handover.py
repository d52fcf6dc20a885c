"""Handover: what a landing asks of the builders (issue 17 §2, seed 004 step 3).

The verified upstream SRPMs of families we rebuild, and the partners of coupled
families that landed (libtevent landed: rebuild samba against it), as build requests
not made before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

from updraft.build.requests import BuildRequest, RequestBook, coupled_requests, request
from updraft.engine.layout import Layout
from updraft.engine.policy import policies_for
from updraft.engine.tree import scan
from updraft.upstream.landing import Decision, take_inventory
from updraft.upstream.manifest import Manifest


def handover(
    layout: Layout,
    releases: Sequence[str],
    manifests: Mapping[str, list[Manifest]],
    decisions: Mapping[str, Decision],
) -> list[BuildRequest]:
    config = layout.config
    wanted: list[BuildRequest] = []
    for release in releases:
        for manifest in manifests.get(release, []):
            for rebuild in manifest.rebuilds:
                path = manifest.verified.get(rebuild["srpm"])
                if path and os.path.exists(path):
                    nvr = rebuild["srpm"].removesuffix(".src.rpm")
                    wanted.append(
                        request(
                            config,
                            release,
                            rebuild["name"],
                            nvr,
                            f"new upstream {rebuild['label']} from {manifest.origin}",
                            manifest.origin,
                        )
                    )
        decision = decisions.get(release)
        landed = [
            (landing.family.name, landing.family.label)
            for landing in (decision.landings if decision else [])
        ]
        if any(policies_for(config, name).couplings for name, _ in landed):
            tree = scan(layout, [release]).releases[release]
            held = {name: known.label for name, known in take_inventory(tree, config).known.items()}
            for coupled in coupled_requests(config, release, landed, held):
                # A new upstream SRPM of the partner is the rebuild: one request for both.
                same = [
                    i
                    for i, w in enumerate(wanted)
                    if (w.release, w.name) == (release, coupled.name)
                ]
                if same:
                    first = wanted[same[0]]
                    wanted[same[0]] = replace(first, reason=f"{first.reason}; {coupled.reason}")
                else:
                    wanted.append(coupled)
    return RequestBook(layout.state_dir).fresh(wanted)
