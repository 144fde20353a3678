"""BigQuery (REST API v2) in the local stand-in: datasets, tables, query and load jobs, on DuckDB.

Why: the labs' SQL is what a student pastes into BigQuery; sending it through the
real ``google-cloud-bigquery`` client (``client_options={"api_endpoint": <stand-in>}``)
to this module runs it, so a wrong statement fails in the test suite with the
exception BigQuery raises (``BadRequest`` with ``Syntax error: ... at [1:8]``,
``NotFound``), not months later in a student's project.

What is faithful and what is approximated:

- storage: one in-memory DuckDB database per stand-in, a schema per
  ``project.dataset``; datasets and tables are also resources of the stand-in's
  store, so ``leftovers()`` lists what a lab did not delete;
- SQL: GoogleSQL translated by sqlglot (:mod:`.bigquery_sql`), with BigQuery's checks
  that DuckDB lacks (qualified and existing tables, the dataset's location, DATETIME
  vs TIMESTAMP comparisons); one statement per query, no scripts;
- types as BigQuery's (:mod:`.bigquery_types`); ``totalBytesProcessed`` counts the
  columns read with BigQuery's sizes (approximate for ARRAY and STRUCT), and
  ``maximumBytesBilled`` is enforced with the 10 MB minimum of on-demand billing;
- BigQuery ML statements go first through ``bigquery_ml.rewrite`` (models, and their
  ``/models`` routes, live in that module);
- jobs finish before the answer (state DONE at once); no caching, no slots, no streaming.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ds500.localcloud import bigquery_types as types
from ds500.localcloud.bigquery_sql import BigQueryError, TableRef, invalid_query, schema_name, translate
from ds500.localcloud.errors import GoogleError
from ds500.localcloud.routing import Router

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from ds500.localcloud.server import LocalCloud

__all__ = ["Engine", "engine", "register"]

PAGE_ROWS = 10_000
_MIN_BILLED = (
    10 * 1024**2
)  # on-demand queries bill at least 10 MB (https://cloud.google.com/bigquery/pricing)
_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_TABLE_ID = re.compile(r"^[\w\- ]{1,1024}$")


def _quoted(name: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def _ms() -> str:
    """Milliseconds since the epoch, as a string (how BigQuery writes creation times)."""
    return str(int(time.time() * 1000))


@dataclass
class Result:
    """The rows of a finished query: BigQuery schema fields and Python values."""

    fields: list[dict[str, Any]]
    rows: list[tuple[Any, ...]]


class Engine:
    """One DuckDB database for one stand-in, and its finished jobs."""

    def __init__(self) -> None:
        import duckdb

        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.lock = threading.RLock()
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.results: dict[tuple[str, str], Result] = {}
        self.errors: dict[tuple[str, str], BigQueryError] = {}

    # -- tables ----------------------------------------------------------------------
    def relation(self, ref: TableRef) -> str:
        return f'"{schema_name(ref[0], ref[1])}"."{ref[2]}"'

    def fields(self, ref: TableRef) -> list[dict[str, Any]] | None:
        """The BigQuery schema of a table, or None when there is no such table."""
        import duckdb

        with self.lock:
            try:
                rel = self.con.sql(f"SELECT * FROM {self.relation(ref)} LIMIT 0")
            except duckdb.CatalogException:
                return None
            return [types.bq_field(name, kind) for name, kind in zip(rel.columns, rel.types, strict=True)]

    def bytes_of(self, ref: TableRef, columns: set[str] | None = None) -> int:
        """The bytes BigQuery counts for these columns of a table (all columns when None)."""
        fields = [f for f in self.fields(ref) or [] if columns is None or f["name"] in columns]
        if not fields:
            return 0
        sums = ", ".join(f"COALESCE({types.field_bytes_sql(_quoted(f['name']), f)}, 0)" for f in fields)
        with self.lock:
            return int(sum(self.con.sql(f"SELECT {sums} FROM {self.relation(ref)}").fetchall()[0]))

    def count(self, ref: TableRef) -> int:
        with self.lock:
            return int(self.con.sql(f"SELECT COUNT(*) FROM {self.relation(ref)}").fetchall()[0][0])

    def result_of(self, rel: Any) -> Result:
        fields = [types.bq_field(name, kind) for name, kind in zip(rel.columns, rel.types, strict=True)]
        return Result(fields, rel.fetchall())

    def frame_result(self, frame: pandas.DataFrame) -> Result:
        """A DataFrame (a BigQuery ML answer) as query rows, typed through Arrow."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        with self.lock:
            self.con.register("_ds500_frame", table)
            try:
                return self.result_of(self.con.sql("SELECT * FROM _ds500_frame"))
            finally:
                self.con.unregister("_ds500_frame")


_engines: weakref.WeakKeyDictionary[Any, Engine] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()


def engine(cloud: LocalCloud) -> Engine:
    """The DuckDB engine of a stand-in (created on first use)."""
    with _engines_lock:
        if cloud not in _engines:
            _engines[cloud] = Engine()
        return _engines[cloud]


# -- requests ----------------------------------------------------------------------------
@dataclass
class Request:
    """One BigQuery request: the path's ids, the JSON body, the query string, the stand-in."""

    args: list[str]
    body: dict[str, Any]
    query: dict[str, str]
    cloud: LocalCloud

    @property
    def engine(self) -> Engine:
        return engine(self.cloud)

    @property
    def project(self) -> str:
        return self.args[0]


def _dataset_name(project: str, dataset: str) -> str:
    return f"projects/{project}/datasets/{dataset}"


def _table_name(ref: TableRef) -> str:
    return f"{_dataset_name(ref[0], ref[1])}/tables/{ref[2]}"


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    """A stored resource without the store's ``name`` (BigQuery resources have none)."""
    return {k: v for k, v in resource.items() if k != "name"}


def _dataset(req: Request, project: str, dataset: str) -> dict[str, Any]:
    name = _dataset_name(project, dataset)
    if not req.cloud.store.exists(name):
        raise BigQueryError(404, "notFound", f"Not found: Dataset {project}:{dataset}")
    return req.cloud.store.get(name)


# datasets ------------------------------------------------------------------------------
def insert_dataset(req: Request) -> dict[str, Any]:
    reference = req.body.get("datasetReference") or {}
    dataset = str(reference.get("datasetId", ""))
    if not _DATASET_ID.match(dataset):
        raise BigQueryError(
            400,
            "invalid",
            f'Invalid dataset ID "{dataset}". Dataset IDs must be alphanumeric '
            "(plus underscores) and must be at most 1024 characters long.",
        )
    name = _dataset_name(req.project, dataset)
    if req.cloud.store.exists(name):
        raise BigQueryError(409, "duplicate", f"Already Exists: Dataset {req.project}:{dataset}")
    stamp = _ms()
    resource = {
        **req.body,
        "kind": "bigquery#dataset",
        "id": f"{req.project}:{dataset}",
        "datasetReference": {"projectId": req.project, "datasetId": dataset},
        "location": req.body.get("location") or "US",
        "creationTime": stamp,
        "lastModifiedTime": stamp,
        "etag": uuid.uuid4().hex[:12],
    }
    with req.engine.lock:
        req.engine.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema_name(req.project, dataset)}"')
    return _public(req.cloud.store.put(name, resource))


def get_dataset(req: Request) -> dict[str, Any]:
    return _public(_dataset(req, req.project, req.args[1]))


def patch_dataset(req: Request) -> dict[str, Any]:
    _dataset(req, req.project, req.args[1])
    changes = {k: v for k, v in req.body.items() if k not in ("datasetReference", "id", "kind")}
    updated = req.cloud.store.update(
        _dataset_name(req.project, req.args[1]), **changes, lastModifiedTime=_ms()
    )
    return _public(updated)


def delete_dataset(req: Request) -> dict[str, Any]:
    project, dataset = req.project, req.args[1]
    _dataset(req, project, dataset)
    name = _dataset_name(project, dataset)
    contents = [n for n in req.cloud.store.names() if n.startswith(name + "/")]
    if contents and req.query.get("deleteContents", "").lower() != "true":
        raise BigQueryError(
            400,
            "resourceInUse",
            f"Dataset {project}:{dataset} is still in use "
            f"({len(contents)} tables or models): delete them first or pass delete_contents=True",
        )
    with req.engine.lock:
        req.engine.con.execute(f'DROP SCHEMA IF EXISTS "{schema_name(project, dataset)}" CASCADE')
    req.cloud.store.delete(name)
    return {}


def list_datasets(req: Request) -> dict[str, Any]:
    found = [
        {
            "kind": "bigquery#dataset",
            "id": d["id"],
            "datasetReference": d["datasetReference"],
            "location": d["location"],
            "labels": d.get("labels", {}),
        }
        for d in req.cloud.store.children(f"projects/{req.project}", "datasets")
    ]
    return {"kind": "bigquery#datasetList", "datasets": found} if found else {"kind": "bigquery#datasetList"}


# tables --------------------------------------------------------------------------------
def _table_resource(req: Request, ref: TableRef) -> dict[str, Any]:
    name = _table_name(ref)
    if not req.cloud.store.exists(name) or req.engine.fields(ref) is None:
        raise BigQueryError(404, "notFound", f"Not found: Table {ref[0]}:{ref[1]}.{ref[2]}")
    stored = _public(req.cloud.store.get(name))
    return {
        **stored,
        "schema": {"fields": req.engine.fields(ref)},
        "numRows": str(req.engine.count(ref)),
        "numBytes": str(req.engine.bytes_of(ref)),
    }


def _record_table(
    req: Request, ref: TableRef, kind: str = "TABLE", extra: dict[str, Any] | None = None
) -> None:
    """Add (or refresh) a table's resource in the store after DuckDB created or replaced it."""
    location = _dataset(req, ref[0], ref[1]).get("location", "US")
    stamp = _ms()
    req.cloud.store.put(
        _table_name(ref),
        {
            **(extra or {}),
            "kind": "bigquery#table",
            "id": f"{ref[0]}:{ref[1]}.{ref[2]}",
            "type": kind,
            "tableReference": {"projectId": ref[0], "datasetId": ref[1], "tableId": ref[2]},
            "location": location,
            "creationTime": stamp,
            "lastModifiedTime": stamp,
        },
    )


def insert_table(req: Request) -> dict[str, Any]:
    reference = req.body.get("tableReference") or {}
    ref = (req.project, req.args[1], str(reference.get("tableId", "")))
    _dataset(req, ref[0], ref[1])
    if not _TABLE_ID.match(ref[2]):
        raise BigQueryError(400, "invalid", f'Invalid table ID "{ref[2]}"')
    if req.engine.fields(ref) is not None:
        raise BigQueryError(409, "duplicate", f"Already Exists: Table {ref[0]}:{ref[1]}.{ref[2]}")
    fields = (req.body.get("schema") or {}).get("fields") or []
    if not fields and "view" not in req.body:
        raise BigQueryError(
            400,
            "invalid",
            "the local stand-in creates tables with a schema: pass "
            "schema=[bigquery.SchemaField(...)] (or load a DataFrame, which brings its own)",
        )
    try:
        columns = ", ".join(f'"{f["name"]}" {types.duckdb_type(f)}' for f in fields)
    except ValueError as error:
        raise BigQueryError(400, "invalid", str(error)) from error
    with req.engine.lock:
        req.engine.con.execute(f"CREATE TABLE {req.engine.relation(ref)} ({columns})")
    extra = {k: v for k, v in req.body.items() if k in ("description", "labels", "friendlyName")}
    _record_table(req, ref, extra=extra)
    return _table_resource(req, ref)


def get_table(req: Request) -> dict[str, Any]:
    return _table_resource(req, (req.project, req.args[1], req.args[2]))


def delete_table(req: Request) -> dict[str, Any]:
    ref = (req.project, req.args[1], req.args[2])
    _table_resource(req, ref)
    kind = req.cloud.store.get(_table_name(ref)).get("type", "TABLE")
    with req.engine.lock:
        req.engine.con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {req.engine.relation(ref)}")
    req.cloud.store.delete(_table_name(ref))
    return {}


def list_tables(req: Request) -> dict[str, Any]:
    _dataset(req, req.project, req.args[1])
    found = [
        {"kind": "bigquery#table", "id": t["id"], "tableReference": t["tableReference"], "type": t["type"]}
        for t in req.cloud.store.children(_dataset_name(req.project, req.args[1]), "tables")
    ]
    body: dict[str, Any] = {"kind": "bigquery#tableList", "totalItems": len(found)}
    return {**body, "tables": found} if found else body


def _page(result: Result, query: dict[str, str]) -> dict[str, Any]:
    """One page of rows (``maxResults``, ``startIndex`` or ``pageToken``) in BigQuery's row JSON."""
    start = int(query.get("pageToken") or query.get("startIndex") or 0)
    size = int(query.get("maxResults") or PAGE_ROWS)
    int64 = query.get("formatOptions.useInt64Timestamp", "true").lower() != "false"
    rows = [
        {
            "f": [
                {"v": types.encode_cell(value, field, int64)}
                for value, field in zip(row, result.fields, strict=True)
            ]
        }
        for row in result.rows[start : start + size]
    ]
    page: dict[str, Any] = {"totalRows": str(len(result.rows))}
    if rows:
        page["rows"] = rows
    if start + size < len(result.rows):
        page["pageToken"] = str(start + size)
    return page


def list_rows(req: Request) -> dict[str, Any]:
    ref = (req.project, req.args[1], req.args[2])
    _table_resource(req, ref)
    selected = [c for c in req.query.get("selectedFields", "").split(",") if c]
    columns = ", ".join(f'"{c}"' for c in selected) or "*"
    with req.engine.lock:
        result = req.engine.result_of(req.engine.con.sql(f"SELECT {columns} FROM {req.engine.relation(ref)}"))
    return {"kind": "bigquery#tableDataList", **_page(result, req.query)}


# jobs ----------------------------------------------------------------------------------
def _job(req: Request, reference: dict[str, Any], configuration: dict[str, Any]) -> dict[str, Any]:
    """Run a job (query or load) to completion and store its resource; errors end up in ``status``."""
    job_id = str(reference.get("jobId") or f"job_{uuid.uuid4().hex}")
    location = str(reference.get("location") or "US")
    key = (req.project, job_id)
    if key in req.engine.jobs:
        raise BigQueryError(409, "duplicate", f"Already Exists: Job {req.project}:{location}.{job_id}")
    started = _ms()
    status: dict[str, Any] = {"state": "DONE"}
    statistics: dict[str, Any] = {"creationTime": started, "startTime": started}
    try:
        if "query" in configuration:
            query_stats, result = run_query(req, configuration["query"], location)
            statistics.update(totalBytesProcessed=query_stats["totalBytesProcessed"], query=query_stats)
            if result is not None:
                req.engine.results[key] = result
        elif "load" in configuration:
            statistics["load"] = load_from_uris(req, configuration["load"], location)
        else:
            kinds = ", ".join(configuration) or "none"
            raise BigQueryError(400, "invalid", f"the local stand-in runs query and load jobs, got: {kinds}")
    except BigQueryError as error:
        status.update(errorResult=error.error_proto(), errors=[error.error_proto()])
        req.engine.errors[key] = error
    statistics["endTime"] = _ms()
    job_type = next((k.upper() for k in ("query", "load") if k in configuration), "UNKNOWN")
    job = {
        "kind": "bigquery#job",
        "id": f"{req.project}:{location}.{job_id}",
        "jobReference": {"projectId": req.project, "jobId": job_id, "location": location},
        "configuration": {**configuration, "jobType": job_type},
        "status": status,
        "statistics": statistics,
        "user_email": "student@ds500-local.invalid",
    }
    req.engine.jobs[key] = job
    return job


def insert_job(req: Request) -> dict[str, Any]:
    return _job(req, req.body.get("jobReference") or {}, req.body.get("configuration") or {})


def get_job(req: Request) -> dict[str, Any]:
    key = (req.project, req.args[1])
    if key not in req.engine.jobs:
        raise BigQueryError(404, "notFound", f"Not found: Job {req.project}:{req.args[1]}")
    return req.engine.jobs[key]


def cancel_job(req: Request) -> dict[str, Any]:
    return {"kind": "bigquery#jobCancelResponse", "job": get_job(req)}


def get_query_results(req: Request) -> dict[str, Any]:
    job = get_job(req)
    key = (req.project, req.args[1])
    if key in req.engine.errors:
        raise req.engine.errors[key]
    answer: dict[str, Any] = {
        "kind": "bigquery#getQueryResultsResponse",
        "jobReference": job["jobReference"],
        "jobComplete": True,
        "cacheHit": False,
        "totalBytesProcessed": job["statistics"].get("totalBytesProcessed", "0"),
    }
    result = req.engine.results.get(key)
    if result is None:
        return {**answer, "totalRows": "0", "schema": {"fields": []}, **_dml(job)}
    return {**answer, "schema": {"fields": result.fields}, **_page(result, req.query)}


def _dml(job: dict[str, Any]) -> dict[str, Any]:
    affected = job["statistics"].get("query", {}).get("numDmlAffectedRows")
    return {"numDmlAffectedRows": affected} if affected is not None else {}


def query(req: Request) -> dict[str, Any]:
    """``jobs.query`` (what ``client.query_and_wait`` sends): run, then answer the first page."""
    body = req.body
    keys = (
        "query",
        "queryParameters",
        "parameterMode",
        "defaultDataset",
        "maximumBytesBilled",
        "useLegacySql",
        "labels",
        "dryRun",
    )
    configuration = {"query": {k: body[k] for k in keys if k in body}}
    if "labels" in body:
        configuration["labels"] = body["labels"]
    job = _job(req, {"location": body.get("location")}, configuration)
    key = (req.project, job["jobReference"]["jobId"])
    if key in req.engine.errors:
        raise req.engine.errors[key]
    query = {"maxResults": str(body["maxResults"])} if body.get("maxResults") else {}
    page = get_query_results(Request([req.project, key[1]], {}, query, req.cloud))
    statement = job["statistics"]["query"]
    return {
        **page,
        "kind": "bigquery#queryResponse",
        "queryId": key[1],
        "statementType": statement.get("statementType"),
    }


# running statements ------------------------------------------------------------------------
def _parameters(config: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    """The query parameters as DuckDB binds them: a dict (named ``@x``) or a list (positional ``?``)."""
    declared = config.get("queryParameters") or []
    if not declared:
        return None
    try:
        values = [
            (p.get("name"), types.parameter_value(p.get("parameterType", {}), p.get("parameterValue", {})))
            for p in declared
        ]
    except ValueError as error:
        raise invalid_query(str(error)) from error
    if config.get("parameterMode", "NAMED" if declared[0].get("name") else "POSITIONAL") == "POSITIONAL":
        return [value for _, value in values]
    return {name: value for name, value in values}


def _columns_of(req: Request, location: str) -> Callable[[TableRef], dict[str, str] | None]:
    """For the translator: a table's column types, or None; a dataset in another location is not found."""

    def columns(ref: TableRef) -> dict[str, str] | None:
        name = _dataset_name(ref[0], ref[1])
        if not req.cloud.store.exists(name):
            raise BigQueryError(
                404, "notFound", f"Not found: Dataset {ref[0]}:{ref[1]} was not found in location {location}"
            )
        dataset_location = req.cloud.store.get(name).get("location", "US")
        if dataset_location.lower() != location.lower():
            raise BigQueryError(
                404,
                "notFound",
                f"Not found: Dataset {ref[0]}:{ref[1]} was not found in "
                f"location {location} (it is in {dataset_location}: run the job there)",
            )
        fields = req.engine.fields(ref)
        return None if fields is None else {f["name"]: types.ddl_type(f) for f in fields}

    return columns


def run_query(req: Request, config: dict[str, Any], location: str) -> tuple[dict[str, Any], Result | None]:
    """Run one GoogleSQL statement; returns ``statistics.query`` and the rows (None for DDL without rows).

    Raises:
        BigQueryError: BigQuery's error for the statement (syntax, names, types, bytes billed).
    """
    sql = config.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise invalid_query("the query is empty: pass a GoogleSQL statement")
    if config.get("useLegacySql"):
        raise invalid_query(
            "legacy SQL is not emulated by the local stand-in: use GoogleSQL "
            "(use_legacy_sql=False, the client's default)"
        )
    default = config.get("defaultDataset") or None
    default_dataset = f"{default.get('projectId') or req.project}.{default['datasetId']}" if default else None
    eng = req.engine
    with eng.lock:
        temporary: dict[str, Any] = {}
        ml_stats: dict[str, Any] = {}
        ml = _bigquery_ml()
        if ml is not None and ml.is_ml(sql):
            rewritten = ml.rewrite(
                sql,
                project=req.project,
                default_dataset=default_dataset,
                query=lambda text: select_frame(req, text, location, default_dataset),
            )
            ml_stats = {"statementType": rewritten.statement_type}
            if rewritten.ddl_target:
                project, dataset, model = rewritten.ddl_target.split(".")
                ml_stats["ddlTargetTable"] = {"projectId": project, "datasetId": dataset, "tableId": model}
            if rewritten.sql is None:
                result = eng.frame_result(rewritten.result) if rewritten.result is not None else None
                stats = {"totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": False, **ml_stats}
                return _with_schema(stats, result), result
            sql, temporary = rewritten.sql, dict(rewritten.tables)
        translation = translate(
            sql,
            project=req.project,
            default_dataset=default_dataset,
            columns_of=_columns_of(req, location),
            temporary=set(temporary),
        )
        processed = sum(eng.bytes_of(ref, columns) for ref, columns in translation.reads.items())
        billed = max(-(-processed // 1024**2) * 1024**2, _MIN_BILLED) if processed else 0
        limit = config.get("maximumBytesBilled")
        if limit is not None and billed > int(limit):
            raise BigQueryError(
                400,
                "bytesBilledLimitExceeded",
                f"Query exceeded limit for bytes billed: {limit}. {billed} or higher required.",
            )
        stats = {
            "statementType": translation.statement_type,
            "totalBytesProcessed": str(processed),
            "totalBytesBilled": str(billed),
            "cacheHit": False,
            **ml_stats,
        }
        result = _execute(req, translation, _parameters(config), temporary, stats, sql)
    return _with_schema(stats, result), result


def _with_schema(stats: dict[str, Any], result: Result | None) -> dict[str, Any]:
    return {**stats, "schema": {"fields": result.fields}} if result is not None else stats


def _execute(
    req: Request, translation: Any, params: Any, temporary: dict[str, Any], stats: dict[str, Any], sql: str
) -> Result | None:
    """Run the DuckDB statement; for DDL and DML, keep the store's tables in step and fill ``stats``."""
    import duckdb

    eng, target = req.engine, translation.target
    if translation.statement_type.startswith("CREATE") and target is not None:
        _dataset(req, target[0], target[1])
        exists = eng.fields(target) is not None
        if exists and translation.ddl_operation == "CREATE" and "IF NOT EXISTS" not in sql.upper():
            raise BigQueryError(
                409, "duplicate", f"Already Exists: Table {target[0]}:{target[1]}.{target[2]}"
            )
    for name, frame in temporary.items():
        eng.con.register(name, frame)
    try:
        if translation.statement_type == "SELECT":
            return eng.result_of(eng.con.sql(translation.sql, params=params))
        outcome = (
            eng.con.execute(translation.sql, params).fetchall()
            if params
            else eng.con.execute(translation.sql).fetchall()
        )
    except duckdb.Error as error:
        raise _duckdb_error(error, sql) from error
    finally:
        for name in temporary:
            eng.con.unregister(name)
    if target is not None:
        stats["ddlTargetTable" if translation.ddl_operation else "dmlTargetTable"] = {
            "projectId": target[0],
            "datasetId": target[1],
            "tableId": target[2],
        }
    if translation.ddl_operation:
        stats["ddlOperationPerformed"] = translation.ddl_operation
        if translation.ddl_operation == "DROP":
            if req.cloud.store.exists(_table_name(target)):
                req.cloud.store.delete(_table_name(target))
        else:
            _record_table(req, target, "VIEW" if translation.statement_type == "CREATE_VIEW" else "TABLE")
    elif outcome and outcome[0]:
        stats["numDmlAffectedRows"] = str(outcome[0][0])
    return None


def _duckdb_error(error: Exception, sql: str) -> BigQueryError:
    """A DuckDB failure in BigQuery's words where they are known, else DuckDB's, labelled as such."""
    text = str(error).splitlines()[0]
    missing = re.search(r'Referenced column "([^"]+)" not found', text)
    if missing:
        return invalid_query(f"Unrecognized name: {missing.group(1)}{_locate(sql, missing.group(1))}")
    return invalid_query(f"{text} (reported by DuckDB, the local engine; BigQuery words this differently)")


def _locate(sql: str, word: str) -> str:
    """`` at [line:col]`` of the first occurrence of ``word`` in ``sql`` (1-based), or ``""``."""
    found = re.search(rf"\b{re.escape(word)}\b", sql)
    if not found:
        return ""
    line = sql.count("\n", 0, found.start()) + 1
    column = found.start() - (sql.rfind("\n", 0, found.start()) + 1) + 1
    return f" at [{line}:{column}]"


def select_frame(
    req: Request, sql: str, location: str, default_dataset: str | None = None
) -> pandas.DataFrame:
    """A GoogleSQL SELECT on the local tables, as a DataFrame (what BigQuery ML reads its rows with)."""
    translation = translate(
        sql, project=req.project, default_dataset=default_dataset, columns_of=_columns_of(req, location)
    )
    if translation.statement_type != "SELECT":
        raise invalid_query(f"expected a SELECT, got a {translation.statement_type} statement")
    import duckdb

    with req.engine.lock:
        try:
            return req.engine.con.sql(translation.sql).df()
        except duckdb.Error as error:
            raise _duckdb_error(error, sql) from error


def _bigquery_ml() -> Any:
    """The BigQuery ML module of the stand-in, or None while it is not there yet."""
    try:
        from ds500.localcloud import bigquery_ml
    except ImportError:
        return None
    return bigquery_ml


# loads -----------------------------------------------------------------------------------
def load_from_uris(req: Request, config: dict[str, Any], location: str) -> dict[str, Any]:
    """A load job from ``gs://`` URIs (the stand-in's Cloud Storage emulator)."""
    uris = config.get("sourceUris") or []
    if not uris:
        raise BigQueryError(400, "invalid", "a load job needs sourceUris (gs://bucket/path) or an upload")
    blobs: list[bytes] = []
    for uri in uris:
        if "*" in uri:
            prefix = uri.split("*", 1)[0]
            names = req.cloud.storage.list(prefix)
            if not names:
                raise BigQueryError(404, "notFound", f"Not found: URI {uri}")
            blobs.extend(req.cloud.storage.read(name) for name in names)
        else:
            blobs.append(req.cloud.storage.read(uri))
    return load_bytes(req, config, blobs, location)


def load_bytes(req: Request, config: dict[str, Any], blobs: list[bytes], location: str) -> dict[str, Any]:
    """Load PARQUET, CSV or NEWLINE_DELIMITED_JSON bytes into the destination table; the load statistics."""
    import duckdb

    destination = config.get("destinationTable") or {}
    ref = (
        destination.get("projectId") or req.project,
        destination.get("datasetId", ""),
        destination.get("tableId", ""),
    )
    dataset = _dataset(req, ref[0], ref[1])
    if dataset.get("location", "US").lower() != location.lower():
        raise BigQueryError(
            404, "notFound", f"Not found: Dataset {ref[0]}:{ref[1]} was not found in location {location}"
        )
    source_format = str(config.get("sourceFormat") or "CSV").upper()
    readers = {
        "PARQUET": "read_parquet({})",
        "CSV": "read_csv({}, header = {header})",
        "NEWLINE_DELIMITED_JSON": "read_json_auto({})",
    }
    if source_format not in readers:
        raise BigQueryError(
            400, "invalid", f"the local stand-in loads {sorted(readers)}, not {source_format}"
        )
    folder = req.cloud.workdir / "bigquery-loads"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for blob in blobs:
        path = folder / f"{uuid.uuid4().hex}.{source_format.lower()}"
        path.write_bytes(blob)
        paths.append(str(path))
    header = "true" if int(config.get("skipLeadingRows") or 0) > 0 else "false"
    source = readers[source_format].format(json.dumps(paths).replace('"', "'"), header=header)
    fields = (config.get("schema") or {}).get("fields") or []
    eng = req.engine
    with eng.lock:
        existing = eng.fields(ref)
        disposition = str(config.get("writeDisposition") or "WRITE_APPEND").upper()
        if existing is None and str(config.get("createDisposition") or "CREATE_IF_NEEDED") == "CREATE_NEVER":
            raise BigQueryError(404, "notFound", f"Not found: Table {ref[0]}:{ref[1]}.{ref[2]}")
        if existing is not None and disposition == "WRITE_EMPTY" and eng.count(ref) > 0:
            raise BigQueryError(
                400,
                "duplicate",
                f"Already Exists: Table {ref[0]}:{ref[1]}.{ref[2]} is not empty "
                "(write disposition WRITE_EMPTY)",
            )
        try:
            rel = eng.con.sql(f"SELECT * FROM {source}")
            wanted = (
                fields
                or existing
                or [types.bq_field(n, k) for n, k in zip(rel.columns, rel.types, strict=True)]
            )
            missing = [f["name"] for f in wanted if f["name"] not in rel.columns]
            if missing:
                raise BigQueryError(
                    400, "invalid", f"the data has no column(s) {missing} of the table's schema"
                )
            casts = ", ".join(
                f'CAST("{f["name"]}" AS {types.duckdb_type(f)}) AS "{f["name"]}"' for f in wanted
            )
            select = f"SELECT {casts} FROM {source}"
            if existing is None or disposition == "WRITE_TRUNCATE":
                eng.con.execute(f"CREATE OR REPLACE TABLE {eng.relation(ref)} AS {select}")
                _record_table(req, ref)
            else:
                eng.con.execute(f"INSERT INTO {eng.relation(ref)} BY NAME {select}")
            rows = eng.con.sql(f"SELECT COUNT(*) FROM {source}").fetchall()[0][0]
        except duckdb.Error as error:
            raise BigQueryError(
                400, "invalid", f"Error while reading data: {str(error).splitlines()[0]}"
            ) from error
        finally:
            for path in paths:
                (folder / path.rsplit("/", 1)[-1]).unlink(missing_ok=True)
    return {
        "inputFiles": str(len(blobs)),
        "inputFileBytes": str(sum(map(len, blobs))),
        "outputRows": str(rows),
        "outputBytes": str(eng.bytes_of(ref)),
    }


def _multipart(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON metadata and the data of a ``multipart/related`` upload (the boundary is its first line)."""
    boundary, _, rest = raw.partition(b"\r\n")
    parts = [p for p in rest.split(boundary) if p.strip(b"-\r\n")]
    if not boundary.startswith(b"--") or len(parts) < 2:
        raise BigQueryError(
            400, "invalid", "expected a multipart/related upload: JSON metadata, then the data"
        )
    bodies = [p.partition(b"\r\n\r\n")[2].removesuffix(b"\r\n") for p in parts[:2]]
    return json.loads(bodies[0]), bodies[1]


def upload(req: Request, raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """``POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart``: a load job with its data."""
    kind = req.query.get("uploadType", "")
    if kind != "multipart":
        raise BigQueryError(
            400,
            "invalid",
            f"the local stand-in takes multipart uploads (files under 5 MB), not "
            f"{kind!r}: load a smaller DataFrame or load from gs:// with load_table_from_uri",
        )
    metadata, data = _multipart(raw)
    reference = metadata.get("jobReference") or {}
    configuration = metadata.get("configuration") or {}
    load = configuration.get("load")
    if not load:
        raise BigQueryError(400, "invalid", "an upload carries a load job configuration")
    job_req = Request(req.args, metadata, req.query, req.cloud)
    location = str(reference.get("location") or "US")
    try:
        statistics = load_bytes(job_req, load, [data], location)
        status: dict[str, Any] = {"state": "DONE"}
    except BigQueryError as error:
        statistics, status = (
            {},
            {"state": "DONE", "errorResult": error.error_proto(), "errors": [error.error_proto()]},
        )
    job_id = str(reference.get("jobId") or f"job_{uuid.uuid4().hex}")
    stamp = _ms()
    job = {
        "kind": "bigquery#job",
        "id": f"{req.project}:{location}.{job_id}",
        "jobReference": {"projectId": req.project, "jobId": job_id, "location": location},
        "configuration": {**configuration, "jobType": "LOAD"},
        "status": status,
        "statistics": {"creationTime": stamp, "startTime": stamp, "endTime": _ms(), "load": statistics},
    }
    req.engine.jobs[(req.project, job_id)] = job
    shown = {"configuration": configuration, "bytes": len(data)}
    return shown, job


# routing ----------------------------------------------------------------------------------
_ROUTES: list[tuple[str, str, Callable[[Request], dict[str, Any]]]] = [
    ("GET", "projects/*/datasets", list_datasets),
    ("POST", "projects/*/datasets", insert_dataset),
    ("GET", "projects/*/datasets/*", get_dataset),
    ("PATCH", "projects/*/datasets/*", patch_dataset),
    ("DELETE", "projects/*/datasets/*", delete_dataset),
    ("GET", "projects/*/datasets/*/tables", list_tables),
    ("POST", "projects/*/datasets/*/tables", insert_table),
    ("GET", "projects/*/datasets/*/tables/*", get_table),
    ("DELETE", "projects/*/datasets/*/tables/*", delete_table),
    ("GET", "projects/*/datasets/*/tables/*/data", list_rows),
    ("POST", "projects/*/jobs", insert_job),
    ("GET", "projects/*/jobs/*", get_job),
    ("POST", "projects/*/jobs/*/cancel", cancel_job),
    ("POST", "projects/*/queries", query),
    ("GET", "projects/*/queries/*", get_query_results),
]


def _route(method: str, parts: list[str]) -> tuple[Callable[[Request], dict[str, Any]], list[str]] | None:
    for route_method, pattern, handler in _ROUTES:
        shape = pattern.split("/")
        if (
            route_method == method
            and len(shape) == len(parts)
            and all(s == "*" or s == p for s, p in zip(shape, parts, strict=True))
        ):
            return handler, [p for s, p in zip(shape, parts, strict=True) if s == "*"]
    return None


def api(
    method: str, path: str, raw: bytes, query: dict[str, str], cloud: LocalCloud
) -> tuple[Any, dict[str, Any]]:
    """Everything under ``/bigquery/v2/``; model routes go on to the collections (BigQuery ML's)."""
    parts = [p for p in path.split("/") if p][2:]
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise BigQueryError(400, "parseError", f"the request body is not JSON: {raw[:80]!r}") from error
    if len(parts) >= 5 and parts[4] in ("models", "routines"):
        call = Router.parse(method, "/v2/" + "/".join(parts), body, query, cloud)
        return body, cloud.router.dispatch(call)
    found = _route("PATCH" if method == "PUT" else method, parts)
    if found is None:
        from ds500.localcloud.errors import unimplemented

        raise unimplemented(method, path)
    handler, args = found
    return body, _unretried(handler, Request(args, body, query, cloud))


def _unretried(handler: Callable[[Request], Any], req: Request) -> Any:
    """Run a handler; a stand-in bug is answered with a reason the client does not retry.

    Why: google-cloud-bigquery retries a bare HTTP 500 for up to ten minutes, which would
    turn a bug here into a notebook cell that hangs instead of an error that says what broke.
    """
    try:
        return handler(req)
    except GoogleError:
        raise
    except Exception as error:  # noqa: BLE001 - reported, with its type, as a bug of the stand-in
        logging.getLogger(__name__).exception("local BigQuery failure")
        raise BigQueryError(
            500, "localStandInBug", f"local stand-in bug ({type(error).__name__}: {error}); please report it"
        ) from error


def upload_api(
    method: str, path: str, raw: bytes, query: dict[str, str], cloud: LocalCloud
) -> tuple[Any, dict[str, Any]]:
    """``/upload/bigquery/v2/projects/{p}/jobs``: a load job whose data is in the request."""
    parts = [p for p in path.split("/") if p][3:]
    if method != "POST" or len(parts) != 3 or parts[0] != "projects" or parts[2] != "jobs":
        from ds500.localcloud.errors import unimplemented

        raise unimplemented(method, path)
    return _unretried(lambda req: upload(req, raw), Request([parts[1]], {}, query, cloud))


def register(router: Router) -> None:
    router.add_prefix("/bigquery/v2/", api)
    router.add_prefix("/upload/bigquery/v2/", upload_api)
