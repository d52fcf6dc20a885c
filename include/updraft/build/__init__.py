"""Building packages (seed 004 steps 3-7): SRPM in, signed RPMs in smetest out.

settings (the YAML), source (what an SRPM is and which builders it needs), rebase
(seed 000's rebase-and-repatch), backend (mock or rpmbuild), signing (rpmsign behind
the "Sign?" gate), placement (where built packages land), records (ledger states),
notices (the builder report mail), workspace (a build's files on disk).
"""
