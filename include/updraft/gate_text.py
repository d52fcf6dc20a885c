"""What a gate says: its Markdown body's parts, the plain-text mail, its absolute link.

Bodies are Markdown in Airflow's Required Actions page: outside text goes through
updraft.markup's quoting. Mails are plain text for people's mail readers: no Markdown
syntax and no server file paths, people by name, and an absolute link to answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from updraft.config.dist import DistConfig
from updraft.markup import md_text

# The run-id characters a path segment keeps as they are (Airflow's own links quote the
# `:` and `+` of a manual run's id the same way browsers do).
_SEGMENT_SAFE = "-._~"


@dataclass(frozen=True)
class Block:
    """One family's part of a plan report: "clamav (sme9)" and its action lines."""

    title: str
    lines: tuple[str, ...]


def person(config: DistConfig, user: str) -> str:
    """ "Rel Eng (releng)" when the config names the user, else the user name."""
    entry = config.users.get(user)
    return f"{entry.name} ({user})" if entry and entry.name and entry.name != user else user


def people(config: DistConfig, users: Iterable[str]) -> str:
    return ", ".join(person(config, user) for user in users) or "nobody"


def md_people(config: DistConfig, users: Iterable[str]) -> str:
    return ", ".join(md_text(person(config, user)) for user in users) or "nobody"


def addresses(config: DistConfig, users: Iterable[str]) -> list[str]:
    """The mail addresses of these users; when none has one, the gate-mail list (old
    configs: `release.gate_mail`, else `report.recipients`)."""
    found = [
        entry.email
        for user in users
        if (entry := config.users.get(user)) is not None and entry.email
    ]
    return list(dict.fromkeys(found)) or list(config.release.gate_mail or config.report.recipients)


def gate_link(base_url: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The gate's Required Actions page in the Airflow UI, absolute."""
    parts = (quote(part, safe=_SEGMENT_SAFE) for part in (dag_id, run_id, task_id))
    dag, run, task = parts
    return (
        f"{base_url.rstrip('/')}/dags/{dag}/runs/{run}/tasks/{task}/required_actions"
        f"?map_index={map_index}"
    )


def report_blocks(report: str) -> list[Block]:
    """The family blocks of a Repository Update report (report.py's layout: a title
    line, its actions, a blank line)."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", report.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines:
            blocks.append(Block(lines[0], tuple(lines[1:])))
    return blocks


def md_blocks(blocks: Sequence[Block]) -> str:
    """Each family as a bold title and a list of its lines (every value quoted)."""
    parts = []
    for block in blocks:
        items = "\n".join(f"- {md_text(line)}" for line in block.lines) or "- (no actions)"
        parts.append(f"**{md_text(block.title)}**\n\n{items}")
    return "\n\n".join(parts) or "nothing to do"


# Markdown of our own bodies, back to text: links, emphasis, code, escapes, fences.
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")
_CODE = re.compile(r"(`+) ?(.*?) ?\1")
_ESCAPED = re.compile(r"\\(.)")
_FENCE = re.compile(r"^(`{3,})\n(.*?)\n\1$", re.S | re.M)
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.+-]+/)+[\w.+-]+")


def plain(markdown: str, base_url: str | None = None) -> str:
    """A gate body as plain text: no Markdown syntax, site links made absolute, and
    server file paths left out (mails leave the building)."""
    text = _FENCE.sub(
        lambda m: "\n".join("    " + line for line in m.group(2).split("\n")), markdown
    )

    def link(match: re.Match[str]) -> str:
        label, href = match.group(1), match.group(2)
        if href.startswith("/"):
            href = f"{base_url.rstrip('/')}{href}" if base_url else ""
        return f"{label} ({href})" if href else label

    text = _LINK.sub(lambda m: "\x00" + link(m) + "\x01", text)
    text = _CODE.sub(lambda m: m.group(2), text)
    text = text.replace("**", "")
    pieces = re.split(r"(\x00.*?\x01)", text)  # links keep their URL; the rest loses paths
    text = "".join(
        piece[1:-1] if piece.startswith("\x00") else _PATH.sub("(a file on the server)", piece)
        for piece in pieces
    )
    return _ESCAPED.sub(r"\1", text)


def mail_body(
    config: DistConfig,
    subject: str,
    body: str,
    assigned: Sequence[str],
    link: str | None,
    deadline: str | None = None,
    reminder: str | None = None,
) -> str:
    """The plain-text mail of a waiting gate (or of its reminder)."""
    head = [reminder] if reminder else []
    head += [subject, "", f"Waiting for: {people(config, assigned)}"]
    if deadline:
        head.append(f"Answer before: {deadline}")
    head.append(
        f"Answer here: {link}"
        if link
        else "Answer under Browse -> Required Actions in the Airflow UI"
    )
    return "\n".join(head) + "\n\n" + plain(body, base_url(config, link)) + "\n"


def base_url(config: DistConfig, link: str | None = None) -> str | None:
    """The configured UI address (web.base_url), else the scheme and host of `link`."""
    if config.web.base_url:
        return config.web.base_url
    match = re.match(r"https?://[^/]+", link or "")
    return match.group(0) if match else None
