"""gcf-devkit: the tooling of function repos made by gcf-template.

The layers, from the top: the command line (`gcf`, gcf_devkit.cli) and the testing
plugin (gcf_devkit.testing); local development (gcf_devkit.local: the dev server, the
emulators, PostgreSQL, sending events) beside cloud operations (gcf_devkit.cloud: the
plans of gcloud commands for deploy and setup, cost warnings); the model of a repo
(gcf_devkit.project: answers, functions.yaml, environments, env files); and at the
bottom the platform's rules (gcf_devkit.rules) and the CloudEvent builders
(gcf_devkit.events), which import nothing of the rest.
"""

__version__ = "2.0.0"
