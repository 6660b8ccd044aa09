"""Every example in README.md runs: Python blocks against the emulator, connection JSON through the hook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.seed import seed_demo

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
CONNECTION_VALUES = re.findall(r"export (AIRFLOW_CONN_\w+)='(.*?)'", README, re.DOTALL)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.DOTALL).group(1)
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
    assert "make test" in (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"python-{n}" for n in range(len(PYTHON_BLOCKS))])
def test_python_examples_run(block: str, emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture) -> None:
    for name, value in seed_demo(emulator, users=2).items():
        monkeypatch.setenv(name, value)
    emulator.add_user("someone", primary_email="someone@example.com")
    exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})


@pytest.mark.parametrize(("name", "value"), CONNECTION_VALUES)
def test_connection_examples_parse(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(value.replace("<app id>", "app-id").replace("<app secret>", "app-secret-value"))
    monkeypatch.setenv("AIRFLOW_CONN_README", json.dumps(document))
    settings = LogtoHook("readme").settings
    assert settings.management_api_resource in ("https://abc123.logto.app/api", "https://default.logto.app/api")


def test_examples_exist() -> None:
    assert len(PYTHON_BLOCKS) >= 6 and len(CONNECTION_VALUES) == 2
