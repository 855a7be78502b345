"""Superset's configuration for the telemetry dashboards (loaded by Superset through ``SUPERSET_CONFIG_PATH``).

Runs inside Superset's own virtual environment, so it imports nothing of the project. State lives in
``SUPERSET_HOME`` (``.local/superset/``), which ``python -m dashboards up`` prepares: the SQLite metadata
database and the secret key generated at first start (never in git).
"""

import os
from pathlib import Path

_HOME = Path(os.environ["SUPERSET_HOME"])

SECRET_KEY = (_HOME / "secret-key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(_HOME / "superset.db")

# No telemetry pixel: the page must not wait for, or tell, anything outside this machine.
SCARF_ANALYTICS = False
# The dashboards are live: every refresh reads the lake, never a cached answer.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
ROW_LIMIT = 50_000
SUPERSET_WEBSERVER_TIMEOUT = 60
