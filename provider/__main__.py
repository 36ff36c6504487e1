"""The component package's entry: Pulumi runs it as a plugin and it serves the components to every language.

The components are this repository's `components/` folder (the same code `pip install` ships as
`kgateway_lambda`); the plugin is a folder of the repository, so it finds them one level up.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from components import COMPONENTS, __version__
from components.tokens import PACKAGE

if __name__ == "__main__":
    component_provider_host(list(COMPONENTS), name=PACKAGE, version=__version__)
