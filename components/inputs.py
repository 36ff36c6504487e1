"""One input layer for every component, driven by the TypedDicts the package schema is generated from.

Pulumi's analyzer (pulumi/pulumi `sdk/python/lib/pulumi/provider/experimental/analyzer.py`) turns each
component's args TypedDict into the schema other languages program against; this module walks the same
TypedDict, so the checks and the schema cannot disagree. Every input is checked for its declared type where the
component is constructed: plain values at once, values inside Outputs (`pulumi.Input[T]`) when they resolve, by
an `apply` the component's children take instead of the caller's Output, so a bad value fails the update with
the input's name before any child's API call uses it. An Output is never formatted into a string. Then the
component's own rules (the real APIs' patterns, in the component's `check_*_args`) run on the plain values, and
again on each resolved value.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Any, NotRequired, Required, TypeVar, Union, get_args, get_origin

import pulumi
import pulumi.output

from .validation import SECRET_INPUTS, ComponentInputError, InputChecker, InputProblem, whole

Rules = Callable[[InputChecker, Any], None]


def camel_case(name: str) -> str:
    """An input's schema name (`kgateway_version` → `kgatewayVersion`), as the component provider's analyzer spells
    it (pulumi `pulumi/provider/experimental/util.py` `camel_case`; tests/test_input_shapes.py checks they agree).
    Not imported from there: that package loads the whole analyzer, which a `pulumi up` never uses."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class MapKey(str):
    """A key of a mapping input (a header name): shown as it is, not camel-cased like a field's name."""

    __slots__ = ()


# Where a value sits in the args: field names (Python's), list indices and mapping keys.
Location = tuple[str | int, ...]
A = TypeVar("A")

SHOWN_SECRET = "[secret]"


class _Shown:
    """A value as a message shows it (never the value itself: an Output is not formatted, a secret not shown)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


_AN_OUTPUT = _Shown("an Output")
_UNKNOWN = _Shown("an unknown value")


def input_name(location: Location) -> str:
    """The input as the schema spells it: `function.functionName`, `routes[0].path`, `headers.x-env`."""
    name = ""
    for step in location:
        if isinstance(step, int):
            name += f"[{step}]"
        else:
            name += f"{'.' if name else ''}{step if isinstance(step, MapKey) else camel_case(step)}"
    return name


@functools.cache
def _hints(typed_dict: type) -> dict[str, Any]:
    """The TypedDict's fields with their declared types; `pulumi.Input`'s forward reference to Output resolved.
    Cached: a class's annotations are fixed once defined, and resolving them is most of a construct's checking."""
    localns = {"Output": pulumi.Output, "T": pulumi.output.T}
    return typing.get_type_hints(typed_dict, localns=localns, include_extras=True)


def _unwrap_required(hint: Any) -> Any:
    while get_origin(hint) in (NotRequired, Required):
        hint = get_args(hint)[0]
    return hint


def _is_output_type(hint: Any) -> bool:
    return hint is pulumi.Output or get_origin(hint) is pulumi.Output


def _input_base(hint: Any) -> Any | None:
    """T, when `hint` is `pulumi.Input[T]` (Union[T, Awaitable[T], Output[T]]); else None."""
    if get_origin(hint) not in (Union, types.UnionType):
        return None
    members = get_args(hint)
    awaitable = [m for m in members if get_origin(m) is Awaitable or get_origin(m) is typing.Awaitable]
    if not awaitable or not any(_is_output_type(m) for m in members):
        return None
    return get_args(awaitable[0])[0]


def _kind(hint: Any) -> tuple[str, str]:  # noqa: PLR0911 (one return per kind of type)
    """What the declared type allows, in words, and a value of it (for the message)."""
    hint = _unwrap_required(hint)
    if (base := _input_base(hint)) is not None:
        return _kind(base)
    origin = get_origin(hint)
    if hint is str:
        return "must be a string", "echo"
    if hint is bool:
        return "must be a boolean (true or false, not a string)", "true"
    if hint is int:
        return "must be a whole number", "128"
    if inspect.isclass(hint) and issubclass(hint, Enum):
        return f"must be one of {', '.join(str(m.value) for m in hint)}", repr(next(iter(hint)).value)
    if inspect.isclass(hint) and issubclass(hint, pulumi.Archive):
        return (
            "must be an archive of the code (e.g. a FileArchive of a folder), not a path string",
            "pulumi.FileArchive('lambda_src/echo')",
        )
    if origin in (list, typing.Sequence.__origin__):  # type: ignore[attr-defined]
        return "must be a list", f"[{_kind(get_args(hint)[0])[1]}]"
    if origin in (dict, typing.Mapping.__origin__):  # type: ignore[attr-defined]
        return "must be an object mapping names to values", f"{{'x-env': {_kind(get_args(hint)[1])[1]}}}"
    if typing.is_typeddict(hint):
        required = sorted(getattr(hint, "__required_keys__", ()))
        return f"must be an object ({hint.__name__})", "{" + ", ".join(f"{camel_case(k)}: ..." for k in required) + "}"
    return f"must be a {getattr(hint, '__name__', hint)}", "see the package schema"


def _describe(hint: Any) -> str:
    return _kind(hint)[0]


def _example(hint: Any) -> str:
    return _kind(hint)[1]


def _is_unknown(value: Any) -> bool:
    """A value not known yet (a provider's construct hands unknowns over as `pulumi.output.Unknown`)."""
    return isinstance(value, pulumi.output.Unknown)


class _Walk:
    """One pass over the args: type problems, and where the Outputs (checked when they resolve) are."""

    def __init__(self, checker: InputChecker):
        self.checker = checker
        self.outputs: list[tuple[Location, Any]] = []

    def fail(self, location: Location, value: Any, hint: Any) -> None:
        self.checker.fail(input_name(location), value, _describe(hint), _example(hint))

    def value(self, location: Location, value: Any, hint: Any) -> Any:  # noqa: PLR0911 (one branch a kind)
        """`value` against `hint`: the value to keep (None: dropped, for an unset optional input)."""
        hint = _unwrap_required(hint)
        if _is_unknown(value) and _input_base(hint) is None:
            # Not known yet (a preview's value another resource computes) where the schema declares a plain value:
            # what the component makes depends on it, so it must be known when the program runs, as an Output
            # must not be there (the rules would otherwise read into a value that is not there).
            self.checker.fail(
                input_name(location),
                _UNKNOWN,
                f"{_describe(hint)}, known when the program runs: the schema declares it plain, and this one is not "
                "known yet",
                _example(hint),
            )
            return value
        if _is_unknown(value):  # an Input: checked by the service that receives it, once known
            return value
        if (base := _input_base(hint)) is not None:
            if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
                self.outputs.append((location, base))
                return value
            return self.value(location, value, base)
        if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
            self.checker.fail(
                input_name(location),
                _AN_OUTPUT,
                f"{_describe(hint)}, known when the program runs: the schema declares it plain, not an Output",
                _example(hint),
            )
            return value
        origin = get_origin(hint)
        if hint is Any:
            return value
        if hint is str:
            if not isinstance(value, str):
                self.fail(location, value, hint)
        elif hint is bool:
            if not isinstance(value, bool):
                self.fail(location, value, hint)
        elif hint is int:
            if whole(value) is None:
                self.fail(location, value, hint)
        elif inspect.isclass(hint) and issubclass(hint, Enum):
            if not isinstance(value, str) or value not in {m.value for m in hint}:
                self.fail(location, value, hint)
        elif inspect.isclass(hint) and issubclass(hint, pulumi.Archive):
            if not isinstance(value, pulumi.Archive):
                self.fail(location, value, hint)
        elif origin in (list, typing.Sequence.__origin__):  # type: ignore[attr-defined]
            if not isinstance(value, list | tuple):
                self.fail(location, value, hint)
                return value
            (item,) = get_args(hint)
            return [self.value((*location, index), entry, item) for index, entry in enumerate(value)]
        elif origin in (dict, typing.Mapping.__origin__):  # type: ignore[attr-defined]
            if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
                self.fail(location, value, hint)
                return value
            return {key: self.value((*location, MapKey(key)), entry, get_args(hint)[1]) for key, entry in value.items()}
        elif typing.is_typeddict(hint):
            if not isinstance(value, Mapping):
                self.fail(location, value, hint)
                return value
            return self.fields(location, value, hint)
        return value

    def fields(self, location: Location, args: Mapping[str, Any], typed_dict: type) -> dict[str, Any]:
        """A TypedDict's fields: each declared one checked, required ones present, no others."""
        hints = _hints(typed_dict)
        required: frozenset[str] = getattr(typed_dict, "__required_keys__", frozenset())
        checked: dict[str, Any] = {}
        for key, value in args.items():
            if key not in hints:
                by_schema = {camel_case(k): k for k in hints}
                hint = f" (in Python: {by_schema[key]})" if key in by_schema else ""
                self.checker.fail(
                    input_name((*location, MapKey(camel_case(str(key))))),
                    value if not _secret_name(key) else _Shown(SHOWN_SECRET),
                    f"is not an input of {typed_dict.__name__}{hint}: its inputs are "
                    + ", ".join(camel_case(k) for k in hints),
                    "remove it",
                )
                continue
            if value is None:  # unset, as a provider's construct leaves out what is not given
                continue
            checked[key] = self.value((*location, key), value, hints[key])
        for key in sorted(required):
            if args.get(key) is None:
                hint = hints[key]
                self.checker.required(input_name((*location, key)), None, _example(hint))
        return checked


def _secret_name(key: object) -> bool:
    return camel_case(str(key)) in SECRET_INPUTS


def _problems_of(checker: InputChecker, name: str) -> list[InputProblem]:
    return [problem for problem in checker.problems if problem.name == name]


def _place(args: Any, location: Location, value: Any) -> Any:
    """A copy of `args` with `value` at `location` (the containers on the way copied, the rest shared)."""
    if not location:
        return value
    step, rest = location[0], location[1:]
    if isinstance(args, list):
        copy: Any = list(args)
    else:
        copy = dict(args)
    copy[step] = _place(copy[step], rest, value)
    return copy


def check_types(checker: InputChecker, args: Mapping[str, Any], args_type: type) -> None:
    """Every problem of `args` against the types `args_type` declares, into `checker`, as `checked_inputs` finds
    them: for args that come from elsewhere (the stack config's `protection`), before their rules read into them."""
    _Walk(checker).fields((), args, args_type)


def checked_inputs(
    component: str,
    resource_name: str,
    args_type: Any,
    args: A,
    rules: Rules | None = None,
) -> A:
    """The args, checked: every problem at once as a ComponentInputError naming the inputs; each Output replaced by
    one that resolves to the same value once it passed the same checks (else fails with the same error).

    `rules` are the component's own checks of values against the real APIs (they skip Outputs); they run when the
    types are right, and on each Output's value once it resolves.
    """
    checker = InputChecker(component, resource_name)
    if not isinstance(args, Mapping):
        checker.fail("args", args, f"must be an object ({args_type.__name__})", _example(args_type))
        checker.done()
    assert isinstance(args, Mapping)
    walk = _Walk(checker)
    checked = walk.fields((), args, args_type)
    if not checker.problems and rules is not None:
        rules(checker, checked)
    checker.done()
    for location, base in walk.outputs:
        original = _value_at(checked, location)
        checked = _place(
            checked,
            location,
            _checked_output(
                component=component,
                resource_name=resource_name,
                location=location,
                base=base,
                value=original,
                args=checked,
                rules=rules,
            ),
        )
    return typing.cast(A, checked)


def _value_at(args: Any, location: Location) -> Any:
    for step in location:
        args = args[step]
    return args


def _checked_output(
    *,
    component: str,
    resource_name: str,
    location: Location,
    base: Any,
    value: Any,
    args: dict[str, Any],
    rules: Rules | None,
) -> pulumi.Output[Any]:
    """`value` (an Output or awaitable) as an Output that fails, naming the input, if its resolved value is bad."""
    output = pulumi.Output.from_input(value)
    name = input_name(location)

    def check(resolved: Any, secret: bool) -> Any:
        checker = InputChecker(component, resource_name)
        if resolved is None:  # an optional input whose Output holds nothing: unset
            return None
        _Walk(checker).value(location, resolved, base)
        if not checker.problems and rules is not None:
            rules(checker, _place(args, location, resolved))
            checker.problems = _problems_of(checker, name)
        if checker.problems:
            if secret:
                checker.problems = [
                    InputProblem(p.name, _Shown(SHOWN_SECRET), p.allowed, p.example) for p in checker.problems
                ]
            raise ComponentInputError(component, resource_name, checker.problems)
        return resolved

    secrecy: pulumi.Output[bool] = pulumi.Output.from_input(output.is_secret())
    return pulumi.Output.all(output, secrecy).apply(lambda pair: check(pair[0], bool(pair[1])))
