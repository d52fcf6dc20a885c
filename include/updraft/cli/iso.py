"""`updraft iso ...`: the build_iso DAG's steps from a shell (seed 002 by hand)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from updraft.engine.engine import Engine
from updraft.iso.run import IsoRun
from updraft.ledger.isos import iso_steps

STEPS = ("freeze", "stage", "preflight", "build", "publish", "thaw", "history")


def add_parser(commands: Any) -> None:
    """Register `updraft iso` and its steps on the CLI's subparsers."""
    iso = commands.add_parser("iso", help="build and publish an ISO (seed 002)")
    steps = iso.add_subparsers(dest="iso_step", required=True)
    helps = {
        "freeze": "hold promotions into the frozen repos while the ISO builds",
        "stage": "refresh the stage and lay out the ISO tree",
        "preflight": "check release package, buildstamp, titles, signatures, closure",
        "build": "build the installer (when its inputs changed) and the ISOs",
        "publish": "copy ISOs and jigdos, sync smeos, hardlink repos, switch the link",
        "thaw": "lift the freeze",
        "history": "the ledger's record of ISO steps",
    }
    for name in STEPS:
        step = steps.add_parser(name, help=helps[name])
        step.add_argument("--release", required=True, help="the major release, e.g. 10")
        step.add_argument("--version", required=name != "history",
                          help="the ISO's version, e.g. 10.1 or 10.1rc1")
        step.add_argument("--arch", action="append", default=[], help="only this arch dir")
        if name == "build":
            step.add_argument("--step", choices=("installer", "iso", "all"), default="all")
            step.add_argument("--force-installer", action="store_true",
                              help="rebuild the installer even when nothing changed")
            step.add_argument("--backend", choices=("mock", "local"),
                              help="default: the config's iso.backend")
        if name == "publish":
            step.add_argument("--dry-run", action="store_true", help="print the steps only")


def iso_command(engine: Engine, args: argparse.Namespace) -> int:
    if args.iso_step == "history":
        for record in iso_steps(engine.layout.ledger_url, engine.config.check_release(
                args.release), args.version):
            print(record.line())
        return 0
    run = IsoRun.of(engine, args.release, args.version, args.arch)
    if args.iso_step == "freeze":
        print(run.freeze().reason())
        return 0
    if args.iso_step == "thaw":
        print("freeze lifted" if run.thaw() else "no freeze was set")
        return 0
    if args.iso_step == "stage":
        cycle, summary = run.stage()
        print(cycle.report, end="")
        print("\n".join(summary.lines()))
        return 0 if cycle.ok else 1
    if args.iso_step == "preflight":
        report = run.preflight()
        print("\n".join(report.lines()))
        return 0 if report.ok else 1
    if args.iso_step == "build":
        return _build(run, args)
    if args.dry_run:
        for step in run.publish_plan():
            print(step.line())
        print("(dry run: nothing changed)")
        return 0
    run.publish(print)
    return 0


def _build(run: IsoRun, args: argparse.Namespace) -> int:
    def sink(line: str) -> None:
        print(line, file=sys.stderr if not args.verbose else sys.stdout)

    if args.step in ("installer", "all"):
        decisions = run.installer_decisions(args.force_installer)
        for decision in decisions:
            verb = "rebuild" if decision.rebuild else "keep"
            print(f"installer {decision.arch}: {verb} ({decision.reason})")
        run.build_installer(decisions, sink, args.backend)
    if args.step in ("iso", "all"):
        for image in run.build_iso(sink, args.backend):
            print(f"{image.sha256}  {image.iso}")
    return 0
