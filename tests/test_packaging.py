"""The function's zip is reproducible: same folder, same bytes, same hash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

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
