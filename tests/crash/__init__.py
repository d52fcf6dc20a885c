"""Crash tests: every writer SIGKILLed at seeded random checkpoints converges (kit.py)."""
