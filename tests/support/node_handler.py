"""The echo handler (lambda_src/echo/index.mjs), run by node exactly as Lambda runs it: an event in, its JSON out."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HANDLER = Path(__file__).resolve().parents[2] / "lambda_src" / "echo" / "index.mjs"


def invoke(event: object) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to run the Lambda handler (.ci/run installs it)")
    script = (
        f"import {{ handler }} from {json.dumps(HANDLER.as_uri())};\n"
        "const event = JSON.parse(process.argv[1]);\n"
        "process.stdout.write(JSON.stringify(await handler(event)));\n"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(event)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout
