"""Who may do what: the engine's access rules, asked by commands, queries and pages alike."""
