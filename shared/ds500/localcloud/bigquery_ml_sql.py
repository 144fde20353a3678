"""Reading BigQuery ML's SQL: the ``ML.*`` (and ``AI.*``) table functions in a query, and CREATE MODEL.

Why a small scanner of our own: ``sqlglot`` (the parser behind the BigQuery stand-in)
reads ``ML.PREDICT`` and ``ML.FORECAST`` but not ``ML.EVALUATE(MODEL ...)``, the
``TRANSFORM`` clause or ``HPARAM_RANGE`` options. The BigQuery ML grammar the labs
use is small and regular (a function name, then arguments that are ``MODEL name``,
``TABLE name``, ``(query)``, ``STRUCT(...)`` or ``name => value``), so this module
finds those calls by balanced brackets, skipping string literals, quoted names and
comments, and hands the pieces to :mod:`ds500.localcloud.bigquery_ml`. Literal
values (numbers, strings, booleans, arrays, structs) are read with ``sqlglot``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ds500.localcloud.bigquery_sql import invalid_query

__all__ = [
    "Argument",
    "MLCall",
    "ModelStatement",
    "find_calls",
    "literal",
    "parse_create_model",
    "parse_options",
    "parse_struct",
    "split_top_level",
]

_SYNTAX_DOCS = "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create"
_CALL = re.compile(r"\b(ML|AI)\s*\.\s*([A-Z_]+)\s*\(", re.IGNORECASE)
_NAME = r"(`[^`]+`|[A-Za-z_][\w\-]*(?:\.[A-Za-z_][\w\-]*){0,2})"


def _skip(sql: str, i: int) -> int:
    """If ``sql[i]`` opens a string, quoted name or comment, the index just after it; else ``i``."""
    ch = sql[i]
    if ch in "'\"`":
        triple = sql[i : i + 3]
        if triple in ("'''", '"""'):
            end = sql.find(triple, i + 3)
            return len(sql) if end < 0 else end + 3
        j = i + 1
        while j < len(sql) and sql[j] != ch:
            j += 2 if sql[j] == "\\" else 1
        return j + 1
    if sql.startswith("--", i) or ch == "#":
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end + 1
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    return i


def code_positions(sql: str) -> list[bool]:
    """For each character, whether it is SQL code (not inside a literal, quoted name or comment)."""
    flags = [True] * len(sql)
    i = 0
    while i < len(sql):
        j = _skip(sql, i)
        if j != i:
            keep_name = sql[i] == "`"  # a quoted name is code for matching purposes
            for k in range(i, min(j, len(sql))):
                flags[k] = keep_name
            i = j
        else:
            i += 1
    return flags


def closing_paren(sql: str, open_at: int) -> int:
    """The index of the ``)`` matching the ``(`` at ``open_at``; 400 when unbalanced."""
    depth, i = 0, open_at
    while i < len(sql):
        j = _skip(sql, i)
        if j != i:
            i = j
            continue
        if sql[i] in "([":
            depth += 1
        elif sql[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise invalid_query(f'Syntax error: Expected ")" but got end of statement at [1:{len(sql)}]')


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets, literals and comments; parts are stripped, empties dropped."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def unquote(name: str) -> str:
    """`` `p.d.m` `` or ``p.d.m`` or `` `p`.`d`.`m` `` -> ``p.d.m``."""
    return name.replace("`", "").strip()


@dataclass
class Argument:
    """One argument of an ML function: ``kind`` is model, table, query, struct, named or value."""

    kind: str
    text: str
    name: str = ""


@dataclass
class MLCall:
    """An ``ML.NAME(...)`` or ``AI.NAME(...)`` call found in a statement, with its span and arguments.

    ``function`` is the bare name for ``ML.`` functions (``PREDICT``) and the qualified name
    for ``AI.`` functions (``AI.GENERATE_TEXT``); ``qualified`` is always the name as written
    in SQL, for messages.
    """

    function: str
    start: int
    end: int  # index just after the closing parenthesis
    arguments: list[Argument] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return self.function if "." in self.function else f"ML.{self.function}"

    def first(self, kind: str) -> Argument | None:
        return next((a for a in self.arguments if a.kind == kind), None)

    def all(self, kind: str) -> list[Argument]:
        return [a for a in self.arguments if a.kind == kind]

    def named(self) -> dict[str, str]:
        return {a.name.lower(): a.text for a in self.arguments if a.kind == "named"}


def _argument(text: str) -> Argument:
    found = re.match(r"(?is)^(MODEL|TABLE)\s+" + _NAME + r"\s*$", text)
    if found:
        return Argument(found.group(1).lower(), unquote(found.group(2)))
    if text.startswith("("):
        inner = text[1 : closing_paren(text, 0)].strip()
        return Argument("query", inner)
    if re.match(r"(?is)^STRUCT\s*\(", text):
        return Argument("struct", text)
    named = re.match(r"(?is)^([A-Za-z_]\w*)\s*=>\s*(.+)$", text)
    if named:
        return Argument("named", named.group(2).strip(), named.group(1))
    return Argument("value", text)


def find_calls(sql: str, functions: set[str]) -> list[MLCall]:
    """The outermost calls of ``sql`` to ``functions``: bare names are ``ML.`` functions
    (``PREDICT``), qualified ones ``AI.`` functions (``AI.GENERATE_TEXT``)."""
    code = code_positions(sql)
    calls: list[MLCall] = []
    for found in _CALL.finditer(sql):
        if not code[found.start()] or (calls and found.start() < calls[-1].end):
            continue
        prefix, name = found.group(1).upper(), found.group(2).upper()
        name = name if prefix == "ML" else f"{prefix}.{name}"
        if name not in functions:
            continue
        open_at = found.end() - 1
        close = closing_paren(sql, open_at)
        arguments = [_argument(a) for a in split_top_level(sql[open_at + 1 : close])]
        calls.append(MLCall(name, found.start(), close + 1, arguments))
    return calls


# -- literal values ------------------------------------------------------------------------
def literal(text: str) -> Any:
    """The Python value of a GoogleSQL literal (number, string, bool, NULL, array, struct, HPARAM_*).

    Raises ``ValueError`` for anything that is not a literal (the caller then evaluates
    it as SQL).
    """
    import sqlglot
    from sqlglot import exp

    def value(node: exp.Expression) -> Any:
        if isinstance(node, exp.Paren):
            return value(node.this)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return node.this
            number = float(node.this)
            return int(number) if re.fullmatch(r"-?\d+", node.this) else number
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Neg):
            return -value(node.this)
        if isinstance(node, exp.Array):
            return [value(e) for e in node.expressions]
        if isinstance(node, (exp.Struct, exp.Tuple)):
            items = []
            for e in node.expressions:
                if isinstance(e, (exp.Alias, exp.PropertyEQ)):
                    items.append(
                        (e.alias or e.name, value(e.this if isinstance(e, exp.Alias) else e.expression))
                    )
                else:
                    items.append((None, value(e)))
            return items
        if isinstance(node, exp.Anonymous) and node.name.upper() in ("HPARAM_RANGE", "HPARAM_CANDIDATES"):
            return (node.name.upper(), [value(e) for e in node.expressions])
        raise ValueError(f"not a literal: {node.sql('bigquery')}")

    try:
        parsed = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as error:
        raise ValueError(str(error)) from error
    selects = parsed.expressions if isinstance(parsed, exp.Select) else []
    if len(selects) != 1:
        raise ValueError(f"not one value: {text}")
    return value(selects[0])


def parse_struct(text: str) -> dict[str, str]:
    """``STRUCT(0.3 AS threshold, 'X' AS kind)`` -> ``{"threshold": "0.3", "kind": "'X'"}`` (texts)."""
    open_at = text.index("(")
    fields: dict[str, str] = {}
    for item in split_top_level(text[open_at + 1 : closing_paren(text, open_at)]):
        found = re.match(r"(?is)^(.+?)\s+AS\s+([A-Za-z_]\w*)$", item)
        if not found:
            raise invalid_query(
                f"Invalid argument {item!r}: each field of the options STRUCT needs a name "
                "(write STRUCT(0.5 AS threshold))"
            )
        fields[found.group(2).lower()] = found.group(1).strip()
    return fields


# -- CREATE MODEL -------------------------------------------------------------------------------
@dataclass
class ModelStatement:
    """``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] name [TRANSFORM(...)] [OPTIONS(...)] AS query``, read."""

    name: str
    replace: bool
    if_not_exists: bool
    transform: list[str]
    options: dict[str, Any]
    query: str


_CREATE = re.compile(r"(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?MODEL\s+(IF\s+NOT\s+EXISTS\s+)?" + _NAME + r"\s*")


def parse_create_model(sql: str) -> ModelStatement:
    """Read a CREATE MODEL statement; 400 with BigQuery's wording for what it cannot read."""
    head = _CREATE.match(sql)
    if not head:
        raise invalid_query("Syntax error: Expected CREATE [OR REPLACE] MODEL <name> at [1:1]")
    rest, transform, options_text = sql[head.end() :], [], ""
    while True:
        clause = re.match(r"(?is)^(TRANSFORM|OPTIONS)\s*\(", rest)
        if not clause:
            break
        open_at = clause.end() - 1
        close = closing_paren(rest, open_at)
        body = rest[open_at + 1 : close]
        if clause.group(1).upper() == "TRANSFORM":
            transform = split_top_level(body)
        else:
            options_text = body
        rest = rest[close + 1 :].lstrip()
    query = re.match(r"(?is)^AS\s*(.+?)\s*;?\s*$", rest)
    if not query:
        raise invalid_query(
            "Syntax error: CREATE MODEL needs AS followed by the training query "
            f"(TRANSFORM and OPTIONS come before AS; see {_SYNTAX_DOCS})"
        )
    body = query.group(1)
    if body.startswith("(") and closing_paren(body, 0) == len(body) - 1:
        body = body[1:-1].strip()
    return ModelStatement(
        name=unquote(head.group(3)),
        replace=bool(head.group(1)),
        if_not_exists=bool(head.group(2)),
        transform=transform,
        options=parse_options(options_text),
        query=body,
    )


def parse_options(text: str) -> dict[str, Any]:
    """The body of ``OPTIONS (...)``, ``NAME = literal, ...``, as ``{"NAME": value}`` (names upper-cased)."""
    options: dict[str, Any] = {}
    for item in split_top_level(text):
        found = re.match(r"(?is)^([A-Za-z_]\w*)\s*=\s*(.+)$", item)
        if not found:
            raise invalid_query(f"Syntax error: expected OPTION_NAME = value in OPTIONS, got {item!r}")
        try:
            options[found.group(1).upper()] = literal(found.group(2))
        except ValueError as error:
            raise invalid_query(
                f"Invalid value for option {found.group(1).upper()}: "
                f"{found.group(2).strip()} is not a literal"
            ) from error
    return options
