"""Every example in README.md and docs/**/*.md runs: Python blocks against the emulator, connection JSON through the
hook; and the README opens with the two commands CI and newcomers rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.seed import seed_demo

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PAGES = {page.relative_to(ROOT).as_posix(): page.read_text()
         for page in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])}
PYTHON_BLOCKS = {f"{name}-{n}": block for name, text in PAGES.items()
                 for n, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.DOTALL))}
CONNECTION_VALUES = [value for text in PAGES.values()
                     for value in re.findall(r"export (AIRFLOW_CONN_\w+)='(.*?)'", text, re.DOTALL)]


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.DOTALL).group(1)
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("block", PYTHON_BLOCKS.values(), ids=PYTHON_BLOCKS.keys())
def test_python_examples_run(block: str, emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture) -> None:
    for name, value in seed_demo(emulator, users=2).items():
        monkeypatch.setenv(name, value)
    emulator.add_user("someone", primary_email="someone@example.com")
    exec(compile(block, "example", "exec"), {"__name__": "readme_example"})


@pytest.mark.parametrize(("name", "value"), CONNECTION_VALUES)
def test_connection_examples_parse(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(value.replace("<app id>", "app-id").replace("<app secret>", "app-secret-value"))
    monkeypatch.setenv("AIRFLOW_CONN_README", json.dumps(document))
    settings = LogtoHook("readme").settings
    # As the connection page documents: the tenant_id extra, else the tenant of a Logto Cloud host, else "default".
    cloud = re.fullmatch(r"https://([a-z0-9-]+)\.logto\.app/?", document["host"])
    tenant = (document.get("extra") or {}).get("tenant_id") or (cloud.group(1) if cloud else "default")
    assert settings.management_api_resource == f"https://{tenant}.logto.app/api"


def test_examples_exist() -> None:
    """The README's three short examples, and the pages' examples for the hook, every operator, the sensor and
    the emulator, are all collected (a changed fence would otherwise drop them from the run silently)."""
    assert len([name for name in PYTHON_BLOCKS if name.startswith("README.md-")]) == 3
    for page in ("docs/hook.md", "docs/exports.md", "docs/user-sync.md", "docs/emulator.md",
                 "docs/emulator-audit-log.md", "docs/audit-log-redaction.md",
                 "docs/operators/management.md", "docs/operators/resource.md", "docs/operators/sensor.md"):
        assert f"{page}-0" in PYTHON_BLOCKS, page
    assert len(CONNECTION_VALUES) >= 3
