"""Every test's fixtures come from tests/support/fixtures.py; helpers from tests/support/."""

pytest_plugins = ["tests.support.fixtures"]
