"""Deterministic zip packaging of a Lambda source folder.

The same folder always gives the same bytes (sorted entries, fixed timestamps and modes), so the code hash
only changes when the code does and a second `pulumi up` with no change updates nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LambdaPackage:
    path: Path
    sha256_base64: str

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def _is_hidden(path: Path, root: Path) -> bool:
    """Hidden inside the folder: only the path below `root` counts, so a checkout under `~/.cache/...` or any
    other dot-folder still zips its files."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def zip_bytes(source_dir: Path) -> bytes:
    """The folder's files (hidden ones left out) as a reproducible zip."""
    files = sorted(p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(source_dir).as_posix(), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            archive.writestr(info, file.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def package_lambda(source_dir: Path, build_dir: Path, name: str) -> LambdaPackage:
    """Write `<build_dir>/<name>.zip` (only when its content changed) and return it with its hash."""
    data = zip_bytes(source_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{name}.zip"
    if not path.exists() or path.read_bytes() != data:
        # Write beside it, then rename: a concurrent reader sees the old zip or the new one, never half of one.
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    return LambdaPackage(
        path=path,
        sha256_base64=base64.b64encode(hashlib.sha256(data).digest()).decode(),
    )
