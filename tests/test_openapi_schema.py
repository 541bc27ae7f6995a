from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@pytest.mark.django_db
def test_the_committed_openapi_yaml_matches_the_served_schema():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    served = yaml.safe_load(response.content)
    committed = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert served == committed, "openapi.yaml is out of date: run `make schema` and commit it"


@pytest.mark.django_db
def test_the_swagger_and_redoc_pages_are_served():
    client = APIClient()
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200
