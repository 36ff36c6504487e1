"""Functions from source with real dependencies: built for Lambda's platform, reproducibly, and run for real."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.packaging import PackagingError, build_package, unzipped_size
from program.config import LAMBDA_SRC

GREET = LAMBDA_SRC / "greet-python"
UPTIME = LAMBDA_SRC / "uptime-node"


def extract(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as archive:
        archive.extractall(into)
    return into


def test_a_python_function_with_a_dependency_is_built_reproducibly_and_its_real_handler_runs(
    tmp_path: Path,
) -> None:
    assert importlib.util.find_spec("humanize") is None  # only the package can supply it
    host = f"python{sys.version_info.major}.{sys.version_info.minor}"
    package = build_package(GREET, host, "x86_64", tmp_path / "a", "greet")
    elsewhere = build_package(GREET, host, "x86_64", tmp_path / "b", "greet")  # another checkout, another install
    assert package.read_bytes() == elsewhere.read_bytes() and package.sha256_base64 == elsewhere.sha256_base64
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
    assert "handler.py" in names and "humanize/__init__.py" in names
    assert not any(name.startswith("bin/") or "__pycache__" in name for name in names)
    code = f"import sys, json; sys.path.insert(0, {str(extract(package.path, tmp_path / 'run'))!r}); import handler; "
    code += "print(json.dumps(handler.handler({'key1': 'value1'}, None)))"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"message": "Hello from Python on Lambda", "request_size": "18 Bytes"}
    # The dependencies are installed once per content: a second build of the same source reuses the first's.
    staged = next(p for p in (tmp_path / "a").iterdir() if p.is_dir())
    (staged / "humanize" / "marker.txt").write_text("from the cache")
    again = build_package(GREET, host, "x86_64", tmp_path / "a", "greet")
    with zipfile.ZipFile(again.path) as archive:
        assert "humanize/marker.txt" in archive.namelist()


def test_binary_wheels_are_lambdas_platform_and_python_not_the_build_machines(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "handler.py").write_text("import markupsafe\ndef handler(event, context):\n    return 1\n")
    (source / "requirements.txt").write_text("markupsafe==3.0.2\n")
    arm = build_package(source, "python3.13", "arm64", tmp_path / "arm", "fn")
    x86 = build_package(source, "python3.12", "x86_64", tmp_path / "x86", "fn")
    with zipfile.ZipFile(arm.path) as archive:
        assert "markupsafe/_speedups.cpython-313-aarch64-linux-gnu.so" in archive.namelist()
    with zipfile.ZipFile(x86.path) as archive:
        assert "markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so" in archive.namelist()


def test_a_node_function_gets_its_production_dependencies_from_the_lock_file_and_runs(tmp_path: Path) -> None:
    package = build_package(UPTIME, "nodejs24.x", "arm64", tmp_path / "build", "uptime")
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
    assert {"index.mjs", "package.json", "package-lock.json", "node_modules/ms/index.js"} <= set(names)
    run = extract(package.path, tmp_path / "run")
    script = "import('./index.mjs').then(async (m) => console.log(JSON.stringify(await m.handler({key1: 'value1'}))))"
    done = subprocess.run(["node", "-e", script], cwd=run, capture_output=True, text=True, check=True)
    body = json.loads(json.loads(done.stdout)["body"])
    assert body["message"] == "Hello from Node.js on Lambda" and body["event"] == {"key1": "value1"}
    assert body["warm_for"].endswith("ms") or "second" in body["warm_for"]  # ms's own long format


def names_in(data: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return set(archive.namelist())


def test_native_packages_are_installed_for_lambdas_architecture(node_builds: dict[str, bytes]) -> None:
    """npm picks optional native packages by `--cpu`, whose values are Node's `process.arch` (x64, arm64; npm docs,
    config `cpu`: "Acceptable values are same as `cpu` field of package.json, which comes from `process.arch`"):
    told `x86_64` it would match neither. Both builds share one build folder: the x86_64 one is not the arm64
    install reused (the cache is per architecture)."""
    arm, x86 = names_in(node_builds["arm64"]), names_in(node_builds["x86_64"])
    arm_package = "node_modules/@parcel/watcher-linux-arm64-glibc/package.json"
    x86_package = "node_modules/@parcel/watcher-linux-x64-glibc/package.json"
    assert arm_package in arm and x86_package not in arm
    assert x86_package in x86 and arm_package not in x86


def test_the_build_machines_node_modules_never_reach_the_package(node_builds: dict[str, bytes]) -> None:
    """Dependencies come from the lock file, installed for Lambda; what `npm install` left beside the source (at its
    root or in a subfolder, where Node would resolve it first) is the build machine's and stays out."""
    for data in node_builds.values():
        names = names_in(data)
        assert "node_modules/ms/index.js" in names and "index.mjs" in names
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert b"build machine" not in archive.read("node_modules/ms/index.js")
        assert not any("stray" in name or name.startswith("lib/") for name in names)


def test_a_node_function_without_a_lock_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.mjs").write_text("export const handler = async () => 1;\n")
    (source / "package.json").write_text('{"dependencies": {"ms": "2.1.3"}}')
    with pytest.raises(PackagingError, match=r"package\.json needs its lock file"):
        build_package(source, "nodejs24.x", "arm64", tmp_path / "build", "fn")


def test_a_prebuilt_zip_is_used_as_it_is_and_oversized_packages_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prebuilt = tmp_path / "fn.zip"
    # Deflated: zipped it is far under the limit, so only its unzipped size (what Lambda limits) can refuse it.
    with zipfile.ZipFile(prebuilt, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.mjs", "export const handler = async () => 1;\n" + " " * 5000)
    assert prebuilt.stat().st_size < 5000
    package = build_package(prebuilt, "nodejs24.x", "arm64", tmp_path / "build", "fn")
    assert package.read_bytes() == prebuilt.read_bytes()
    assert unzipped_size(package.read_bytes()) == 5038
    monkeypatch.setattr("components.packaging.UNZIPPED_LIMIT", 5000)
    with pytest.raises(PackagingError, match=r"is 0.0 MiB unzipped; Lambda allows at most 0 MiB"):
        build_package(prebuilt, "nodejs24.x", "arm64", tmp_path / "build", "fn")


def test_the_unzipped_limit_is_lambdas_250_mb() -> None:
    """Lambda's CodeSizeUnzipped quota, 262,144,000 bytes (250 MiB: the Lambda Developer Guide's "Lambda quotas")."""
    from components.packaging import UNZIPPED_LIMIT

    assert UNZIPPED_LIMIT == 262_144_000


@pytest.mark.parametrize(("architecture", "cpu"), [("arm64", "arm64"), ("x86_64", "x64")])
def test_npm_is_asked_for_lambdas_platform_whatever_the_build_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, architecture: str, cpu: str
) -> None:
    """Linux, the function's CPU (npm's `process.arch` names) and glibc (Amazon Linux): without `--libc` npm skips
    glibc-only native packages on a macOS or Alpine build machine, and the function fails in Lambda."""
    fake_bin, recorded = tmp_path / "bin", tmp_path / "npm-argv.json"
    fake_bin.mkdir()
    npm = fake_bin / "npm"
    npm.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(recorded)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "os.makedirs('node_modules/ms', exist_ok=True)\nopen('node_modules/ms/index.js', 'w').write('')\n"
    )
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.mjs").write_text("export const handler = async () => 1;\n")
    (source / "package.json").write_text('{"name": "f", "version": "1.0.0", "dependencies": {"ms": "2.1.3"}}')
    (source / "package-lock.json").write_text('{"name": "f", "lockfileVersion": 3, "packages": {}}')
    build_package(source, "nodejs24.x", architecture, tmp_path / "build", "f")
    argv = json.loads(recorded.read_text())
    assert argv[0] == "ci" and {"--os=linux", f"--cpu={cpu}", "--libc=glibc", "--omit=dev"} <= set(argv), argv
