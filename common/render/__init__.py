"""Render: the loaded objects -> SQL text (sources, sinks, catalog, dead letters, metrics, the plan). Pure."""
