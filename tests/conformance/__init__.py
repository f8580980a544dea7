"""The betsy BPMN conformance suite, run through Huhua's public layer (see harness.py)."""
