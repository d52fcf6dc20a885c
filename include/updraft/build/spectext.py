"""A rebase's spec edits as text, for specs this worker's rpm cannot parse.

CentOS 6 specs use constructs current rpm refuses (`%if %{foo} == bar`: "bare words are
no longer supported", "bad %if condition"), and the specfile library parses through the
worker's librpm. None of seed 000's edits needs a parse: the Release: line, PatchNNNN:
tags after upstream's, `%patchNNNN -p1` after upstream's last %patch in %prep, %global
values and a %changelog entry are all line edits. Name and version come from the SRPM's
header (el6's rpm wrote them), never from expanding the spec here.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_SECTION = re.compile(
    r"^%(package|description|prep|build|install|check|clean|files|changelog|pre|post|"
    r"preun|postun|pretrans|posttrans|triggerin|triggerun|triggerpostun|verifyscript)\b")
_TAG = re.compile(r"^(?P<tag>[A-Za-z][A-Za-z0-9]*)\s*:\s*(?P<value>.*)$")
_IF = re.compile(r"^%if(arch|narch|os|nos)?\b")
_ENDIF = re.compile(r"^%endif\b")
_PATCH_MACRO = re.compile(r"^%patch(?P<number>\d*)\b")
_SETUP = re.compile(r"^%(setup|autosetup|autopatch)\b")
_DEFINE = re.compile(r"^(?P<lead>\s*%(?:global|define)\s+)(?P<name>\w+)(?P<gap>\s+)(?P<body>.*)$")
_SIMPLE_MACRO = re.compile(r"%\{\??(\w+)\}|%(\w+)")


@dataclass(frozen=True)
class TextEdit:
    """What the text edit needs besides the recipe: the SRPM header's name and version."""

    name: str
    version: str
    header_release: str  # as built upstream, e.g. "1.el6"


def _first_section(lines: Sequence[str]) -> int:
    return next((i for i, line in enumerate(lines) if _SECTION.match(line)), len(lines))


def _section(lines: Sequence[str], name: str) -> tuple[int, int] | None:
    """(first line after `%name`, end) of a section, None if absent."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^%{name}\b", line)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
    return start + 1, end


def _past_conditionals(lines: Sequence[str], start: int, anchor: int) -> int:
    """The line after `anchor`, moved past the %endif closing any %if open there: our
    lines must not vanish with an upstream branch (its condition is not evaluated here)."""
    depth = 0
    for line in lines[start:anchor + 1]:
        depth += 1 if _IF.match(line) else -1 if _ENDIF.match(line) else 0
    at = anchor + 1
    while depth > 0 and at < len(lines):
        depth -= 1 if _ENDIF.match(lines[at]) else 0
        depth += 1 if _IF.match(lines[at]) else 0
        at += 1
    return at


def patch_tags(lines: Sequence[str]) -> dict[int, str]:
    """Patch number -> file name of every PatchN: tag in the main preamble."""
    found = {}
    for line in lines[:_first_section(lines)]:
        tag = _TAG.match(line)
        name = tag["tag"].lower() if tag else ""
        if name == "patch" or (name.startswith("patch") and name[5:].isdigit()):
            found[int(name[5:] or 0)] = tag["value"].strip()  # type: ignore[index]
    return found


def allocate(used: set[int], first: int, wanted: Sequence[int | None], count: int) -> list[int]:
    """The PatchN numbers of our `count` patches: the ones asked for (never one upstream
    uses), the others the next free from `first` on."""
    asked = [n for n in wanted if n is not None]
    clash = sorted(set(asked) & used)
    if clash:
        raise ValueError(f"Patch{clash[0]} is upstream's too: renumber it in rebase.patches")
    taken = used | set(asked)
    free = (n for n in itertools.count(first) if n not in taken)
    padded = [*wanted, *[None] * (count - len(wanted))]
    return [n if n is not None else next(free) for n in padded[:count]]


def add_patches(lines: list[str], names: Sequence[str], first: int, strip: int,
                wanted: Sequence[int | None] = ()) -> list[int]:
    """PatchN: tags after upstream's last Patch (else Source) tag, %patchN lines after its
    last %patch/%setup in %prep; the numbers used."""
    numbers = allocate(set(patch_tags(lines)), first, wanted, len(names))
    preamble = _first_section(lines)
    tags = [(i, m["tag"].lower()) for i, line in enumerate(lines[:preamble])
            if (m := _TAG.match(line))]
    anchor = next((i for i, tag in reversed(tags) if tag.startswith("patch")), None)
    anchor = next((i for i, tag in reversed(tags) if tag.startswith("source")),
                  None) if anchor is None else anchor
    at = preamble if anchor is None else _past_conditionals(lines, 0, anchor)
    lines[at:at] = [f"Patch{n}: {name}" for n, name in zip(numbers, names, strict=True)]
    prep = _section(lines, "prep")
    if prep is None:
        raise ValueError("its spec has no %prep section")
    start, end = prep
    body = lines[start:end]
    if any(re.match(r"^%autopatch\b", line) or (re.match(r"^%autosetup\b", line)
                                                 and " -N" not in line) for line in body):
        return numbers  # they apply every PatchN themselves
    marks = [i for i in range(start, end) if _PATCH_MACRO.match(lines[i]) or _SETUP.match(lines[i])]
    at = _past_conditionals(lines, start, marks[-1]) if marks else end
    numbered = any((m := _PATCH_MACRO.match(line)) and m["number"] for line in body)
    lines[at:at] = [f"%patch{n} -p{strip}" if numbered else f"%patch -P {n} -p{strip}"
                    for n in numbers]
    return numbers


def set_macros(lines: list[str], macros: Mapping[str, str]) -> None:
    """Every one-line %global/%define of a name gets the body; a name the spec lacks gets
    a %global at the top."""
    missing = []
    for name, value in macros.items():
        body = value or "%{nil}"
        hits = [i for i, line in enumerate(lines)
                if (m := _DEFINE.match(line)) and m["name"] == name]
        for i in hits:
            found = _DEFINE.match(lines[i])
            assert found is not None
            lines[i] = f"{found['lead']}{name}{found['gap']}{body}"
        if not hits:
            missing.append(f"%global {name} {body}")
    lines[0:0] = missing


def raw_release(lines: Sequence[str]) -> str:
    for line in lines[:_first_section(lines)]:
        tag = _TAG.match(line)
        if tag and tag["tag"].lower() == "release":
            return tag["value"].strip()
    raise ValueError("its spec has no Release: tag")


def add_release_suffix(lines: list[str], suffix: str) -> None:
    """Every Release: of the main preamble (one per %if branch, if upstream has two)."""
    for i in range(_first_section(lines)):
        tag = _TAG.match(lines[i])
        if tag and tag["tag"].lower() == "release":
            lines[i] = lines[i].rstrip() + suffix


def expand(value: str, lines: Sequence[str], known: Mapping[str, str]) -> str | None:
    """`value` with %{?dist}, %{name}, %{version} and one-line %global/%define values
    filled in; None when something else is left (it needs rpm to expand)."""
    defined = {m["name"]: m["body"].strip() for line in lines if (m := _DEFINE.match(line))}
    values = {**defined, **known}
    for _ in range(10):
        done = _SIMPLE_MACRO.sub(lambda m: values.get(m[1] or m[2], m[0]), value)
        if done == value:
            break
        value = done
    return None if "%" in value else value


def add_changelog(lines: list[str], entry: Sequence[str]) -> None:
    where = next((i for i, line in enumerate(lines) if re.match(r"^%changelog\b", line)), None)
    if where is None:
        lines += ["", "%changelog"]
        where = len(lines) - 1
    lines[where + 1:where + 1] = [*entry, ""]


def changelog_header(when: datetime.date, packager: str, evr: str) -> str:
    return f"* {when.strftime('%a %b %d %Y')} {packager} - {evr}"


def edit_as_text(text: str, edit: TextEdit, *, ours: Sequence[str], first_patch: int,
                 numbers: Sequence[int | None], strip: int, macros: Mapping[str, str],
                 suffix: str, lines_first: str,
                 carried: Sequence[str], packager: str, when: datetime.date,
                 dist: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The recipe applied to the spec text: (new text, the new changelog entry, the file
    names of every patch the spec lists). ValueError says what is missing."""
    lines = text.splitlines()
    upstream = raw_release(lines)
    known = {"name": edit.name, "version": edit.version}
    # "Rebase on upstream 9.03.49-1": the release without dist, as the header can't say
    upstream_release = expand(upstream, lines, {**known, "dist": ""}) or edit.header_release
    add_patches(lines, ours, first_patch, strip, numbers)
    set_macros(lines, macros)
    add_release_suffix(lines, suffix)
    release = expand(upstream + suffix, lines, {**known, "dist": dist}) or upstream + suffix
    first = lines_first.replace("{evr}", f"{edit.version}-{upstream_release}")
    entry = (changelog_header(when, packager, f"{edit.version}-{release}"), first, *carried)
    add_changelog(lines, entry)
    files = tuple(expand(name, lines, known) or name for name in patch_tags(lines).values())
    return "\n".join(lines) + "\n", entry, files
