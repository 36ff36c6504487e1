"""What a user is shown: problems naming the key, the value and what is allowed; secret values never."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import Any, ClassVar

import pulumi

from components.validation import (
    InputProblem,
)
from program import keys
from program.config.project import PROJECT
from program.config.sources import ConfigSource

SHOWN_VALUE_LIMIT = 80

# The program's own secret keys (docs/configuration.md "Config keys"); set them with `pulumi config set --secret`.
SECRET_KEYS = ("accessKeyId", "secretAccessKey", "sessionToken")
# Parts of a key name that mark its value as key material, whatever the namespace or spelling around them.
_SECRET_NAME_PARTS = (
    "secretacces", "secretkey", "accesskey", "acceskey", "sessiontok", "token", "password", "passwd", "passphrase",
    "privatekey", "apikey",
)  # fmt: skip


def secret_by_name(key: str) -> bool:
    """Whether a key's name says its value is key material (`secretAccesKey` too: a typo is no less secret).

    The engine lists every key set with `--secret`; this catches the ones a user stored in plain text.
    """
    name = re.sub(r"[^a-z0-9]", "", key.rpartition(":")[2].lower())
    if any(part in name for part in _SECRET_NAME_PARTS):
        return True
    return any(difflib.SequenceMatcher(None, name, known.lower()).ratio() >= 0.75 for known in SECRET_KEYS)


class _Hidden:
    """Stands for a secret value in a message: shown as [secret], never as the value."""

    def __repr__(self) -> str:
        return "[secret]"

    __str__ = __repr__


HIDDEN = _Hidden()


class Named(str):
    """A name inside a secret key's value (a client id of `providedApiKeys`, a function or variable name of
    `secretEnvironment`): shown in a message as it is. Only the values under those names are secret."""

    __slots__ = ()


# The project's secret keys whose mapping keys are names, not key material (program/keys.py: secret mappings).
NAMED_SECRET_KEYS = frozenset(f"{PROJECT}:{key.name}" for key in keys.KEYS if key.secret and key.type == "mapping")


def _leaves(text: str, names_are_secret: bool = True) -> list[str]:
    """The text of a config value and, for an object value (JSON), the text of each scalar inside it (and of
    each mapping key, unless the key's names are not secret)."""
    found = [text]
    try:
        stack: list[Any] = [json.loads(text)]
    except ValueError:
        return found
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if names_are_secret:
                stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value is not None and not isinstance(value, bool):
            found.append(str(value))
    return found


class Redactor:
    """Keeps secret values out of every message: the value of a secret key (listed secret by the engine, or
    secret by name) is shown as [secret], and its text is cut out of every other part of every message."""

    def __init__(self, secret_keys: Iterable[str] = (), secret_texts: Iterable[str] = ()):
        self.secret_keys = frozenset(secret_keys)
        texts = sorted({t for t in secret_texts if t and t not in ("true", "false")}, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])" for t in texts)) if texts else None
        )

    @classmethod
    def of(cls, source: ConfigSource) -> Redactor:
        present = source.keys()
        secret = [k for k in present if source.is_secret(k) or secret_by_name(k)]
        texts = [
            leaf
            for k in secret
            if (text := source.get(k)) is not None
            for leaf in _leaves(text, names_are_secret=k not in NAMED_SECRET_KEYS)
        ]
        return cls(secret, texts)

    def __repr__(self) -> str:  # never the texts
        return f"Redactor({len(self.secret_keys)} secret keys)"

    def is_secret(self, key: str) -> bool:
        """`key` (a config key, or a place inside one: `functions[1].name`) holds a secret value."""
        root = re.split(r"[.\[]", key, maxsplit=1)[0]
        return root in self.secret_keys or secret_by_name(root)

    def scrub(self, text: str) -> str:
        return self._pattern.sub("[secret]", text) if self._pattern is not None else text

    def problem(self, problem: Problem) -> Problem:
        named = isinstance(problem.value, Named)
        value = HIDDEN if self.is_secret(problem.name) and not named else problem.value
        if isinstance(value, str):
            value = str(self.scrub(value))  # a name equal to a secret value is cut too
        return Problem(problem.name, value, self.scrub(problem.allowed), self.scrub(problem.example))

    def problems(self, problems: Iterable[Problem]) -> list[Problem]:
        return [self.problem(p) for p in problems]


class Problem(InputProblem):
    """A stack config problem, in the components' words: `name` is the full config key; a long value is cut."""

    shown_limit: ClassVar[int | None] = SHOWN_VALUE_LIMIT

    @property
    def key(self) -> str:
        return self.name


class ConfigError(pulumi.RunError):
    """Every problem in the stack config, found before any resource was created (secret values redacted)."""

    def __init__(self, problems: list[Problem], redactor: Redactor | None = None):
        self.problems = (redactor or Redactor()).problems(problems)
        problems = self.problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")
