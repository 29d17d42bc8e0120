"""Scan everything the pipeline wrote for the raw zone's client IPs.

Collects every client_ip of the raw interactions, then looks for them in every file under the
lake outside raw/ and quarantine/ (and the ground truth of the generator): Parquet is decoded
(all string/binary values), gzip is decompressed, everything else (HTML, JSON, YAML, MLflow
artifacts and the SQLite database) is searched as bytes. Prints findings; exit 1 if any.
"""

from __future__ import annotations

import gzip
import ipaddress
import re
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
    wanted = {ip.encode(): ip for ip in ips}
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
        findings += [(str(path), wanted[raw]) for raw in sorted(_found(blob, wanted))]
    return findings


# A maximal run of address characters: a whole-address match is a run equal to a raw IP (so
# 10.1.2.3 never matches inside 110.1.2.34). One pass per file, whatever the number of IPs.
_ADDRESS_RUN = re.compile(rb"[0-9A-Fa-f.:]+")


def _found(blob: bytes, wanted: dict[bytes, str]) -> set[bytes]:
    out = set()
    for match in _ADDRESS_RUN.finditer(blob):
        run = match.group()
        candidates = [(run, match.end())]
        if b"." in run and b":" in run:  # 1.2.3.4:8080, ::ffff:1.2.3.4: the IPv4 inside
            pos = match.start()
            for part in run.split(b":"):
                candidates.append((part, pos + len(part)))
                pos += len(part) + 1
        for cand, end in candidates:
            if cand in wanted and not _is_network_notation(blob, cand, end):
                out.add(cand)
    return out


def _is_network_notation(blob: bytes, ip: bytes, end: int) -> bool:
    """`ip` followed by `/n` where ip is the network address of a prefix shorter than a host
    (198.51.100.0/24): the pipeline's own IP prefixes, not an address. An address that merely
    ends in .0 equals such a network's text; `/32` (or /128) would still be a host."""
    if end >= len(blob) or blob[end : end + 1] != b"/":
        return False
    digits = bytearray()
    for byte in blob[end + 1 : end + 4]:
        if not 48 <= byte <= 57:
            break
        digits.append(byte)
    if not digits:
        return False
    try:
        net = ipaddress.ip_network(f"{ip.decode()}/{digits.decode()}", strict=True)
    except ValueError:  # host bits set: "ip/n" names the host itself
        return False
    return net.prefixlen < net.max_prefixlen


def main() -> int:
    findings = scan(sys.argv[1])
    for path, ip in findings[:50]:
        print(f"raw IP {ip} found in {path}")
    print(f"{len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
