"""Unit tests, one folder per phase of common/ (load, render, state, run, ops, deploy) and the utilities."""
