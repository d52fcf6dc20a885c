"""Seed 000's rebase-and-repatch: a new upstream SRPM in, our SRPM out.

"Import the new upstream SRPM, restore our patches": our patch files become Patch2000..
after upstream's, applied by `%patch2000 -p1` lines after upstream's last %patch; our
%global edits (samba's with_dc) are set again; the release gets our suffix
(`1%{?dist}` -> `1%{?dist}.1`) and the changelog a "Rebase on upstream" entry on top of
our carried lines. A spec patch (seed 000's samba.spec.patch) is applied to the upstream
spec first, with `patch`. `-bp` proves every patch still applies before the SRPM is made.

The spec edits go through the specfile library where this worker's rpm can parse the
spec; an el6-era spec it refuses is edited as text (spectext), and -bp/-bs then run in
the release's build root (mock), never in a worker rpm that cannot read the spec.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rpm
from specfile import Specfile
from specfile.exceptions import RPMException, SpecfileException
from specfile.macro_definitions import CommentOutStyle, MacroDefinition
from specfile.options import Options
from specfile.prep import AutopatchMacro, AutosetupMacro, PatchMacro, PrepMacro, SetupMacro
from specfile.sections import Section
from specfile.tags import Comments, Tag

from updraft.build import rebase_prep, spectext
from updraft.build.rebase_prep import BuildRoot, PatchFailed
from updraft.build.specpatch import SpecPatchFailed, apply_spec_patch
from updraft.config.build import RebaseSettings
from updraft.errors import ConfigError, UpdraftError

__all__ = ["BuildRoot", "PatchFailed", "RebaseRecipe", "Rebased", "SpecPatchFailed", "rebase"]
log = logging.getLogger(__name__)

# specfile parses and expands through librpm's one process-wide macro context.
_SPEC_LOCK = threading.Lock()


@dataclass(frozen=True)
class RebaseRecipe:
    patches: tuple[Path, ...]  # absolute patch files, applied in this order after upstream's
    numbers: tuple[int | None, ...] = ()  # PatchN each one gets; None/absent: the next free
    first_patch: int = 2000
    strip: int = 1
    macros: Mapping[str, str] = field(default_factory=dict)
    release_suffix: str = ".1"
    carried: tuple[str, ...] = ()  # our earlier changelog lines, kept under the new entry
    packager: str = "updraft <releases@localhost>"
    bug_label: str = "SME"
    spec_patch: Path | None = None  # a unified diff of the spec, applied first with patch
    spec_patch_name: str = ""  # as the policy names it: samba/samba.spec.patch

    @classmethod
    def from_settings(cls, settings: RebaseSettings, patches_dir: Path, packager: str,
                      bug_label: str = "SME") -> RebaseRecipe:
        patches, numbers = [], []
        for number, name in settings.numbered():
            path = patches_dir / name
            if not path.is_file():
                raise ConfigError(f"{path}: patch file not found (policy rebase.patches)")
            patches.append(path.absolute())
            numbers.append(number)
        spec_patch = patches_dir / settings.spec_patch if settings.spec_patch else None
        if spec_patch is not None and not spec_patch.is_file():
            raise ConfigError(f"{spec_patch}: spec patch not found (policy rebase.spec_patch)")
        return cls(patches=tuple(patches), numbers=tuple(numbers),
                   first_patch=settings.first_patch,
                   strip=settings.strip, macros=dict(settings.macros),
                   release_suffix=settings.release_suffix, carried=settings.changelog,
                   packager=packager, bug_label=bug_label,
                   spec_patch=spec_patch.absolute() if spec_patch else None,
                   spec_patch_name=settings.spec_patch or "")


@dataclass(frozen=True)
class Rebased:
    srpm: Path  # the new SRPM
    name: str
    version: str
    release: str  # expanded with the dist given, e.g. "1.el6.1"
    changelog: tuple[str, ...]  # the new entry's lines (header first)
    spec: Path  # the edited spec (kept in workdir, for the log / review)
    notes: tuple[str, ...] = ()  # for the Build? gate: how the spec patch applied, text edits


def rebase(srpm: Path, recipe: RebaseRecipe, workdir: Path, *, bug: str | None = None,
           when: datetime.date | None = None, dist: str = "",
           root: BuildRoot | None = None) -> Rebased:
    """Rebase our changes onto the upstream `srpm`; the new SRPM lands in workdir/out/.
    `root` says where -bp/-bs run (default: this worker's rpmbuild)."""
    root = root or BuildRoot()
    top = workdir / "rpmbuild"
    shutil.rmtree(top, ignore_errors=True)  # a previous attempt's leftovers
    for sub in ("SOURCES", "SPECS", "SRPMS", "tmp", "home"):
        (top / sub).mkdir(parents=True)
    spec_path = _unpack(srpm, top / "SOURCES", top / "SPECS")
    ours = _copy_patches(srpm, recipe.patches, top / "SOURCES")
    notes: tuple[str, ...] = ()
    if recipe.spec_patch is not None:
        notes = apply_spec_patch(srpm, spec_path, recipe.spec_patch, recipe.spec_patch_name,
                                 recipe.spec_patch.parent, top)
    with _SPEC_LOCK:
        changelog, patch_files, how = _edit_spec(srpm, spec_path, top / "SOURCES", recipe,
                                                 ours, bug, when or datetime.date.today(), dist)
    notes += how
    mine = {name: patch.parent for name, patch in zip(ours, recipe.patches, strict=True)}
    built = (_in_mock(srpm, root, top, spec_path, mine, patch_files) if root.mock_config
             else _on_worker(srpm, top, spec_path, dist, mine, patch_files))
    (workdir / "out").mkdir(parents=True, exist_ok=True)
    target = workdir / "out" / built.name
    os.replace(built, target)
    fd, header = _open(target)  # its name, version and release as rpm wrote them
    fd.close()
    return Rebased(srpm=target, name=header[rpm.RPMTAG_NAME],
                   version=header[rpm.RPMTAG_VERSION], release=header[rpm.RPMTAG_RELEASE],
                   changelog=changelog, spec=spec_path, notes=notes)


def _on_worker(srpm: Path, top: Path, spec: Path, dist: str, ours: Mapping[str, Path],
               patch_files: Sequence[str]) -> Path:
    """-bp then -bs with this worker's rpmbuild; a spec it cannot parse fails in one line."""
    done = rebase_prep.rpmbuild(top, "-bp", spec, dist)
    if done.returncode != 0 and rebase_prep.unparsable(done.stdout):
        raise rebase_prep.refused_by_this_rpm(srpm, "-bp", done.stdout)
    rebase_prep.check_prep(srpm, done.stdout, done.returncode, patch_files, top / "SOURCES",
                           top / "BUILD", ours, top / "prep.log")
    shutil.rmtree(top / "BUILD", ignore_errors=True)  # an unpacked samba tree is big
    done = rebase_prep.rpmbuild(top, "-bs", spec, dist)
    built = sorted((top / "SRPMS").glob("*.src.rpm"))
    if done.returncode != 0 or len(built) != 1:
        raise UpdraftError(f"{srpm.name}: rpmbuild -bs of the rebased spec failed "
                           f"({rebase_prep.last_error(done.stdout)})")
    return built[0]


def _in_mock(srpm: Path, root: BuildRoot, top: Path, spec: Path, ours: Mapping[str, Path],
             patch_files: Sequence[str]) -> Path:
    """-bs then -bp (of that SRPM) in the release's build root: its rpm reads its spec."""
    built = rebase_prep.mock_srpm(srpm, root, spec, top / "SOURCES", top / "mock-srpm")
    code, said = rebase_prep.mock_run(root, ["--rebuild", str(built), "--short-circuit=prep"],
                                      top / "mock-prep")
    rebase_prep.check_prep(srpm, said, code, patch_files, top / "SOURCES", top / "BUILD", ours,
                           top / "prep.log")
    return built


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

# the new changelog entry, patch files, notes
_Edited = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _edit_spec(srpm: Path, path: Path, sources: Path, recipe: RebaseRecipe, ours: Sequence[str],
               bug: str | None, when: datetime.date, dist: str) -> _Edited:
    """Apply the recipe to the spec (saved in place); return the new changelog entry,
    the file names of every patch the spec now lists (upstream's and ours), and a note
    when the spec had to be edited as text."""
    try:
        spec = Specfile(path, sourcedir=sources, macros=[("dist", dist)])
    except RPMException as exc:
        # This worker's rpm refuses the spec (el6's bare words): no parse is needed.
        reason = _last_line(exc)
        log.info("%s: this worker's rpm cannot parse the spec (%s): editing it as text",
                 srpm.name, reason)
        return (*_edit_as_text(srpm, path, recipe, ours, bug, when, dist),
                (f"spec edited as text: this worker's rpm cannot parse it ({reason})",))
    except SpecfileException as exc:
        raise UpdraftError(f"{srpm.name}: cannot edit its spec ({_last_line(exc)})") from exc
    try:
        return (*_apply_recipe(srpm, spec, recipe, ours, bug, when, dist), ())
    except (SpecfileException, ValueError) as exc:
        raise UpdraftError(f"{srpm.name}: cannot edit its spec ({_last_line(exc)})") from exc


def _last_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines()[-1:] or [type(exc).__name__])[0]


def _first_line(recipe: RebaseRecipe, bug: str | None) -> str:
    """"- Rebase on upstream {evr} [SME: 9001]", {evr} filled in by the caller."""
    return "- Rebase on upstream {evr}" + (f" [{recipe.bug_label}: {bug}]" if bug else "")


def _edit_as_text(srpm: Path, path: Path, recipe: RebaseRecipe, ours: Sequence[str],
                  bug: str | None, when: datetime.date,
                  dist: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fd, header = _open(srpm)
    fd.close()
    edit = spectext.TextEdit(header[rpm.RPMTAG_NAME], header[rpm.RPMTAG_VERSION],
                             header[rpm.RPMTAG_RELEASE])
    try:
        text, entry, files = spectext.edit_as_text(
            path.read_text(errors="surrogateescape"), edit, ours=ours,
            first_patch=recipe.first_patch, numbers=recipe.numbers, strip=recipe.strip,
            macros=recipe.macros,
            suffix=recipe.release_suffix, lines_first=_first_line(recipe, bug),
            carried=recipe.carried, packager=recipe.packager, when=when, dist=dist)
    except ValueError as exc:
        raise UpdraftError(f"{srpm.name}: cannot edit its spec as text ({exc})") from exc
    path.write_text(text, errors="surrogateescape")
    return entry, files


def _apply_recipe(srpm: Path, spec: Specfile, recipe: RebaseRecipe, ours: Sequence[str],
                  bug: str | None, when: datetime.date,
                  dist: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    version = spec.expanded_version
    upstream_release = spec.expand(spec.raw_release, extra_macros=[("dist", "")])
    numbers = _add_patch_tags(spec, ours, recipe)
    _add_patch_macros(srpm, spec, numbers, recipe.strip)
    _set_macros(spec, recipe.macros)
    spec.raw_release = spec.raw_release + recipe.release_suffix
    release = spec.expand(spec.raw_release, extra_macros=[("dist", dist)])
    first = _first_line(recipe, bug).replace("{evr}", f"{version}-{upstream_release}")
    entry = _add_changelog(srpm, spec, [first, *recipe.carried], recipe.packager, when,
                           f"{version}-{release}")
    spec.save()
    with spec.patches() as patches:
        return entry, tuple(patch.expanded_filename or patch.filename for patch in patches)


def _add_patch_tags(spec: Specfile, names: Sequence[str], recipe: RebaseRecipe) -> list[int]:
    """Patch<N>: tags after upstream's last one, N as asked or from `first` on."""
    with spec.patches() as patches:
        used = {patch.number for patch in patches}
    numbers = spectext.allocate(used, recipe.first_patch, recipe.numbers, len(names))
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
        assert changelog is not None  # the section was made above
        newest = changelog[-1]  # specfile keeps the oldest entry first
    return (newest.header, *newest.content)
