"""envd's file transfer endpoints: `GET /files?path=P` and `POST /files` (multipart field
`file`, or an octet-stream body with `?path=`), confined to the sandbox's directory."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from typing import Optional

from .httpio import HTTPFailure, Response
from .listing import one

_BOUNDARY = re.compile(r'boundary=("?)([^";]+)\1')
_DISPOSITION_NAME = re.compile(r'\bname="([^"]*)"')
_DISPOSITION_FILENAME = re.compile(r'\bfilename="([^"]*)"')


def _resolve(sb, path: Optional[str], must_exist: bool) -> str:
    if not path:
        raise HTTPFailure(400, "The path parameter is required.")
    try:
        return sb.resolve_path(path, must_exist=must_exist)
    except ValueError as e:
        raise HTTPFailure(400, str(e))
    except FileNotFoundError:
        raise HTTPFailure(404, f"The file {path} was not found.")


def read_file(handler, sb) -> Response:
    """GET /files: the file's bytes (gzip-encoded when the client accepts it)."""
    path = _resolve(sb, one(handler.query, "path"), must_exist=True)
    if os.path.isdir(path):
        raise HTTPFailure(400, f"The path {one(handler.query, 'path')} is a directory.")
    size = os.path.getsize(path)
    if size > handler.ctx.max_file_bytes:
        raise HTTPFailure(413, f"The file is larger than {handler.ctx.max_file_bytes} bytes.")
    with open(path, "rb") as f:
        data = f.read(handler.ctx.max_file_bytes + 1)
    headers = {"Content-Type": "application/octet-stream"}
    if "gzip" in (handler.headers.get("Accept-Encoding") or ""):
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return Response(200, data, headers)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress a gzip upload without ever holding more than `limit` bytes of it."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error:
        raise HTTPFailure(400, "The gzip-encoded upload is not valid gzip.")
    if len(out) > limit or d.unconsumed_tail:
        raise HTTPFailure(413, f"The decompressed upload is larger than {limit} bytes.")
    return out


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, Optional[str], bytes]]:
    """The parts of a multipart/form-data body as (field name, filename, data)."""
    m = _BOUNDARY.search(content_type)
    if not m:
        raise HTTPFailure(400, "The multipart Content-Type carries no boundary.")
    delimiter = b"--" + m.group(2).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise HTTPFailure(400, "The multipart body is not closed by its boundary.")
    parts = []
    for chunk in chunks[1:-1]:
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise HTTPFailure(400, "A multipart part has no header section.")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name, filename = None, None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                n = _DISPOSITION_NAME.search(line)
                f = _DISPOSITION_FILENAME.search(line)
                name = n.group(1) if n else None
                filename = f.group(1).replace("%22", '"') if f else None
        parts.append((name or "", filename, data))
    return parts


def _write(sb, requested: str, data: bytes) -> dict:
    path = _resolve(sb, requested, must_exist=False)
    if os.path.isdir(path):
        raise HTTPFailure(400, f"The path {requested} is a directory.")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"name": os.path.basename(path), "type": "file", "path": path}


def write_files(handler, sb) -> Response:
    """POST /files: write one or more files; 200 with their WriteInfo list."""
    limit = handler.ctx.max_file_bytes
    raw = handler.body(limit + 64 * 1024).read_all()
    content_type = handler.headers.get("Content-Type") or ""
    path = one(handler.query, "path")
    if content_type.startswith("application/octet-stream"):
        if (handler.headers.get("Content-Encoding") or "").lower() == "gzip":
            raw = _gunzip(raw, limit)
        if len(raw) > limit:
            raise HTTPFailure(413, f"The upload is larger than {limit} bytes.")
        return Response.json(200, [_write(sb, path, raw)])
    if not content_type.startswith("multipart/form-data"):
        raise HTTPFailure(400, "Uploads must be multipart/form-data or application/octet-stream.")
    parts = [p for p in parse_multipart(raw, content_type) if p[0] == "file"]
    if not parts:
        raise HTTPFailure(400, "The multipart body has no part named file.")
    written = []
    for _, filename, data in parts:
        target = path if (path and len(parts) == 1) else filename
        if not target:
            raise HTTPFailure(400, "A file part names no path (no path parameter and no filename).")
        written.append(_write(sb, target, data))
    return Response.json(200, written)
