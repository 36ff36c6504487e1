"""kgateway-lambda: AWS Lambda functions behind kgateway, as code (see README.md)."""

from program.config import load_settings
from program.runtime import tune_for_a_short_run
from program.stack import deploy

tune_for_a_short_run()
deploy(load_settings())
