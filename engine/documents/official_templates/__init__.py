"""Content templates of official documents, one module per process family (see :mod:`engine.documents.official`).

Every module here is imported when a template is first looked up; a module registers its functions with
``@official_template("name")``.
"""
