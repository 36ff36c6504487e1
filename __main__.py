"""kgateway-lambda: AWS Lambda functions behind kgateway, as code (see README.md)."""

from components.config import load_settings
from components.stack import deploy

deploy(load_settings())
