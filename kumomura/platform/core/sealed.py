"""Files kept encrypted with a municipality's key: backups, and uploads waiting for their
import job.

A file is a header (JSON, in the clear, authenticated) and the content in chunks of a
megabyte, each encrypted with AES-256-GCM. Each chunk's nonce carries its number and its
additional data the header and whether it is the last, so a changed byte, a reordered,
missing or cut-off chunk, another header or the wrong key all fail authentication before
the chunk is used. Streaming both ways: nothing is held whole in memory.

Keys: one random 256-bit key per municipality in a key directory kept apart from the
files (``KUMOMURA_BACKUP_KEY_DIR``, by default ``data_dir/keys``), made on first use.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.core.japanese import validate_lg_code

MAGIC = b"KMB1"
CHUNK = 1 << 20


class DamagedFile(InvalidInput):
    """A sealed file that cannot be trusted: damaged, cut off, or the wrong key."""


def municipality_key(key_dir: Path, lg_code: str, *, create: bool = False) -> bytes:
    """The municipality's own key (made on first use with ``create``)."""
    path = key_dir / f"{validate_lg_code(lg_code)}.key"
    if not path.exists():
        if not create:
            raise NotFound(f"{lg_code} の鍵がありません ({key_dir})", field="key")
        key_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) != 32:
        raise DamagedFile(f"{path.name} は鍵ではありません (32バイトではない)", field="key")
    return key


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)


def encrypt(plain: BinaryIO, out: BinaryIO, key: bytes, header: dict[str, object]) -> None:
    """Write ``header`` and ``plain`` (read a chunk at a time) sealed with ``key``."""
    raw = json.dumps(header, sort_keys=True).encode()
    out.write(MAGIC + struct.pack(">I", len(raw)) + raw)
    prefix = secrets.token_bytes(8)
    out.write(prefix)
    aead = AESGCM(key)
    index = 0
    block = plain.read(CHUNK)
    while True:
        following = plain.read(CHUNK)
        last = not following
        sealed = aead.encrypt(prefix + struct.pack(">I", index), block,
                              _aad(raw, index, last))
        out.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        block, index = following, index + 1


def read_header(handle: BinaryIO, *, error: type[DamagedFile] = DamagedFile
                ) -> tuple[dict[str, object], bytes]:
    """The header (and its bytes, which every chunk authenticates)."""
    if handle.read(4) != MAGIC:
        raise error("暗号化されたファイルではありません", field="file")
    (size,) = struct.unpack(">I", handle.read(4))
    raw = handle.read(size)
    try:
        return json.loads(raw), raw
    except ValueError:
        raise error("ファイルの見出しが壊れています", field="file") from None


def decrypt(path: Path, key: bytes, *, error: type[DamagedFile] = DamagedFile
            ) -> Iterator[bytes]:
    """The plaintext chunks; any damage raises ``error`` before the chunk is used."""
    with path.open("rb") as handle:
        _, raw = read_header(handle, error=error)
        prefix = handle.read(8)
        aead = AESGCM(key)
        index, last = 0, False
        while not last:
            length = handle.read(4)
            if len(length) < 4:
                raise error("ファイルが途中で切れています", field="file")
            (size,) = struct.unpack(">I", length)
            sealed = handle.read(size)
            nonce = prefix + struct.pack(">I", index)
            try:
                plain = aead.decrypt(nonce, sealed, _aad(raw, index, False))
            except InvalidTag:
                try:
                    plain = aead.decrypt(nonce, sealed, _aad(raw, index, True))
                    last = True
                except InvalidTag:
                    raise error("ファイルが壊れているか、鍵が違います (認証に失敗)",
                                field="file") from None
            yield plain
            index += 1
        if handle.read(1):
            raise error("ファイルの末尾に余分なデータがあります", field="file")
