"""Deterministic zip packaging of a Lambda source folder.

The same folder always gives the same bytes (sorted entries, fixed timestamps and modes), so the code hash
only changes when the code does and a second `pulumi up` with no change updates nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
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
    return _written(zip_bytes(source_dir), build_dir, name)


# AWS Lambda's code-size quotas (Lambda API `AccountLimit`: CodeSizeZipped, "the maximum size of a deployment
# package when it's uploaded directly to Lambda. Use Amazon S3 for larger files", and CodeSizeUnzipped, "the
# maximum size of a function's deployment package and layers when they're extracted"; the Lambda Developer Guide's
# "Lambda quotas" page gives their values: 50 MB and 250 MB).
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024

# The manylinux platform tag pip installs binary wheels for, per Lambda architecture (Lambda's Amazon Linux 2023
# runtimes are glibc 2.34: manylinux2014 wheels and newer up to 2.34 run there).
PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# npm's names for Lambda's architectures (npm's `--cpu`, Node's `process.arch`).
NPM_CPUS = {"arm64": "arm64", "x86_64": "x64"}


class PackagingError(Exception):
    """A function folder that cannot become a deployment package, with what is wrong and what to do."""


def unzipped_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _fingerprint(source_dir: Path, *settings: str) -> str:
    """What the built package depends on: every file of the folder (path and bytes) and the build settings."""
    digest = hashlib.sha256("\0".join(settings).encode())
    for file in sorted(p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir)):
        if "node_modules" in file.relative_to(source_dir).parts:
            continue
        digest.update(file.relative_to(source_dir).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _copy_source(source_dir: Path, staging: Path) -> None:
    for file in sorted(p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir)):
        relative = file.relative_to(source_dir)
        if "node_modules" in relative.parts:  # built afresh from the lock file, never the build machine's
            continue
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, staging / relative)


def _run(command: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PackagingError(f"{what} failed ({' '.join(command[:4])} ...): {done.stderr.strip()[-2000:]}")


def _install_python(staging: Path, runtime: str, architecture: str) -> None:
    """requirements.txt into the package: binary wheels for Lambda's platform and Python, never the build
    machine's (pip's documented cross-platform install: --platform, --python-version, --implementation and
    --only-binary=:all:, https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-platform)."""
    python_version = runtime.removeprefix("python")
    _run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(staging), "--platform", PIP_PLATFORMS[architecture], "--implementation", "cp",
            "--python-version", python_version, "--only-binary=:all:", "--requirement",
            str(staging / "requirements.txt"),
        ],
        staging,
        f"installing requirements.txt for {runtime} on {architecture}",
    )  # fmt: skip
    # Console scripts carry the build machine's interpreter path and never run in Lambda.
    shutil.rmtree(staging / "bin", ignore_errors=True)


def _install_node(staging: Path, architecture: str) -> None:
    """package.json's production dependencies, exactly as its lock file pins them (`npm ci --omit=dev`), with
    optional native packages chosen for Lambda's Linux, architecture and C library (Amazon Linux: glibc), not the
    build machine's: without `--libc` npm judges glibc-only packages by the build machine's libc, which is none on
    macOS and musl on Alpine (npm docs, config `libc`; npm-install-checks), and skips them."""
    if not (staging / "package-lock.json").is_file() and not (staging / "npm-shrinkwrap.json").is_file():
        raise PackagingError(
            "package.json needs its lock file (package-lock.json): run `npm install` in the function's folder and "
            "commit the lock file, so every build installs the same dependencies"
        )
    _run(
        [
            "npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--os=linux",
            f"--cpu={NPM_CPUS[architecture]}", "--libc=glibc",
        ],
        staging,
        f"npm ci for {architecture}",
    )  # fmt: skip


def build_package(source: Path, runtime: str, architecture: str, build_dir: Path, name: str) -> LambdaPackage:
    """A deployment package for a function's source, by its kind, reproducibly:

    - a prebuilt `.zip` file: used as it is;
    - a Python runtime: the folder, plus `requirements.txt`'s dependencies as wheels for Lambda's platform;
    - a Node.js runtime: the folder, plus `package.json`'s production dependencies from its lock file.

    Dependencies are installed once per content of the folder and settings (a cache under `build_dir`), so an
    `up` with no change installs nothing and gives the same bytes. Refused: a package over Lambda's unzipped
    limit (the sizes and the limit in the message).
    """
    if source.is_file():
        if source.suffix != ".zip":
            raise PackagingError(f"{source} is a file but not a .zip: give a folder or a prebuilt zip")
        data = source.read_bytes()
        package = _written(data, build_dir, name)
    else:
        needs_python = runtime.startswith("python") and (source / "requirements.txt").is_file()
        needs_node = runtime.startswith("nodejs") and (source / "package.json").is_file()
        if not (needs_python or needs_node):
            package = package_lambda(source, build_dir, name)
        else:
            staging = build_dir / f"{name}-{_fingerprint(source, runtime, architecture)[:16]}"
            if not (staging / ".complete").is_file():
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                _copy_source(source, staging)
                if needs_python:
                    _install_python(staging, runtime, architecture)
                else:
                    _install_node(staging, architecture)
                (staging / ".complete").write_text("")  # hidden: never zipped
            package = package_lambda(staging, build_dir, name)
    size = unzipped_size(package.read_bytes())
    if size > UNZIPPED_LIMIT:
        raise PackagingError(
            f"the package of {name} is {size / 2**20:.1f} MiB unzipped; Lambda allows at most "
            f"{UNZIPPED_LIMIT / 2**20:.0f} MiB (function and layers, extracted): trim its dependencies or use a "
            "container image (packageType Image)"
        )
    return package


def _written(data: bytes, build_dir: Path, name: str) -> LambdaPackage:
    """`<build_dir>/<name>.zip` holding `data` (rewritten only when it changed), with its hash. Written beside it,
    then renamed: a concurrent reader sees the old zip or the new one, never half of one."""
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{name}.zip"
    if not path.exists() or path.read_bytes() != data:
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    return LambdaPackage(path=path, sha256_base64=base64.b64encode(hashlib.sha256(data).digest()).decode())
