"""Seed 000's rebase-and-repatch: a new upstream SRPM in, our SRPM out.

"Import the new upstream SRPM, restore our patches": our patch files become Patch2000..
after upstream's, applied by `%patch2000 -p1` lines after upstream's last %patch; our
%global edits (samba's with_dc) are set again; the release gets our suffix
(`1%{?dist}` -> `1%{?dist}.1`) and the changelog a "Rebase on upstream" entry on top of
our carried lines. `rpmbuild -bp` proves every patch still applies before the SRPM is made.

Every spec edit goes through the specfile library, never through text substitution.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rpm
from specfile import Specfile
from specfile.exceptions import SpecfileException
from specfile.macro_definitions import CommentOutStyle, MacroDefinition
from specfile.options import Options
from specfile.prep import AutopatchMacro, AutosetupMacro, PatchMacro, PrepMacro, SetupMacro
from specfile.sections import Section
from specfile.tags import Comments, Tag

from updraft.build.settings import RebaseSettings
from updraft.errors import ConfigError, UpdraftError

LOG_TAIL = 40  # lines of rpmbuild output a PatchFailed carries
RPMBUILD_TIMEOUT = 2 * 3600.0  # samba's %prep unpacks a big tree, but never for hours
# What patch(1) says when a patch does not apply (rpm runs it with -f, so it never asks).
_PATCH_TROUBLE = ("FAILED", "can't find file to patch", "No file to patch", "malformed patch",
                  "Only garbage", "patch: ****")
# specfile parses and expands through librpm's one process-wide macro context.
_SPEC_LOCK = threading.Lock()


class PatchFailed(UpdraftError):
    """One of our patches no longer applies to the new upstream sources (or one of
    upstream's own does not: then `patch` names that one)."""

    def __init__(self, message: str, *, patch: str, hunk: str, log: str) -> None:
        super().__init__(message)
        self.patch = patch  # the patch's file name
        self.hunk = hunk  # the rejected hunk(s): .rej content, else patch's complaint
        self.log = log  # the tail of the rpmbuild -bp output

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # Keyword-only fields would be lost when a worker pickles the error to its caller.
        return (functools.partial(PatchFailed, patch=self.patch, hunk=self.hunk,
                                  log=self.log), (str(self),))


@dataclass(frozen=True)
class RebaseRecipe:
    patches: tuple[Path, ...]  # absolute patch files, applied in this order after upstream's
    first_patch: int = 2000
    strip: int = 1
    macros: Mapping[str, str] = field(default_factory=dict)
    release_suffix: str = ".1"
    carried: tuple[str, ...] = ()  # our earlier changelog lines, kept under the new entry
    packager: str = "updraft <releases@localhost>"
    bug_label: str = "SME"

    @classmethod
    def from_settings(cls, settings: RebaseSettings, patches_dir: Path, packager: str,
                      bug_label: str = "SME") -> RebaseRecipe:
        patches = []
        for name in settings.patches:
            path = patches_dir / name
            if not path.is_file():
                raise ConfigError(f"{path}: patch file not found (policy rebase.patches)")
            patches.append(path.absolute())
        return cls(patches=tuple(patches), first_patch=settings.first_patch,
                   strip=settings.strip, macros=dict(settings.macros),
                   release_suffix=settings.release_suffix, carried=settings.changelog,
                   packager=packager, bug_label=bug_label)


@dataclass(frozen=True)
class Rebased:
    srpm: Path  # the new SRPM
    name: str
    version: str
    release: str  # expanded with the dist given, e.g. "1.el6.1"
    changelog: tuple[str, ...]  # the new entry's lines (header first)
    spec: Path  # the edited spec (kept in workdir, for the log / review)


def _rpmbuild(top: Path, mode: str, spec: Path, dist: str) -> subprocess.CompletedProcess[str]:
    """rpmbuild in the private topdir `top`: nothing it writes lands outside the workdir,
    and HOME is pinned so no ~/.rpmmacros of whoever runs the worker sneaks in."""
    defines = {"_topdir": str(top), "_tmppath": str(top / "tmp"), "dist": dist or "%{nil}",
               # gzip payloads stay readable by the el6/el7 rpm that mock rebuilds them with
               "_source_payload": "w9.gzdio"}
    command = ["rpmbuild", mode, "--nodeps"]
    for name, value in defines.items():
        command += ["--define", f"{name} {value}"]
    env = {**os.environ, "LC_ALL": "C", "HOME": str(top / "home"), "TMPDIR": str(top / "tmp")}
    try:
        return subprocess.run(command + [str(spec)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env,
                              timeout=RPMBUILD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdraftError(f"{spec.name}: rpmbuild {mode} did not run ({exc})") from exc


def rebase(srpm: Path, recipe: RebaseRecipe, workdir: Path, *, bug: str | None = None,
           when: datetime.date | None = None, dist: str = "") -> Rebased:
    """Rebase our changes onto the upstream `srpm`; the new SRPM lands in workdir/out/."""
    top = workdir / "rpmbuild"
    shutil.rmtree(top, ignore_errors=True)  # a previous attempt's leftovers
    for sub in ("SOURCES", "SPECS", "SRPMS", "tmp", "home"):
        (top / sub).mkdir(parents=True)
    spec_path = _unpack(srpm, top / "SOURCES", top / "SPECS")
    ours = _copy_patches(srpm, recipe.patches, top / "SOURCES")
    with _SPEC_LOCK:
        changelog, patch_files = _edit_spec(srpm, spec_path, top / "SOURCES", recipe, ours, bug,
                                            when or datetime.date.today(), dist)
    _check_prep(srpm, recipe, top, spec_path, dist, ours, patch_files)
    shutil.rmtree(top / "BUILD", ignore_errors=True)  # an unpacked samba tree is big
    done = _rpmbuild(top, "-bs", spec_path, dist)
    built = sorted((top / "SRPMS").glob("*.src.rpm"))
    if done.returncode != 0 or len(built) != 1:
        raise UpdraftError(f"{srpm.name}: rpmbuild -bs of the rebased spec failed "
                           f"({_last_error(done.stdout)})")
    (workdir / "out").mkdir(parents=True, exist_ok=True)
    target = workdir / "out" / built[0].name
    os.replace(built[0], target)
    fd, header = _open(target)  # its name, version and release as rpm wrote them
    fd.close()
    return Rebased(srpm=target, name=header[rpm.RPMTAG_NAME],
                   version=header[rpm.RPMTAG_VERSION], release=header[rpm.RPMTAG_RELEASE],
                   changelog=changelog, spec=spec_path)


# -- unpacking -------------------------------------------------------------------------------

def _open(path: Path) -> tuple[rpm.fd, rpm.hdr]:
    """The package's header, and its file positioned at the payload."""
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)  # upstream sync checked them against its keyring
    try:
        fd = rpm.fd.open(str(path))
        return fd, ts.hdrFromFdno(fd)
    except (OSError, rpm.error) as exc:
        raise UpdraftError(f"{path}: not a readable RPM ({exc})") from exc


def _unpack(srpm: Path, sources: Path, specs: Path) -> Path:
    """Extract the SRPM's files into SOURCES (the spec into SPECS); return the spec."""
    fd, header = _open(srpm)
    spec: Path | None = None
    try:
        if not header.isSource():
            raise UpdraftError(f"{srpm}: a binary RPM, not a source RPM")
        payload = rpm.fd.open(fd, flags=header[rpm.RPMTAG_PAYLOADCOMPRESSOR])
        archive = rpm.files(header).archive(payload)
        for entry in archive:
            is_spec = bool(entry.fflags & rpm.RPMFILE_SPECFILE)
            # basename only: a crafted payload path must not climb out of SOURCES
            target = (specs if is_spec else sources) / entry.basename
            with target.open("wb") as out:
                archive.readto(out)
            spec = target if is_spec else spec
    except (OSError, rpm.error) as exc:
        raise UpdraftError(f"{srpm}: cannot unpack the source RPM ({exc})") from exc
    finally:
        fd.close()
    if spec is None:
        raise UpdraftError(f"{srpm}: the source RPM holds no spec file")
    return spec


def _copy_patches(srpm: Path, patches: Sequence[Path], sources: Path) -> tuple[str, ...]:
    names = []
    for patch in patches:
        target = sources / patch.name
        if target.exists():
            raise UpdraftError(f"{srpm.name}: our patch {patch.name} has the name of a file "
                               "already in the SRPM (or is listed twice): rename it")
        try:
            shutil.copyfile(patch, target)
        except OSError as exc:
            raise UpdraftError(f"{patch}: cannot read our patch ({exc.strerror})") from exc
        names.append(patch.name)
    return tuple(names)


# -- the spec edits ----------------------------------------------------------------------------

_Edited = tuple[tuple[str, ...], tuple[str, ...]]  # the new changelog entry, patch files


def _edit_spec(srpm: Path, path: Path, sources: Path, recipe: RebaseRecipe, ours: Sequence[str],
               bug: str | None, when: datetime.date, dist: str) -> _Edited:
    """Apply the recipe to the spec (saved in place); return the new changelog entry and
    the file names of every patch the spec now lists (upstream's and ours)."""
    try:
        spec = Specfile(path, sourcedir=sources, macros=[("dist", dist)])
        return _apply_recipe(srpm, spec, recipe, ours, bug, when, dist)
    except SpecfileException as exc:
        detail = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
        raise UpdraftError(f"{srpm.name}: cannot edit its spec ({detail[0]})") from exc


def _apply_recipe(srpm: Path, spec: Specfile, recipe: RebaseRecipe, ours: Sequence[str],
                  bug: str | None, when: datetime.date, dist: str) -> _Edited:
    version = spec.expanded_version
    upstream_release = spec.expand(spec.raw_release, extra_macros=[("dist", "")])
    numbers = _add_patch_tags(spec, ours, recipe.first_patch)
    _add_patch_macros(srpm, spec, numbers, recipe.strip)
    _set_macros(spec, recipe.macros)
    spec.raw_release = spec.raw_release + recipe.release_suffix
    release = spec.expand(spec.raw_release, extra_macros=[("dist", dist)])
    first = f"- Rebase on upstream {version}-{upstream_release}"
    if bug is not None:
        first += f" [{recipe.bug_label}: {bug}]"
    entry = _add_changelog(srpm, spec, [first, *recipe.carried], recipe.packager, when,
                           f"{version}-{release}")
    spec.save()
    with spec.patches() as patches:
        return entry, tuple(patch.expanded_filename or patch.filename for patch in patches)


def _add_patch_tags(spec: Specfile, names: Sequence[str], first: int) -> list[int]:
    """Patch<N>: tags after upstream's last one, N from `first` on, skipping upstream's."""
    with spec.patches() as patches:
        used = {patch.number for patch in patches}
    free = (number for number in itertools.count(first) if number not in used)
    numbers = list(itertools.islice(free, len(names)))
    with spec.tags() as tags:
        anchor = _last_tag(tags, "patch")
        anchor = _last_tag(tags, "source") if anchor is None else anchor
        at = len(tags) if anchor is None else anchor + 1
        for offset, (number, name) in enumerate(zip(numbers, names, strict=True)):
            tags.insert(at + offset, Tag(f"Patch{number}", name, ": ", Comments(),
                                         context=spec))
    return numbers


def _last_tag(tags: Sequence[Tag], prefix: str) -> int | None:
    # A tag in a false %if branch is no anchor: ours would vanish with it.
    found = [i for i, tag in enumerate(tags)
             if tag.valid and tag.normalized_name.startswith(prefix)]
    return found[-1] if found else None


def _applies_every_patch(macros: Sequence[PrepMacro]) -> bool:
    """%autopatch, or %autosetup without -N, applies every PatchN itself."""
    return any(isinstance(m, AutopatchMacro)
               or (isinstance(m, AutosetupMacro) and not m.options.N) for m in macros)


def _add_patch_macros(srpm: Path, spec: Specfile, numbers: Sequence[int], strip: int) -> None:
    """`%patchN -pS` lines after upstream's last %patch/%setup, in upstream's style."""
    with spec.prep() as prep:
        if prep is None:
            raise UpdraftError(f"{srpm.name}: its spec has no %prep section")
        macros = prep.macros
        if not numbers or _applies_every_patch(macros):
            return
        anchors = [i for i, m in enumerate(macros) if isinstance(m, PatchMacro | SetupMacro)]
        at = anchors[-1] + 1 if anchors else len(macros)
        # Match upstream's `%patch0` with `%patch2000` (deprecated since rpm 4.18, gone in
        # 4.20); else `%patch -P 2000`, the one form el6's rpm 4.8 and 4.20 both accept.
        numbered = any(isinstance(m, PatchMacro) and m.name != "%patch" for m in macros)
        for offset, number in enumerate(numbers):
            name, option = (f"%patch{number}", "") if numbered else ("%patch", f"-P {number} ")
            options = Options(Options.tokenize(f"{option}-p{strip}"), PatchMacro.OPTSTRING,
                              PatchMacro.DEFAULTS)
            macros.insert(at + offset, PatchMacro(name, options, " "))


def _set_macros(spec: Specfile, macros: Mapping[str, str]) -> None:
    """Every %global/%define of a name, in whichever %if branch, gets the body (a spec
    may set with_dc per branch); a name the spec lacks gets a %global at the top."""
    added = 0
    with spec.macro_definitions() as definitions:
        for name, value in macros.items():
            body = value or "%{nil}"  # rpm refuses a %global with an empty body
            found = [d for d in definitions if d.name == name and not d.commented_out]
            for definition in found:
                definition.body = body
            if not found:
                definitions.insert(added, MacroDefinition(
                    name, body, True, False, CommentOutStyle.DNL, ("", " ", " ", "")))
                added += 1


def _add_changelog(srpm: Path, spec: Specfile, lines: list[str], author: str,
                   when: datetime.date, evr: str) -> tuple[str, ...]:
    if spec.has_autochangelog:
        raise UpdraftError(f"{srpm.name}: its spec uses %autochangelog; a rebase needs a "
                           "plain %changelog")
    with spec.sections() as sections:
        if "changelog" not in sections:
            sections.append(Section("changelog"))
    spec.add_changelog_entry(lines, author=author, timestamp=when, evr=evr)
    with spec.changelog() as changelog:
        newest = changelog[-1]  # specfile keeps the oldest entry first
    return (newest.header, *newest.content)


# -- proving the patches apply -----------------------------------------------------------------

def _check_prep(srpm: Path, recipe: RebaseRecipe, top: Path, spec_path: Path, dist: str,
                ours: Sequence[str], patch_files: Sequence[str]) -> None:
    done = _rpmbuild(top, "-bp", spec_path, dist)
    (top / "prep.log").write_text(done.stdout)
    runs = _patch_runs(done.stdout, patch_files, top / "SOURCES")
    if done.returncode != 0:
        if runs and any(word in line for line in runs[-1][1] for word in _PATCH_TROUBLE):
            raise _patch_failed(srpm, recipe, top, runs[-1], ours, done.stdout)
        raise UpdraftError(f"{srpm.name}: rpmbuild -bp of the rebased spec failed "
                           f"({_last_error(done.stdout)}): see {top / 'prep.log'}")
    applied = {name for name, _ in runs}
    missing = [name for name in ours if name not in applied]
    if missing:
        raise UpdraftError(f"{srpm.name}: %prep never applied our patch {missing[0]} "
                           "(an %autopatch range or %if leaves it out?)")


def _patch_runs(output: str, known: Sequence[str], sources: Path) -> list[tuple[str, list[str]]]:
    """Split rpmbuild's output into one run per patch applied: (file name, its lines).

    %patch echoes "Patch #2001 (file):"; %autopatch only traces a command reading
    SOURCES/file (its trace lines may come interleaved: "+ + patch", then the path)."""
    runs: list[tuple[str, list[str]]] = []
    for line in output.splitlines():
        name = None
        if line.startswith("Patch #") and "(" in line and line.endswith("):"):
            name = line[line.index("(") + 1:-2]
        elif not line.startswith("+ echo "):
            # the longest match: a.patch.gz is not a.patch
            name = max((k for k in known if f"{sources}/{k}" in line), key=len, default=None)
        if name is not None:
            runs.append((name, []))
        elif runs:
            runs[-1][1].append(line)
    return runs


def _patch_failed(srpm: Path, recipe: RebaseRecipe, top: Path, run: tuple[str, list[str]],
                  ours: Sequence[str], output: str) -> PatchFailed:
    name, lines = run
    said = [line for line in lines if not line.startswith("+ ")]
    failed = [line.rstrip(".") for line in said if "FAILED at" in line]
    if failed:
        reason = failed[0] + (f" and {len(failed) - 1} more" if len(failed) > 1 else "")
    else:
        trouble = [line for line in said if any(word in line for word in _PATCH_TROUBLE)]
        reason = trouble[0].split(" -- ")[0].strip().rstrip(".:")
    rejects = [line.rsplit("saving rejects to file ", 1)[1].strip()
               for line in said if "saving rejects to file " in line]
    hunk = _rejected(top / "BUILD", rejects) or "\n".join(said)
    log = "\n".join(output.splitlines()[-LOG_TAIL:])
    if name in ours:
        where = next(p.parent for p in recipe.patches if p.name == name)
        message = (f"{srpm.name}: our patch {name} no longer applies ({reason}): "
                   f"refresh it in {where} and build again")
    else:
        message = (f"{srpm.name}: upstream's patch {name} does not apply ({reason}): "
                   "check the SRPM builds as shipped and our rebase macros")
    return PatchFailed(message, patch=name, hunk=hunk, log=log)


def _rejected(build: Path, rejects: Sequence[str]) -> str:
    """The .rej files patch saved (named relative to the unpacked tree under BUILD)."""
    texts = []
    for reject in rejects:
        for path in sorted(build.rglob(Path(reject).name)):
            if str(path).endswith(f"/{reject}"):
                texts.append(path.read_text(errors="replace"))
    return "".join(texts)


def _last_error(output: str) -> str:
    errors = [line.strip() for line in output.splitlines() if line.startswith("error: ")]
    lines = errors or [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
