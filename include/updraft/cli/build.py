"""The `updraft build` and `updraft sign` commands: the DAG's steps from a shell.

`build` verifies, rebases when a policy says so, builds every planned arch one after
the other here (the rpmbuild or mock backend) and prints the builder report; `sign`
signs and lands. The passphrase comes from $UPDRAFT_GPG_PASSPHRASE or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from updraft.build.package_build import PackageBuild
from updraft.build.rebase import PatchFailed
from updraft.build.signing import SigningKey
from updraft.build.source import find_srpm, plan_build, read_source
from updraft.config.build import BuildOptions
from updraft.engine.engine import Engine
from updraft.errors import ConfigError


def _options(args: argparse.Namespace) -> BuildOptions:
    defines = {}
    for text in args.define:
        name, _, body = text.strip().partition(" ")
        if not name:
            raise ConfigError(f"--define {text!r}: give 'NAME VALUE'")
        defines[name] = body.strip()
    return BuildOptions(defines=defines, with_=tuple(args.with_), without=tuple(args.without))


def build_command(engine: Engine, args: argparse.Namespace) -> int:
    options = _options(args)
    if args.dry_run:
        release = engine.config.check_release(args.release)
        source = read_source(find_srpm(args.package, engine.layout, release))
        for line in plan_build(source, engine.config, release, args.arch, options).lines():
            print(line)
        print("(dry run: nothing built)")
        return 0
    build = PackageBuild.start(engine, args.package, args.release, arches=args.arch,
                               overrides=options, bug=args.bug)
    for line in build.record.plan:
        print(line)
    planned = len(build.record.plan)
    try:
        build.prepare()
        for line in build.record.plan[planned:]:  # how a spec patch applied, text edits
            print(line)
    except PatchFailed as exc:
        print(f"updraft: {exc}", file=sys.stderr)
        print(f"--- rejected hunk ---\n{exc.hunk}", file=sys.stderr)
        return 1
    progress = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    for job in build.plan().jobs:
        print(f"building for {job.archdir} ...", flush=True)
        build.build_arch(job.archdir, progress)
    conclusion = build.conclude()
    print(conclusion.mail.get_content(), end="")
    print(f"build id: {build.record.build_id}")
    return 0 if conclusion.ok else 1


def sign_command(engine: Engine, args: argparse.Namespace) -> int:
    build = PackageBuild.resume(engine, args.build_id)
    home = args.gnupghome or os.environ.get("GNUPGHOME") or str(Path.home() / ".gnupg")
    passphrase = os.environ.get("UPDRAFT_GPG_PASSPHRASE")
    if passphrase is None:
        passphrase = getpass.getpass(f"passphrase of {args.key}: ") if sys.stdin.isatty() else ""
    key = SigningKey(key_id=args.key, passphrase=passphrase, gnupghome=Path(home))
    report = build.sign(key, lambda line: print(line))
    print(f"signed {len(report.signed)} packages with {report.fingerprint}")
    result = build.land()
    engine.publish(result.unpublished)
    print(result.report, end="")
    if result.failures:
        print(f"updraft: not applied: {result.failures[0]}", file=sys.stderr)
        return 1
    return 0
