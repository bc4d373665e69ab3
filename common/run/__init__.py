"""Run: the only code that talks to PyFlink / py4j; PyFlink is imported inside functions only."""
