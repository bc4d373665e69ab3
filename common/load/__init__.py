"""Load: config/*.yaml and the runtime properties -> checked, frozen objects (no PyFlink, no network)."""
