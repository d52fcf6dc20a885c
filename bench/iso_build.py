"""Benchmark of the ISO step (not a test): updraft's build of one arch's ISO against the
raw `xorriso -as mkisofs` + `implantisomd5` it runs, on the same tree.

The tree: the test kit's cdrom.image content (real isolinux.bin, comps) and N real
noarch packages of P bytes each in Packages/base. updraft's full ISO step also runs
createrepo_c with comps, jigdo-file (.jigdo + .template) and writes SHA256SUM, and
builds the SRPMS ISO; those are timed apart. Target: xorriso + implantisomd5 through
updraft <= 1.1x raw.

    .venv/bin/python bench/iso_build.py [--packages 150] [--size 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kits import isokit  # the test kit's cdrom.image and config
from updraft.config.dist import load_config
from updraft.devkit import rpmfactory
from updraft.engine.layout import Layout
from updraft.iso import image
from updraft.iso.stage import compose
from updraft.iso.target import IsoTarget


def _tree(base: Path, packages: int, size: int) -> IsoTarget:
    specs = [rpmfactory.FamilySpec(name=f"bench-pkg{n:04d}", version="1.0", release="1",
                                   main_arch="noarch", binary_dist=".el7.sme",
                                   payload_bytes=size) for n in range(packages)]
    built = rpmfactory.build_families(specs, base / "rpms", ("x86_64",))
    isokit.cdrom_image(base)
    config = load_config(isokit.write_config(base, None))
    layout = Layout(config, base / "tree")
    for family in built:
        isokit.place(layout, "10", "stage", family.files())
    target = IsoTarget.of(layout, "10", "10.1")
    compose(target)
    image.createrepo(target, "x86_64")
    return target


def _raw(target: IsoTarget, out: Path) -> float:
    tree = target.arch_tree("x86_64")
    clock = time.perf_counter()
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(out), "-V",
                    target.label("x86_64"), "-R", "-J", "-joliet-long", "-b",
                    "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                    "-boot-load-size", "4", "-boot-info-table", str(tree)],
                   check=True, capture_output=True)
    subprocess.run(["implantisomd5", "--force", str(out)], check=True, capture_output=True)
    return time.perf_counter() - clock


def _timed(action) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=150)
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-iso-") as tmp:
        base = Path(tmp)
        target = _tree(base, args.packages, args.size)
        tree, iso = target.arch_tree("x86_64"), target.iso_file("x86_64")
        raw_iso = base / "raw.iso"
        _raw(target, raw_iso)  # warm the page cache
        raw, ours, jigdo, full = [], [], [], []
        for _ in range(args.runs):
            raw.append(_raw(target, raw_iso))
            ours.append(_timed(lambda: (image.make_iso(tree, iso, target.label("x86_64")),
                                        image.implant_md5(iso))))
            jigdo.append(_timed(lambda: (image.make_jigdo(iso, tree, "Packages/base"),
                                         image.write_checksums(iso.parent))))
            full.append(_timed(lambda: image.build_isos(target)))
        size = iso.stat().st_size / 1e6
        print(f"tree: {args.packages} packages x {args.size:,} bytes; ISO {size:.1f} MB; "
              f"best of {args.runs}")
        print(f"raw xorriso + implantisomd5:              {min(raw) * 1000:7.0f} ms")
        print(f"updraft xorriso + implantisomd5:          {min(ours) * 1000:7.0f} ms  = "
              f"{min(ours) / min(raw):.2f}x  (target <= 1.1x)")
        print(f"jigdo-file make-template + SHA256SUM:     {min(jigdo) * 1000:7.0f} ms")
        print(f"updraft ISO step (createrepo_c, ISO, md5, jigdo, sums, SRPMS ISO): "
              f"{min(full) * 1000:.0f} ms  = {min(full) / min(raw):.2f}x raw")
        shutil.rmtree(base / "rpms", ignore_errors=True)


if __name__ == "__main__":
    main()
