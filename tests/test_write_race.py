"""Two edits made on the same version, at the same moment: exactly one wins, the other gets 412."""

import threading
from typing import Any

import pytest
from django.db import connection

from directory.models import Proposal, Service
from tests import builders
from tests.openapi_client import ValidatingAPIClient


@pytest.mark.django_db(transaction=True)
def test_two_edits_racing_on_one_etag_store_exactly_the_winner() -> None:
    service = builders.service("Raced Line", country="CA", phone="+13065550101", org="Org A")
    alice = builders.maintainer("alice", "Org A")
    tokens = [builders.token_for(alice), builders.token_for(alice)]
    etag = f'"{service.version}"'
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def edit(name: str, token: str) -> None:
        client = ValidatingAPIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        start.wait()
        try:
            results[name] = client.patch(
                f"/api/v1/services/{service.pk}/", {"name": name}, format="json", HTTP_IF_MATCH=etag
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(f"Edit {i}", token)) for i, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [202, 412]
    winner = next(name for name, response in results.items() if response.status_code == 202)
    assert list(Proposal.objects.values_list("data__name", flat=True)) == [winner]
    assert Service.objects.get(pk=service.pk).version == service.version + 1
