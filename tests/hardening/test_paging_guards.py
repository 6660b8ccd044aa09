"""Every way the provider reads a paged list goes through one mechanism with issue 9's guards: a lying
``Total-Number`` never loses items nor loops, a repeated page, an answer that is not a list and endless full
pages are a LogtoApiError naming the fix. Each guard is checked on each entry point, over real HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_logto.exceptions import LogtoApiError
from airflow_provider_logto.listing import paging
from airflow_provider_logto.listing.concurrency import DEFAULT_MAX_CONCURRENCY
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.operators.management import LogtoManagementApiOperator
from tests.hardening.conftest import HostileHook
from tests.hardening.hostile import HostileServer, Received, Reply, json_reply, token_answer

READ_AHEAD = paging.PAGES_IN_MEMORY_PER_WORKER * DEFAULT_MAX_CONCURRENCY  # the most pages requested ahead
Pages = Callable[[int, int], tuple[object, dict[str, str]]]
ReadAll = Callable[[str, int], list]


def fake_logto(pages: Pages) -> Callable[[Received], Reply]:
    """A Logto whose ``GET /api/users?page=…&page_size=…`` answers ``pages(page, size)`` (body, headers)."""

    def answer(request: Received) -> Reply:
        if request.path.startswith("/oidc/token"):
            return token_answer()
        query = parse_qs(urlsplit(request.path).query)
        body, headers = pages(int(query["page"][0]), int(query["page_size"][0]))
        return json_reply(200, json.dumps(body), **headers)

    return answer


def page_requests(server: HostileServer) -> list[int]:
    return [int(parse_qs(urlsplit(r.path).query)["page"][0]) for r in server.received if r.path.startswith("/api/")]


@pytest.fixture(params=["management_paginate", "management_paginate_concurrently", "management_operator",
                        "export_operator"])
def read_all(request: pytest.FixtureRequest, hostile_hook: HostileHook, tmp_path: Path) -> ReadAll:
    """``read_all(logto_url, page_size)``: every item of ``/users`` through one entry point."""

    def read(logto_url: str, page_size: int) -> list:
        hook = hostile_hook(logto_url)
        if request.param == "management_paginate":
            return list(hook.management_paginate("/users", page_size=page_size))
        if request.param == "management_paginate_concurrently":
            return list(hook.management_paginate_concurrently("/users", page_size=page_size, max_concurrency=4))
        if request.param == "management_operator":
            return LogtoManagementApiOperator(task_id="list", endpoint="/users", paginate=True, page_size=page_size,
                                              logto_conn_id="hostile").execute({})
        destination = tmp_path / "users.jsonl"
        LogtoExportOperator(task_id="export", destination=str(destination), page_size=page_size, max_concurrency=4,
                            logto_conn_id="hostile").execute({})
        return [json.loads(line) for line in destination.read_text().splitlines()]

    return read


@pytest.mark.parametrize(("claimed", "real"), [("1000", 5), ("3", 7), ("0", 4), ("-1", 4), (None, 9), ("6", 6)])
def test_a_lying_total_number_loses_no_items_and_ends(read_all: ReadAll, claimed: str | None, real: int) -> None:
    def pages(page: int, size: int) -> tuple[object, dict[str, str]]:
        items = [{"id": f"user-{n}"} for n in range(real)][(page - 1) * size:page * size]
        return items, {} if claimed is None else {"Total-Number": claimed}

    with HostileServer(fake_logto(pages)) as logto:
        items = read_all(logto.url, 2)
        requested = page_requests(logto)
    assert [item["id"] for item in items] == [f"user-{n}" for n in range(real)]
    short_page = real // 2 + 1
    assert max(requested) <= short_page + READ_AHEAD  # past the short page by no more than the read-ahead window


@pytest.mark.parametrize("headers", [{}, {"Total-Number": "1000"}])
def test_a_server_repeating_the_same_full_page_is_stopped(read_all: ReadAll, headers: dict[str, str]) -> None:
    with HostileServer(fake_logto(lambda page, size: ([{"id": n} for n in range(size)], headers))) as logto:
        with pytest.raises(LogtoApiError, match="answered page 2 with the same items as page 1: the endpoint "
                                                "ignores paging; call it once, without paging"):
            read_all(logto.url, 5)
        assert len(page_requests(logto)) <= 2 + READ_AHEAD


@pytest.mark.parametrize("headers", [{}, {"Total-Number": "999999999"}])
def test_endless_full_pages_hit_the_page_cap(read_all: ReadAll, monkeypatch: pytest.MonkeyPatch,
                                             headers: dict[str, str]) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 20)
    endless = fake_logto(lambda page, size: ([{"id": f"{page}-{n}"} for n in range(size)], headers))
    with HostileServer(endless) as logto:
        with pytest.raises(LogtoApiError, match=r"kept answering full pages for 20 pages \(60 items\); stopped\. "
                                                r"Narrow the query .* page ranges \(first_page/last_page"):
            read_all(logto.url, 3)
        assert sorted(page_requests(logto)) == list(range(1, 21))  # the cap bounds requests, not just items


@pytest.mark.parametrize("body", [{"id": "not-a-list"}, "text", None])
def test_an_answer_that_is_not_a_list_is_an_api_error(read_all: ReadAll, body: object) -> None:
    with (HostileServer(fake_logto(lambda page, size: (body, {"Total-Number": "10"}))) as logto,
          pytest.raises(LogtoApiError, match="did not answer a list, so it cannot be paginated")):
        read_all(logto.url, 5)


@pytest.mark.parametrize(("pages", "requested"), [
    (lambda page, size: ([{"id": f"{page}-{n}"} for n in range(size if page < 3 else 1)], {"Total-Number": "1000"}),
     [1, 2, 3]),  # lies high: ends on the short page
    (lambda page, size: ([{"id": f"{page}-{n}"} for n in range(size)], {"Total-Number": "4"}), [1, 2]),  # exact end
    (lambda page, size: ([{"id": n} for n in range(size)], {}), [1, 2]),  # repeats: stopped at the repeat
])
def test_management_paginate_reads_one_page_at_a_time(hostile_hook: HostileHook, pages: Pages,
                                                      requested: list[int]) -> None:
    with HostileServer(fake_logto(pages)) as logto:
        stream = hostile_hook(logto.url).management_paginate("/users", page_size=2)
        next(stream)
        assert page_requests(logto) == [1]  # lazy: page 2 only when page 1 is consumed
        with contextlib.suppress(LogtoApiError):
            list(stream)
        assert page_requests(logto) == requested


def test_a_range_read_is_capped_from_its_first_page(hostile_hook: HostileHook,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 5)
    endless = fake_logto(lambda page, size: ([{"id": f"{page}-{n}"} for n in range(size)], {}))
    with HostileServer(endless) as logto:
        listing = hostile_hook(logto.url).management_paginate_concurrently("/users", page_size=2, first_page=10)
        with pytest.raises(LogtoApiError, match="for 5 pages"):
            list(listing)
        assert page_requests(logto) == [1, *range(10, 15)]  # page 1 is the baseline, then 5 pages of the range
