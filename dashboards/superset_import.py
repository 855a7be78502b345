"""Import the dashboards bundle into Superset, replacing every object of it: database, datasets, charts, dashboards.

``superset import-dashboards`` replaces only the dashboards and keeps older datasets and charts, so a
changed schema would not reach them. This runs each of Superset's importers with ``overwrite`` on, in
dependency order. Runs inside Superset's own virtual environment (``<venv>/bin/python superset_import.py
BUNDLE``); imports nothing of the project.
"""

import importlib
import sys
import zipfile

from superset.app import create_app

# Superset's importers check the bundle's declared type against the model they import.
_STAGES = (
    ("superset.commands.database.importers.v1", "ImportDatabasesCommand", "Database"),
    ("superset.commands.dataset.importers.v1", "ImportDatasetsCommand", "SqlaTable"),
    ("superset.commands.chart.importers.v1", "ImportChartsCommand", "Slice"),
    ("superset.commands.dashboard.importers.v1", "ImportDashboardsCommand", "Dashboard"),
)


def main() -> int:
    """Import the bundle named on the command line as the admin user."""
    app = create_app()
    with app.app_context():
        from flask import g  # after create_app: it needs the app
        from superset import security_manager
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        with zipfile.ZipFile(sys.argv[1]) as bundle:
            contents = get_contents_from_bundle(bundle)
        g.user = security_manager.find_user(username="admin")
        for module, command, model in _STAGES:
            staged = dict(contents)
            staged["metadata.yaml"] = contents["metadata.yaml"].replace("type: Dashboard", f"type: {model}")
            getattr(importlib.import_module(module), command)(staged, overwrite=True).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
