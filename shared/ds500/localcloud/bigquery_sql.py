"""GoogleSQL -> DuckDB for the local BigQuery: parse, resolve tables, check types, translate.

Why sqlglot: it reads BigQuery's dialect and writes DuckDB's (``* EXCEPT`` ->
``* EXCLUDE``, ``COUNTIF`` -> ``COUNT_IF``, ``@name`` -> ``$name``, ``TIMESTAMP`` ->
``TIMESTAMPTZ`` ...), so the statement a student would paste into BigQuery is the one
that runs. What this module adds is what BigQuery checks before running a query and
DuckDB does not, so a statement that fails on Google Cloud fails here too, with
BigQuery's wording and position (``Syntax error: ... at [1:8]``):

- every table is ``project.dataset.table`` (or ``dataset.table`` in the job's
  project), and exists (``Not found: Table p:d.t``);
- a comparison of a DATETIME with a TIMESTAMP has no matching signature
  (DuckDB would convert one to the other silently);
- the columns the statement reads, for ``totalBytesProcessed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ds500.localcloud.errors import GoogleError

__all__ = ["BigQueryError", "TableRef", "Translation", "schema_name", "translate"]

TableRef = tuple[str, str, str]  # (project, dataset, table)
_COMPARISONS = ("EQ", "NEQ", "GT", "GTE", "LT", "LTE")
_STATEMENTS = {
    "Select": "SELECT",
    "Union": "SELECT",
    "Intersect": "SELECT",
    "Except": "SELECT",
    "Insert": "INSERT",
    "Delete": "DELETE",
    "Update": "UPDATE",
    "Merge": "MERGE",
}


class BigQueryError(GoogleError):
    """A BigQuery error: HTTP code, ``reason`` (``invalidQuery``, ``notFound`` ...) and message.

    The client maps the HTTP code to ``google.api_core.exceptions.BadRequest`` (400),
    ``NotFound`` (404), ``Conflict`` (409); a failed job carries the same as ``errorResult``.
    """

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(code, message)
        self.reason = reason

    def error_proto(self) -> dict[str, Any]:
        """The ``ErrorProto`` of a job's ``status.errorResult``."""
        return {
            "reason": self.reason,
            "location": "query" if self.reason == "invalidQuery" else "",
            "message": self.message,
        }

    def body(self) -> dict[str, Any]:
        """BigQuery's HTTP error body (Google's, plus the ``errors`` list with the reason)."""
        errors = [{"message": self.message, "domain": "global", "reason": self.reason}]
        return {
            "error": {"code": self.code, "message": self.message, "errors": errors, "status": self.status}
        }


def invalid_query(message: str) -> BigQueryError:
    return BigQueryError(400, "invalidQuery", message)


def schema_name(project: str, dataset: str) -> str:
    """The DuckDB schema that holds a dataset's tables: ``project.dataset`` (quoted where used)."""
    return f"{project}.{dataset}"


@dataclass
class Translation:
    """A statement ready for DuckDB, and what BigQuery reports about it.

    Attributes:
        sql: the DuckDB statement.
        statement_type: BigQuery's ``statistics.query.statementType`` (``SELECT``,
            ``CREATE_TABLE_AS_SELECT``, ``DROP_TABLE``, ``INSERT`` ...).
        reads: the columns read, per table (for ``totalBytesProcessed``).
        target: the table a DDL or DML statement writes, if any.
        ddl_operation: ``CREATE``, ``REPLACE`` or ``DROP`` for DDL, else ``""``.
    """

    sql: str
    statement_type: str
    reads: dict[TableRef, set[str]] = field(default_factory=dict)
    target: TableRef | None = None
    ddl_operation: str = ""


def _position(node: Any) -> str:
    """`` at [line:col]`` of the first token of ``node`` that sqlglot kept a position for."""
    for part in [node, *node.walk()]:
        meta = getattr(part, "meta", None) or {}
        if "line" in meta and "col" in meta:
            start = meta["col"] - len(str(getattr(part, "this", "")) or "") + 1
            return f" at [{meta['line']}:{max(start, 1)}]"
    return ""


def _parse(sql: str) -> Any:
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = [tree for tree in sqlglot.parse(sql, read="bigquery") if tree is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f" at [{first['line']}:{first['col']}]" if "line" in first else ""
        detail = first.get("description", str(error)).split(". Line")[0]
        raise invalid_query(f"Syntax error: {detail}{where}") from error
    except TokenError as error:
        raise invalid_query(f"Syntax error: {error}") from error
    if len(trees) != 1:
        raise invalid_query(
            "the local stand-in runs one statement per query (BigQuery scripts are not "
            f"emulated); got {len(trees)}"
        )
    return trees[0]


def _statement_type(tree: Any) -> tuple[str, str]:
    from sqlglot import exp

    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        operation = "REPLACE" if tree.args.get("replace") else "CREATE"
        if kind == "TABLE":
            return ("CREATE_TABLE_AS_SELECT" if tree.expression else "CREATE_TABLE"), operation
        if kind == "VIEW":
            return "CREATE_VIEW", operation
        raise invalid_query(f"the local stand-in runs CREATE TABLE and CREATE VIEW, not CREATE {kind}")
    if isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW"):
            raise invalid_query(f"the local stand-in runs DROP TABLE and DROP VIEW, not DROP {kind}")
        return f"DROP_{kind}", "DROP"
    name = type(tree).__name__
    if name not in _STATEMENTS:
        raise invalid_query(f"the local stand-in does not run {name} statements")
    return _STATEMENTS[name], ""


def translate(
    sql: str,
    *,
    project: str,
    default_dataset: str | None,
    columns_of: Callable[[TableRef], dict[str, str] | None],
    temporary: set[str] = frozenset(),  # type: ignore[assignment]
) -> Translation:
    """Check a GoogleSQL statement as BigQuery would and translate it for DuckDB.

    Args:
        sql: one GoogleSQL statement.
        project: the job's project (for ``dataset.table`` names).
        default_dataset: ``project.dataset`` for unqualified table names, or None.
        columns_of: the BigQuery types of a table's columns (``{"x": "INTEGER"}``),
            or None when the table does not exist.
        temporary: table names that exist for this one statement (BigQuery ML's inputs).

    Raises:
        BigQueryError: a syntax error, an unknown table, or a type error BigQuery would report.
    """
    from sqlglot import exp

    tree = _parse(sql)
    statement_type, ddl_operation = _statement_type(tree)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    target_node = None
    if isinstance(tree, (exp.Create, exp.Drop, exp.Insert, exp.Delete, exp.Update, exp.Merge)):
        target_node = tree.find(exp.Table)  # breadth first: the statement's own table comes first
    refs: dict[int, TableRef] = {}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if not table.args.get("db") and (table.name in ctes or table.name in temporary):
            continue
        refs[id(table)] = _resolve(table, project, default_dataset)
    schema: dict[str, Any] = {}
    for table in tree.find_all(exp.Table):
        ref = refs.get(id(table))
        if ref is None:
            continue
        found = columns_of(ref)
        if found is None and table is not target_node:
            raise BigQueryError(
                404,
                "notFound",
                f"Not found: Table {ref[0]}:{ref[1]}.{ref[2]} was not found{_position(table)}",
            )
        if found is not None:
            schema.setdefault(ref[0], {}).setdefault(ref[1], {})[ref[2]] = found
    reads = _check_and_read(tree, schema, refs, target_node)
    target = refs.get(id(target_node)) if target_node is not None else None
    if (
        isinstance(tree, exp.Drop)
        and target is not None
        and columns_of(target) is None
        and not tree.args.get("exists")
    ):
        raise BigQueryError(404, "notFound", f"Not found: Table {target[0]}:{target[1]}.{target[2]}")
    for table in tree.find_all(exp.Table):
        ref = refs.get(id(table))
        if ref is not None:
            table.set("catalog", None)
            table.set("db", exp.to_identifier(schema_name(ref[0], ref[1]), quoted=True))
            table.set("this", exp.to_identifier(ref[2], quoted=True))
    return Translation(tree.sql(dialect="duckdb"), statement_type, reads, target, ddl_operation)


def _resolve(table: Any, project: str, default_dataset: str | None) -> TableRef:
    """``project.dataset.table`` of a table reference, as BigQuery resolves it."""
    name, dataset, catalog = table.name, table.text("db"), table.text("catalog")
    if not dataset:
        if not default_dataset:
            raise invalid_query(
                f'Table "{name}" must be qualified with a dataset (e.g. dataset.table){_position(table)}'
            )
        catalog, _, dataset = default_dataset.rpartition(".")
    return (catalog or project, dataset, name)


def _check_and_read(
    tree: Any, schema: dict[str, Any], refs: dict[int, TableRef], target: Any
) -> dict[TableRef, set[str]]:
    """Type-check comparisons (DATETIME vs TIMESTAMP) and collect the columns read, per table.

    Uses sqlglot's qualifier (expands ``*``, attaches every column to its table) and type
    annotation on a copy; where sqlglot cannot qualify a statement, every column of every
    table read counts (an over-estimate of the bytes, never an under-estimate).
    """
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    read_refs = {ref for key, ref in refs.items() if target is None or key != id(target)}
    everything = {ref: set(schema.get(ref[0], {}).get(ref[1], {}).get(ref[2], {})) for ref in read_refs}
    if not read_refs:
        return {}
    try:
        copy = tree.copy()
        copy = annotate_types(
            qualify(copy, schema=schema, dialect="bigquery", validate_qualify_columns=False),
            schema=schema,
            dialect="bigquery",
        )
    except (SqlglotError, KeyError, ValueError, TypeError, AttributeError):
        return everything
    for node in copy.find_all(exp.Binary):
        if type(node).__name__ not in _COMPARISONS:
            continue
        kinds = {_type_name(node.left), _type_name(node.right)}
        if kinds == {"DATETIME", "TIMESTAMP"}:
            operator = {"EQ": "=", "NEQ": "!=", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}[
                type(node).__name__
            ]
            raise invalid_query(
                f"No matching signature for operator {operator} for argument types: {_type_name(node.left)}, "
                f"{_type_name(node.right)}. Supported signature: ANY {operator} ANY{_position(node)}"
            )
    aliases: dict[str, TableRef] = {}
    for table in copy.find_all(exp.Table):
        for ref in read_refs:
            if (table.name, table.text("db")) == (ref[2], ref[1]):
                aliases[table.alias_or_name] = ref
    reads: dict[TableRef, set[str]] = {ref: set() for ref in read_refs}
    for column in copy.find_all(exp.Column):
        ref = aliases.get(column.table)
        if ref is not None and column.name in everything[ref]:
            reads[ref].add(column.name)
    return reads


def _type_name(node: Any) -> str:
    """BigQuery's name of an annotated node's type (DATETIME for DuckDB's TIMESTAMP ...)."""
    kind = getattr(getattr(node, "type", None), "this", None)
    names = {"DATETIME": "DATETIME", "TIMESTAMP": "DATETIME", "TIMESTAMPTZ": "TIMESTAMP"}
    return names.get(getattr(kind, "name", ""), getattr(kind, "name", ""))
