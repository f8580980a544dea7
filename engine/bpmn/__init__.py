"""BPMN and DMN files as users hand them to us: safe loading, schema checks, and parsing to specs.

Nothing here knows about process instances or the database.
"""
