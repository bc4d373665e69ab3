"""State: what survives a redeploy (operator ids, restore rules, sink-schema diff, switch offsets). Pure + files."""
