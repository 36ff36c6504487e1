"""The fixtures every test module may ask for (and nothing else: what tests share otherwise is in tests/support)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pulumi
import pytest

from components import credentials
from components.packaging import build_package
from program.config import PROJECT_ROOT
from tests.support.engine_requests import Request, record_requests, record_versions
from tests.support.fake_aws import FakeAwsMocks
from tests.support.grpc_monitor import Monitor, monitor_server
from tests.support.iam_propagation import SimulatedClock
from tests.support.local_servers import moto_server
from tests.support.moto_account import moto_account
from tools.engine import Program, ProgramRun, run_program, stack_config
from tools.schema import package_schema

RunStack = Callable[..., ProgramRun]


@pytest.fixture
def run_stack() -> RunStack:
    """Run the real `__main__.py` with the dev stack's config plus overrides."""

    def run(
        overrides: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        mocks: pulumi.runtime.Mocks | None = None,
        program: Program | None = None,
    ) -> ProgramRun:
        config, secret_keys = stack_config("dev")
        config.update({k if ":" in k else f"kgateway-lambda:{k}": v for k, v in (overrides or {}).items()})
        for key, value in (secrets or {}).items():
            full_key = f"kgateway-lambda:{key}"
            config[full_key] = value
            secret_keys.append(full_key)
        return run_program(
            mocks or FakeAwsMocks(), config, secret_keys, stack="dev", program=program or PROJECT_ROOT / "__main__.py"
        )

    return run


@pytest.fixture(autouse=True)
def program_clock(monkeypatch: pytest.MonkeyPatch) -> SimulatedClock:
    """The program's clock (components.credentials.CLOCK), simulated in every test: a rotation's wait for its new
    key to settle (30 s) passes in milliseconds of wall time, and a test asks for this to see how long it was."""
    clock = SimulatedClock()
    monkeypatch.setattr(credentials, "CLOCK", clock)
    return clock


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    """An AWS account in moto, in process, for the test's length (tests/support/moto_account.py)."""
    with moto_account() as session:
        yield session


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The component package's schema, as Pulumi infers it from the components (tools/schema.py)."""
    return package_schema()


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """Every Kubernetes registration and read the program sends during the test (tests/support/engine_requests.py)."""
    return record_requests(monkeypatch)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Each request's provider package version during the test (tests/support/engine_requests.py)."""
    return record_versions(monkeypatch)


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A moto server over HTTP for the test's length (tests/support/local_servers.py `moto_server`)."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    """The engine's resource monitor and log service over gRPC, for a Construct call (tests/support/grpc_monitor.py)."""
    with monitor_server() as found:
        yield found


# The build machine's own node_modules beside a function's source (what `npm install` on a laptop leaves), at the
# folder's root and below it; none of it may reach the package.
BUILD_MACHINES_NODE_MODULES = {
    "node_modules/ms/index.js": "module.exports = 'the build machine s copy';\n",
    "node_modules/stray/index.js": "module.exports = 'not in the lock file';\n",
    "lib/node_modules/stray/index.js": "module.exports = 'not in the lock file either';\n",
}


@pytest.fixture(scope="session")
def node_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """tests/data/native-node (a lock file with a native package per CPU), with the build machine's node_modules
    beside it, built for each Lambda architecture into one build folder (one `npm ci` each, from the registry):
    the zip's bytes per architecture."""
    source = tmp_path_factory.mktemp("native-node") / "src"
    shutil.copytree(PROJECT_ROOT / "tests" / "data" / "native-node", source)
    (source / "index.mjs").write_text("export const handler = async () => 1;\n")
    for name, text in BUILD_MACHINES_NODE_MODULES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    build_dir = source.parent / "build"
    return {
        architecture: build_package(source, "nodejs24.x", architecture, build_dir, "native").read_bytes()
        for architecture in ("arm64", "x86_64")
    }
