"""Access: who may start, send, act and see. :mod:`engine.access.policy` is the one place that answers it."""
