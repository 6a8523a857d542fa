"""Avro contracts and wire formats.

* The catalog loads ``schemas/`` (shared named types under ``schemas/types/``) and exposes each
  top-level record fully expanded, with its CRC-64-AVRO fingerprint.
* Wire formats: Avro single-object encoding (``C3 01`` + 8-byte little-endian fingerprint +
  body), resolved against the catalog; and Confluent framing (``00`` + 4-byte big-endian schema
  id + body) resolved through a schema registry. ``decode`` accepts both.
* JSON: HTTP bodies are plain objects with the record's field names; ``from_json`` turns one
  into an Avro datum and reports every problem with its path, ``to_json`` goes back.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import math
import struct
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import fastavro.read
import fastavro.schema as avro_schema
import httpx

from borderhub.domain.problems import Problem

# UUIDs stay strings in datums (ids are used as keys and document ids everywhere).
fastavro.read.LOGICAL_READERS["string-uuid"] = lambda data, *_: data

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
AVRO_CONTENT_TYPE = "application/vnd.apache.avro"

# Top-level records of the contract, by the short name used in topics and URLs.
RECORDS = {
    "crossings": "org.borderhub.poe.CrossingEvent",
    "seizures": "org.borderhub.poe.SeizureEvent",
    "biometrics": "org.borderhub.poe.BiometricCapture",
    "watchlist": "org.borderhub.watchlist.WatchlistEntry",
    "alerts": "org.borderhub.hub.Alert",
    "deadletters": "org.borderhub.hub.DeadLetter",
    "links": "org.borderhub.hub.LinkSet",
    "ruleinputs": "org.borderhub.hub.RuleInputBatch",
}


class DecodeError(ValueError):
    """Bytes that are not a record of the contract (unknown framing, schema or corrupt body)."""


@dataclass(frozen=True)
class RecordSchema:
    fullname: str
    schema: dict  # expanded JSON schema (plain dicts, every named type inlined once)
    parsed: Any  # fastavro parsed schema
    fingerprint: bytes  # CRC-64-AVRO of the parsing canonical form, 8 bytes little-endian

    @property
    def canonical_form(self) -> str:
        return avro_schema.to_parsing_canonical_form(self.parsed)


def _fingerprint(parsed: Any) -> bytes:
    hex_digits = avro_schema.fingerprint(avro_schema.to_parsing_canonical_form(parsed), "CRC-64-AVRO")
    # fastavro gives the 64-bit value big-endian in hex; the single-object header is little-endian.
    return int(hex_digits, 16).to_bytes(8, "little")


class SchemaCatalog:
    """Every schema of ``schemas/``, addressable by full name, short name and fingerprint."""

    def __init__(self, schemas_dir: Path, extra: list[dict] | None = None):
        named: dict[str, Any] = {}
        self._load_types(sorted((schemas_dir / "types").glob("*.avsc")), named)
        self.records: dict[str, RecordSchema] = {}
        self.by_fingerprint: dict[bytes, RecordSchema] = {}
        sources = [json.loads(p.read_text()) for p in sorted(schemas_dir.glob("*.avsc"))]
        for raw in sources + list(extra or []):
            self.add(raw, named)

    @staticmethod
    def _load_types(paths: list[Path], named: dict[str, Any]) -> None:
        # Shared types may reference each other: parse in passes until nothing new resolves.
        pending = [json.loads(p.read_text()) for p in paths]
        while pending:
            unresolved = []
            for raw in pending:
                try:
                    avro_schema.parse_schema(raw, named_schemas=named)
                except avro_schema.UnknownType:
                    unresolved.append(raw)
            if len(unresolved) == len(pending):
                names = [r.get("name") for r in unresolved]
                raise avro_schema.SchemaParseException(f"unresolvable schema types: {names}")
            pending = unresolved

    def add(self, raw: dict, named: dict[str, Any] | None = None) -> RecordSchema:
        named = dict(named) if named is not None else {}
        parsed_with_refs = avro_schema.parse_schema(raw, named_schemas=named)
        expanded = avro_schema.expand_schema(parsed_with_refs)
        parsed = fastavro.parse_schema(expanded)
        record = RecordSchema(avro_schema.fullname(raw), expanded, parsed, _fingerprint(parsed))
        self.records[record.fullname] = record
        self.by_fingerprint[record.fingerprint] = record
        return record

    def get(self, name: str) -> RecordSchema:
        return self.records[RECORDS.get(name, name)]


# ---------------------------------------------------------------------------------------------
# Binary encodings


def encode_body(record: RecordSchema, datum: dict) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, record.parsed, datum)
    return out.getvalue()


def encode_single_object(record: RecordSchema, datum: dict) -> bytes:
    return SINGLE_OBJECT_MAGIC + record.fingerprint + encode_body(record, datum)


def encode_confluent(schema_id: int, record: RecordSchema, datum: dict) -> bytes:
    return CONFLUENT_MAGIC + struct.pack(">I", schema_id) + encode_body(record, datum)


class SchemaRegistryClient:
    """The two calls of the Confluent schema registry REST API that framing needs."""

    def __init__(self, url: str, timeout: float = 10.0):
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._by_id: dict[int, dict] = {}
        self._ids: dict[tuple[str, bytes], int] = {}
        self._lock = threading.Lock()

    def register(self, subject: str, record: RecordSchema) -> int:
        key = (subject, record.fingerprint)
        with self._lock:
            if key not in self._ids:
                response = self._http.post(
                    f"/subjects/{subject}/versions",
                    json={"schema": json.dumps(record.schema)},
                    headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
                )
                response.raise_for_status()
                self._ids[key] = response.json()["id"]
            return self._ids[key]

    def schema(self, schema_id: int) -> dict:
        with self._lock:
            if schema_id not in self._by_id:
                response = self._http.get(f"/schemas/ids/{schema_id}")
                if response.status_code == 404:
                    raise DecodeError(f"schema id {schema_id} is unknown to the registry")
                response.raise_for_status()
                self._by_id[schema_id] = json.loads(response.json()["schema"])
            return self._by_id[schema_id]


def _resolving(writer: Any, reader: Any) -> Any:
    """The reader schema to hand fastavro: none when it is the writer's own (fastavro would
    otherwise compare the two deeply on every record)."""
    return None if reader is writer else reader


class AvroCodec:
    """Encodes in the configured framing; decodes either framing into the reader's schema."""

    def __init__(self, catalog: SchemaCatalog, registry: SchemaRegistryClient | None = None):
        self.catalog = catalog
        self.registry = registry
        self._writers_by_id: dict[int, Any] = {}

    def encode(self, name: str, datum: dict, subject: str | None = None) -> bytes:
        record = self.catalog.get(name)
        if self.registry is not None:
            schema_id = self.registry.register(subject or f"{record.fullname}-value", record)
            return encode_confluent(schema_id, record, datum)
        return encode_single_object(record, datum)

    def writer_schema(self, data: bytes) -> tuple[Any, int]:
        """The writer's parsed schema and where the body starts."""
        if data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= 10:
            record = self.catalog.by_fingerprint.get(bytes(data[2:10]))
            if record is None:
                raise DecodeError(f"unknown schema fingerprint {bytes(data[2:10]).hex()}")
            return record.parsed, 10
        if data[:1] == CONFLUENT_MAGIC and len(data) >= 5:
            (schema_id,) = struct.unpack(">I", data[1:5])
            if schema_id not in self._writers_by_id:
                if self.registry is None:
                    raise DecodeError("Confluent-framed record but no schema registry is configured")
                self._writers_by_id[schema_id] = fastavro.parse_schema(self.registry.schema(schema_id))
            return self._writers_by_id[schema_id], 5
        raise DecodeError("not Avro single-object encoding (C3 01) nor Confluent framing (00 + schema id)")

    def decode(self, data: bytes, reader: str | None = None) -> dict:
        writer, start = self.writer_schema(data)
        reader_schema = self.catalog.get(reader).parsed if reader else None
        try:
            return fastavro.schemaless_reader(io.BytesIO(data[start:]), writer, _resolving(writer, reader_schema))
        except Exception as exc:  # fastavro raises many types for corrupt bodies
            raise DecodeError(f"undecodable Avro body: {exc}") from exc

    def decode_stream(self, data: bytes, reader: str) -> list[tuple[dict | None, bytes, DecodeError | None]]:
        """Records written back to back, each with its own header; returns (datum, raw, error).

        A corrupt record leaves no way to find where the next one starts, so decoding stops
        there and the remainder is reported as one bad record."""
        out: list[tuple[dict | None, bytes, DecodeError | None]] = []
        reader_schema = self.catalog.get(reader).parsed
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            try:
                writer, start = self.writer_schema(bytes(view[pos:pos + 10]))
                buf = io.BytesIO(view[pos + start:])
                datum = fastavro.schemaless_reader(buf, writer, _resolving(writer, reader_schema))
                end = pos + start + buf.tell()
                out.append((datum, bytes(view[pos:end]), None))
                pos = end
            except DecodeError as exc:
                out.append((None, bytes(view[pos:]), exc))
                break
            except Exception as exc:
                out.append((None, bytes(view[pos:]), DecodeError(f"undecodable Avro body: {exc}")))
                break
        return out


# ---------------------------------------------------------------------------------------------
# JSON <-> datum


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return schema.get("logicalType") or schema["type"]


def _parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 timestamp")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset (e.g. 2026-01-31T10:00:00Z)")
    return parsed


class _JsonReader:
    """Schema-driven conversion of one JSON object, collecting every problem on the way."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path, code, message))

    def convert(self, schema: Any, value: Any, path: str) -> Any:
        kind = _type_name(schema)
        handler = getattr(self, f"_{kind.replace('-', '_')}", None)
        if handler is None:
            self.fail(path, "schema", f"unsupported schema type {kind}")
            return None
        return handler(schema, value, path)

    def _record(self, schema: dict, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            self.fail(path, "type", "expected an object")
            return None
        known = {f["name"] for f in schema["fields"]}
        for extra in sorted(set(value) - known):
            self.fail(_join(path, extra), "unknown_field", "field is not part of the schema")
        out = {}
        for field in schema["fields"]:
            name, fpath = field["name"], _join(path, field["name"])
            if name in value and value[name] is not None:
                out[name] = self.convert(field["type"], value[name], fpath)
            elif "default" in field:
                out[name] = _copy_default(field["default"])
            elif _is_nullable(field["type"]):
                out[name] = None
            else:
                self.fail(fpath, "missing", "required field is missing")
        return out

    def _union(self, schema: list, value: Any, path: str) -> Any:
        branches = [b for b in schema if b != "null"]
        if value is None:
            if "null" in schema:
                return None
            self.fail(path, "type", "must not be null")
            return None
        # Plain JSON carries no branch name: try branches in order, keep the first that fits.
        for branch in branches:
            trial = _JsonReader()
            result = trial.convert(branch, value, path)
            if not trial.problems:
                return result
        if len(branches) == 1:
            return self.convert(branches[0], value, path)
        self.fail(path, "type", f"does not match any of {[_type_name(b) for b in branches]}")
        return None

    def _array(self, schema: dict, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            self.fail(path, "type", "expected an array")
            return None
        return [self.convert(schema["items"], item, f"{path}.{i}") for i, item in enumerate(value)]

    def _map(self, schema: dict, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            self.fail(path, "type", "expected an object")
            return None
        return {k: self.convert(schema["values"], v, _join(path, k)) for k, v in value.items()}

    def _enum(self, schema: dict, value: Any, path: str) -> Any:
        if value not in schema["symbols"]:
            self.fail(path, "enum", f"must be one of {', '.join(schema['symbols'])}")
            return None
        return value

    def _string(self, schema: Any, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            self.fail(path, "type", "expected a string")
            return None
        return value

    def _uuid(self, schema: Any, value: Any, path: str) -> Any:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            self.fail(path, "uuid", "expected a UUID")
            return None

    def _boolean(self, schema: Any, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            self.fail(path, "type", "expected true or false")
            return None
        return value

    def _int(self, schema: Any, value: Any, path: str, bits: int = 32) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "type", "expected an integer")
            return None
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            self.fail(path, "range", f"outside the {bits}-bit integer range")
            return None
        return value

    def _long(self, schema: Any, value: Any, path: str) -> Any:
        return self._int(schema, value, path, bits=64)

    def _double(self, schema: Any, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, "type", "expected a number")
            return None
        if not math.isfinite(value):
            self.fail(path, "range", "must be a finite number")
            return None
        return float(value)

    _float = _double

    def _bytes(self, schema: Any, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            self.fail(path, "type", "expected base64 text")
            return None
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            self.fail(path, "type", "expected base64 text")
            return None

    def _decimal(self, schema: dict, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(path, "type", "expected a decimal number or string")
            return None
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            self.fail(path, "type", "expected a decimal number or string")
            return None
        scale, precision = schema.get("scale", 0), schema["precision"]
        if not number.is_finite():
            self.fail(path, "range", "must be a finite number")
            return None
        quantised = number.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_EVEN)
        if len(quantised.as_tuple().digits) > precision:
            self.fail(path, "range", f"more than {precision} digits")
            return None
        return quantised

    def _date(self, schema: Any, value: Any, path: str) -> Any:
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else _raise("not a string")
        except ValueError:
            self.fail(path, "date", "expected a date YYYY-MM-DD")
            return None

    def _timestamp_millis(self, schema: Any, value: Any, path: str) -> Any:
        try:
            return _parse_datetime(value)
        except (ValueError, OverflowError, OSError) as exc:
            self.fail(path, "timestamp", str(exc) if "offset" in str(exc) else "expected an ISO 8601 timestamp")
            return None

    _timestamp_micros = _timestamp_millis


def _raise(message: str):
    raise ValueError(message)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_nullable(schema: Any) -> bool:
    return isinstance(schema, list) and "null" in schema


def _copy_default(default: Any) -> Any:
    return list(default) if isinstance(default, list) else default


def from_json(record: RecordSchema, obj: Any) -> tuple[dict | None, list[Problem]]:
    """A JSON object as an Avro datum of ``record``, or the list of everything wrong with it."""
    reader = _JsonReader()
    datum = reader.convert(record.schema, obj, "")
    if reader.problems:
        return None, reader.problems
    return datum, []


def to_json(value: Any) -> Any:
    """An Avro datum as plain JSON: ISO timestamps and dates, decimals as strings, bytes base64."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value
