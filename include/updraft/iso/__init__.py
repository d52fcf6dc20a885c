"""The ISO build of seed 002 ("Build an Official ISO"): preflight, stage, installer and
ISO build (mock chroot or this host), checksums, jigdo, and the hardlinked publish."""
