"""Report: the "Repository Update" text of seed 000, rendered with Jinja2.

One block per family and release ("clamav (sme9)") listing every reported action in
the seed's order, then the repos whose repodata was rebuilt, highest tier first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import StrictUndefined

from updraft.config.dist import DistConfig
from updraft.engine.action import Action, Plan, Touched
from updraft.markup import environment


@dataclass
class Block:
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Section:
    label: str
    blocks: list[Block] = field(default_factory=list)
    rebuilds: list[str] = field(default_factory=list)


_ENV = environment(undefined=StrictUndefined, keep_trailing_newline=True)  # text: no escaping


def _blocks(actions: list[Action]) -> list[Block]:
    blocks: dict[str, Block] = {}
    for action in actions:
        if not action.reported:
            continue
        title = action.family or "quarantine"
        block = blocks.setdefault(title, Block(title))
        line = action.describe()
        if line not in block.lines:  # a noarch file moves once per arch dir
            block.lines.append(line)
    return sorted(blocks.values(), key=lambda block: (block.title == "quarantine", block.title))


def _rebuilds(config: DistConfig, touched: list[Touched]) -> list[str]:
    rank = {repo: index for index, repo in enumerate(config.repo_order())}
    ordered = sorted(touched, key=lambda t: (rank[t.repo], t.archdir))
    return list(dict.fromkeys(f"{t.repo}/{t.archdir}" for t in ordered))


def sections(config: DistConfig, plan: Plan, touched: list[Touched] | None = None) -> list[Section]:
    rebuilt = plan.touched if touched is None else touched
    found: list[Section] = []
    for release in config.releases:
        actions = [action for action in plan.actions if action.release == release]
        mine = [t for t in rebuilt if t.release == release]
        if not actions and not mine:
            continue
        found.append(Section(
            label=f"{config.prefix}{release}",
            blocks=_blocks(actions),
            rebuilds=_rebuilds(config, mine),
        ))
    return found


def render(config: DistConfig, plan: Plan, touched: list[Touched] | None = None) -> str:
    template = _ENV.get_template("repository_update.txt.j2")
    text = template.render(sections=sections(config, plan, touched), notes=plan.warnings)
    return text.rstrip("\n") + "\n"  # paragraphs end in a blank line; the mail does not
