"""DMN files deployed before FEEL keep evaluating as Python: they now declare it.

Until issue 15 every decision-table cell was read as Python, whatever the file said; since then a DMN file is
FEEL unless it declares ``expressionLanguage="python"`` (:mod:`engine.dmn.dialect`). Each stored DMN file that
declares no expression language at all is therefore given ``expressionLanguage="python"`` on its
``definitions`` element (inserted into the start tag, the rest of the file byte for byte as stored), so running
instances, new instances of the deployed versions, the DMN editor (which opens the stored file) and a redeploy
of an edited table all go on reading it as before. A file that names FEEL somewhere was written for FEEL and is
left as it is.

The file's ``sha256`` is recomputed, and so is the content hash of each process version deployed with it (what
a deployment of the same files computes now), so that deploying those files again makes no new version.

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-09
"""
from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = "0037"
down_revision = "0034"
branch_labels = None
depends_on = None

PYTHON = "python"
#: the namespaces of DMN 1.1 to 1.5 models
DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd", "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/20211108/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
})
#: what may come before the root element: a byte order mark, white space, the XML declaration, comments
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)
#: the root element's name and attributes, up to (not including) its closing ``>`` or ``/>``
_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

_resource = sa.table("deployment_resource", sa.column("id", sa.Integer), sa.column("deployment_id", sa.Integer),
                     sa.column("name", sa.String), sa.column("content", sa.LargeBinary), sa.column("sha256", sa.String))
_definition = sa.table("process_definition", sa.column("id", sa.Integer), sa.column("key", sa.String),
                       sa.column("deployment_id", sa.Integer), sa.column("content_hash", sa.String))
_artifact = sa.table("definition_artifact", sa.column("definition_id", sa.Integer), sa.column("kind", sa.String),
                     sa.column("artifact_key", sa.String), sa.column("form_version", sa.Integer))
_form = sa.table("form_definition", sa.column("form_key", sa.String), sa.column("version", sa.Integer),
                 sa.column("sha256", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    changed: set[int] = set()
    for row in connection.execute(sa.select(_resource.c.id, _resource.c.deployment_id)
                                  .order_by(_resource.c.id)).all():
        content = connection.execute(sa.select(_resource.c.content).where(_resource.c.id == row.id)).scalar_one()
        declared = declaring_python(bytes(content))
        if declared is None:
            continue
        connection.execute(sa.update(_resource).where(_resource.c.id == row.id)
                           .values(content=declared, sha256=hashlib.sha256(declared).hexdigest()))
        changed.add(row.deployment_id)
    for deployment_id in sorted(changed):
        _rehash(connection, deployment_id)


def downgrade() -> None:
    """Nothing to undo: the older engine reads every cell as Python and ignores the declaration."""


def declaring_python(content: bytes) -> bytes | None:
    """``content`` declaring Python on its ``definitions``; None for a file that is not DMN or declares a language."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace not in DMN_NAMESPACES:
        return None
    if any(isinstance(e.tag, str) and (e.get("expressionLanguage") or "").strip() for e in root.iter()):
        return None
    start = _START_TAG.match(content, _PROLOG.match(content).end())
    if start is not None:
        inserted = content[:start.end()] + f' expressionLanguage="{PYTHON}"'.encode() + content[start.end():]
        try:
            if etree.fromstring(inserted, _PARSER).get("expressionLanguage") == PYTHON:
                return inserted
        except etree.XMLSyntaxError:
            pass
    tree = root.getroottree()  # an encoding the start tag cannot be found in as bytes (UTF-16): written anew
    root.set("expressionLanguage", PYTHON)
    return etree.tostring(tree, xml_declaration=True, encoding=tree.docinfo.encoding or "UTF-8")


def _rehash(connection: sa.Connection, deployment_id: int) -> None:
    """The content hash the engine now computes for each process version of the deployment (with its forms)."""
    from engine.bpmn.parser import ModelFile, inspect_models
    from engine.commands.deployment import with_forms
    from engine.errors import InvalidModel

    files = [ModelFile(row.name, bytes(row.content)) for row in connection.execute(
        sa.select(_resource.c.name, _resource.c.content).where(_resource.c.deployment_id == deployment_id))]
    try:
        hashes = {s.key: s.content_hash for s in inspect_models(files, max(len(f.content) for f in files))}
    except InvalidModel:
        return  # files this engine refuses can only be deployed changed: their old hash matches nothing anyway
    for definition in connection.execute(sa.select(_definition.c.id, _definition.c.key)
                                         .where(_definition.c.deployment_id == deployment_id)).all():
        if definition.key not in hashes:
            continue
        forms = {row.form_key: (row.version, row.sha256) for row in connection.execute(
            sa.select(_form.c.form_key, _form.c.version, _form.c.sha256)
            .join(_artifact, (_artifact.c.artifact_key == _form.c.form_key)
                  & (_artifact.c.form_version == _form.c.version))
            .where(_artifact.c.definition_id == definition.id, _artifact.c.kind == "form"))}
        connection.execute(sa.update(_definition).where(_definition.c.id == definition.id)
                           .values(content_hash=with_forms(hashes[definition.key], forms)))
