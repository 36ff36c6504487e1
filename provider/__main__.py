"""The component package's entry: Pulumi runs it as a plugin and it serves the components to every language.

The components are this repository's `components/` folder (the same code `pip install` ships as
`kgateway_lambda`); the plugin is a folder of the repository, so it finds them one level up.
"""

import sys
from pathlib import Path

# The floor pyproject.toml states (`requires-python`): the components use 3.11's StrEnum and typing. Pulumi builds
# this plugin's venv (`venv` beside this file, pip toolchain) with `python3` on PATH or PULUMI_PYTHON_CMD (pulumi/pulumi
# sdk/python/toolchain/toolchain.go `CommandPath`), and pip would install the requirements on an older one.
PYTHON_FLOOR = (3, 11)
if tuple(sys.version_info[:2]) < PYTHON_FLOOR:
    sys.exit(
        f"kgateway-lambda's component package needs Python 3.11 or newer, but provider/venv runs "
        f"{'.'.join(str(part) for part in sys.version_info[:3])}"
        ": delete provider/venv and run `pulumi install` again with PULUMI_PYTHON_CMD=python3.11 (or a newer one) "
        "on PATH, or with pyenv and `--use-language-version-tools` (provider/.python-version)"
    )

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components import COMPONENTS, __version__  # noqa: E402 (after the floor check)
from components.provider import serve_components  # noqa: E402
from components.tokens import PACKAGE  # noqa: E402

if __name__ == "__main__":
    serve_components(COMPONENTS, name=PACKAGE, version=__version__)
