"""Huhua (心育护花): a BPMN 2.0 workflow engine built on SpiffWorkflow.

Entry points (web, CLI, workers) talk to :mod:`engine.commands` only; the layers below it are
``engine.bpmn`` (safe XML and specs), ``engine.runtime`` (SpiffWorkflow driving), and
``engine.store`` (SQLAlchemy models and migrations).
"""
