"""Build settings of the YAML: the `build:` section and a policy's `build:` / `rebase:`.

Seed 004: "configuration of build process ... some parameters, priority during build
process, where should it go"; seed 000: the initscripts, samba and anaconda rebuilds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _plain_words(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    for value in values:
        if not value or any(ch.isspace() for ch in value):
            raise ValueError(f"{what} {value!r}: one word per entry (a bcond name)")
    return values


class BuildOptions(_Strict):
    """A policy's build parameters (seed 004's kernel-style special cases).

    Both mock and rpmbuild take `--define 'NAME VALUE'`, `--with NAME`, `--without NAME`;
    `extra_args` go to the build command as they are (e.g. mock's `--enable-network`).
    """

    defines: dict[str, str] = Field(default_factory=dict)
    with_: tuple[str, ...] = Field((), alias="with")
    without: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()

    @field_validator("defines", mode="before")
    @classmethod
    def _values_are_text(cls, value: object) -> object:
        # YAML reads `with_dc: 1` as an int; a macro body is text.
        if isinstance(value, dict):
            return {str(key): "" if val is None else str(val) for key, val in value.items()}
        return value

    @field_validator("defines")
    @classmethod
    def _macro_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name or not (name[0].isalpha() or name[0] == "_") or not all(
                    ch.isalnum() or ch == "_" for ch in name):
                raise ValueError(f"{name!r} is not a macro name")
        return value

    @field_validator("with_")
    @classmethod
    def _with_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _plain_words(value, "with")

    @field_validator("without")
    @classmethod
    def _without_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _plain_words(value, "without")

    def merged(self, other: BuildOptions) -> BuildOptions:
        """These options overridden by `other` (a stronger policy, or a run's overrides):
        its defines win, bconds and arguments add up, and a `--with X` there cancels a
        `--without X` here (and the reverse)."""
        with_ = tuple(dict.fromkeys(
            [w for w in self.with_ if w not in other.without] + list(other.with_)))
        without = tuple(dict.fromkeys(
            [w for w in self.without if w not in other.with_] + list(other.without)))
        return BuildOptions(defines={**self.defines, **other.defines}, with_=with_,
                            without=without,
                            extra_args=tuple(self.extra_args) + tuple(other.extra_args))

    def rpm_args(self) -> list[str]:
        """The arguments mock and rpmbuild both understand, in a stable order."""
        args: list[str] = []
        for name, body in sorted(self.defines.items()):
            args += ["--define", f"{name} {body}"]
        for name in self.with_:
            args += ["--with", name]
        for name in self.without:
            args += ["--without", name]
        return args + list(self.extra_args)

    @property
    def empty(self) -> bool:
        return not (self.defines or self.with_ or self.without or self.extra_args)


class RebaseSettings(_Strict):
    """Seed 000's rebase-and-repatch: import the new upstream SRPM, re-apply our patches
    and spec edits, release `<upstream release>.1`, changelog entry on top."""

    # Patch files, relative to build.patches_dir, applied in this order after upstream's:
    # a list (numbered from first_patch on), or {number: file} to keep the numbers a
    # fork's spec always had (anaconda's Patch10001..10007, 10011..10023), applied by number.
    patches: tuple[str, ...] | dict[int, str] = ()
    first_patch: int = Field(2000, ge=0)  # initscripts: Patch2000..; anaconda: Patch10001..
    strip: int = Field(1, ge=0)  # %patch2000 -p1
    # %global/%define values to set (samba: with_dc 1, with_mitkrb5 0, with_internal_ldb 1).
    macros: dict[str, str] = Field(default_factory=dict)
    release_suffix: str = ".1"  # Release: 1%{?dist} -> 1%{?dist}.1
    # Our earlier changelog lines carried into every rebase ("- Make slapd service an
    # alias for ldap [SME: 8635]"), newest first, each starting with "- " or "  ".
    changelog: tuple[str, ...] = ()
    # Seed 000's samba way: a unified diff of the spec (relative to build.patches_dir),
    # applied with `patch` to the new upstream spec before the edits above.
    spec_patch: str | None = None

    def numbered(self) -> list[tuple[int | None, str]]:
        """(the number asked for, or None for the next free one, file) in order."""
        if isinstance(self.patches, dict):
            return sorted(self.patches.items())
        return [(None, name) for name in self.patches]

    @field_validator("spec_patch")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or Path(value).is_absolute()
                                  or ".." in Path(value).parts):
            raise ValueError(f"spec_patch {value!r}: a file under build.patches_dir "
                             "(samba/samba.spec.patch)")
        return value

    @field_validator("macros", mode="before")
    @classmethod
    def _macro_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): str(val) for key, val in value.items()}
        return value

    @field_validator("changelog")
    @classmethod
    def _changelog_lines(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for line in value:
            if not line.startswith(("- ", "  ")):
                raise ValueError(f"changelog line {line!r} must start with '- ' (an entry) "
                                 "or two spaces (its continuation)")
        return value

    @field_validator("release_suffix")
    @classmethod
    def _suffix(cls, value: str) -> str:
        if not value or any(ch.isspace() or ch in "-%{}" for ch in value):
            raise ValueError(f"{value!r}: a release suffix such as '.1' (no spaces, '-', "
                             "or macros)")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> RebaseSettings:
        if not self.patches and not self.macros and not self.spec_patch:
            raise ValueError("a rebase needs `patches`, `macros` or `spec_patch` (else it is "
                             "a plain build)")
        return self


class Builder(_Strict):
    """The builder hosts of one arch dir: a Celery queue their workers serve, and a pool
    bounding how many builds run there at once."""

    queue: str | None = None  # default build-<arch>
    pool: str | None = None  # default build-<arch>
    slots: int = Field(1, ge=1)
    target: str | None = None  # rpmbuild/mock --target; default the arch dir (i386, x86_64)
    mock_config: str | None = None  # overrides build.mock_config for this arch


class BuildSettings(_Strict):
    backend: Literal["mock", "rpmbuild"] = "rpmbuild"
    # mock -r NAME; {release} and {arch} (the arch dir) are filled in.
    mock_config: str = "{release}-{arch}"
    builders: dict[str, Builder] = Field(default_factory=dict)  # arch dir -> its builders
    sign_queue: str = "sign"
    # The `dist` macro of an rpmbuild build per release (mock configs carry their own).
    dist: dict[str, str] = Field(default_factory=dict)
    patches_dir: Path = Path("patches")
    packager: str = "updraft <releases@localhost>"  # author of a rebase's changelog entry
    bug_label: str = "SME"  # "- Rebase on upstream 9.03.49 [SME: 9001]"
    timeout: float = Field(6 * 3600.0, gt=0)  # seconds one build may take
    # rpmbuild backend only: --nodeps, for a worker that cannot hold every BuildRequires
    # (it builds against its own rpmdb and shell, not the release's root). mock installs them.
    nodeps: bool = False
    log_tail: int = Field(40, ge=1)  # lines of the failing log the report mail quotes

    @field_validator("dist", mode="before")
    @classmethod
    def _release_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): str(val) for key, val in value.items()}
        return value

    @field_validator("mock_config")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            value.format(release="9", arch="x86_64")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{value!r}: only {{release}} and {{arch}} may be used "
                             f"({exc})") from exc
        return value

    def builder(self, archdir: str) -> Builder:
        """The arch dir's builder settings with every default filled in."""
        chosen = self.builders.get(archdir, Builder())
        return Builder(queue=chosen.queue or f"build-{archdir}",
                       pool=chosen.pool or f"build-{archdir}", slots=chosen.slots,
                       target=chosen.target or archdir,
                       mock_config=chosen.mock_config or self.mock_config)

    def mock_config_for(self, release: str, archdir: str) -> str:
        return (self.builder(archdir).mock_config or self.mock_config).format(
            release=release, arch=archdir)
