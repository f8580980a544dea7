"""Who may see what: the rules of access, asked by queries, commands and pages."""
