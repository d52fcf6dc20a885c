"""Errors that reach a user: each carries one line saying what is wrong and what to do."""


class UpdraftError(Exception):
    """Base class: str(error) is the one-line message shown to the user."""


class ConfigError(UpdraftError):
    """The distribution config is missing, malformed or names something unknown."""


class LockTimeout(UpdraftError):
    """Another writer held the tree lock for longer than we were willing to wait."""


class PackageNotFound(UpdraftError):
    """A command named a package or file that the tree does not hold."""


class PlanChanged(UpdraftError):
    """The tree changed between the plan a human approved and the moment of applying it."""


class UpstreamError(UpdraftError):
    """An upstream source could not be mirrored or one of its packages was rejected."""
