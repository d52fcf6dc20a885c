"""Upstream sync: mirror upstream repos, verify every package, land what is newer.

Seeds 000 (the script that checks centos, epel, ... for newer versions of what we ship)
and 004 (steps 1-2: update the local mirror, test md5 / gpg / tags).
"""
