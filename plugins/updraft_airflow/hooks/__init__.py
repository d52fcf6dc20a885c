"""Hooks: updraft's connections to outside services (Bugzilla)."""
