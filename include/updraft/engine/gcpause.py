"""GC pause: bulk work that makes tens of thousands of acyclic objects, without the collector.

CPython's cyclic collector runs every 700 new container objects, and every tenth run of
its middle generation walks every tracked object in the process. A scan makes a tuple
per file and per cached header row (40,000 of each at 21,000 RPMs): loading the header
cache took 91 ms with the collector and 77 ms without (medians of ten, in a process that
had run a cycle). Those rows make no reference cycles, so the collector would find
nothing in them; it is paused only while such work runs, and a cycle made meanwhile is
collected once it is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for the block (left off if a caller turned it off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
