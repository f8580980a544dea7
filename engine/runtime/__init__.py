"""Driving SpiffWorkflow: creating workflows, running engine steps, reading what waits for the world.

This package never imports Flask or SQLAlchemy; it works on specs and plain data.
"""
