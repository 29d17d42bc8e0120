"""Ingest: raw zone -> bronze, quarantine, silver (deduplicated), duplicate ledger, audit.

For the landed days asked (in date order; small days several per pass, see BATCH_INPUT_BYTES)
and each source (interactions, accounts, enforcement):

1. List `raw/<source>/date=D/*.jsonl[.gz]` ourselves (pyarrow.fs, so local paths and object
   stores both work). A `date=` folder whose date does not parse is skipped with a warning and
   listed in the report.
2. Read the files in Spark tasks (`mapInArrow`, one file per task): stream-decompress, split
   into lines a block at a time (C and numpy, not a Python loop per line) and hand the raw lines
   to Spark. A file that cannot be read (not gzip, truncated gzip, I/O error) keeps the lines
   read before the failure and adds one line, quarantined as `unreadable_file`; it costs only
   itself (spark.read.text is not used on purpose: one bad file would kill the whole job, and
   its corrupt-file switch drops the readable prefix). Line numbers and `lines_read` (non-empty
   lines) are counted there, one summary row per file.
3. Parse in Spark (`quality.contract_native`: `from_json` at the contract's types, made
   strict). The few lines it leaves undecided (broken ones, IPv6 addresses, escapes, lines
   starting with whitespace or longer than 1 MB) go through `quality.contract` in Python, which
   gives the accepted row or the exact reason code. One pass writes bronze (every
   contract-valid row, repeats included), quarantine and per-file line counts of those days
   with `replaceWhere`, so a re-run replaces exactly what they wrote; the counts logged come
   from Observations on those writes.
4. Deduplicate. The accepted copy of a key is the first by (land_date, source_file, line_no)
   among valid rows, whatever order days are ingested in. Landing D can only change the status
   of rows landed on D or later, so every affected landed day L is recomputed: interactions
   L in [D, D+3] (a repeat of a D row with the same ts lands within the 3-day lateness horizon;
   a row of L is compared with copies of event dates [L-3, L] landed up to L); accounts and
   enforcement (small) every landed day >= D, against all their copies landed up to L. Winners
   -> silver, repeats -> the duplicate ledger with the kept copy's lineage. Known limit: an
   interaction repeating a request_id with a *different* ts, outside that window, is not caught.
5. Recount each recomputed (source, landed day) from what was stored: lines_read from the
   per-file counts, rows_accepted from silver, duplicates_dropped from the ledger,
   rows_quarantined from the quarantine table; check `lines_read = accepted + duplicates +
   quarantined` (PipelineError otherwise) and write ops/ingest_audit (a source without a date=D
   folder gets a row of zeros).

Beyond LAKE.md's reason codes, a line over 256 MB is quarantined unparsed as `line_too_long`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from core import delta_io
from core.enums import LATENESS_DAYS
from core.errors import PipelineError
from core.progress import bar
from core.tables import (
    BRONZE,
    BRONZE_INTERACTIONS,
    DUPLICATES,
    INGEST_AUDIT,
    INGEST_FILES,
    QUARANTINE,
    RAW_SOURCES,
    SILVER,
    raw_dir,
)
from quality import contract
from quality.contract_native import MAX_NATIVE_BYTES, native_parse, suspect_positions

log = logging.getLogger("risk.ingest")

BATCH_ROWS = 20_000  # rows per Arrow batch handed to Spark
BATCH_BYTES = 48 << 20  # ... or fewer, when the lines are large
READ_CHUNK = 4 << 20  # compressed bytes read at a time
PIECE_MAX = 16 << 20  # decompressed bytes produced at a time (bounds a gzip bomb)
LINE_HARD_LIMIT = 256 << 20  # a longer line is not parsed (quarantined as line_too_long)
# Raw bytes (compressed) ingested in one pass: several small days share their Spark jobs and
# commits; a seed-scale day (~1.3M lines) is a pass of its own, so the cache stays bounded.
BATCH_INPUT_BYTES = 96 << 20
REASON_LINE_TOO_LONG = "line_too_long"

KIND_ROW, KIND_QUARANTINE, KIND_FILE = 0, 1, 2
KIND_LINE = 3  # a raw line not parsed yet (only between the reader and the native parser)
_DATE_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")
_LINEAGE = ("land_date", "source_file", "line_no")

_ARROW = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "long": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}
_DDL = {
    "string": "STRING",
    "timestamp": "TIMESTAMP",
    "long": "BIGINT",
    "int": "INT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
}
# Columns of the parsed frame after the source's typed columns (shared by all three row kinds).
# Prefixed: enforcement has a field called `reason` of its own.
_TAIL = [
    ("land_date", "date"),
    ("source_file", "string"),
    ("line_no", "long"),
    ("q_reason", "string"),
    ("q_raw_line", "string"),
    ("q_raw_line_bytes", "long"),
    ("q_raw_line_truncated", "boolean"),
    ("file_lines_read", "long"),
    ("file_unreadable", "boolean"),
    ("file_error", "string"),
]


# --- listing ---------------------------------------------------------------------------------


def filesystem(uri: str):
    """(pyarrow FileSystem, path) for a local path or an object-store URI (s3a:// -> s3://)."""
    from pyarrow import fs as pafs

    if "://" in uri and not uri.startswith("file://"):
        scheme, rest = uri.split("://", 1)
        if scheme in ("s3a", "s3n"):
            uri = f"s3://{rest}"
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), uri.removeprefix("file://")


@dataclass(frozen=True)
class RawFile:
    uri: str  # what a task opens
    rel: str  # path relative to the lake: the `source_file` stored with every row
    size: int = 0  # bytes on storage (compressed): used to size ingest batches


def list_land_days(lake: str, source: str) -> tuple[dict[dt.date, str], list[str]]:
    """The `date=` folders of a raw source: ({land_date: folder name}, skipped folder paths).

    A folder whose name is not `date=YYYY-MM-DD` with a real date is skipped with a warning
    (hidden `_`/`.` folders are ignored silently, as Hadoop tools do).
    """
    from pyarrow import fs as pafs

    fs, base = filesystem(raw_dir(lake, source))
    days: dict[dt.date, str] = {}
    skipped: list[str] = []
    for info in fs.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
        name = info.base_name
        if info.type != pafs.FileType.Directory or name.startswith(("_", ".")):
            continue
        match = _DATE_DIR.fullmatch(name)
        day = None
        if match:
            try:
                day = dt.date.fromisoformat(match.group(1))
            except ValueError:
                day = None
        if day is None:
            path = f"raw/{source}/{name}"
            log.warning("skipped folder=%s reason=not_a_valid_date_partition", path)
            skipped.append(path)
            continue
        days[day] = name
    return days, skipped


def list_files(lake: str, source: str, folder: str) -> list[RawFile]:
    """`*.jsonl.gz` and `*.jsonl` files of one date folder, sorted by name (the dedup order)."""
    from pyarrow import fs as pafs

    fs, base = filesystem(f"{raw_dir(lake, source)}/{folder}")
    files = []
    for info in fs.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
        name = info.base_name
        if info.type != pafs.FileType.File or name.startswith(("_", ".")):
            continue
        if name.endswith((".jsonl.gz", ".jsonl")):
            files.append(
                RawFile(
                    f"{raw_dir(lake, source)}/{folder}/{name}",
                    f"raw/{source}/{folder}/{name}",
                    info.size or 0,
                )
            )
        else:
            log.debug("ignored file=raw/%s/%s/%s", source, folder, name)
    return sorted(files, key=lambda f: f.rel)


# --- reading one file (runs in Spark tasks) -----------------------------------------------------


class _Unreadable(Exception):
    pass


@dataclass
class _Oversized:
    """A line longer than LINE_HARD_LIMIT: only its head and its size are kept."""

    head: bytes
    size: int


class RawFileReader:
    """Physical lines of a raw file, read by streaming; stops cleanly at the first read error.

    After iteration, `error` is None for a fully read file, else the failure, and `tail` holds
    the incomplete bytes after the last complete line (part of the unreadable rest).
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.line_no = 0
        self.error: str | None = None
        self.tail = b""

    def _pieces(self) -> Iterator[bytes]:
        fs, path = filesystem(self.uri)
        gz = path.endswith(".gz")
        # compression=None: we decompress ourselves, so a bad gzip is our error, not Arrow's.
        with fs.open_input_stream(path, compression=None) as stream:
            if not gz:
                while chunk := stream.read(READ_CHUNK):
                    yield chunk
                return
            dec, in_member = zlib.decompressobj(31), False
            while chunk := stream.read(READ_CHUNK):
                buf = chunk
                while buf:
                    in_member = True
                    out = dec.decompress(buf, PIECE_MAX)
                    if out:
                        yield out
                    if dec.eof:  # end of one gzip member; concatenated members are valid gzip
                        buf, dec, in_member = dec.unused_data, zlib.decompressobj(31), False
                    else:
                        buf = dec.unconsumed_tail
            if in_member:
                raise _Unreadable("truncated gzip: the stream ends inside a member")

    def __iter__(self) -> Iterator[bytes | _Oversized]:
        partial: list[bytes] = []
        partial_len = 0
        oversized: _Oversized | None = None
        pieces = self._pieces()
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except Exception as exc:  # any failure to read or decompress: the rest is unreadable
                self.error = f"{type(exc).__name__}: {exc}"[:500]
                self.tail = oversized.head if oversized else b"".join(partial)
                return
            parts = piece.split(b"\n")
            if len(parts) == 1:  # no line end in this piece: the current line goes on
                if oversized is not None:
                    oversized.size += len(piece)
                else:
                    partial.append(piece)
                    partial_len += len(piece)
                    if partial_len > LINE_HARD_LIMIT:
                        oversized = _Oversized(
                            b"".join(partial)[: contract.RAW_LINE_MAX_BYTES], partial_len
                        )
                        partial, partial_len = [], 0
                continue
            first = parts[0]
            self.line_no += 1
            if oversized is not None:
                oversized.size += len(first)
                yield oversized
                oversized = None
            elif partial:
                yield b"".join(partial) + first
                partial, partial_len = [], 0
            else:
                yield first
            for line in parts[1:-1]:
                self.line_no += 1
                yield line
            if parts[-1]:
                partial, partial_len = [parts[-1]], len(parts[-1])
        if oversized is not None:
            self.line_no += 1
            yield oversized
        elif partial:  # a last line without a final newline is still a line
            self.line_no += 1
            yield b"".join(partial)

    def blocks(self) -> Iterator[tuple[int, bytes, np.ndarray] | _Oversized]:
        """The same lines as iterating, a block at a time: `(first line number, data, ends)`
        where line i of the block is `data[ends[i-1]:ends[i]]` (ends[-1] = 0) *with* its final
        newline (one is added to a last line that has none), or an oversized line alone.
        Splitting runs in C and numpy: a typical line costs no Python of its own."""
        partial: list[bytes] = []
        partial_len = 0
        oversized: _Oversized | None = None
        pieces = self._pieces()
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except Exception as exc:  # any failure to read or decompress: the rest is unreadable
                self.error = f"{type(exc).__name__}: {exc}"[:500]
                self.tail = oversized.head if oversized else b"".join(partial)
                return
            last = piece.rfind(b"\n")
            if last < 0:  # no line end in this piece: the current line goes on
                if oversized is not None:
                    oversized.size += len(piece)
                else:
                    partial.append(piece)
                    partial_len += len(piece)
                    if partial_len > LINE_HARD_LIMIT:
                        oversized = _Oversized(
                            b"".join(partial)[: contract.RAW_LINE_MAX_BYTES], partial_len
                        )
                        partial, partial_len = [], 0
                continue
            if oversized is not None:
                first = piece.find(b"\n")
                oversized.size += first
                self.line_no += 1
                yield oversized
                oversized = None
                data = piece[first + 1 : last + 1]
            elif partial:
                data = b"".join(partial) + piece[: last + 1]
                partial, partial_len = [], 0
            else:
                data = piece[: last + 1]
            if data:
                yield self._block(data)
            if last + 1 < len(piece):
                partial, partial_len = [piece[last + 1 :]], len(piece) - last - 1
        if oversized is not None:
            self.line_no += 1
            yield oversized
        elif partial:  # a last line without a final newline is still a line
            yield self._block(b"".join(partial) + b"\n")

    def _block(self, data: bytes) -> tuple[int, bytes, np.ndarray]:
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
        first = self.line_no + 1
        self.line_no += len(ends)
        return first, data, ends


def _types(source: str) -> list[tuple[str, str]]:
    return contract.output_columns(source) + _TAIL


def arrow_schema(source: str) -> pa.Schema:
    return pa.schema([("kind", pa.int8())] + [(n, _ARROW[t]) for n, t in _types(source)])


def spark_ddl(source: str) -> str:
    return ", ".join(["kind TINYINT"] + [f"{n} {_DDL[t]}" for n, t in _types(source)])


# What the native reader adds: the raw line (with its newline) and whether it holds a `]`.
_LINE_COLUMNS = [("line", pa.binary(), "BINARY"), ("bracket", pa.bool_(), "BOOLEAN")]


def lines_arrow_schema(source: str) -> pa.Schema:
    schema = arrow_schema(source)
    for name, arrow_type, _ in _LINE_COLUMNS:
        schema = schema.append(pa.field(name, arrow_type))
    return schema


def lines_spark_ddl(source: str) -> str:
    return ", ".join([spark_ddl(source)] + [f"{n} {t}" for n, _, t in _LINE_COLUMNS])


class _BatchBuilder:
    """Accumulates one file's outcomes and turns them into bounded Arrow batches."""

    def __init__(
        self, source: str, land_days: int, rel: str, schema: pa.Schema | None = None
    ) -> None:
        self.schema = schema or arrow_schema(source)
        self.typed = contract.output_columns(source)
        self.land_days = land_days
        self.rel = rel
        self.rows: list[tuple] = []
        self.row_lines: list[int] = []
        self.quarantined: list[tuple] = []
        self.nbytes = 0

    def add_row(self, line_no: int, values: tuple, size: int) -> None:
        self.rows.append(values)
        self.row_lines.append(line_no)
        self.nbytes += size

    def add_quarantine(self, line_no: int, reason: str, raw: bytes, size: int | None = None):
        text, nbytes, truncated = contract.clip_raw_line(raw)
        if size is not None and size > nbytes:
            nbytes, truncated = size, True
        self.quarantined.append((line_no, reason, text, nbytes, truncated))
        self.nbytes += len(text)

    @property
    def full(self) -> bool:
        return len(self.rows) + len(self.quarantined) >= BATCH_ROWS or self.nbytes >= BATCH_BYTES

    def _batch(self, n: int, kind: int, columns: dict[str, pa.Array]) -> pa.RecordBatch:
        arrays = [pa.repeat(pa.scalar(kind, pa.int8()), n)]
        for field in list(self.schema)[1:]:
            arrays.append(
                columns.get(field.name) if field.name in columns else pa.nulls(n, field.type)
            )
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _common(self, n: int, line_nos) -> dict[str, pa.Array]:
        return {
            "land_date": pa.repeat(pa.scalar(self.land_days, pa.date32()), n),
            "source_file": pa.repeat(pa.scalar(self.rel, pa.string()), n),
            "line_no": pa.array(line_nos, pa.int64()),
        }

    def lines(self, line_nos: np.ndarray, lines: pa.Array, bracket: np.ndarray) -> pa.RecordBatch:
        """Raw lines for the native parser (kind KIND_LINE)."""
        columns = self._common(len(lines), line_nos)
        columns.update(line=lines, bracket=pa.array(bracket, pa.bool_()))
        return self._batch(len(lines), KIND_LINE, columns)

    def flush(self) -> Iterator[pa.RecordBatch]:
        if self.rows:
            n = len(self.rows)
            columns = self._common(n, self.row_lines)
            for (name, typ), values in zip(self.typed, zip(*self.rows, strict=True), strict=True):
                columns[name] = pa.array(values, _ARROW[typ])
            yield self._batch(n, KIND_ROW, columns)
        if self.quarantined:
            n = len(self.quarantined)
            line_nos, reasons, texts, sizes, truncs = zip(*self.quarantined, strict=True)
            columns = self._common(n, list(line_nos))
            columns.update(
                q_reason=pa.array(reasons, pa.string()),
                q_raw_line=pa.array(texts, pa.string()),
                q_raw_line_bytes=pa.array(sizes, pa.int64()),
                q_raw_line_truncated=pa.array(truncs, pa.bool_()),
            )
            yield self._batch(n, KIND_QUARANTINE, columns)
        self.rows, self.row_lines, self.quarantined, self.nbytes = [], [], [], 0

    def file_summary(self, lines_read: int, error: str | None) -> pa.RecordBatch:
        columns = self._common(1, [0])
        columns.update(
            file_lines_read=pa.array([lines_read], pa.int64()),
            file_unreadable=pa.array([error is not None], pa.bool_()),
            file_error=pa.array([error], pa.string()),
        )
        return self._batch(1, KIND_FILE, columns)


def parse_file(
    raw: RawFile, source: str, land_date: dt.date, key: bytes, exempt_too_late: bool = False
) -> Iterator[pa.RecordBatch]:
    """Every outcome of one raw file as Arrow batches (rows, quarantined lines, a file summary)."""
    parser = contract.LineParser(source, land_date, key, exempt_too_late)
    out = _BatchBuilder(source, (land_date - dt.date(1970, 1, 1)).days, raw.rel)
    reader = RawFileReader(raw.uri)
    lines_read = 0
    for line in reader:
        if isinstance(line, _Oversized):
            lines_read += 1
            out.add_quarantine(reader.line_no, REASON_LINE_TOO_LONG, line.head, line.size)
        elif not contract.is_blank(line):
            lines_read += 1
            values, reason = parser.parse(line)
            if reason is None:
                out.add_row(reader.line_no, values, len(line))
            else:
                out.add_quarantine(reader.line_no, reason, line)
        if out.full:
            yield from out.flush()
    if reader.error is not None:
        # The unreadable rest of the file counts as one line, quarantined with the reason.
        lines_read += 1
        out.add_quarantine(reader.line_no + 1, contract.REASON_UNREADABLE, reader.tail)
    yield from out.flush()
    yield out.file_summary(lines_read, reader.error)


# Bytes that may start a line that is blank (only whitespace) or starts with whitespace: such a
# line is looked at in Python, every other one goes to Spark untouched.
_WHITESPACE = np.zeros(256, np.bool_)
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True


def read_file(
    raw: RawFile, source: str, land_date: dt.date, key: bytes, exempt_too_late: bool = False
) -> Iterator[pa.RecordBatch]:
    """Every line of one raw file as Arrow batches for the native parser: raw lines (KIND_LINE),
    and the outcomes of the few lines Spark is not given (parsed here by `quality.contract`: a
    line that starts with whitespace, is longer than MAX_NATIVE_BYTES or holds what
    `suspect_positions` finds; lines too long to parse; the unreadable rest), then a file
    summary. Line numbers, blank lines and `lines_read` are exactly those of `parse_file`."""
    parser = contract.LineParser(source, land_date, key, exempt_too_late)
    out = _BatchBuilder(
        source, (land_date - dt.date(1970, 1, 1)).days, raw.rel, lines_arrow_schema(source)
    )
    reader = RawFileReader(raw.uri)
    lines_read = 0
    for block in reader.blocks():
        if isinstance(block, _Oversized):
            lines_read += 1
            out.add_quarantine(reader.line_no, REASON_LINE_TOO_LONG, block.head, block.size)
            continue
        first, data, ends = block
        starts = np.concatenate(([0], ends[:-1]))
        # An empty line starts with its own newline, which counts as whitespace here.
        python = _WHITESPACE[np.frombuffer(data, np.uint8)[starts]] | (
            ends - starts > MAX_NATIVE_BYTES + 1
        )
        suspect, brackets = suspect_positions(data)
        python[np.searchsorted(ends, suspect, side="right")] = True
        bracket = np.zeros(len(ends), np.bool_)
        bracket[np.searchsorted(ends, brackets, side="right")] = True
        for i in np.flatnonzero(python).tolist():
            line = data[starts[i] : ends[i] - 1]
            if contract.is_blank(line):
                continue
            lines_read += 1
            values, reason = parser.parse(line)
            if reason is None:
                out.add_row(first + i, values, len(line))
            else:
                out.add_quarantine(first + i, reason, line)
        yield from out.flush()
        native = ~python
        n = int(native.sum())
        if n:
            lines_read += n
            offsets = pa.py_buffer(np.concatenate(([0], ends)).astype(np.int32))
            lines = pa.BinaryArray.from_buffers(
                pa.binary(), len(ends), [None, offsets, pa.py_buffer(data)]
            )
            yield out.lines(
                first + np.flatnonzero(native), lines.filter(pa.array(native)), bracket[native]
            )
    if reader.error is not None:
        lines_read += 1
        out.add_quarantine(reader.line_no + 1, contract.REASON_UNREADABLE, reader.tail)
    yield from out.flush()
    yield out.file_summary(lines_read, reader.error)


def _read_partition(batches, tasks: list[tuple[RawFile, dt.date, bool]], source: str, key: bytes):
    for batch in batches:
        for index in batch.column(0).to_pylist():
            raw, land_date, exempt = tasks[index]
            yield from read_file(raw, source, land_date, key, exempt)


def _parse_undecided(batches, source: str, key: bytes, exempt_day: dt.date | None):
    """The lines the native parser left undecided, through `quality.contract`: each gets its
    typed row or its exact reason (the schema of `spark_ddl`)."""
    parsers: dict[dt.date, contract.LineParser] = {}
    epoch = dt.date(1970, 1, 1)
    for batch in batches:
        builders: dict[tuple[dt.date, str], _BatchBuilder] = {}
        for land_date, rel, line_no, line in zip(
            *(batch.column(c).to_pylist() for c in ("land_date", "source_file", "line_no", "line")),
            strict=True,
        ):
            parser = parsers.get(land_date)
            if parser is None:
                parser = parsers[land_date] = contract.LineParser(
                    source, land_date, key, land_date == exempt_day
                )
            out = builders.get((land_date, rel))
            if out is None:
                out = builders[(land_date, rel)] = _BatchBuilder(
                    source, (land_date - epoch).days, rel
                )
            line = line[:-1]  # the reader kept the newline
            values, reason = parser.parse(line)
            if reason is None:
                out.add_row(line_no, values, len(line))
            else:
                out.add_quarantine(line_no, reason, line)
            if out.full:
                yield from out.flush()
        for out in builders.values():
            yield from out.flush()


# --- the job ---------------------------------------------------------------------------------


class IngestReport(list):
    """The audit rows written (a list of dicts, as logged), plus what later steps need.

    `skipped_folders`: raw folders skipped because their date does not parse.
    `touched_event_dates`: {landed day: event dates of the interactions it landed}, the days
    whose downstream outputs must be recomputed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.skipped_folders: list[str] = []
        self.touched_event_dates: dict[dt.date, list[dt.date]] = {}

    def merge(self, rows: list[dict]) -> None:
        """Keep the latest row of each (source, land_date): a later batch may recompute it."""
        new = {(r["source"], r["land_date"]) for r in rows}
        self[:] = [r for r in self if (r["source"], r["land_date"]) not in new] + rows
        self.sort(key=lambda r: (r["land_date"], RAW_SOURCES.index(r["source"])))


def _event_window(day: dt.date) -> list[dt.date]:
    return [day - dt.timedelta(days=i) for i in range(LATENESS_DAYS, -1, -1)]


def _events_of(lands: list[dt.date]) -> list[dt.date]:
    return sorted({e for land in lands for e in _event_window(land)})


def _slice(source: str, lands: list[dt.date]) -> str:
    """The partitions that the rows of `lands` occupy in a bronze/silver table."""
    if source == "interactions":  # event_date too: the write then prunes to those partitions
        return delta_io.predicate(land_date=lands, event_date=_events_of(lands))
    return delta_io.predicate(land_date=lands)


def _or(preds: list[str]) -> str:
    return " OR ".join(f"({p})" for p in preds) if preds else "false"


def _per_source(affected: dict[str, list[dt.date]]) -> str:
    return _or([delta_io.predicate(source=s, land_date=lands) for s, lands in affected.items()])


@dataclass
class _Parsed:
    frame: object  # kind, typed columns, lineage, q_*, file_* and `native` (parsed in Spark)
    cached: list  # frames to unpersist once written


def _parse(
    spark,
    source: str,
    days: list[dt.date],
    files: dict[dt.date, list],
    first_accounts_day: dt.date | None,
    key: bytes,
) -> _Parsed:
    """Read every file of `days` for one source in Spark tasks, parse its lines with Spark's
    JSON reader (`quality.contract_native`) and the ones it leaves undecided with
    `quality.contract`. Cached: it feeds three writes."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    exempt_day = first_accounts_day if source == "accounts" else None
    tasks = [(raw, day, day == exempt_day) for day in days for raw in files.get(day, [])]
    if not tasks:
        return _Parsed(spark.createDataFrame([], f"{spark_ddl(source)}, native BOOLEAN"), [])
    fn = functools.partial(_read_partition, tasks=tasks, source=source, key=key)
    read = spark.range(0, len(tasks), 1, len(tasks)).mapInArrow(fn, lines_spark_ddl(source))
    typed = contract.output_columns(source)
    names = {name for name, _ in typed}
    native = native_parse(
        read.select(
            *[c for c in read.columns if c not in names],
            *[F.col(n).alias(f"_py_{n}") for n in names],
        ),
        source,
        key,
        exempt_day,
    )
    line = F.col("kind") == KIND_LINE
    accepted = line & F.col("native_ok")
    parsed = native.select(
        F.when(accepted, F.lit(KIND_ROW)).otherwise(F.col("kind")).cast("tinyint").alias("kind"),
        *[
            F.when(line, F.col(n)).otherwise(F.col(f"_py_{n}")).cast(_DDL[t]).alias(n)
            for n, t in typed
        ],
        *[n for n, _ in _TAIL],
        F.when(line & ~F.col("native_ok"), F.col("line")).alias("line"),
        accepted.alias("native"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    undecided = parsed.where(F.col("kind") == KIND_LINE).select(*_LINEAGE, "line")
    fallback = (
        undecided.mapInArrow(
            functools.partial(_parse_undecided, source=source, key=key, exempt_day=exempt_day),
            spark_ddl(source),
        )
        .withColumn("native", F.lit(False))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    frame = parsed.where(F.col("kind") != KIND_LINE).drop("line").unionByName(fallback)
    return _Parsed(frame, [parsed, fallback])


def _observed(frame, name: str, **metrics):
    """`frame` observed by a fresh Observation (its metrics arrive with the write, no job of
    their own) and that Observation."""
    from pyspark.sql import Observation

    observation = Observation(name)
    return frame.observe(observation, *[m.alias(k) for k, m in metrics.items()]), observation


def _ingested_days(spark, lake: str) -> dict[str, set[dt.date]]:
    from pyspark.sql import functions as F

    out: dict[str, set[dt.date]] = {s: set() for s in RAW_SOURCES}
    rows = delta_io.read(spark, INGEST_AUDIT, lake).select("source", "land_date").distinct()
    for row in rows.where(F.col("source").isin(list(RAW_SOURCES))).collect():
        out[row.source].add(row.land_date)
    return out


def _affected_days(source: str, days: list[dt.date], ingested: set[dt.date]) -> list[dt.date]:
    """Landed days whose dedup status landing `days` can change (themselves and later ones)."""
    first, last = min(days), max(days)
    if source == "interactions":
        later = {d for d in ingested if first < d <= last + dt.timedelta(days=LATENESS_DAYS)}
    else:
        later = {d for d in ingested if d > first}
    return sorted(set(days) | later)


def _key_hash(keys: list[str]):  # -> Column
    """The 64-bit hash that pre-selects repeated keys (a seam: tests force collisions)."""
    from pyspark.sql import functions as F

    return F.xxhash64(*keys)


def _classify(spark, lake: str, source: str, lands: list[dt.date]):
    """(bronze rows of `lands` with `_kept`, the accepted copy's lineage, and `_repeat`; the
    cached lookup of repeated keys, to unpersist after use).

    Of the candidate copies of a key, the accepted one for a row landed on L is the first by
    (land_date, source_file, line_no) among copies landed on or before L (for interactions:
    with an event date in [L-3, L], the window its repeats can land in). Only keys with more
    than one copy are looked up, with all their copies in an array: they are usually few, so the
    lookup is broadcast and the rows themselves are never shuffled (see below for when not).
    """
    from pyspark.sql import functions as F

    table = BRONZE[source]
    bronze = delta_io.read(spark, table, lake)
    keys = list(table.keys)
    last = max(lands)
    if source == "interactions":
        events = _events_of(lands)
        candidates = bronze.where(
            F.col("event_date").isin(events) & F.col("land_date").between(events[0], last)
        )
        current = bronze.where(F.col("land_date").isin(lands) & F.col("event_date").isin(events))
        eligible = (
            "x -> x.land_date <= land_date AND x.event_date >= date_sub(land_date, "
            f"{LATENESS_DAYS}) AND x.event_date <= land_date"
        )
    else:
        candidates = bronze.where(F.col("land_date") <= last)
        current = bronze.where(F.col("land_date").isin(lands))
        eligible = "x -> x.land_date <= land_date"
    copies = F.collect_list(F.struct(*_LINEAGE, "event_date")).alias("_copies")
    # Most keys have one copy. Finding the repeated ones by a 64-bit hash of the key shuffles a
    # long per candidate instead of the key and its lineage (a seed day's 4 landed days are
    # millions of rows); a hash collision only lets a single-copy key through to the exact
    # grouping below by the key itself, where it finds its own copy as the kept one (`_n > 1`
    # only keeps such keys out of the lookup, it is not what makes a collision harmless).
    hashed = candidates.select(*keys, *_LINEAGE, "event_date").withColumn("_h", _key_hash(keys))
    # Both lookups are cached and counted before they are joined, so the planner knows their
    # real size and broadcasts them while they are under spark.sql.autoBroadcastJoinThreshold
    # (the day's rows are then never shuffled). No broadcast hint: a producer re-sending a whole
    # day makes every key repeated (1.6 M keys with their lineage at seed size), and then Spark
    # joins them by shuffle instead of pushing them through the driver.
    repeated_hashes = hashed.groupBy("_h").count().where("count > 1").select("_h").persist()
    n_hashes = repeated_hashes.count()
    # Cached: it feeds both the silver and the ledger write (the day's rows are re-read instead,
    # a cheap partition scan, rather than cached whole).
    repeated = (
        hashed.join(repeated_hashes, "_h", "left_semi")
        .groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("_n"), copies)
        .where("_n > 1")
        .drop("_n")
        .persist()
    )
    n_repeated = repeated.count()
    repeated_hashes.unpersist()
    log.info(
        "dedup source=%s land_dates=%s repeated_hashes=%d repeated_keys=%d",
        source,
        ",".join(d.isoformat() for d in lands),
        n_hashes,
        n_repeated,
    )
    # array_min compares the structs field by field: land_date, source_file, line_no.
    kept = F.expr(f"array_min(filter(_copies, {eligible}))")
    frame = current.join(repeated, keys, "left").withColumn("_kept", kept)
    is_repeat = F.col("_kept").isNotNull() & ~(
        (F.col("_kept.land_date") == F.col("land_date"))
        & (F.col("_kept.source_file") == F.col("source_file"))
        & (F.col("_kept.line_no") == F.col("line_no"))
    )
    return frame.withColumn("_repeat", is_repeat), repeated


def _dedup(spark, lake: str, affected: dict[str, list[dt.date]]) -> None:
    """Rewrite silver and the duplicate ledger for every affected (source, landed day)."""
    from pyspark.sql import functions as F

    ledgers, cached = [], []
    for source, lands in affected.items():
        classified, repeated = _classify(spark, lake, source, lands)
        cached.append(repeated)
        delta_io.replace_where(
            classified.where(~F.col("_repeat")), SILVER[source], lake, _slice(source, lands)
        )
        keys = list(BRONZE[source].keys)
        ledgers.append(
            classified.where(F.col("_repeat")).select(
                F.lit(source).alias("source"),
                *_LINEAGE,
                F.to_json(F.struct(*keys)).alias("dedup_key"),
                "event_date",
                F.col("_kept.land_date").alias("kept_land_date"),
                F.col("_kept.source_file").alias("kept_source_file"),
                F.col("_kept.line_no").alias("kept_line_no"),
            )
        )
    ledger = functools.reduce(lambda a, b: a.unionByName(b), ledgers)
    delta_io.replace_where(ledger, DUPLICATES, lake, _per_source(affected))
    for frame in cached:
        frame.unpersist()


def _audit(spark, lake: str, affected: dict[str, list[dt.date]]) -> list[dict]:
    """Recount every affected (source, landed day) from the stored tables and write the audit."""
    from pyspark.sql import functions as F

    def counts(frame, what: str, source: str, lands: list[dt.date], value=None, by=None):
        frame = frame.where(F.col("land_date").isin(lands))
        n = F.sum(value) if value else F.count(F.lit(1))
        detail = F.col(by) if by else F.lit(None).cast("string")
        return (
            frame.groupBy("land_date", detail.alias("detail"))
            .agg(n.cast("long").alias("n"))
            .select(
                F.lit(what).alias("what"), F.lit(source).alias("source"), "land_date", "detail", "n"
            )
        )

    files = delta_io.read(spark, INGEST_FILES, lake)
    dups = delta_io.read(spark, DUPLICATES, lake)
    quarantine = delta_io.read(spark, QUARANTINE, lake)
    parts = []
    for source, lands in affected.items():
        mine = F.col("source") == source
        parts += [
            counts(files.where(mine), "lines_read", source, lands, "lines_read"),
            counts(delta_io.read(spark, SILVER[source], lake), "rows_accepted", source, lands),
            counts(dups.where(mine), "duplicates_dropped", source, lands),
            counts(quarantine.where(mine), "rows_quarantined", source, lands, by="reason"),
        ]
    found: dict[tuple, int] = {}
    reasons: dict[tuple, dict[str, int]] = {}
    for r in functools.reduce(lambda a, b: a.unionByName(b), parts).collect():
        found[(r.what, r.source, r.land_date)] = found.get(
            (r.what, r.source, r.land_date), 0
        ) + int(r.n or 0)
        if r.detail is not None:
            reasons.setdefault((r.source, r.land_date), {})[r.detail] = int(r.n)
    now = dt.datetime.now(dt.UTC)  # a stamp only, never used for business logic
    rows = []
    for source, lands in affected.items():
        for land in lands:
            row = {"source": source, "land_date": land}
            for what in ("lines_read", "rows_accepted", "duplicates_dropped", "rows_quarantined"):
                row[what] = found.get((what, source, land), 0)
            row["ingested_at"] = now
            total = row["rows_accepted"] + row["duplicates_dropped"] + row["rows_quarantined"]
            if total != row["lines_read"]:
                raise PipelineError(
                    f"ingest audit broken for source={source} land_date={land}: lines_read="
                    f"{row['lines_read']} but rows_accepted={row['rows_accepted']} + "
                    f"duplicates_dropped={row['duplicates_dropped']} + rows_quarantined="
                    f"{row['rows_quarantined']} = {total}; re-run `riskctl ingest --start {land}`"
                    " and report the bug if it persists"
                )
            rows.append(row)
            if row["rows_quarantined"]:
                log.info(
                    "quarantined source=%s land_date=%s reasons=%s",
                    source,
                    land,
                    ",".join(
                        f"{k}:{v}" for k, v in sorted(reasons.get((source, land), {}).items())
                    ),
                )
    frame = spark.createDataFrame(rows, INGEST_AUDIT.schema)
    delta_io.replace_where(frame, INGEST_AUDIT, lake, _per_source(affected))
    return rows


def _log_parsed(days: list[dt.date], bronze: dict, files: list[dict], report: IngestReport) -> None:
    """Log what the writes observed; note the event days each landed day touched."""
    for f in files:
        if f["unreadable"]:
            log.warning(
                "unreadable file=%s lines_read=%d error=%s",
                f["source_file"],
                f["lines_read"],
                f["error"],
            )
    for source in RAW_SOURCES:
        metrics = bronze[source].get
        mine = [f for f in files if f["source"] == source]
        log.info(
            "parsed source=%s land_dates=%s files=%d lines=%d rows=%d native=%d",
            source,
            ",".join(map(str, days)),
            len(mine),
            sum(f["lines_read"] for f in mine),
            metrics["rows"],
            metrics["native"],
        )
        if source == "interactions":
            touched = [
                (dt.date.fromisoformat(e["land_date"]), dt.date.fromisoformat(e["event_date"]))
                for e in json.loads(metrics["event_dates"])
            ]
            for day in days:
                report.touched_event_dates[day] = sorted(e for land, e in touched if land == day)


def _ingest_batch(
    spark,
    lake: str,
    days: list[dt.date],
    files: dict[str, dict[dt.date, list[RawFile]]],
    first_accounts_day: dt.date | None,
    key: bytes,
    report: IngestReport,
) -> list[dict]:
    """Ingest landed `days` of every source in one pass; returns the audit rows (re)written.

    Several days at once give exactly what one day at a time gives (the accepted copy does not
    depend on the order of ingestion); only the number of Spark jobs and commits differs.
    """
    from pyspark.sql import functions as F

    start = time.monotonic()
    parsed = {s: _parse(spark, s, days, files[s], first_accounts_day, key) for s in RAW_SOURCES}
    bronze = {}
    for source, p in parsed.items():
        metrics = {"rows": F.count(F.lit(1)), "native": F.count_if("native")}
        if source == "interactions":  # the event days each landed day touches, for the report
            metrics["event_dates"] = F.to_json(F.collect_set(F.struct("land_date", "event_date")))
        rows, bronze[source] = _observed(
            p.frame.where(F.col("kind") == KIND_ROW), f"bronze_{source}", **metrics
        )
        delta_io.replace_where(rows, BRONZE[source], lake, _slice(source, days))
    quarantine = functools.reduce(
        lambda a, b: a.unionByName(b),
        [
            p.frame.where(F.col("kind") == KIND_QUARANTINE).select(
                F.lit(source).alias("source"),
                *_LINEAGE,
                *[F.col(f"q_{c}").alias(c) for c in QUARANTINE.columns[len(_LINEAGE) + 1 :]],
            )
            for source, p in parsed.items()
        ],
    )
    these_days = delta_io.predicate(source=list(RAW_SOURCES), land_date=days)
    delta_io.replace_where(quarantine, QUARANTINE, lake, these_days)
    file_rows = functools.reduce(
        lambda a, b: a.unionByName(b),
        [
            p.frame.where(F.col("kind") == KIND_FILE).select(
                F.lit(source).alias("source"),
                "land_date",
                "source_file",
                F.col("file_lines_read").alias("lines_read"),
                F.col("file_unreadable").alias("unreadable"),
                F.col("file_error").alias("error"),
            )
            for source, p in parsed.items()
        ],
    )
    file_rows, files_seen = _observed(
        file_rows, "ingest_files", files=F.to_json(F.collect_list(F.struct(*INGEST_FILES.columns)))
    )
    delta_io.replace_where(file_rows, INGEST_FILES, lake, these_days)
    for p in parsed.values():
        for frame in p.cached:
            frame.unpersist()
    _log_parsed(days, bronze, json.loads(files_seen.get["files"]), report)

    ingested = _ingested_days(spark, lake)
    affected = {s: _affected_days(s, days, ingested[s]) for s in RAW_SOURCES}
    _dedup(spark, lake, affected)
    rows = _audit(spark, lake, affected)
    for row in rows:
        log.info(
            "audit source=%s land_date=%s lines_read=%d rows_accepted=%d "
            "duplicates_dropped=%d rows_quarantined=%d",
            row["source"],
            row["land_date"],
            row["lines_read"],
            row["rows_accepted"],
            row["duplicates_dropped"],
            row["rows_quarantined"],
        )
    log.info(
        "ingested land_dates=%s recomputed=%s secs=%.1f",
        ",".join(map(str, days)),
        ";".join(f"{s}:{','.join(str(d) for d in ds)}" for s, ds in affected.items()),
        time.monotonic() - start,
    )
    return rows


def _batches(
    days: list[dt.date], files: dict[str, dict[dt.date, list[RawFile]]], max_bytes: int
) -> list[list[dt.date]]:
    """Consecutive days grouped while their raw files total at most `max_bytes`."""
    out: list[list[dt.date]] = []
    size = 0
    for day in days:
        day_size = sum(f.size for s in RAW_SOURCES for f in files[s].get(day, []))
        if out and size + day_size <= max_bytes:
            out[-1].append(day)
            size += day_size
        else:
            out.append([day])
            size = day_size
    return out


def ingest_days(lake: str, days: list[dt.date]) -> IngestReport:
    """Ingest the landed days in date order (one SparkSession); returns the audit rows.

    Small days are ingested several at a time (up to BATCH_INPUT_BYTES of raw files per pass):
    the tables are the same as one day at a time, with far fewer Spark jobs and commits.
    """
    from core.spark import get_spark
    from quality.privacy import pseudonym_key

    spark = get_spark("risk-ingest")
    key = pseudonym_key()
    report = IngestReport()
    wanted = sorted(set(days))
    folders: dict[str, dict[dt.date, str]] = {}
    files: dict[str, dict[dt.date, list[RawFile]]] = {}
    for source in RAW_SOURCES:
        folders[source], skipped = list_land_days(lake, source)
        report.skipped_folders += skipped
        files[source] = {
            d: list_files(lake, source, folders[source][d]) for d in wanted if d in folders[source]
        }
    # The first landed day of the registry is its full snapshot: exempt from too_late.
    first_accounts_day = min(folders["accounts"], default=None)
    batches = _batches(wanted, files, BATCH_INPUT_BYTES)
    for batch in bar(batches, desc=f"ingest {len(wanted)} days", unit="batch"):
        report.merge(_ingest_batch(spark, lake, batch, files, first_accounts_day, key, report))
    if report.skipped_folders:
        log.warning("skipped folders=%s", ",".join(report.skipped_folders))
    return report


def touched_event_dates(lake: str, day: dt.date) -> list[dt.date]:
    """Event dates of the interactions landed on `day` (downstream days to recompute)."""
    from pyspark.sql import functions as F

    from core.spark import get_spark

    spark = get_spark("risk-ingest")
    rows = (
        delta_io.read(spark, BRONZE_INTERACTIONS, lake)
        .where(F.col("land_date") == day)
        .select("event_date")
        .distinct()
        .collect()
    )
    return sorted(r.event_date for r in rows)
