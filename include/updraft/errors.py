"""Errors that reach a user: each carries one line saying what is wrong and what to do."""


class UpdraftError(Exception):
    """Base class: str(error) is the one-line message shown to the user."""


class Transient(UpdraftError):
    """A retry may cure it (a lock held by another writer, a full disk, a server that did
    not answer): the scheduler retries; every other UpdraftError fails at once."""


class ConfigError(UpdraftError):
    """The distribution config is missing, malformed or names something unknown."""


class LockTimeout(Transient):
    """Another writer held the tree lock for longer than we were willing to wait."""


class PackageNotFound(UpdraftError):
    """A command named a package or file that the tree does not hold."""


class PlanChanged(UpdraftError):
    """The tree changed between the plan a human approved and the moment of applying it."""


class UpstreamError(UpdraftError):
    """An upstream source could not be mirrored or one of its packages was rejected."""


class StorageError(UpdraftError):
    """The disk refused a write (full, read-only, no permission): one line naming the path."""


class StorageFull(StorageError, Transient):
    """No space or quota left: freeing some (or the next cleanup) lets a retry through."""


_FULL = (28, 122)  # ENOSPC, EDQUOT

# errno -> what to do about it; any other OSError is a bug and keeps its traceback.
_STORAGE_ADVICE = {
    28: "no space left on the device: free some space and re-run",  # ENOSPC
    122: "disk quota exceeded: free some space and re-run",  # EDQUOT
    30: "the file system is read-only: remount it read-write and re-run",  # EROFS
    13: "permission denied: run as the tree's owner or fix the permissions",  # EACCES
    1: "operation not permitted: run as the tree's owner or fix the permissions",  # EPERM
}


def storage_error(exc: OSError) -> StorageError | None:
    """The one-line StorageError for a full, read-only or forbidden disk; None otherwise."""
    advice = _STORAGE_ADVICE.get(exc.errno or 0)
    if advice is None:
        return None
    where = exc.filename2 or exc.filename or "(unknown path)"
    kind = StorageFull if exc.errno in _FULL else StorageError
    return kind(f"cannot write {where}: {advice} (nothing was lost: a journaled "
                        "plan is finished by the next run)")
