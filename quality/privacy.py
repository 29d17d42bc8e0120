"""Pseudonymisation of personal data at ingest: nothing past raw/ holds a client IP or a domain.

- Client IPs become a network prefix (/24 for IPv4, /48 for IPv6) and a keyed hash of the full
  address, so features can still link accounts on one address or one network.
- Email domains become a keyed hash and a coarse class (`edu`, `freemail`, `other`).

Hashes are HMAC-SHA256 with the key in `RISK_PSEUDONYM_KEY`. When it is unset a random key is
generated once into `~/.config/riskctl/pseudonym.key` (or `RISK_PSEUDONYM_KEY_FILE`), a warning is
logged, and later runs reuse it: `make demo` needs no manual step, yet hashes stay stable across
runs. The key is never logged and never written to a table. Each kind of value is hashed under
its own label, so an IP hash cannot be matched against a domain hash.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from core.settings import settings

log = logging.getLogger("risk.privacy")

KEY_ENV = "RISK_PSEUDONYM_KEY"
HASH_HEX_CHARS = 32  # 128 bits: collision-free at any realistic number of addresses

IPV4_PREFIX = 24
IPV6_PREFIX = 48

# Webmail providers anyone can sign up to for free; a short, stable list is enough for a class.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.co.jp",
        "yahoo.fr",
        "ymail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "zoho.com",
        "tutanota.com",
        "fastmail.com",
        "hey.com",
        "inbox.com",
        "rediffmail.com",
    }
)


def key_file() -> Path:
    return Path(settings().pseudonym_key_file).expanduser()


def pseudonym_key() -> bytes:
    """The HMAC key: RISK_PSEUDONYM_KEY, else the key file (created once with a warning)."""
    value = settings().pseudonym_key
    if value:
        return value.encode("utf-8")
    path = key_file()
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    new_key = secrets.token_hex(32)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new_key + "\n")
    log.warning(
        "%s is unset: generated a pseudonymisation key into %s and will reuse it; set %s "
        "(the same value on every machine) to keep hashes stable across hosts",
        KEY_ENV,
        path,
        KEY_ENV,
    )
    return new_key.encode("utf-8")


def keyed_hash(key: bytes, label: bytes, value: bytes) -> str:
    return hmac.new(key, label + b"\x00" + value, hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None when `text` is not an IPv4/IPv6 address. IPv4-mapped IPv6 -> IPv4."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.scope_id:  # a zone index names a local interface, not part of the address
            addr = ipaddress.IPv6Address(addr.packed)
    return addr


def _ipv4_octets(text: str) -> bytes | None:
    """Fast path for dotted-quad IPv4 (ipaddress is ~10x slower); same strictness as ipaddress."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    out = []
    for part in parts:
        if not part.isdigit() or not part.isascii() or len(part) > 3:
            return None
        if len(part) > 1 and part[0] == "0":  # ipaddress rejects leading zeros (ambiguous octal)
            return None
        value = int(part)
        if value > 255:
            return None
        out.append(value)
    return bytes(out)


def ip_prefix(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if addr.version == 4:
        a, b, c, _ = addr.packed
        return f"{a}.{b}.{c}.0/{IPV4_PREFIX}"
    net = int(addr) >> (128 - IPV6_PREFIX) << (128 - IPV6_PREFIX)
    return f"{ipaddress.IPv6Address(net)}/{IPV6_PREFIX}"


def ip_pseudonyms(key: bytes, text: str) -> tuple[str, str] | None:
    """(ip_prefix, ip_hash) of an address, or None when it does not parse."""
    return Pseudonymizer(key).ip(text)


class Pseudonymizer:
    """Keyed pseudonyms with a per-instance cache (addresses repeat a lot within a day)."""

    CACHE_MAX = 200_000

    def __init__(self, key: bytes) -> None:
        self._ip_mac = hmac.new(key, b"ip\x00", hashlib.sha256)
        self._domain_mac = hmac.new(key, b"email_domain\x00", hashlib.sha256)
        self._ips: dict[str, tuple[str, str] | None] = {}
        self._domains: dict[str, tuple[str, str]] = {}

    def _hash(self, base, value: bytes) -> str:
        mac = base.copy()
        mac.update(value)
        return mac.hexdigest()[:HASH_HEX_CHARS]

    def ip(self, text: str) -> tuple[str, str] | None:
        """(ip_prefix, ip_hash), or None when `text` is not an IPv4/IPv6 address."""
        cache = self._ips
        if text in cache:
            return cache[text]
        if len(cache) >= self.CACHE_MAX:
            cache.clear()
        packed = _ipv4_octets(text)
        pair: tuple[str, str] | None
        if packed is not None:
            pair = (
                f"{packed[0]}.{packed[1]}.{packed[2]}.0/{IPV4_PREFIX}",
                self._hash(self._ip_mac, packed),
            )
        else:
            addr = parse_ip(text) if len(text) <= 64 else None
            pair = (
                None if addr is None else (ip_prefix(addr), self._hash(self._ip_mac, addr.packed))
            )
        cache[text] = pair
        return pair

    def email_domain(self, text: str) -> tuple[str, str]:
        """(email_domain_hash, email_domain_class) of a domain (or of an address's domain)."""
        cache = self._domains
        pair = cache.get(text)
        if pair is None:
            if len(cache) >= self.CACHE_MAX:
                cache.clear()
            domain = normalize_domain(text)
            pair = (
                self._hash(self._domain_mac, domain.encode("utf-8")),
                email_domain_class(domain),
            )
            cache[text] = pair
        return pair


def normalize_domain(text: str) -> str:
    domain = text.strip().lower()
    if "@" in domain:  # tolerate a full address: only the domain part is ever used
        domain = domain.rsplit("@", 1)[1]
    return domain.rstrip(".")


def email_domain_class(domain: str) -> str:
    """`edu` for academic domains (.edu, .edu.xx, .ac.xx), `freemail` for webmail, else `other`."""
    domain = normalize_domain(domain)
    if domain in FREEMAIL_DOMAINS:
        return "freemail"
    labels = domain.split(".")
    if labels[-1] == "edu":
        return "edu"
    # Country academic zones: uni.edu.au, ox.ac.uk (second level `edu`/`ac` under a ccTLD).
    if len(labels) >= 3 and labels[-2] in ("edu", "ac") and len(labels[-1]) == 2:
        return "edu"
    return "other"
