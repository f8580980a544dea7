"""Access: who may do what, where — one policy that commands, queries, pages and exports ask."""
