"""The dependency rules of DESIGN.md §2: the import-linter contracts in pyproject.toml are real
(each fails when the code breaks it, on a copy of the tree), they cover every package, and
the libraries import in a process where Flask cannot be imported at all."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE_URL

# the same on every database: CI runs it in its SQLite pass, not again in the PostgreSQL one
pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="database-independent: run once, in the SQLite pass")
ROOT = Path(__file__).resolve().parents[2]
CONFIG: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS: dict[str, str] = {c["id"]: c["name"] for c in CONFIG["contracts"]}
FLASK_FAMILY = ("flask", "apiflask", "werkzeug", "flask_babel")
# what `lint-imports` reads from the tree: the code, its configuration and the contract types
LINTED = [*CONFIG["root_packages"], *(f"{m}.py" for m in CONFIG["root_modules"]), "pyproject.toml",
          "tests/__init__.py", "tests/import_contracts.py"]


def _copy_project(dest: Path) -> Path:
    for rel in LINTED:
        src = ROOT / rel
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / rel)
    return dest


def _lint(project: Path) -> tuple[int, dict[str, str], str]:
    """Run the real ``lint-imports`` in ``project``; returns its exit code, each contract's
    verdict by id (KEPT or BROKEN) and its output."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the copy, not the real tree
    env["COLUMNS"] = "1000"  # one line per contract: names are matched whole
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], check=False,
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    verdicts: dict[str, str] = {}
    for line in output.splitlines():
        for contract_id, name in CONTRACTS.items():
            if line.startswith(f"{name} KEPT"):
                verdicts[contract_id] = "KEPT"
            elif line.startswith(f"{name} BROKEN"):
                verdicts[contract_id] = "BROKEN"
    return proc.returncode, verdicts, output


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_project(tmp_path_factory.mktemp("pristine"))


def test_every_contract_is_kept_by_the_code_as_it_is(pristine: Path) -> None:
    code, verdicts, output = _lint(pristine)
    assert code == 0, output
    assert verdicts == {contract_id: "KEPT" for contract_id in CONTRACTS}, output


# Each probe breaks rules on a copy of the tree; the contracts named must be reported broken,
# and only those (a contract that breaks for another reason would hide what it checks).
PROBES = [
    pytest.param("signing/_probe.py", "import flask\n", {"libraries-without-flask"}, id="signing-imports-flask"),
    pytest.param("exchange/services/_probe.py", "from exchange.http import auth\n",
                 {"exchange-layers", "libraries-without-flask"}, id="services-import-http"),
    pytest.param("exchange/domain/_probe.py", "from exchange.services import views\n",
                 {"exchange-layers"}, id="domain-imports-services"),
    pytest.param("exchange/cli/_probe.py", "from exchange.http.api import common\n",
                 {"exchange-layers"}, id="cli-imports-http"),
    # bootstrap.py is a root module: only tests/import_contracts.py puts its imports in the graph
    pytest.param("exchange/adapters/_probe.py", "from bootstrap import Services\n",
                 {"exchange-layers"}, id="adapters-reach-services-through-bootstrap"),
    pytest.param("storage/_probe.py", "from storage.migrations import upgrade\n",
                 {"storage-wiring-on-top"}, id="storage-imports-its-wiring"),
    pytest.param("storage/_probe.py", "import werkzeug\n", {"storage-without-flask"}, id="storage-imports-werkzeug"),
    pytest.param("certs/_probe.py", "from certs.cli import pki_cli\n", {"certs-wiring-on-top"},
                 id="certs-imports-its-wiring"),
    pytest.param("certs/_probe.py", "from signing import rules\n", {"certs-standalone"}, id="certs-imports-signing"),
    pytest.param("signing/_probe.py", "from storage import db\n", {"signing-standalone"}, id="signing-imports-storage"),
    pytest.param("storage/_probe.py", "import exchange.domain.enums\n", {"storage-standalone"},
                 id="storage-imports-exchange"),
    pytest.param("exchange/http/__init__.py", "from flask import Blueprint\n", {"package-inits-without-flask"},
                 id="package-init-imports-flask"),
]


@pytest.mark.slow
@pytest.mark.parametrize("rel, line, broken", PROBES)
def test_a_module_that_breaks_a_rule_breaks_its_contract(tmp_path: Path, rel: str, line: str,
                                                         broken: set[str]) -> None:
    project = _copy_project(tmp_path)
    with (project / rel).open("a", encoding="utf-8") as probe:
        probe.write(line)
    code, verdicts, output = _lint(project)
    assert code != 0, output
    assert {cid for cid, verdict in verdicts.items() if verdict == "BROKEN"} == broken, output
    assert len(verdicts) == len(CONTRACTS), output


@pytest.mark.slow
@pytest.mark.parametrize("module", ["errors", "settings"])
def test_a_root_module_importing_flask_is_seen(tmp_path: Path, module: str) -> None:
    """grimp alone cannot see a single-file module's imports; the contract types add them."""
    project = _copy_project(tmp_path)
    with (project / f"{module}.py").open("a", encoding="utf-8") as probe:
        probe.write("\nimport flask\n")
    code, verdicts, output = _lint(project)
    assert code != 0 and verdicts["libraries-without-flask"] == "BROKEN", output
    assert f"{module} -> flask" in output, output


def _packages(root_package: str) -> set[str]:
    return {".".join(init.parent.relative_to(ROOT).parts)
            for init in (ROOT / root_package).rglob("__init__.py") if "__pycache__" not in init.parts}


def test_the_package_init_contract_lists_every_package() -> None:
    contract = next(c for c in CONFIG["contracts"] if c["id"] == "package-inits-without-flask")
    packages = set().union(*(_packages(p) for p in CONFIG["root_packages"]))
    assert set(contract["source_modules"]) == packages


def test_every_single_file_module_at_the_root_is_in_the_graph() -> None:
    # gunicorn.conf.py is not a module (no importable name): gunicorn executes it
    assert set(CONFIG["root_modules"]) == {p.stem for p in ROOT.glob("*.py") if p.stem.isidentifier()}


def test_every_contract_uses_a_type_that_sees_the_root_modules() -> None:
    """A built-in type left unregistered here would check a graph without app.py & co."""
    ours = {entry.split(": ")[0] for entry in CONFIG["contract_types"]}
    assert {c["type"] for c in CONFIG["contracts"]} <= ours


# --- the libraries in a process where Flask cannot be imported -----------------------------

WIRING = {"storage.health", "storage.migrations", "certs.api", "certs.cli"}
FLASK_FREE = ["signing", "storage", "certs", "exchange.domain", "exchange.models", "exchange.adapters",
              "exchange.services", "errors", "settings", "bootstrap", "translations"]
NO_FLASK = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in FLASK_FAMILY)


def _without_flask(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", NO_FLASK + code], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_guard_really_stops_flask() -> None:
    proc = _without_flask("import flask")
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, proc.stderr


def test_the_libraries_import_where_flask_cannot() -> None:
    proc = _without_flask("import signing.verify, storage.blobs, exchange.services.dispatch")
    assert proc.returncode == 0, proc.stderr
    # every module, found by walking the packages (a new module is covered without listing it)
    proc = _without_flask(f"""
import importlib, pkgutil
wiring = {sorted(WIRING)!r}
imported = []
for top in {FLASK_FREE!r}:
    names = [top]
    package = importlib.import_module(top)
    if hasattr(package, "__path__"):
        names += [info.name for info in pkgutil.walk_packages(package.__path__, top + ".")]
    for name in names:
        if name not in wiring:
            importlib.import_module(name)
            imported.append(name)
assert not [n for n in {FLASK_FAMILY!r} if sys.modules.get(n) is not None]
print("\\n".join(imported))
""")
    assert proc.returncode == 0, proc.stderr
    imported = set(proc.stdout.split())
    assert {"signing.checks.visual", "storage.minio_store", "certs.trust", "exchange.services.dispatch",
            "bootstrap"} <= imported
    assert not imported & WIRING
