"""The `updraft` command: the repository engine for release engineers and cron alike."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from updraft.config.dist import DistConfig, load_config, resolve_root
from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.engine.evr import DistTag, evr_key
from updraft.engine.family import group_families
from updraft.engine.layout import Layout
from updraft.engine.promote import Promotion
from updraft.engine.tree import scan
from updraft.errors import UpdraftError, storage_error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="updraft", description=__doc__)
    parser.add_argument("--config", default=os.environ.get("UPDRAFT_CONFIG", "config/sme.yaml"),
                        help="distribution config (default: $UPDRAFT_CONFIG or config/sme.yaml)")
    parser.add_argument("--root", help="tree root (default: $UPDRAFT_ROOT or the config's root)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    cycle = commands.add_parser("update-repos", help="scan, plan, apply, rebuild repodata")
    cycle.add_argument("--release", action="append", help="only this release (repeatable)")
    cycle.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    _override_arguments(cycle, "publish what arrived in gated repos without a Go")

    status = commands.add_parser("status", help="families per repo")
    status.add_argument("--release", action="append")

    promote = commands.add_parser("promote", help="move a family up (the seed's `cp`)")
    promote.add_argument("package", help="a package file, or NAME-VERSION-RELEASE")
    promote.add_argument("--to", required=True, dest="target", help="target repo")
    promote.add_argument("--release")
    promote.add_argument("--dry-run", action="store_true")
    _override_arguments(promote, "promote into a gated repo without a Go")

    sync = commands.add_parser("sync-upstream",
                               help="mirror upstream sources, verify, land newer packages")
    sync.add_argument("--release", action="append", help="only this release (repeatable)")
    sync.add_argument("--dry-run", action="store_true",
                      help="read upstream metadata and print what would land; download no "
                           "package, change nothing")

    build = commands.add_parser("build", help="build an SRPM on the builders (unsigned)")
    build.add_argument("package", help="an SRPM path, or an upstream NAME-VERSION-RELEASE")
    build.add_argument("--release", required=True)
    build.add_argument("--arch", action="append", default=[], help="only this arch dir")
    build.add_argument("--define", action="append", default=[], metavar="'NAME VALUE'")
    build.add_argument("--with", action="append", default=[], dest="with_", metavar="BCOND")
    build.add_argument("--without", action="append", default=[], metavar="BCOND")
    build.add_argument("--bug", default="", help="the bug a rebase's changelog entry cites")
    build.add_argument("--dry-run", action="store_true", help="print the plan, build nothing")

    sign = commands.add_parser("sign", help="sign a build's packages and land them")
    sign.add_argument("build_id", help="the id `updraft build` printed")
    sign.add_argument("--key", required=True, help="key id or fingerprint to sign with")
    sign.add_argument("--gnupghome", help="GnuPG home holding the secret key "
                                          "(default: $GNUPGHOME or ~/.gnupg)")

    from updraft.cli.release import add_parser as add_release_parsers

    add_release_parsers(commands)
    from updraft.cli.iso import add_parser as add_iso_parser

    add_iso_parser(commands)

    health = commands.add_parser("check", help="the tree's health, read-only (exit 1: problems)")
    health.add_argument("--release", action="append", help="only this release (repeatable)")
    health.add_argument("--format", choices=("text", "json"), default="text")
    health.add_argument("--repair", action="store_true",
                        help="apply the engine's own plan (a cycle), then check again")
    health.add_argument("--deep", action="store_true",
                        help="also compare every file's sha256 with its repodata, and "
                             "re-plan releases a cycle found consistent")

    history = commands.add_parser("history", help="what happened to a family or package")
    history.add_argument("name")
    history.add_argument("--release")

    return parser


def _override_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--override-gate", action="store_true",
                        help=f"emergency: {what} (recorded with your user name and mailed)")
    parser.add_argument("--reason", default="", help="why (required with --override-gate)")


def _promote(engine: Engine, args: argparse.Namespace) -> int:
    """A gated target needs a Go (the promote DAG); only an override passes here."""
    from updraft import gate

    promotion = Promotion(engine.layout, args.package, args.target, args.release)
    role = engine.config.repos[args.target].approval
    release = [args.release] if args.release else None
    if role and not args.dry_run:
        engine.preview(release, promotion, grant=True)  # an unknown package says so first
    if role and not args.dry_run and not promotion.already:  # a retry needs no Go
        if not args.override_gate:
            raise gate.GateRefused(
                f"{args.target} needs a Go from {role}: trigger the promote DAG "
                f"(package={args.package}, target={args.target}) and answer its approve "
                "gate; in an emergency add --override-gate --reason TEXT")
        gate.override(engine.config, engine.layout.ledger_url, args.package, args.target,
                      args.release or "", args.reason)
    result = engine.update_repos(release, args.dry_run, intents=promotion, grant=bool(role))
    if promotion.already:  # a retry: the journal it left is finished, its repodata published
        print(promotion.already)
    return _print_cycle(result)


def _update_repos(engine: Engine, args: argparse.Namespace) -> int:
    from updraft import gate
    from updraft.engine.hold import gated_repos

    if args.override_gate and not args.dry_run:
        for repo in gated_repos(engine.config):
            gate.override(engine.config, engine.layout.ledger_url, "the arrivals held or "
                          "waiting", repo, ",".join(args.release or []), args.reason,
                          task="update-repos")
    return _print_cycle(engine.update_repos(args.release, dry_run=args.dry_run,
                                            override=args.override_gate))


def _print_cycle(result: CycleResult) -> int:
    if result.dry_run:
        for action in result.plan.actions:
            print(action.detail())
        for warning in result.plan.warnings:
            print(f"warning: {warning}")
        print("(dry run: nothing changed)" if not result.plan.empty else "nothing to do")
        return 0
    for plan_id in result.resumed:
        print(f"finished plan {plan_id} left by an interrupted run")
    print(result.report, end="")
    if result.failures:
        first = result.failures[0]
        more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        print(f"updraft: not applied: {first}{more}", file=sys.stderr)
        return 1
    return 0


def _status(config: DistConfig, layout: Layout, releases: list[str] | None) -> int:
    tree = scan(layout, [config.check_release(r) for r in releases] if releases else None)
    dist = DistTag(config.dist_tag_pattern)
    for release, release_tree in tree.releases.items():
        print(f"release {release}")
        families = group_families(release_tree.files, dist)
        for repo in config.repo_order():
            rows = []
            for family in families.values():
                files = [p for m in family.members.values() for p in m.files if p.repo == repo]
                if files:
                    rows.append((family, len(files)))
            if not rows:
                continue
            print(f"  {repo}")
            rows.sort(key=lambda row: (row[0].name, evr_key(row[0].evr)))
            for family, count in rows:
                print(f"    {family.name}-{family.label}  ({count} files)")
        for bad in release_tree.bad:
            print(f"  bad: {bad.path}: {bad.reason}")
    return 0


def _history(layout: Layout, name: str, release: str | None) -> int:
    from updraft.ledger import Ledger
    from updraft.ledger.history import format_history

    with Ledger.open(layout.ledger_url) as ledger:
        for line in format_history(ledger.history(name, release), name):
            print(line)
    return 0


def _sync_upstream(engine: Engine, releases: list[str] | None, dry_run: bool) -> int:
    from updraft.upstream.sync import UpstreamSync

    sync = UpstreamSync(engine)
    sources = sync.sources(releases)
    if not sources:
        print("no upstream sources in the config for "
              + (", ".join(releases) if releases else "any release"))
        return 0
    broken = 0
    for release, origin in sources:
        manifest = sync.mirror(release, origin, dry_run)
        label = f"{origin} ({engine.config.prefix}{release})"
        if not manifest.synced:
            broken += 1
            print(f"{label}: {manifest.status}: {manifest.reason}", file=sys.stderr)
            continue
        print(f"{label}: {manifest.packages_listed} packages listed, "
              f"{len(manifest.families)} to land, {len(manifest.rejected)} rejected")
        for rejection in manifest.rejected:
            print(f"  test failed: {rejection.line()}", file=sys.stderr)
        for line in manifest.skipped + manifest.planned:
            print(f"  {line}")
    if dry_run:
        print("(dry run: nothing downloaded, nothing changed)")
        return 1 if broken else 0
    landed = sync.land(releases)
    engine.publish(landed.result.unpublished)
    code = _print_cycle(landed.result) if landed.result.plan_id else 0
    for link in landed.security:
        print(f"security update waiting in {link.repo}: {link.advisory} ({link.severity}) "
              f"{link.family}-{link.family_evr}")
    return code or (1 if broken else 0)


# The stages' commands, imported when run: a no-op of the engine loads none of them.
_STAGE_COMMANDS = {
    "build": ("updraft.cli.build", "build_command"),
    "sign": ("updraft.cli.build", "sign_command"),
    "releasability": ("updraft.cli.release", "releasability_command"),
    "release": ("updraft.cli.release", "release_command"),
    "iso": ("updraft.cli.iso", "iso_command"),
    "check": ("updraft.engine.check", "check_command"),
}


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    config = load_config(args.config)
    root = resolve_root(config, args.root)
    engine = Engine(config, root, trigger="cli")
    if args.command == "update-repos":
        return _update_repos(engine, args)
    if args.command == "promote":
        return _promote(engine, args)
    if args.command == "sync-upstream":
        return _sync_upstream(engine, args.release, args.dry_run)
    if args.command in _STAGE_COMMANDS:
        module, function = _STAGE_COMMANDS[args.command]
        command: Callable[[Engine, argparse.Namespace], int] = getattr(
            importlib.import_module(module), function)
        return command(engine, args)
    if args.command == "status":
        return _status(config, engine.layout, args.release)
    return _history(engine.layout, args.name, args.release)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except UpdraftError as exc:
        print(f"updraft: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `updraft history clamav | head`
        sys.stderr.close()
        code = 0
    except OSError as exc:  # a full or read-only disk outside the engine (one mapping)
        mapped = storage_error(exc)
        if mapped is None:
            raise
        print(f"updraft: {mapped}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
