"""Scan everything the pipeline wrote for the raw zone's client IPs.

Collects every client_ip of the raw interactions, then looks for them in every file under the
lake outside raw/ and quarantine/ (and the ground truth of the generator): Parquet is decoded
(all string/binary values), gzip is decompressed, everything else (HTML, JSON, YAML, MLflow
artifacts and the SQLite database) is searched as bytes. Prints findings; exit 1 if any.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

EXCLUDED_TOP = {"raw", "quarantine", "_truth"}


def raw_ips(lake: str) -> set[str]:
    ips: set[str] = set()
    for path in Path(lake, "raw", "interactions").rglob("*.jsonl*"):
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rb") as fh:
                for line in fh:
                    try:
                        ip = orjson.loads(line).get("client_ip")
                    except (orjson.JSONDecodeError, AttributeError):
                        continue
                    if isinstance(ip, str) and len(ip) >= 7:
                        ips.add(ip)
        except (OSError, EOFError):
            continue
    return ips


def written_files(lake: str) -> Iterator[Path]:
    root = Path(lake)
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if path.is_file() and rel and rel[0] not in EXCLUDED_TOP:
            yield path


def _parquet_strings(path: Path) -> Iterator[str]:
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    table = pq.read_table(path)
    for column in table.columns:
        flat = column
        while pt.is_list(flat.type) or pt.is_large_list(flat.type):
            flat = flat.combine_chunks().flatten()
        if pt.is_string(flat.type) or pt.is_large_string(flat.type) or pt.is_binary(flat.type):
            for value in flat.to_pylist():
                if value is not None:
                    yield value if isinstance(value, str) else value.decode("utf-8", "replace")


def scan(lake: str, ips: set[str] | None = None) -> list[tuple[str, str]]:
    """(file, ip) pairs for every raw IP found outside raw/ and quarantine/."""
    ips = ips if ips is not None else raw_ips(lake)
    if not ips:
        raise ValueError(f"no client IPs found in {lake}/raw: nothing to scan for")
    encoded = [(ip, ip.encode()) for ip in ips]
    findings = []
    for path in written_files(lake):
        if path.suffix == ".parquet":
            blob = "\n".join(_parquet_strings(path)).encode()
        elif path.suffix == ".gz":
            try:
                blob = gzip.decompress(path.read_bytes())
            except (OSError, EOFError):
                blob = path.read_bytes()
        else:
            blob = path.read_bytes()
        for ip, raw in encoded:
            if _contains_ip(blob, raw):
                findings.append((str(path), ip))
    return findings


_ADDRESS_CHARS = frozenset(b"0123456789abcdefABCDEF.:")


def _contains_ip(blob: bytes, ip: bytes) -> bool:
    """A whole-address match: 10.1.2.3 must not match inside 110.1.2.34."""
    start = blob.find(ip)
    while start != -1:
        end = start + len(ip)
        before_ok = start == 0 or blob[start - 1] not in _ADDRESS_CHARS
        after_ok = end == len(blob) or blob[end] not in _ADDRESS_CHARS
        if before_ok and after_ok:
            return True
        start = blob.find(ip, start + 1)
    return False


def main() -> int:
    findings = scan(sys.argv[1])
    for path, ip in findings[:50]:
        print(f"raw IP {ip} found in {path}")
    print(f"{len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
