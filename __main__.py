"""kgateway-lambda: AWS Lambda functions behind kgateway, as code (see README.md)."""

from program.config import load_settings
from program.stack import deploy

deploy(load_settings())
