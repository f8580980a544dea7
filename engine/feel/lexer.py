"""FEEL's tokens, with names that contain spaces and symbols resolved against the names in scope.

FEEL lets a name hold spaces, keywords and the symbols ``. / - ' + *`` (``date and time``, ``Applicant's age``,
``Loan-to-value``), so whether ``a - b`` is one name or a subtraction depends on what is in scope. As other FEEL
implementations do, the lexer is told the names it may meet (the built-ins, the caller's names, and the context
keys, named arguments and parameters the text declares itself) and takes the longest known name at each point.
Words not known are ordinary ``NAME`` tokens; the grammar joins adjacent ones into one name with single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from lark import Token

from engine.feel.errors import FeelSyntaxError
from engine.phrases import Phrase

KEYWORDS = {word: word.upper() if word in ("some", "every", "external") else "_" + word.upper() for word in (
    "and", "or", "not", "if", "then", "else", "for", "in", "return", "some", "every", "satisfies", "between",
    "instance", "of", "function", "true", "false", "null", "external")}

PUNCTUATION = [
    ("..", "_DOTDOT"), ("**", "_POW"), ("<=", "LE"), (">=", "GE"), ("!=", "NE"), ("->", "_ARROW"),
    ("(", "_LPAR"), (")", "_RPAR"), ("[", "_LSQB"), ("]", "_RSQB"), ("{", "_LBRACE"), ("}", "_RBRACE"),
    (",", "_COMMA"), (":", "_COLON"), (".", "_DOT"), ("+", "_PLUS"), ("-", "_MINUS"), ("*", "_STAR"),
    ("/", "_SLASH"), ("<", "LT"), (">", "GT"), ("=", "EQ"), ("@", "_AT"),
]
TOKEN_TYPES = sorted({"NUMBER", "STRING", "NAME", *KEYWORDS.values(), *(kind for _, kind in PUNCTUATION)})

_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"(?:[^\W\d]|[\U00010000-\U000EFFFF])(?:\w|[\U00010000-\U000EFFFF])*|\?", re.UNICODE)
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.DOTALL)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
#: nesting deeper than this is refused at compile time (bounds the evaluator's recursion)
MAX_NESTING = 64


def tokens(text: str, names: Iterable[str] = ()) -> list[Token]:
    """The tokens of ``text``; ``names`` are the multi-word or symbol-bearing names it may use."""
    names = frozenset(names)
    first = list(_scan(text, _index(names), lenient=True))
    declared = _declared_names(text, first)
    return list(_scan(text, _index(names | frozenset(declared)) if declared else _index(names), lenient=False))


@lru_cache(maxsize=256)
def _index(names: frozenset[str]) -> re.Pattern[str] | None:
    """One pattern matching any of the names that need it, longest first, any whitespace between words."""
    needed = sorted({name.strip() for name in names if name and name.strip() and (
        not _WORD.fullmatch(name.strip()) or name.strip() in KEYWORDS)}, key=len, reverse=True)
    if not needed:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, name.split())) for name in needed)
    return re.compile(f"(?:{alternatives})(?!\\w)")


def _scan(text: str, known: re.Pattern[str] | None, lenient: bool) -> Iterator[Token]:
    position, line, column, depth = 0, 1, 1, 0
    # whether a `..` was seen in each open bracket: then `[` may close a range (`]1..10[`)
    ranges: list[bool] = []
    previous: str | None = None

    def token(kind: str, value: str, start: int) -> Token:
        return Token(kind, value, start_pos=start, line=line, column=column + (start - position))

    while position < len(text):
        space = _SPACE.match(text, position)
        if space:
            line, column = _advance(text, position, space.end(), line, column)
            position = space.end()
            continue
        char, start, produced = text[position], position, None
        known_name = known.match(text, start) if known is not None and _WORD.match(char) else None
        if known_name:
            produced = token("NAME", " ".join(known_name.group().split()), start)
            produced.end_pos = known_name.end()
        if produced is None:
            if char == '"':
                value, end = _string(text, start, line, column)
                produced = token("STRING", value, start)
                produced.end_pos = end
            elif number := _NUMBER.match(text, start):
                produced = token("NUMBER", number.group(), start)
            elif word := _WORD.match(text, start):
                produced = token(KEYWORDS.get(word.group(), "NAME"), word.group(), start)
            else:
                for symbol, kind in PUNCTUATION:
                    if text.startswith(symbol, start):
                        produced = token(kind, symbol, start)
                        break
        if produced is None:
            if not lenient:
                raise FeelSyntaxError(Phrase("unexpected character %(char)s", char=repr(char)), text, line, column)
            produced = token("OTHER", char, start)
        if produced.type == "_RSQB" and previous in _EXPRESSION_STARTS and previous != "_LSQB":
            produced.type = "RANGE_OPEN_OUTWARD"
        elif produced.type == "_LSQB" and ranges and ranges[-1] and _closes(text, start + 1):
            produced.type = "RANGE_CLOSE_OUTWARD"
        if produced.type in ("_LPAR", "_LSQB", "_LBRACE", "RANGE_OPEN_OUTWARD"):
            ranges.append(False)
            depth += 1
            if depth > MAX_NESTING and not lenient:
                raise FeelSyntaxError(Phrase("brackets nest deeper than %(limit)s levels", limit=MAX_NESTING), text,
                                      line, column)
        elif produced.type in ("_RPAR", "_RSQB", "_RBRACE", "RANGE_CLOSE_OUTWARD"):
            depth -= 1
            if ranges:
                ranges.pop()
        elif produced.type == "_DOTDOT" and ranges:
            ranges[-1] = True
        previous = produced.type
        end = produced.end_pos if produced.end_pos is not None else start + len(produced.value)
        yield produced
        line, column = _advance(text, start, end, line, column)
        position = end


_EXPRESSION_STARTS = {None, "_LPAR", "_LSQB", "_LBRACE", "_COMMA", "_COLON", "_IN", "_IF", "_THEN", "_ELSE",
                      "_RETURN", "_SATISFIES", "_AND", "_OR", "_BETWEEN", "_NOT", "EQ", "NE", "LT", "LE", "GT", "GE",
                      "_PLUS", "_MINUS", "_STAR", "_SLASH", "_POW", "RANGE_OPEN_OUTWARD"}
_AFTER_RANGE = re.compile(
    r"\s*(?:$|[,)\]}=<>!+*/]|\.(?!\d)|-(?!\s*\d)|(?:and|or|then|else|return|satisfies|in|between)\b)")


def _closes(text: str, position: int) -> bool:
    """Whether a ``[`` ending at ``position`` closes a range rather than opening a filter."""
    return bool(_AFTER_RANGE.match(text, position))


def _advance(text: str, start: int, end: int, line: int, column: int) -> tuple[int, int]:
    newlines = text.count("\n", start, end)
    if newlines:
        return line + newlines, end - text.rindex("\n", start, end)
    return line, column + end - start


def _string(text: str, start: int, line: int, column: int) -> tuple[str, int]:
    out, position = [], start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(out), position + 1
        if char == "\\" and position + 1 < len(text):
            escape = text[position + 1]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
                position += 2
                continue
            if escape in "uU":
                size = 4 if escape == "u" else 6
                digits = text[position + 2:position + 2 + size]
                if re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == size:
                    code = int(digits, 16)
                    position += 2 + size
                    if 0xD800 <= code < 0xDC00 and text.startswith("\\u", position):
                        low = int(text[position + 2:position + 6], 16)
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        position += 6
                    out.append(chr(code))
                    continue
            out.append("\\")
            position += 1
            continue
        out.append(char)
        position += 1
    raise FeelSyntaxError(Phrase("a string is not closed"), text, line, column)


_NAME_PART = {"NAME", "OTHER", "_DOT", "_SLASH", "_MINUS", "_PLUS", "_STAR", "NUMBER", *KEYWORDS.values()}


def _declared_names(text: str, scanned: list[Token]) -> list[str]:
    """Context keys, named arguments and parameters written in the text: ``{Applicant's age: 3}`` declares
    ``Applicant's age``, which may then be used (``function(a-b) a-b``)."""
    declared = []
    for index, token in enumerate(scanned):
        if token.type not in ("_LBRACE", "_COMMA", "_LPAR"):
            continue
        end = index + 1
        while end < len(scanned) and scanned[end].type in _NAME_PART:
            end += 1
        if end == index + 1 or end >= len(scanned) or scanned[index + 1].type not in ("NAME", "OTHER"):
            continue
        closing = scanned[end].type
        if closing == "_COLON" or (closing in ("_COMMA", "_RPAR") and _is_parameter(scanned, index)):
            declared.append(text[scanned[index + 1].start_pos:scanned[end - 1].start_pos + len(scanned[end - 1].value)])
    return declared


def _is_parameter(scanned: list[Token], index: int) -> bool:
    """Whether the token at ``index`` is inside the parameter list of ``function(…)``."""
    while index >= 0 and scanned[index].type not in ("_LPAR", "_RPAR"):
        index -= 1
    return index > 0 and scanned[index].type == "_LPAR" and scanned[index - 1].type == "_FUNCTION"
