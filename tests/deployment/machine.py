"""The host name a deployment-test Celery worker reports for its tasks (``[core] hostname_callable``): the name
of the machine it stands for, so each task instance's ``hostname`` says which worker ran each try."""

from __future__ import annotations

import os
import socket


def name() -> str:
    return os.environ.get("LOGTO_TEST_MACHINE") or socket.getfqdn()
