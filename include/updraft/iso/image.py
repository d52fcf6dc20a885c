"""The ISO build steps on this host: seed 002's build_installer and build_ISO scripts.

installer: product.img and updates.img (`find . | cpio -o | gzip -9`) into images/;
iso: createrepo_c with comps, xorriso (El Torito isolinux boot when isolinux.bin is
there, EFI when images/efiboot.img is), implantisomd5, jigdo-file (.jigdo + .template),
a SHA256SUM file, and the same for the SRPMS ISO.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from updraft.errors import UpdraftError
from updraft.iso.target import IsoTarget

LineSink = Callable[[str], None]
CHECKSUMS = "SHA256SUM"
_TOOLS_HINT = "install xorriso isomd5sum jigdo-file cpio createrepo-c (make system)"


class IsoBuildError(UpdraftError):
    """A build tool failed or is missing; the line names the tool and its last words."""


@dataclass(frozen=True)
class Image:
    iso: Path
    jigdo: Path
    template: Path
    sha256: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"iso": str(self.iso), "jigdo": str(self.jigdo), "template": str(self.template),
                "sha256": self.sha256, "size": self.size}


def run_tool(argv: list[str], sink: LineSink | None = None, cwd: Path | None = None,
             stdin: bytes | None = None) -> bytes:
    """Run one tool; its stdout. Failure raises with the tool's last stderr line."""
    if shutil.which(argv[0]) is None:
        raise IsoBuildError(f"{argv[0]} not found on PATH: {_TOOLS_HINT}")
    if sink:
        sink("$ " + " ".join(argv))
    result = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, check=False)
    if result.returncode != 0:
        last = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise IsoBuildError(f"{argv[0]} exited {result.returncode}: {last[0]}")
    return result.stdout


def cpio_image(source: Path, image: Path, sink: LineSink | None = None) -> int:
    """`cd source; find . | cpio -o -H newc | gzip -9 > image`; the number of entries."""
    names = ["."]
    for directory, subdirs, files in os.walk(source):
        subdirs.sort()
        relative = Path(directory).relative_to(source)
        names += [f"./{relative / name}" if str(relative) != "." else f"./{name}"
                  for name in sorted(subdirs + files)]
    archive = run_tool(["cpio", "--quiet", "-o", "-H", "newc"], sink, cwd=source,
                       stdin="\n".join(names).encode() + b"\n")
    image.parent.mkdir(parents=True, exist_ok=True)
    temporary = image.with_name(image.name + ".part")
    with gzip.GzipFile(temporary, "wb", compresslevel=9, mtime=0) as handle:
        handle.write(archive)
    os.replace(temporary, image)
    return len(names)


def build_installer(target: IsoTarget, arch: str, sink: LineSink | None = None) -> list[Path]:
    """product.img and updates.img of one arch, from its product/ and updates/ dirs."""
    tree = target.arch_tree(arch)
    made = []
    for name in ("product", "updates"):
        if not (tree / name).is_dir():
            raise IsoBuildError(f"{tree / name} is missing: run the stage step first")
        image = tree / "images" / f"{name}.img"
        entries = cpio_image(tree / name, image, sink)
        if sink:
            sink(f"{image}: {entries} entries, {image.stat().st_size} bytes")
        made.append(image)
    return made


def make_iso(tree: Path, iso: Path, label: str, sink: LineSink | None = None) -> None:
    """xorriso (mkisofs emulation), bootable when the tree carries the boot files."""
    iso.parent.mkdir(parents=True, exist_ok=True)
    boot: list[str] = []
    if (tree / "isolinux" / "isolinux.bin").is_file():
        boot += ["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                 "-boot-load-size", "4", "-boot-info-table"]
    if (tree / "images" / "efiboot.img").is_file():
        boot += ["-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot"]
    temporary = iso.with_name(iso.name + ".part")
    temporary.unlink(missing_ok=True)
    run_tool(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(temporary), "-V", label,
              "-R", "-J", "-joliet-long", *boot, str(tree)], sink)
    os.replace(temporary, iso)


def implant_md5(iso: Path, sink: LineSink | None = None) -> None:
    run_tool(["implantisomd5", "--force", str(iso)], sink)


def make_jigdo(iso: Path, tree: Path, packages: str = "", sink: LineSink | None = None,
               ) -> tuple[Path, Path]:
    """.jigdo and .template: the packages (tree/packages) are referenced as
    `Base:<path>`, to be fetched from any mirror; everything else is in the template."""
    jigdo, template = iso.with_suffix(".jigdo"), iso.with_suffix(".template")
    run_tool(["jigdo-file", "make-template", "--force", "--report=quiet",
              f"--image={iso}", f"--jigdo={jigdo}", f"--template={template}",
              f"--label=Base={tree}", f"{tree}//{packages}"], sink)
    return jigdo, template


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(directory: Path) -> dict[str, str]:
    """SHA256SUM (sha256sum's format) of every ISO in the directory."""
    sums = {iso.name: sha256_of(iso) for iso in sorted(directory.glob("*.iso"))}
    temporary = directory / f".{CHECKSUMS}.part"
    temporary.write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    os.replace(temporary, directory / CHECKSUMS)
    return sums


def build_image(tree: Path, iso: Path, label: str, packages: str = "",
                sink: LineSink | None = None) -> Image:
    make_iso(tree, iso, label, sink)
    implant_md5(iso, sink)
    jigdo, template = make_jigdo(iso, tree, packages, sink)
    sums = write_checksums(iso.parent)
    return Image(iso, jigdo, template, sums[iso.name], iso.stat().st_size)


def createrepo(target: IsoTarget, arch: str, sink: LineSink | None = None) -> None:
    """The ISO's repodata, with the comps groups anaconda installs by."""
    tree = target.arch_tree(arch)
    comps = target.comps(arch)
    groups = ["--groupfile", str(comps)] if comps.is_file() else []
    if not groups and sink:
        sink(f"no {comps}: the ISO's repodata has no groups")
    run_tool(["createrepo_c", "--quiet", "--no-database", *groups,
              "--excludes", "images/*", str(tree)], sink)


def build_isos(target: IsoTarget, sink: LineSink | None = None) -> list[Image]:
    """Every arch's ISO and the SRPMS ISO, each with its md5, jigdo and checksums."""
    images = []
    for arch in target.arches:
        stale = target.arch_tree(arch) / "SME"  # seed 002: rm -f $VER/x86_64/SME
        stale.unlink(missing_ok=True)
        createrepo(target, arch, sink)
        images.append(build_image(target.arch_tree(arch), target.iso_file(arch),
                                  target.label(arch), target.settings.tree.packages, sink))
    images.append(build_image(target.sources_dir, target.srpms_iso,
                              target.label("SRPMS"), sink=sink))
    return images
