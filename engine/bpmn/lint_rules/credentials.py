"""Credential rule: a service task's parameters, and a script task's script, carry no secret.

A model is shared, exported, versioned and shown in editors, so a token written into it is readable
by everyone who handles any of those. Connector credentials come from ``config/connectors.toml``'s
``http.credentials`` (a header and the environment variable holding its value). The parameters are
Python-subset expressions (see :mod:`engine.runtime.scripting`); they are read with :mod:`ast`, never
evaluated. A parameter that does not parse is left to the engine, which refuses it when it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import Element, LintModel, text_of
from engine.connectors.credentials import is_credential_header, looks_like_credential
from engine.errors import Problem

_SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
_RULE = "no-credentials-in-models (HUHUA.CRED.1)"
_ADVICE = ("models carry no credentials: put it in config/connectors.toml under [[http.credentials]] (host, header "
           "and the environment variable holding the secret) / 模型中不得写入凭据，请在 config/connectors.toml 的 "
           "[[http.credentials]] 中配置主机、请求头和保存密钥的环境变量")


def _parameters(task: Element) -> Iterator[Element]:
    for operator in task.iterfind(f"*/{_SPIFF}serviceTaskOperator"):
        yield from operator.iterfind(f"{_SPIFF}parameters/{_SPIFF}parameter")


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _header_keys(expression: ast.AST) -> Iterator[str]:
    """The literal keys of a ``{...}`` or ``dict(...)`` expression."""
    if isinstance(expression, ast.Dict):
        yield from (key for key in map(_string, expression.keys) if key is not None)
    elif isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name) and expression.func.id == "dict":
        yield from (keyword.arg for keyword in expression.keywords if keyword.arg)


def _literal_findings(tree: ast.AST, where: str, *, skip_keys: bool = False) -> Iterator[str]:
    """Secrets written as literals anywhere in ``tree``: a credential-looking string, or one under a credential key."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and not skip_keys:  # {'password': 'xyz'}: a secret under its own name
            for key, value in zip(node.keys, node.values, strict=True):
                key_text, value_text = _string(key), _string(value)
                if key_text and value_text and is_credential_header(key_text):
                    yield f"writes a value for '{key_text}' in {where}"
        text = _string(node)
        reason = None if text is None else looks_like_credential(text)
        if reason:
            yield f"has {reason} written in {where}"


def _findings(name: str, expression: ast.AST) -> Iterator[str]:
    """What in one parameter expression is a credential, in words."""
    if name == "headers":
        for key in _header_keys(expression):
            if is_credential_header(key):
                yield f"sets the credential header '{key}' in its parameter 'headers'"
    yield from _literal_findings(expression, f"its parameter '{name}'", skip_keys=name == "headers")


def check_service_task_credentials(model: LintModel) -> Iterator[Problem]:
    """HUHUA.CRED.1: no credential header, token or password is written into a service task's parameters."""
    for task in model.by_kind["serviceTask"]:
        for parameter in _parameters(task):
            name, source = parameter.get("id") or "", parameter.get("value") or ""
            try:
                expression = ast.parse(source.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                continue
            for finding in dict.fromkeys(_findings(name, expression)):
                yield model.problem(task, f"{model.describe(task)} {finding}; {_ADVICE}", _RULE,
                                    line=parameter.sourceline)


def check_script_credentials(model: LintModel) -> Iterator[Problem]:
    """HUHUA.CRED.1: no token, password or Authorization value is written as a literal into a script."""
    for task in model.by_kind["scriptTask"]:
        script = model.child(task, "script")
        try:
            tree = ast.parse(text_of(script))
        except (SyntaxError, ValueError):
            continue  # the script rule (EXT.053) reports it
        for finding in dict.fromkeys(_literal_findings(tree, "its script")):
            yield model.problem(task, f"{model.describe(task)} {finding}; {_ADVICE}", _RULE,
                                line=script.sourceline if script is not None else None)
