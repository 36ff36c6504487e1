"""The function's zip is reproducible: same folder, same bytes, same hash."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.packaging import package_lambda, zip_bytes

ECHO = Path(__file__).resolve().parents[1] / "lambda_src" / "echo"


def test_same_folder_gives_identical_bytes(tmp_path: Path) -> None:
    first = package_lambda(ECHO, tmp_path / "a", "echo")
    second = package_lambda(ECHO, tmp_path / "b", "echo")
    assert first.read_bytes() == second.read_bytes()
    assert first.sha256_base64 == second.sha256_base64


def test_zip_holds_the_handler_at_its_root() -> None:
    with zipfile.ZipFile(io.BytesIO(zip_bytes(ECHO))) as archive:
        assert archive.namelist() == ["index.mjs"]
        assert archive.read("index.mjs") == (ECHO / "index.mjs").read_bytes()


def test_hidden_files_are_left_out_and_changes_change_the_hash(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.mjs").write_text("export const handler = async () => 1;\n")
    (source / ".env").write_text("SECRET=1\n")
    before = package_lambda(source, tmp_path / "build", "fn")
    with zipfile.ZipFile(before.path) as archive:
        assert archive.namelist() == ["index.mjs"]
    (source / "index.mjs").write_text("export const handler = async () => 2;\n")
    after = package_lambda(source, tmp_path / "build", "fn")
    assert after.sha256_base64 != before.sha256_base64


def test_bytes_do_not_depend_on_mtime_mode_or_creation_order(tmp_path: Path) -> None:
    """A checkout on another machine (other mtimes, an executable bit, files made in another order) zips the same."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    files = {"index.mjs": "export const handler = async () => 1;\n", "lib/util.mjs": "export const x = 1;\n"}
    for name, text in files.items():
        (first / name).parent.mkdir(exist_ok=True)
        (first / name).write_text(text)
    for name, text in reversed(files.items()):
        (second / name).parent.mkdir(exist_ok=True)
        (second / name).write_text(text)
        os.utime(second / name, (1_000_000_000, 1_000_000_000))  # 2001
        (second / name).chmod(0o755)
    assert zip_bytes(first) == zip_bytes(second)
    with zipfile.ZipFile(io.BytesIO(zip_bytes(second))) as archive:
        assert archive.namelist() == ["index.mjs", "lib/util.mjs"]
        for info in archive.infolist():  # not the file's time, nor the time of zipping: a fixed one
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644


def test_a_checkout_under_a_hidden_folder_still_zips_its_files(tmp_path: Path) -> None:
    """Only the path inside the function's folder decides what is hidden (`~/.cache/...` is a common home)."""
    source = tmp_path / ".cache" / "checkout" / "lambda_src" / "fn"
    source.mkdir(parents=True)
    (source / "index.mjs").write_text("export const handler = async () => 1;\n")
    (source / ".secret").write_text("x")
    with zipfile.ZipFile(io.BytesIO(zip_bytes(source))) as archive:
        assert archive.namelist() == ["index.mjs"]


def test_bytes_do_not_depend_on_the_order_the_filesystem_lists_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory listing has no defined order (os.scandir: "arbitrary order"; ext4 lists by hash, APFS by name):
    the same files listed in the opposite order zip to the same bytes, entries sorted by path."""
    source = tmp_path / "src"
    for name in ("index.mjs", "lib/a.mjs", "lib/b.mjs", "z.json"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(f"// {name}\n")
    listed = Path.rglob
    as_listed = zip_bytes(source)

    def reversed_listing(self: Path, pattern: str) -> Iterator[Path]:
        return iter(sorted(listed(self, pattern), reverse=True))

    monkeypatch.setattr(Path, "rglob", reversed_listing)
    assert zip_bytes(source) == as_listed
    with zipfile.ZipFile(io.BytesIO(as_listed)) as archive:
        assert archive.namelist() == ["index.mjs", "lib/a.mjs", "lib/b.mjs", "z.json"]
