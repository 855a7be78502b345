"""The stages import only ``core`` (and ``lakesql`` where they query the lake): a picture of the imports."""

from __future__ import annotations

import ast

from core.catalog import project_root

STAGES = ("core", "stack", "governance", "producer", "streaming", "glue", "lakesql", "dashboards")
ALLOWED = {stage: {stage, "core"} for stage in STAGES}
ALLOWED["core"] = {"core"}
ALLOWED["dashboards"] = {"dashboards", "core", "lakesql"}
ALLOWED["stack"] = {"stack", "core", "lakesql"}  # the demo queries the lake


def imports_of(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` and the project packages it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((project_root() / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
        found[str(path.relative_to(project_root()))] = names & set(STAGES)
    return found


def test_each_stage_imports_only_core_and_the_sql_stage() -> None:
    wrong = {
        module: sorted(imported - ALLOWED[stage])
        for stage in STAGES
        if (project_root() / stage).is_dir()
        for module, imported in imports_of(stage).items()
        if imported - ALLOWED[stage]
    }
    assert wrong == {}


def test_the_picture_covers_every_package_of_the_project() -> None:
    packages = {p.parent.name for p in project_root().glob("*/__init__.py")} - {"tests"}
    assert packages <= set(STAGES)
