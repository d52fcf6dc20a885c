"""The families a gate asks about, read from what the gate recorded.

Gates record what they ask about as a label, not as a family name: a promotion the
`package` it was started with (`clamav` or `initscripts-9.03.49-1.el6.sme.1`), Build? and
Sign? the N-V-R being built, build_batch its requests (`samba-4.6.2-12.el6 (9)`, several
joined by ", "), the ISO gate a version (`10.1`, no family), the release gate nothing
(its answer records the chosen `name-version-release`s). The Gates and Family pages need
the family names behind those labels.
"""

from __future__ import annotations

import re

_RELEASE_SUFFIX = re.compile(r"\s+\([^()]*\)$")  # "samba-4.6.2-12.el6 (9)"


def _name(part: str) -> str:
    """`part`'s family name: N of an N-V-R (V starts with a digit), else `part` itself; ""
    for a bare version (an ISO's `10.1`)."""
    part = _RELEASE_SUFFIX.sub("", part.strip())
    if not part or part[0].isdigit():
        return ""
    pieces = part.rsplit("-", 2)
    if len(pieces) == 3 and pieces[0] and pieces[1][:1].isdigit() and pieces[2]:
        return pieces[0]
    return part


def family_names(label: str) -> tuple[str, ...]:
    """Every family `label` names, in order, once each."""
    names = (_name(part) for part in label.split(", "))
    return tuple(dict.fromkeys(name for name in names if name))


def names_family(label: str, family: str) -> bool:
    return family in family_names(label)
