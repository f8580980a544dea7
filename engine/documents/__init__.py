"""Generated documents: the annual assessment, honour certificates, the case volume.

A ``document`` service task names a template and its parameters; a worker renders it (reading the
engine's tables for the figures) outside the transaction, and the files are stored with the task's
release (``document`` table), so a document exists exactly when the task that made it completed.
Spreadsheets are .xlsx (openpyxl); PDFs embed a Chinese font (see :mod:`engine.documents.fonts`).

Layout: :mod:`~engine.documents.rendered` (the files a template returns and its error),
:mod:`~engine.documents.templates` (the registry a task names a template from), one module per template
family (``annual``, ``case_volume``, ``oversight``, ``reports``), and :mod:`~engine.documents.official`
for the official documents, whose content templates live in ``official_templates``.
"""
