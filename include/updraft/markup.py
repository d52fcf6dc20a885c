"""Text from outside, rendered as markup: HTML templates escape, Markdown helpers quote.

Changelogs, Bugzilla fields, package and file names reach HTML pages (Rnotes, the
release board) and the gates' Markdown bodies in Airflow's UI. Nothing of it may turn
into markup there: no script, no event handler, no link or image it chose.

- `environment()` is the one Jinja environment factory for `include/updraft/templates`:
  autoescape follows the template's *name* with its template suffix removed, so
  `rnotes.html.j2` escapes (Jinja's `select_autoescape(["html"])` only looks at the last
  suffix, `.j2`, and let a `<script>` in a changelog through) and `*.txt.j2` mails stay
  byte-identical plain text.
- `md_text`, `md_code`, `md_fence` and `md_link` quote values for a Markdown body.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader

_MARKUP_SUFFIXES = (".html", ".htm", ".xhtml", ".xml", ".svg")
_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tmpl")


def escapes(name: str | None) -> bool:
    """Whether a template of this name renders markup (and so must autoescape)."""
    if name is None:  # Environment.from_string: only used for text here
        return False
    lower = name.lower()
    for suffix in _TEMPLATE_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    return lower.endswith(_MARKUP_SUFFIXES)


def environment(**options: Any) -> Environment:
    """updraft's templates, autoescaped exactly when their name says HTML/XML."""
    return Environment(loader=PackageLoader("updraft", "templates"), autoescape=escapes,
                       **options)


# The characters CommonMark/GFM give an inline meaning to anywhere in a line (emphasis,
# code, link and image brackets, raw HTML and autolinks, entities, tables,
# strikethrough), backslash-escaped. `(` `)` `!` only act after a `]`, which is escaped;
# `_` only at a word's edge (x86_64 stays readable).
_MD_INLINE = re.compile(r"([\\`*\[\]<>|~&@]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
# GFM links bare URLs, www. names and mail addresses (the `@` above) by themselves.
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=\bwww)(\.)")
# At the start of a value (which may follow "- "), these open a block: a list, a
# heading, a quote, a rule.
_MD_LEADING = re.compile(r"^(\s*)(?:([-+=#])|(\d+)([.)]))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _one_line(value: object) -> str:
    """Data never adds lines to a body: a newline could start a heading, a fence or HTML."""
    return _CONTROL.sub(" ", str(value))


def md_text(value: object) -> str:
    """A value shown as plain text in Markdown: one line, every markup character escaped."""
    text = _MD_INLINE.sub(r"\\\1", _one_line(value))
    text = _MD_AUTOLINK.sub(lambda match: "\\" + match.group(0), text)

    def leading(match: re.Match[str]) -> str:
        space, mark, digits, dot = match.groups()
        return f"{space}\\{mark}" if mark else f"{space}{digits}\\{dot}"

    return _MD_LEADING.sub(leading, text, count=1)


def md_code(value: object) -> str:
    """A value as an inline code span, delimited by more backticks than it contains."""
    text = _one_line(value)
    if not text:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    # CommonMark strips one space on each side when both are there: pad so it strips ours.
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(value: object) -> str:
    """A multi-line value as a fenced code block no line of it can close."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


_SAFE_URL = re.compile(r"^(?:/(?![/\\])|https?://)[^\s<>\"'`()\\\x00-\x1f\x7f]*$", re.I)


def safe_url(url: object) -> str | None:
    """The URL if it is a path of this site or http(s), else None (javascript:, data:,
    //other-host and the like are never made a link)."""
    href = str(url or "")
    return href if _SAFE_URL.match(href) else None


def md_link(label: object, url: object) -> str:
    """A link only to this site's paths or http(s); anything else (javascript:, data:,
    //host) is shown as text, never as a link."""
    href = safe_url(url)
    if href:
        return f"[{md_text(label)}]({href})"
    return f"{md_text(label)} ({md_code(url or '')})"
