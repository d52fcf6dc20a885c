"""The distribution's YAML, validated: dist.py reads the whole file (releases, repos,
upstream sources, policies, roles); build, iso and release hold their sections."""
