"""Where the project is: its config namespace and its folders."""

from pathlib import Path

PROJECT = "kgateway-lambda"
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
LAMBDA_SRC = PROJECT_ROOT / "lambda_src"
