"""Run the real program (`__main__.py`) on Pulumi's mock engine, offline.

One engine serves the plan command, the unit tests and the moto deploy harness: each brings its own
`pulumi.runtime.Mocks` (placeholders, test values, or real calls against moto) and gets back every resource
the program registered (type, name, parent, inputs, dependencies) and the stack outputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import logging
import runpy
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import _callbacks as pulumi_callbacks
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource_runtime
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.rpc import UNKNOWN
from pulumi.runtime.rpc_manager import RPCManager
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from program.cluster_lookup import LOOKUP, NO_CLUSTER
from program.config import PROJECT, PROJECT_ROOT
from tools.pulumi_cli import load_project, merge_config, read_stack_file

# How Pulumi marks a secret value on the wire (the mock monitor hands inputs over in this form).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
SECRET = "[secret]"
KNOWN_AFTER_DEPLOY = "[known after deploy]"


@dataclass
class RegisteredResource:
    type: str
    name: str
    urn: str
    parent_urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    custom: bool
    provider: str = ""
    read_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    # What a resource was known as before (its aliases: name, type, parent URN; "" where the alias keeps it).
    aliases: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def alias_types(self) -> list[str]:
        return [type_ for _, type_, _ in self.aliases if type_]


@dataclass
class ProgramRun:
    stack: str
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    logs: list[str]
    # What the default providers are configured with (`aws:*`, `kubernetes:*`), secrets redacted.
    provider_config: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> RegisteredResource:
        found = self.by_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> RegisteredResource | None:
        return next((r for r in self.resources if r.urn == urn), None)


def is_secret_value(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def reveal(value: Any) -> Any:
    """Inputs with Pulumi's secret wrappers removed (for tests that inspect what would be sent)."""
    if is_secret_value(value):
        return reveal(value.get("value"))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def redact(value: Any) -> Any:  # noqa: PLR0911 (one return per kind of value)
    """Inputs as a reviewer may see them: secrets as [secret], unknowns as [known after deploy]."""
    if is_secret_value(value):
        return SECRET
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        return KNOWN_AFTER_DEPLOY
    if isinstance(value, float) and value.is_integer():  # protobuf carries every number as a double
        return int(value)
    if isinstance(value, pulumi.FileArchive):
        return {"archive": _relative(value.path)}
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"asset": type(value).__name__}
    return value


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return path


@dataclass(frozen=True)
class Registration:
    """What the engine knows of a registration: its URN, the URNs it was known by (aliases, including those it
    inherits from an aliased parent, as the engine computes them), its parent and its dependencies."""

    urn: str
    alias_urns: tuple[str, ...]
    parent: str
    dependencies: tuple[str, ...]
    # The provider reference ("urn::id"; "" for the default provider) and the caller's `deleteBeforeReplace`
    # (None when unset: the provider's Diff decides, as pulumi/pulumi step_generator.go `generateSteps` does).
    provider: str = ""
    delete_before_replace: bool | None = None
    read: bool = False  # a ReadResource (`get`), not a registration
    # The names of the resource's `before_create` hooks, and its inputs as sent (what the engine hands a hook).
    before_create: tuple[str, ...] = ()
    inputs: Any = None


_CURRENT = threading.local()


def current_registration() -> Registration | None:
    """The registration a `Mocks.new_resource` call is answering (for mocks that keep state by URN)."""
    return getattr(_CURRENT, "registration", None)


def run_before_create_hooks(registration: Registration, type_: str, name: str, *, dry_run: bool) -> None:
    """Run the `before_create` hooks of the registration being answered (see `_RecordingMonitor.run_hooks`)."""
    if registration.before_create:
        monitor = _CURRENT.monitor
        monitor.run_hooks(
            registration.before_create, registration.urn, type_, name, registration.inputs, dry_run=dry_run
        )


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also recording parent, dependencies and inputs of each registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []
        self._aliases: dict[str, list[tuple[str, str]]] = {}  # URN -> (alias URN, the name it had there)
        self._engine_urns: dict[str, str] = {}  # the mock's URN -> the engine's
        self.in_flight = 0  # registrations under way in the SDK's executor threads
        self._in_flight_lock = threading.Lock()
        self.hooks: dict[str, tuple[str, bool]] = {}  # resource hook name -> (callback token, runs on dry run)
        self.program_loop = asyncio.get_event_loop()  # made in the program's thread: where callbacks run

    @staticmethod
    def engine_urn(parent: str, type_: str, name: str) -> str:
        """A URN as the engine makes it: the parent's type chain, except the root stack's (which the mock's
        `make_urn` wrongly includes: `pulumi:pulumi:Stack$...`)."""
        if parent and parent.split("::")[2] != "pulumi:pulumi:Stack":
            type_ = parent.split("::")[2] + "$" + type_
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def _registration(self, request: Any) -> Registration:
        """The URN and alias URNs the engine would compute (aliases by spec, and inherited from the parent)."""
        parent_urn = self._engine_urns.get(request.parent, request.parent)
        urn = self.engine_urn(parent_urn, request.type, request.name)
        aliases: list[tuple[str, str]] = []
        own: list[tuple[str, str]] = []  # the child's own aliases: (type, name)
        for alias in getattr(request, "aliases", ()):  # a ReadResourceRequest has none
            if not alias.HasField("spec"):
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or parent_urn)
            name = spec.name or request.name
            aliases.append((self.engine_urn(parent, spec.type or request.type, name), name))
            own.append((spec.type or request.type, name))
        parent_name = request.parent.rsplit("::", 1)[-1] if request.parent else ""
        # pulumi/pulumi pkg/resource/deploy/step_generator.go `generateAliases`: "multiply out any aliases our
        # parent had", for the child's name and for each of its own aliases (`inheritedChildAlias`: a name that
        # starts with the parent's name gets the parent alias's name instead). The engine uses the one alias the
        # parent matched in the old state; every alias of the parent is tried here (at most one is in state).
        for parent_alias, parent_alias_name in self._aliases.get(parent_urn, []):
            for child_type, child_name in [(request.type, request.name), *own]:
                name = child_name
                if parent_name and name.startswith(parent_name):
                    name = parent_alias_name + name[len(parent_name) :]
                aliases.append((self.engine_urn(parent_alias, child_type, name), name))
        self._aliases[urn] = aliases
        self._engine_urns[self.make_urn(request.parent, request.type, request.name)] = urn
        engine = self._engine_urns
        defined = bool(getattr(request, "deleteBeforeReplaceDefined", False))
        return Registration(
            urn,
            tuple(a for a, _ in aliases),
            engine.get(request.parent, ""),
            tuple(engine.get(d, d) for d in request.dependencies),
            provider=request.provider,
            delete_before_replace=bool(request.deleteBeforeReplace) if defined else None,
            read=not hasattr(request, "aliases"),
            before_create=tuple(request.hooks.before_create) if hasattr(request, "hooks") else (),
            inputs=request.object if hasattr(request, "hooks") else None,
        )

    def RegisterResourceHook(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        self.hooks[request.name] = (request.callback.token, request.on_dry_run)
        return super().RegisterResourceHook(request)  # type: ignore[no-untyped-call]

    def run_hooks(self, names: tuple[str, ...], urn: str, type_: str, name: str, inputs: Any, *, dry_run: bool) -> None:
        """Run a step's `before_create` hooks as the engine does before the provider's Create (pulumi/pulumi
        pkg/resource/deploy/step.go `CreateStep.Apply` -> deployment.go `RunHooks`): skipped in a preview unless
        the hook asks (`OnDryRun`), each called back in the program, and a hook's error fails the step with
        "before hook %q failed". The call runs on the program's event loop, as the SDK's callback server does."""
        for hook in names:
            token, on_dry_run = self.hooks[hook]
            if dry_run and not on_dry_run:
                continue
            # The servicer that holds the token (as the SDK's mocks find their transforms: `_resolve_callbacks`).
            servicers = pulumi_callbacks._CallbackServicer._servicers
            (callback,) = [s._callbacks[token] for s in servicers if token in s._callbacks]
            request = resource_pb2.ResourceHookRequest(urn=urn, name=name, type=type_, new_inputs=inputs)
            call = cast(Coroutine[Any, Any, resource_pb2.ResourceHookResponse], callback(request.SerializeToString()))
            # A hook that waited on a call of its own would hang here, as it can in a real run (see DEVELOPMENT.md).
            response = asyncio.run_coroutine_threadsafe(call, self.program_loop).result(timeout=60)
            if response.error:
                raise RuntimeError(f'before hook "{hook}" failed: {response.error}')

    def Invoke(self, request: Any) -> Any:  # noqa: N802
        response = super().Invoke(request)  # type: ignore[no-untyped-call]
        _remember_this_threads_loop()
        return response

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        with self._in_flight_lock:
            self.in_flight += 1
        try:
            return self._register(request)
        finally:
            with self._in_flight_lock:
                self.in_flight -= 1

    def wait_for_in_flight(self, timeout: float = 60.0) -> None:
        """As the engine does after a failure: let the steps already under way finish (and be recorded)."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    def _register(self, request: Any) -> Any:
        _CURRENT.monitor = self
        _CURRENT.registration = self._registration(request) if request.type != "pulumi:pulumi:Stack" else None
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _remember_this_threads_loop()
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                RegisteredResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent_urn=request.parent,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=list(request.dependencies),
                    custom=request.custom,
                    provider=request.provider,
                    state=self.resources[response.urn].state if response.urn in self.resources else {},
                    aliases=[
                        (a.spec.name, a.spec.type, a.spec.parentUrn) for a in request.aliases if a.HasField("spec")
                    ],
                )
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        _CURRENT.registration = self._registration(request)
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        _remember_this_threads_loop()
        self.registered.append(
            RegisteredResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent_urn=request.parent,
                inputs={},
                dependencies=list(request.dependencies),
                custom=True,
                read_id=request.id,
                state=self.resources[response.urn].state,
            )
        )
        return response


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def stack_config(
    stack: str, stacks_dir: Path | None = None, plaintexts: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """A stack's config exactly as the Pulumi CLI hands it to the program, after the CLI's own checks.

    Refuses (PulumiCliError, with the CLI's message) what `pulumi preview` would refuse before the program
    starts: see tools.pulumi_cli. Like the CLI, the program gets every encrypted (`secure:`) value decrypted, with
    its key listed as secret (tools.pulumi_cli.program_config). Offline there is no passphrase: a secure value
    decrypts to `plaintexts[key]` when a test gives one, else to tools.pulumi_cli.offline_plaintext(key).
    """
    from tools.pulumi_cli import program_config

    project = load_project(PROJECT_ROOT / "Pulumi.yaml")
    stack_file = (stacks_dir or PROJECT_ROOT / project.stack_config_dir) / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise FileNotFoundError(f"no stack config {stack_file}")
    return program_config(
        merge_config(stack, project, read_stack_file(stack_file, project.name), plaintexts), plaintexts or {}
    )


# Provider settings that are credentials even when a stack stores them in plain text.
SENSITIVE_PROVIDER_KEYS = {"accessKey", "secretKey", "token", "kubeconfig"}


def provider_config(config: dict[str, str], secret_keys: list[str]) -> dict[str, dict[str, Any]]:
    """Config of namespaces other than the project's, as the engine hands it to the default providers."""
    providers: dict[str, dict[str, Any]] = {}
    for key, text in sorted(config.items()):
        namespace, _, name = key.partition(":")
        if namespace == PROJECT:
            continue
        value: Any = text
        if key in secret_keys or name in SENSITIVE_PROVIDER_KEYS:
            value = SECRET
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        providers.setdefault(namespace, {})[name] = value
    return providers


# A Pulumi program: a file, run as the CLI runs `__main__.py`, or a function, so that a test's program is code the
# linter and the type checker read (a reusing stack's program is a function of its components' calls).
Program = Path | Callable[[], None]


def run_program(
    mocks: pulumi.runtime.Mocks,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    *,
    stack: str = "test",
    preview: bool = False,
    program: Program = PROJECT_ROOT / "__main__.py",
) -> ProgramRun:
    """Run `program` (a file or a function) with this config on the mock engine, in a fresh context; raise what it
    raises."""

    def run() -> ProgramRun:
        handler = _ListHandler()
        # A logger of this run alone, outside logging's registry: a registered one per run stayed there for good,
        # and pytest attaches its capture handler to every non-propagating logger in it at each test phase (1.8
        # million attach and detach calls over the suite, growing with every run).
        logger = logging.Logger("kgateway-lambda.engine")
        logger.parent = logging.root  # its level, as a registered logger's: the root's (debug stays out)
        logger.propagate = False
        logger.addHandler(handler)
        pulumi.runtime.set_all_config(config, secret_keys or [])
        # The cluster the program looks at for objects in its way: the mocks' own (the deploy harness's API server),
        # else none (the offline plan: nothing to look at, nothing claimed).
        LOOKUP.set(getattr(mocks, "cluster_lookup", NO_CLUSTER))
        monitor = _RecordingMonitor(mocks)
        pulumi_mocks.set_mocks(
            mocks,
            project=PROJECT,
            stack=stack,
            preview=preview,
            logger=logger,
            monitor=monitor,
        )

        # set_mocks leaves the RPC manager and the output set of earlier runs in place (they are not in the
        # settings' __dict__ that `configure` copies): give this run its own, so a failure stays in its run.
        pulumi.runtime.settings.SETTINGS.rpc_manager = RPCManager()  # type: ignore[no-untyped-call]
        pulumi.runtime.settings.SETTINGS.outputs = set()

        def program_body() -> None:
            if callable(program):
                program()
            else:
                runpy.run_path(str(program), run_name="__main__")

        try:
            _sync_await(run_pulumi_func(program_body))
        except Exception as error:
            # Like the engine after a failure: nothing new starts (this run's pending registrations are cancelled,
            # so none reaches the next run's mocks), and the steps under way finish and are recorded.
            loop = asyncio.get_event_loop()
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            monitor.wait_for_in_flight()
            # What the program logged before it failed is part of what the user sees: keep it with the error.
            for message in handler.messages:
                error.add_note(message)
            # The outputs that failed with it have been reported once, here; mark them seen, so asyncio does not
            # print each again ("exception was never retrieved") when they are collected.
            for future in list(pulumi.runtime.settings.SETTINGS.outputs):
                if future.done() and not future.cancelled():
                    future.exception()
            loop.set_exception_handler(_quiet_about_reported_failures)
            raise
        root = pulumi.runtime.get_root_resource()
        assert isinstance(root, pulumi.runtime.stack.Stack)
        outputs, secret_outputs = _sync_await(_resolve_outputs(root.outputs))
        providers = provider_config(config, secret_keys or [])
        return ProgramRun(stack, monitor.registered, outputs, secret_outputs, handler.messages, providers)

    with _without_source_positions():
        return contextvars.Context().run(run)


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    """Registrations without the SDK's source positions. For each resource and read, the SDK walks the whole call
    stack (pulumi/runtime/resource.py `_get_stack_trace`: `traceback.extract_stack`, a stat of every frame's file,
    a URI per frame) for the engine's display of where a resource was declared; the mock monitor never reads it
    (pulumi/runtime/mocks.py `MockMonitor.RegisterResource`, nor our recording monitor), and it was a fifth of a
    run's time. An empty trace is what the SDK itself sends when it finds no user frame."""
    with mock.patch.object(pulumi_resource_runtime, "_get_stack_trace", source_pb2.StackTrace):
        yield


def _quiet_about_reported_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler once a run on it failed: a future that failed with the run holds the error
    `run_program` raised, so asyncio's "exception was never retrieved" for it (printed whenever the collector,
    which the program tunes to run rarely, gets to it: in the middle of whatever runs next) is dropped."""
    if "exception was never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


# Event loops the SDK's mock monitor made in executor threads (`_ensure_event_loop`), to be closed explicitly.
_THREAD_LOOPS: set[asyncio.AbstractEventLoop] = set()


def _remember_this_threads_loop() -> None:
    if threading.current_thread() is threading.main_thread():
        return
    try:
        _THREAD_LOOPS.add(asyncio.get_event_loop_policy().get_event_loop())
    except RuntimeError:  # this thread made none
        return


def close_event_loop() -> list[asyncio.AbstractEventLoop]:
    """End the runs' event loops while the interpreter is whole.

    The SDK's mock monitor runs in the main loop's executor threads and makes an event loop in each; left to the
    interpreter's exit, their finalizers can meet already-closed sockets ("Exception ignored in ...
    BaseEventLoop.__del__ ... Invalid file descriptor"), when a loop and its self-pipe socket are collected in
    the same cycle, socket first. So every loop is closed explicitly, and the executor's threads are ended.
    """
    loop = asyncio.get_event_loop_policy().get_event_loop()
    if not loop.is_closed():
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    closed = [loop, *_THREAD_LOOPS]
    for thread_loop in _THREAD_LOOPS:
        if not thread_loop.is_closed() and not thread_loop.is_running():
            thread_loop.close()
    _THREAD_LOOPS.clear()
    gc.collect()
    return closed


async def _resolve_outputs(outputs: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        values[name] = await output.future(with_unknowns=True) if known else KNOWN_AFTER_DEPLOY
        if await output.is_secret():
            secret.add(name)
    return values, secret
