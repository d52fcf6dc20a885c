"""Where the installer and ISO steps run: in a mock chroot (seed 002, production build
hosts), or on this host (the `local` backend, for hosts without mock).

mock: `mock -r <release>-<arch>-iso --init`, then
`mock -r ... --mount --cwd <stage>/<version> --unpriv --chroot <build_installer|build_ISO>`;
local: the same steps in Python (updraft.iso.image), on the host.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from updraft.build.backend import _run as run_streaming
from updraft.iso import image, installer
from updraft.iso.image import IsoBuildError
from updraft.iso.target import IsoTarget

Step = Literal["installer", "iso"]
LineSink = Callable[[str], None]


@dataclass(frozen=True)
class MockChroot:
    """The mock command lines of one release and arch."""

    target: IsoTarget
    arch: str
    executable: str = "mock"

    @property
    def config_name(self) -> str:
        return self.target.settings.mock_config.format(release=self.target.release,
                                                       arch=self.arch)

    def init_command(self) -> list[str]:
        return [self.executable, "-r", self.config_name, "--init"]

    def chroot_command(self, step: Step) -> list[str]:
        settings = self.target.settings
        script = settings.installer_command if step == "installer" else settings.iso_command
        cwd = self.target.arch_tree(self.arch).parent
        return [self.executable, "-r", self.config_name, "--mount", "--cwd", str(cwd),
                "--unpriv", "--chroot", script]

    def run(self, step: Step, sink: LineSink) -> None:
        if shutil.which(self.executable) is None:
            raise IsoBuildError(f"{self.executable} not found on PATH: install mock on this "
                                "build host or set iso.backend: local")
        for argv in (self.init_command(), self.chroot_command(step)):
            sink("$ " + " ".join(argv))
            code = run_streaming(argv, None, self.target.settings.timeout, sink)
            if code != 0:
                why = "timed out" if code is None else f"exited {code}"
                raise IsoBuildError(f"{' '.join(argv[:4])} ... {why}: see the log above "
                                    f"and /var/lib/mock/{self.config_name}/result/root.log")


def run_step(target: IsoTarget, step: Step, sink: LineSink, backend: str | None = None,
             decisions: list[installer.InstallerDecision] | None = None,
             mock: str = "mock") -> list[image.Image]:
    """One step; the installer for the arches `decisions` name (default: every arch),
    the ISO for every arch plus the SRPMS ISO. Returns the ISO step's images."""
    chosen = backend or target.settings.backend
    if step == "installer":
        if decisions is None:
            decisions = [installer.decide(target, arch, force=True) for arch in target.arches]
        for decision in decisions:
            if chosen == "mock":
                MockChroot(target, decision.arch, mock).run(step, sink)
            else:
                image.build_installer(target, decision.arch, sink)
            installer.remember(target, decision)
        return []
    if chosen == "mock":
        for arch in target.arches:
            MockChroot(target, arch, mock).run(step, sink)
        return _images(target)
    return image.build_isos(target, sink)


def _images(target: IsoTarget) -> list[image.Image]:
    """The images a chroot build left in the output dir."""
    found = []
    for iso in [*(target.iso_file(a) for a in target.arches), target.srpms_iso]:
        if not iso.is_file():
            raise IsoBuildError(f"the chroot build left no {iso}")
        found.append(image.Image(iso, iso.with_suffix(".jigdo"), iso.with_suffix(".template"),
                                 image.sha256_of(iso), iso.stat().st_size))
    return found
