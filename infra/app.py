"""`cdk synth` / `cdk deploy` entry point (see cdk.json); the app itself is billing_infra.app."""

from billing_infra.app import build_app

build_app().synth()
