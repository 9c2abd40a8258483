"""Key material: where it comes from, how the working keys are derived, how it rotates.

Sources, in order (names configured under ``security.keyring``):

1. ``$LAKEHOUSE_KEYRING``: the keyring JSON (the same document a key file holds) or one bare master
   key (base64 or hex, at least 32 bytes; it becomes version 1);
2. ``$LAKEHOUSE_KEY_FILE``: the path of a key file (for example a mounted secret);
3. local runs only: ``security.keyring.file`` (default ``<paths.root>/../.keys/lakehouse.keyring``),
   created once with mode 0600 in a 0700 directory.

A cluster run (``env_name == 'cluster'``) accepts only 1 or 2 and never creates a key. A key file that
is readable or writable by group or others, or owned by another user, is refused.

A keyring holds numbered master keys (32 random bytes each). Working keys are derived from a master
key with HKDF-SHA256 (RFC 5869), one per purpose, so no two uses share a key:

- ``pseudonym/<kind>``: the HMAC-SHA256 key of one identifier kind (cccd, cmnd, tax_code, bhxh,
  phone, name). Tokens of the same digits under two kinds never collide (domain separation).
- ``encrypt/aes-256-gcm``: the AES-256 key for recoverable fields.

Two pointers say which version does what: ``active`` encrypts new values (every version still in the
keyring can decrypt, the version travels in the ciphertext header), ``pseudonym`` computes tokens.
Rotating the encryption key is routine (``rotate``); moving the pseudonym version
(``rotate --pseudonyms``) changes every token, so gold must be rebuilt from silver (see README).

Key bytes are never printed, logged, pickled or put in config; ``repr(keyring)`` shows versions only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lakehouse.errors import KeyMaterialError

FORMAT = "lakehouse-keyring/1"
MASTER_KEY_BYTES = 32
HMAC_BLOCK = 64
# Identifier kind -> how a value is normalised before it is pseudonymised (mirrored in Spark by
# lakehouse.security.protect.normalise): digits = ASCII digits only; text = whitespace runs folded
# to one space, trimmed, upper case.
DEFAULT_KINDS: dict[str, str] = {
    "cccd": "digits", "cmnd": "digits", "tax_code": "digits", "bhxh": "digits", "phone": "digits", "name": "text",
}
NORMALISERS = ("digits", "text")
_WS = re.compile(r"[ \t\n\x0b\f\r]+")
_NOT_DIGIT = re.compile(r"[^0-9]")


# --- derivation ------------------------------------------------------------------------------

def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF (RFC 5869) with SHA-256."""
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def normalise_value(value: Any, normaliser: str) -> str | None:
    """Python twin of protect.normalise (same result as the Spark expression)."""
    if value is None:
        return None
    s = str(value)
    if normaliser == "digits":
        s = _NOT_DIGIT.sub("", s)
    elif normaliser == "text":
        s = _WS.sub(" ", s).strip(" ").upper()
    else:
        raise KeyMaterialError(f"unknown normaliser '{normaliser}' (one of {NORMALISERS})")
    return s or None


@dataclass(frozen=True, repr=False, eq=False)
class Keyring:
    """Numbered master keys plus the versions in use. Hand it to protect/access/erase; never log it."""

    _masters: Mapping[int, bytes]
    active: int
    pseudonym: int
    context: str = "lakehouse"
    kinds: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    source: str = ""

    def __post_init__(self) -> None:
        for v in (self.active, self.pseudonym):
            if v not in self._masters:
                raise KeyMaterialError(f"keyring ({self.source}): version {v} is in use but not in the keyring")
        if not 1 <= max(self._masters) <= 0xFFFF or min(self._masters) < 1:
            raise KeyMaterialError(f"keyring ({self.source}): versions must be 1..65535")
        for k, n in self.kinds.items():
            if n not in NORMALISERS:
                raise KeyMaterialError(f"security.pseudonym_kinds.{k}: normaliser '{n}' is not one of {NORMALISERS}")

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._masters))

    def _derive(self, version: int, purpose: str) -> bytes:
        if version not in self._masters:
            raise KeyMaterialError(f"keyring ({self.source}) has no key version {version}")
        return hkdf_sha256(self._masters[version], self.context.encode(), f"lakehouse/{purpose}".encode())

    def hmac_key(self, kind: str, version: int | None = None) -> bytes:
        if kind not in self.kinds:
            raise KeyMaterialError(f"unknown identifier kind '{kind}'; declared kinds: {sorted(self.kinds)}")
        return self._derive(self.pseudonym if version is None else version, f"pseudonym/{kind}")

    def aes_key(self, version: int | None = None) -> bytes:
        return self._derive(self.active if version is None else version, "encrypt/aes-256-gcm")

    def normalise(self, value: Any, kind: str) -> str | None:
        if kind not in self.kinds:
            raise KeyMaterialError(f"unknown identifier kind '{kind}'; declared kinds: {sorted(self.kinds)}")
        return normalise_value(value, self.kinds[kind])

    def token(self, value: Any, kind: str, version: int | None = None) -> str | None:
        """The pseudonym of one value, computed in Python (reference for the Spark expression; erasure)."""
        norm = self.normalise(value, kind)
        if norm is None:
            return None
        return hmac.new(self.hmac_key(kind, version), norm.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return (f"Keyring(versions={list(self.versions)}, active={self.active}, pseudonym={self.pseudonym}, "
                f"source={self.source!r})")

    __str__ = __repr__

    def __getstate__(self):  # keys must not travel inside pickled closures or UDFs
        raise TypeError("a Keyring cannot be pickled (key material must not leave the driver this way)")

    def __reduce_ex__(self, protocol):
        raise TypeError("a Keyring cannot be pickled (key material must not leave the driver this way)")


# --- keyring documents -----------------------------------------------------------------------

def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    s = text.strip()
    key: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]{64,}", s) and len(s) % 2 == 0:
        key = bytes.fromhex(s)
    else:
        try:
            key = base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_" if ("-" in s or "_" in s) else None,
                                   validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) < MASTER_KEY_BYTES:
        raise KeyMaterialError(f"{where}: a master key must be base64 or hex of at least {MASTER_KEY_BYTES} bytes")
    return key


def new_keyring_document() -> dict[str, Any]:
    return {"format": FORMAT, "active": 1, "pseudonym": 1,
            "keys": {"1": {"key": _encode_key(os.urandom(MASTER_KEY_BYTES)), "created": _now()}}}


def parse_keyring(text: str, where: str) -> dict[str, Any]:
    """A keyring document from its text: the JSON document, or one bare master key (version 1)."""
    s = text.strip()
    if s.startswith("{"):
        try:
            doc = json.loads(s)
        except ValueError:
            raise KeyMaterialError(f"{where}: not valid keyring JSON") from None
        if doc.get("format") != FORMAT or not isinstance(doc.get("keys"), dict) or not doc["keys"]:
            raise KeyMaterialError(f"{where}: expected a '{FORMAT}' document with a non-empty 'keys' object")
        return doc
    _decode_key(s, where)
    return {"format": FORMAT, "active": 1, "pseudonym": 1, "keys": {"1": {"key": s}}}


def keyring_from_document(doc: Mapping[str, Any], where: str, context: str = "lakehouse",
                          kinds: Mapping[str, str] | None = None) -> Keyring:
    try:
        masters = {int(v): _decode_key(str(entry["key"] if isinstance(entry, dict) else entry), f"{where} key {v}")
                   for v, entry in doc["keys"].items()}
        newest = max(masters)
        active = int(doc.get("active", newest))
        pseudonym = int(doc.get("pseudonym", active))
    except (KeyError, TypeError, ValueError):
        raise KeyMaterialError(f"{where}: malformed keyring (keys must be numbered versions)") from None
    return Keyring(masters, active, pseudonym, context, dict(kinds or DEFAULT_KINDS), where)


# --- key files -------------------------------------------------------------------------------

def check_key_file(path: str | os.PathLike) -> None:
    """Refuse a key file that others could read or change."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise KeyMaterialError(f"key file {p} does not exist") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError(f"key file {p} is not a regular file")
    loose = st.st_mode & 0o077
    if loose:
        raise KeyMaterialError(f"key file {p} has mode {stat.S_IMODE(st.st_mode):04o}: group/other may access it; "
                               f"refusing to use it (run: chmod 600 {p})")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise KeyMaterialError(f"key file {p} is owned by uid {st.st_uid}, not by this user; refusing to use it")


def read_key_file(path: str | os.PathLike) -> dict[str, Any]:
    check_key_file(path)
    return parse_keyring(Path(path).read_text(encoding="utf-8"), f"key file {path}")


def create_key_file(path: str | os.PathLike) -> dict[str, Any]:
    """Create a new keyring file with mode 0600 (directory 0700); never overwrite an existing one."""
    p = Path(path)
    p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    doc = new_keyring_document()
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return read_key_file(p)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    os.chmod(p, 0o600)
    return doc


def write_key_file(path: str | os.PathLike, doc: Mapping[str, Any]) -> None:
    """Replace a key file atomically, keeping mode 0600."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=p.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def rotate_key_file(path: str | os.PathLike, pseudonyms: bool = False) -> dict[str, int]:
    """Add a new master key and make it the encryption version (and the pseudonym version too when
    `pseudonyms`). Old versions stay for decryption until retired."""
    doc = read_key_file(path)
    versions = [int(v) for v in doc["keys"]]
    new = max(versions) + 1
    doc["keys"][str(new)] = {"key": _encode_key(os.urandom(MASTER_KEY_BYTES)), "created": _now()}
    doc.setdefault("pseudonym", int(doc.get("active", max(versions))))
    doc["active"] = new
    if pseudonyms:
        doc["pseudonym"] = new
    write_key_file(path, doc)
    return {"active": int(doc["active"]), "pseudonym": int(doc["pseudonym"]), "added": new}


def retire_key(path: str | os.PathLike, version: int) -> None:
    """Remove an old master key (after every ciphertext was re-encrypted and no token uses it)."""
    doc = read_key_file(path)
    if int(doc.get("active", 0)) == version or int(doc.get("pseudonym", 0)) == version:
        raise KeyMaterialError(f"key version {version} is still in use (active or pseudonym); rotate first")
    if str(version) not in doc["keys"]:
        raise KeyMaterialError(f"key version {version} is not in the keyring")
    del doc["keys"][str(version)]
    write_key_file(path, doc)


# --- from config -----------------------------------------------------------------------------

def _keys_cfg(cfg: Any) -> Mapping[str, Any]:
    sec = cfg.get("security") or {}
    return sec.get("keyring") or {}


def key_source(cfg: Any) -> tuple[str, str | None]:
    """Where this run's keys come from: ('env', var) | ('file', path) | ('create', path).
    Raises on a cluster run without externally provided keys."""
    kc = _keys_cfg(cfg)
    env_var = str(kc.get("env_var") or "LAKEHOUSE_KEYRING")
    file_env_var = str(kc.get("file_env_var") or "LAKEHOUSE_KEY_FILE")
    if os.environ.get(env_var):
        return "env", env_var
    if os.environ.get(file_env_var):
        return "file", os.environ[file_env_var]
    if str(cfg.get("env_name", "local")) == "cluster":
        raise KeyMaterialError(
            f"env=cluster refuses to run without keys provided from outside: set {env_var} (keyring JSON or a "
            f"base64 master key of {MASTER_KEY_BYTES}+ bytes, e.g. from a secret store) or {file_env_var} (path to "
            f"a mode-0600 key file, e.g. a mounted secret). Keys are never created on a cluster.")
    path = kc.get("file")
    if not path:
        raise KeyMaterialError(f"no keys: set {env_var} or {file_env_var}, or security.keyring.file for local runs")
    path = os.path.abspath(str(path))
    return ("file", path) if os.path.exists(path) else ("create", path)


def load_keyring(cfg: Any) -> Keyring:
    """The keyring for this run (see the module docstring for where it comes from)."""
    kc = _keys_cfg(cfg)
    context = str(kc.get("context") or "lakehouse")
    sec = cfg.get("security") or {}
    kinds_node = sec.get("pseudonym_kinds")
    kinds = {str(k): str(v) for k, v in dict(kinds_node).items()} if kinds_node else dict(DEFAULT_KINDS)
    kind, where = key_source(cfg)
    if kind == "env":
        doc = parse_keyring(os.environ[where], f"${where}")
        label = f"env {where}"
    else:
        if kind == "create":
            if not kc.get("create_if_missing", True):
                raise KeyMaterialError(f"key file {where} does not exist and security.keyring.create_if_missing is false")
            create_key_file(where)
        doc = read_key_file(where)
        label = f"file {where}"
    return keyring_from_document(doc, label, context, kinds)


def key_file_for_rotation(cfg: Any) -> str:
    kind, where = key_source(cfg)
    if kind == "env":
        raise KeyMaterialError(f"keys come from ${where}: rotate them in the secret store that sets it "
                               f"(lakehouse.security.keys.rotate_document can produce the new document)")
    if kind == "create":
        create_key_file(where)
    return str(where)


def rotate_document(doc_text: str, pseudonyms: bool = False) -> dict[str, Any]:
    """Rotation for keyrings kept in a secret store: returns the new document (to store, not print)."""
    doc = parse_keyring(doc_text, "keyring document")
    newest = max(int(v) for v in doc["keys"])
    doc.setdefault("pseudonym", int(doc.get("active", newest)))
    new = newest + 1
    doc["keys"][str(new)] = {"key": _encode_key(os.urandom(MASTER_KEY_BYTES)), "created": _now()}
    doc["active"] = new
    if pseudonyms:
        doc["pseudonym"] = new
    return doc


def main(argv: list[str] | None = None) -> int:
    """python -m lakehouse.security.keys {status|rotate [--pseudonyms]|retire VERSION} [hydra overrides]"""
    from lakehouse.config import compose

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("status", "rotate", "retire"):
        print(main.__doc__)
        return 2
    cmd, rest = args[0], args[1:]
    pseudonyms = "--pseudonyms" in rest
    rest = [a for a in rest if a != "--pseudonyms"]
    version = None
    if cmd == "retire":
        if not rest or not rest[0].isdigit():
            print("retire needs a version number")
            return 2
        version, rest = int(rest[0]), rest[1:]
    cfg = compose(rest)
    if cmd == "rotate":
        out = rotate_key_file(key_file_for_rotation(cfg), pseudonyms=pseudonyms)
        print(f"rotated: new version {out['added']}; encrypting with {out['active']}, pseudonyms with {out['pseudonym']}")
        if pseudonyms:
            print("pseudonyms changed: rebuild gold from silver and retrain models (README: Security and governance, Rotation)")
    elif cmd == "retire":
        retire_key(key_file_for_rotation(cfg), version)
        print(f"retired key version {version}")
    ring = load_keyring(cfg)
    print(repr(ring))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
