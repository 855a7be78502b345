"""Create or update Superset's admin user, with the password from ``SUPERSET_ADMIN_PASSWORD``.

Runs inside Superset's own virtual environment (``<venv>/bin/python superset_admin.py``), so the
password travels in the environment, never on a command line that ``ps`` shows. Imports nothing of
the project.
"""

import os
import sys

from superset.app import create_app


def main() -> int:
    """Make sure user ``admin`` exists with the Admin role and the given password."""
    password = os.environ["SUPERSET_ADMIN_PASSWORD"]
    app = create_app()
    with app.app_context():
        from superset import security_manager  # after create_app: it needs the app

        user = security_manager.find_user(username="admin")
        if user is None:
            role = security_manager.find_role("Admin")
            created = security_manager.add_user("admin", "Telemetry", "Admin", "admin@localhost", role, password)
            return 0 if created else 1
        security_manager.reset_password(user.id, password)
    return 0


if __name__ == "__main__":
    sys.exit(main())
