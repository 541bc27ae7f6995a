"""export_hsds and import_hsds: valid files, the round trip through review, idempotence, and imports that
change nothing.

An import proposes: every listing it would create or change becomes a proposal made as the ``--as``
account, and only a moderator's approval (through ``directory.changes``) changes what the public sees.
"""

import copy
import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from frictionless import validate
from rest_framework.test import APIClient

from directory import changes, hsds
from directory.models import (
    ChannelKind,
    Organization,
    Proposal,
    ProposalAction,
    ProposalState,
    Schedule,
    Service,
    Topic,
    VerificationState,
)
from tests import builders, hsds_listings
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

SOURCE = "https://directory.example.org/hsds/"
IMPORTER = "importer"


@pytest.fixture(autouse=True)
def accounts() -> dict[str, Any]:
    """The operator's account the import proposes as, and another moderator who reviews its proposals."""
    return {"importer": builders.moderator(IMPORTER), "reviewer": builders.moderator("rhea")}


def export(directory: Path) -> list[dict]:
    call_command("export_hsds", str(directory), stdout=io.StringIO())
    return hsds_listings.read_json(directory / "services.json")


def run_import(path: Path, *args: str, actor: str = IMPORTER) -> str:
    out = io.StringIO()
    call_command("import_hsds", str(path), "--source", SOURCE, "--as", actor, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def approve_all(reviewer: Any) -> list[Proposal]:
    """A second moderator approves every pending proposal, with the source the proposal names as evidence."""
    approved = []
    for proposal in Proposal.objects.filter(state=ProposalState.PENDING).order_by("id"):
        assert proposal.author is not None
        assert proposal.author.username == IMPORTER
        approved.append(changes.approve(reviewer, proposal, evidence_url=proposal.evidence_url or SOURCE))
    return approved


def snapshot() -> list[tuple]:
    return list(Service.objects.order_by("hsds_id").values_list("hsds_id", "name", "updated_at", "verification_state"))


def proposals() -> list[tuple]:
    return list(Proposal.objects.order_by("id").values_list("id", "action", "state", "base_version"))


def public_names(client: APIClient) -> set[str]:
    listed = client.get("/api/v1/services/", {"verified": "any", "page_size": "100"}).json()["results"]
    nearest = client.get("/api/v1/nearest/", {"country": "CA"}).json()["results"]
    return {row["name"] for row in listed} | {row["name"] for row in nearest}


def test_the_exported_json_validates_against_the_hsds_schema_and_the_package_with_frictionless(tmp_path):
    hsds_listings.build()
    records = export(tmp_path)
    assert len(records) == 5
    for record in records:
        assert hsds.schema_errors(record) == []
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = hsds_listings.read_json(tmp_path / "datapackage.json")
    spec = hsds_listings.read_json(hsds.SCHEMA_DIR / "datapackage.json")
    assert [r["path"] for r in package["resources"]] == [r["path"] for r in spec["resources"]] + [
        "contact_channels.csv"
    ]
    with (tmp_path / "services.csv").open(encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 5


def tables(directory: Path) -> dict[str, list[dict[str, str]]]:
    """Every CSV of a package, without the columns an import may not carry over (see comparable)."""
    found = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        found[path.name] = [
            {k: v for k, v in row.items() if k not in ("last_modified", "verification", "assured_date")} for row in rows
        ]
    return found


@pytest.mark.parametrize("form", ["services.json", "datapackage.json"])
def test_export_then_import_into_an_empty_database_then_approval_then_export_gives_the_same_data(
    tmp_path, form, accounts
):
    hsds_listings.build()
    builders.topic("parent_support")  # A topic no listing has yet: the package still carries it.
    first = export(tmp_path / "first")
    builders.clear_directory()
    assert not Service.objects.exists()
    assert not Topic.objects.exists()
    output = run_import(tmp_path / "first" / form)
    assert "proposed: created 5, changed 0, unchanged 0" in output
    assert not Service.objects.exists()
    assert export(tmp_path / "before_review") == []
    assert len(approve_all(accounts["reviewer"])) == 5
    second = export(tmp_path / "second")
    assert hsds_listings.comparable(second) == hsds_listings.comparable(first)
    if form == "datapackage.json":
        assert tables(tmp_path / "second") == tables(tmp_path / "first")
    assert Schedule.objects.filter(channel__kind=ChannelKind.CHAT, timezone="America/Regina").count() == 1


def test_imported_listings_are_proposals_naming_their_source_and_record_for_the_moderator(tmp_path, accounts):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    Organization.history.all().delete()
    output = run_import(tmp_path / "services.json")
    assert "Imported as proposals by importer, waiting for a moderator: proposed: created 5" in output
    assert f"proposed as a new listing: service {records[0]['id']}" in output
    assert not Service.objects.exists()
    # Organisations are not listings: synced directly, and the history says who did it and from where.
    created = Organization.history.filter(history_type="+")
    assert {(entry.history_user, entry.history_change_reason) for entry in created} == {
        (accounts["importer"], f"import_hsds from {SOURCE}")
    }
    by_record = {proposal.data["hsds_id"]: proposal for proposal in Proposal.objects.all()}
    assert set(by_record) == {record["id"] for record in records}
    for record_id, proposal in by_record.items():
        assert (proposal.action, proposal.state, proposal.author) == ("create", "pending", accounts["importer"])
        assert proposal.evidence_url == SOURCE
        assert f"HSDS data ({SOURCE}), record {record_id}" in proposal.evidence_note
        assert "hsds_id" not in proposal.diff  # the diff is what the listing says, not what it is called
        assert proposal.diff["name"]["after"] == proposal.data["name"]
    with pytest.raises(changes.NotAllowed):
        changes.approve(accounts["importer"], next(iter(by_record.values())), evidence_url=SOURCE)
    with pytest.raises(changes.ChangeError, match="needs evidence"):
        changes.approve(accounts["reviewer"], next(iter(by_record.values())))
    approve_all(accounts["reviewer"])
    for service in Service.objects.all():
        assert service.verification_state == VerificationState.VERIFIED
        assert (service.verified_by, service.evidence_url) == (accounts["reviewer"], SOURCE)
        assert str(service.hsds_id) in by_record
    record = export(tmp_path / "again")[0]
    assert record["verification"]["state"] == "verified"


def test_an_imported_new_listing_is_in_no_public_answer_until_a_moderator_approves_it(tmp_path, accounts):
    hsds_listings.build()
    export(tmp_path)
    builders.clear_directory()
    client = ValidatingAPIClient()
    run_import(tmp_path / "services.json")
    assert public_names(client) == set()
    assert client.get("/hsds/services").json()["total_items"] == 0
    kids = Proposal.objects.get(data__name="Kids Line Example")
    changes.approve(accounts["reviewer"], kids, evidence_note="Called the line; the numbers answer.")
    assert public_names(client) == {"Kids Line Example"}


def test_a_second_import_proposes_nothing_whether_its_proposals_wait_or_were_approved(tmp_path, accounts):
    hsds_listings.build()
    export(tmp_path)
    builders.clear_directory()
    run_import(tmp_path)
    before = proposals()
    output = run_import(tmp_path)
    assert "proposed: created 0, changed 0, unchanged 5" in output
    assert "already proposes it" in output
    assert proposals() == before
    approve_all(accounts["reviewer"])
    services, before = snapshot(), proposals()
    assert "proposed: created 0, changed 0, unchanged 5" in run_import(tmp_path)
    assert (snapshot(), proposals()) == (services, before)


def test_a_record_that_changes_while_its_new_listing_waits_supersedes_that_proposal(tmp_path, accounts):
    hsds_listings.build()
    records = export(tmp_path / "first")
    builders.clear_directory()
    run_import(tmp_path / "first" / "services.json")
    first = Proposal.objects.get(data__hsds_id=records[0]["id"])
    records[0]["description"] = "A description the source changed."
    (tmp_path / "changed.json").write_text(json.dumps(records), encoding="utf-8")
    output = run_import(tmp_path / "changed.json")
    assert "proposed: created 1, changed 0, unchanged 4" in output
    assert f"superseding #{first.pk} by importer" in output
    first.refresh_from_db()
    assert first.state == ProposalState.SUPERSEDED
    approve_all(accounts["reviewer"])
    assert Service.objects.get(hsds_id=records[0]["id"]).description == "A description the source changed."


def test_an_import_that_changes_a_listing_proposes_it_and_makes_edits_on_the_old_version_stale(tmp_path, accounts):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    run_import(tmp_path / "services.json")
    approve_all(accounts["reviewer"])
    service = Service.objects.get(hsds_id=records[0]["id"])
    before = service.version
    assert "changed 0" in run_import(tmp_path / "services.json")
    assert Service.objects.get(pk=service.pk).version == before  # nothing proposed, nothing bumped

    records[0]["description"] = "A description the source changed."
    (tmp_path / "changed.json").write_text(json.dumps(records), encoding="utf-8")
    output = run_import(tmp_path / "changed.json")
    assert "proposed: created 0, changed 1, unchanged 4" in output
    assert f"proposed as a change: service {records[0]['id']}" in output
    proposal = Proposal.objects.get(service=service, state=ProposalState.PENDING)
    assert (proposal.action, proposal.base_version) == (ProposalAction.UPDATE, before + 1)
    assert proposal.diff == {
        "description": {"before": service.description, "after": "A description the source changed."}
    }
    service.refresh_from_db()
    assert service.version == before + 1
    public = ValidatingAPIClient().get(f"/api/v1/services/{service.pk}/").json()
    assert public["description"] != "A description the source changed."  # the approved version is served
    # The listing's version was claimed by the proposal: an edit made on the old one is refused (412).
    editor = ValidatingAPIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Token {builders.token_for(accounts['reviewer'])}")
    stale = editor.patch(
        f"/api/v1/services/{service.pk}/", {"hours_note": "x"}, format="json", HTTP_IF_MATCH=f'"{before}"'
    )
    assert stale.status_code == 412
    approve_all(accounts["reviewer"])
    assert Service.objects.get(pk=service.pk).description == "A description the source changed."


def test_a_dry_run_reports_what_would_be_proposed_and_writes_nothing(tmp_path):
    hsds_listings.build()
    export(tmp_path)
    builders.clear_directory()
    output = run_import(tmp_path / "services.json", "--dry-run")
    assert "would be proposed as a new listing: service" in output
    assert "Dry run, nothing written: proposed: created 5, changed 0, unchanged 0" in output
    assert not Service.objects.exists()
    assert not Proposal.objects.exists()
    assert not Organization.objects.exists()
    assert not Topic.objects.exists()


def test_the_import_needs_an_existing_account_to_propose_as(tmp_path):
    hsds_listings.build()
    export(tmp_path)
    builders.clear_directory()
    with pytest.raises(CommandError, match="--as USERNAME is required"):
        call_command("import_hsds", str(tmp_path), "--source", SOURCE, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No account named 'nobody'"):
        run_import(tmp_path, actor="nobody")
    get_user_model().objects.filter(username=IMPORTER).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run_import(tmp_path)
    assert not Proposal.objects.exists()
    assert not Organization.objects.exists()


def test_a_bad_record_is_reported_by_name_and_nothing_is_imported(tmp_path):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    bad = copy.deepcopy(records)
    bad[1]["status"] = "open"
    bad[3]["service_areas"][0]["country"] = "XX"
    del bad[4]["organization"]
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="3 bad record"):
        call_command("import_hsds", str(tmp_path / "bad.json"), "--source", SOURCE, "--as", IMPORTER, stdout=out)
    report = out.getvalue()
    assert f"rejected: service {bad[1]['id']} {bad[1]['name']!r}: status: 'open' is not one of" in report
    assert f"rejected: service {bad[3]['id']}" in report
    assert "is not a valid area" in report
    assert f"rejected: service {bad[4]['id']}" in report
    assert "organization: missing" in report
    assert not Service.objects.exists()
    assert not Proposal.objects.exists()
    assert not Organization.objects.exists()
    assert not Topic.objects.exists()


def test_a_bad_cell_in_the_data_package_is_reported_and_nothing_is_imported(tmp_path):
    hsds_listings.build()
    export(tmp_path)
    before = snapshot()
    services = (tmp_path / "services.csv").read_text(encoding="utf-8").splitlines()
    header = services[0].split(",")
    cells = next(csv.reader([services[2]]))
    cells[header.index("minimum_age")] = "young"
    services[2] = ",".join(f'"{cell}"' for cell in cells)
    (tmp_path / "services.csv").write_text("\n".join(services) + "\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_hsds", str(tmp_path), "--source", SOURCE, "--as", IMPORTER, stdout=out)
    assert "rejected: services.csv line 3:" in out.getvalue()
    assert snapshot() == before
    assert not Proposal.objects.exists()


def test_a_listing_a_moderator_verified_is_not_skipped_the_change_is_proposed_and_the_moderator_decides(
    tmp_path, accounts
):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    run_import(tmp_path / "services.json")
    approve_all(accounts["reviewer"])
    kids = Service.objects.get(name="Kids Line Example")
    verified = (kids.verification_state, kids.verified_by, kids.verified_at, kids.description)
    assert verified[:2] == (VerificationState.VERIFIED, accounts["reviewer"])
    changed = copy.deepcopy(records)
    for record in changed:
        record["description"] = "Changed by the other directory"
    (tmp_path / "changed.json").write_text(json.dumps(changed), encoding="utf-8")
    output = run_import(tmp_path / "changed.json")
    assert "proposed: created 0, changed 5, unchanged 0" in output
    assert f"proposed as a change: service {kids.hsds_id}" in output
    kids.refresh_from_db()
    assert (kids.verification_state, kids.verified_by, kids.verified_at, kids.description) == verified
    assert not Service.objects.filter(description="Changed by the other directory").exists()
    proposal = Proposal.objects.get(service=kids, state=ProposalState.PENDING)
    changes.reject(accounts["reviewer"], proposal, "Their description is older than the line's own page.")
    kids.refresh_from_db()
    assert kids.description == verified[3]


def test_an_import_change_supersedes_a_maintainers_pending_proposal_and_says_so(tmp_path, accounts):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    run_import(tmp_path / "services.json")
    approve_all(accounts["reviewer"])
    kids = Service.objects.get(name="Kids Line Example")
    alice = builders.maintainer("alice", kids.organization.name)
    theirs = changes.propose_service_change(
        alice, kids, {**changes.current_draft(kids), "hours_note": "Evenings"}, kids.version
    )
    kids_record = next(record for record in records if record["id"] == str(kids.hsds_id))
    kids_record["description"] = "Changed by the other directory"
    (tmp_path / "changed.json").write_text(json.dumps(records), encoding="utf-8")
    output = run_import(tmp_path / "changed.json")
    assert f"superseding #{theirs.pk} by alice" in output
    theirs.refresh_from_db()
    assert theirs.state == ProposalState.SUPERSEDED


def test_a_channel_with_hours_in_two_time_zones_is_a_bad_record(tmp_path):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    kids = next(r for r in records if r["name"] == "Kids Line Example")
    chat_hours = next(entry for entry in kids["schedules"] if entry.get("contact_channel_id"))
    kids["schedules"].append({**chat_hours, "id": str(uuid.uuid4()), "timezone_name": "America/Toronto"})
    (tmp_path / "two_zones.json").write_text(json.dumps(records), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 bad record"):
        call_command("import_hsds", str(tmp_path / "two_zones.json"), "--source", SOURCE, "--as", IMPORTER, stdout=out)
    assert "a contact channel's hours are in more than one time zone" in out.getvalue()
    assert not Proposal.objects.exists()


PLAIN: dict[str, Any] = {
    "id": "7d3f7a52-1a0e-4c3e-9f25-3b1a3c2d9e10",
    "name": "Prairie Example Helpline",
    "status": "active",
    "description": "Listening and support for young people.",
    "url": "https://prairie.example.org",
    "email": "help@prairie.example.org",
    "organization": {
        "id": "3b0f9d36-8a51-4a45-8f3e-2f8b0c6c1a22",
        "name": "Prairie Example Society",
        "description": "A community organisation.",
    },
    "phones": [{"id": "0c7b6f2e-4d1a-4a8e-b6f0-6e5d3c2b1a09", "number": "(306) 555-0155", "type": "voice"}],
    "schedules": [
        {
            "id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            "freq": "WEEKLY",
            "byday": "MO,WE",
            "opens_at": "09:00",
            "closes_at": "17:00",
            "timezone": -6,
        }
    ],
    "service_areas": [{"id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "name": "Saskatchewan"}],
    "service_at_locations": [
        {
            "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "location": {
                "id": "2b3c4d5e-6f70-4b8c-9d0e-1f2a3b4c5d6e",
                "location_type": "physical",
                "latitude": 50.45,
                "longitude": -104.61,
                "addresses": [
                    {
                        "id": "3c4d5e6f-7081-4c9d-8e1f-2a3b4c5d6e7f",
                        "address_1": "2 Example Avenue",
                        "city": "Regina",
                        "state_province": "SK",
                        "postal_code": "S4P 3Y2",
                        "country": "CA",
                        "address_type": "physical",
                    }
                ],
            },
        }
    ],
    "languages": [{"id": "4d5e6f70-8192-4dae-8f20-3b4c5d6e7f80", "name": "Cree", "code": "cr"}],
    "attributes": [
        {
            "id": "5e6f7081-92a3-4ebf-9031-4c5d6e7f8091",
            "link_entity": "service",
            "link_id": "7d3f7a52-1a0e-4c3e-9f25-3b1a3c2d9e10",
            "taxonomy_term_id": "6f708192-a3b4-4fc0-a142-5d6e7f8091a2",
            "taxonomy_term": {"id": "6f708192-a3b4-4fc0-a142-5d6e7f8091a2", "name": "Crisis", "description": "211"},
        }
    ],
}


def test_a_plain_hsds_record_from_another_directory_imports_with_the_kinds_the_operator_gives(tmp_path, accounts):
    assert hsds.schema_errors(PLAIN) == []
    # Rows we already hold under other names or ids: matched, not changed on every run.
    builders.language("cr", "Plains Cree")
    builders.organization("Prairie Example Society", kind="charity")
    (tmp_path / "plain.json").write_text(json.dumps([PLAIN]), encoding="utf-8")
    with pytest.raises(CommandError, match="1 bad record"):
        run_import(tmp_path / "plain.json")
    output = run_import(tmp_path / "plain.json", "--service-kind", "helpline", "--organization-kind", "ngo")
    assert "is not one of our topics: left out" in output
    assert "has no scope: left out" in output
    again = run_import(tmp_path / "plain.json", "--service-kind", "helpline", "--organization-kind", "ngo")
    assert "proposed: created 0, changed 0, unchanged 1" in again
    approve_all(accounts["reviewer"])
    service = Service.objects.get(hsds_id=PLAIN["id"])
    assert (service.kind, service.organization.kind, service.verification_state) == ("helpline", "ngo", "verified")
    assert Organization.objects.count() == 1
    assert [(c.kind, c.value) for c in service.channels.order_by("position")] == [
        ("phone", "+13065550155"),
        ("website", "https://prairie.example.org"),
        ("email", "help@prairie.example.org"),
    ]
    schedule = service.schedules.get()
    assert schedule.timezone == "Etc/GMT+6"
    assert list(schedule.intervals.values_list("weekday", flat=True)) == [0, 2]
    location = service.locations.get()
    assert (location.city, location.postcode, location.country, location.address) == (
        "Regina",
        "S4P 3Y2",
        "CA",
        "2 Example Avenue",
    )
    assert list(service.languages.values_list("code", flat=True)) == ["cr"]
    assert not service.topics.exists()
    assert [str(place.hsds_id) for place in service.locations.all()] == [
        PLAIN["service_at_locations"][0]["location"]["id"]
    ]
    after = run_import(tmp_path / "plain.json", "--service-kind", "helpline", "--organization-kind", "ngo")
    assert "proposed: created 0, changed 0, unchanged 1" in after


def test_a_long_import_reports_its_progress(tmp_path):
    many = []
    for number in range(150):
        record = copy.deepcopy(PLAIN)
        record["id"] = str(uuid.uuid5(hsds.NAMESPACE, f"test/{number}"))
        record["name"] = f"Prairie Example Helpline {number}"
        record["service_at_locations"][0]["location"]["id"] = str(uuid.uuid5(hsds.NAMESPACE, f"test/place/{number}"))
        many.append(record)
    (tmp_path / "many.json").write_text(json.dumps(many), encoding="utf-8")
    err = io.StringIO()
    call_command(
        "import_hsds",
        str(tmp_path / "many.json"),
        "--source",
        SOURCE,
        "--as",
        IMPORTER,
        "--service-kind",
        "helpline",
        "--organization-kind",
        "ngo",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert "checked 100/150" in err.getvalue()
    assert "written 150/150" in err.getvalue()
    assert Proposal.objects.filter(action=ProposalAction.CREATE, state=ProposalState.PENDING).count() == 150
    assert not Service.objects.exists()


def test_a_file_that_is_not_hsds_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="is not JSON"):
        run_import(tmp_path / "broken.json")
    (tmp_path / "object.json").write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(CommandError, match="neither a list"):
        run_import(tmp_path / "object.json")
    with pytest.raises(CommandError, match=r"no datapackage\.json"):
        run_import(tmp_path)
    (tmp_path / "odd.json").write_text('[1, "x"]', encoding="utf-8")
    with pytest.raises(CommandError, match="2 bad record"):
        run_import(tmp_path / "odd.json")


def test_a_location_id_another_record_holds_is_a_bad_record(tmp_path):
    twin = copy.deepcopy(PLAIN)
    twin["id"], twin["name"] = "8e4a8b63-2b1f-4d4f-a036-4c2b4d3e0f21", "Twin Example Helpline"
    (tmp_path / "twins.json").write_text(json.dumps([PLAIN, twin]), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 bad record"):
        call_command(
            "import_hsds",
            str(tmp_path / "twins.json"),
            "--source",
            SOURCE,
            "--as",
            IMPORTER,
            "--service-kind",
            "helpline",
            "--organization-kind",
            "ngo",
            stdout=out,
        )
    assert "location 2b3c4d5e-6f70-4b8c-9d0e-1f2a3b4c5d6e is another service's" in out.getvalue()
    assert not Service.objects.exists()
    assert not Proposal.objects.exists()


def test_an_import_the_database_refuses_midway_leaves_nothing_behind(tmp_path, monkeypatch):
    hsds_listings.build()
    export(tmp_path)
    builders.clear_directory()
    write = hsds._propose_service
    calls = []

    def fail_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise DatabaseError("disk full")
        return write(*args, **kwargs)

    monkeypatch.setattr(hsds, "_propose_service", fail_on_the_third)
    with pytest.raises(CommandError, match="nothing was imported: disk full"):
        run_import(tmp_path / "services.json")
    assert len(calls) == 3
    assert not Service.objects.exists()
    assert not Proposal.objects.exists()
    assert not Organization.objects.exists()
    assert not Topic.objects.exists()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r.update(contact_channels=["+13065550101"]),
        lambda r: r["schedules"][1].update(contact_channel_id=["a"]),
        lambda r: r["service_areas"][0].update(scope="radius", latitude="north", longitude=1, radius_km=5),
        lambda r: r.update(translations="fr"),
        lambda r: r.update(is_free="yes"),
        lambda r: r.update(minimum_age=30, maximum_age=20),
        lambda r: r["attributes"][0]["taxonomy_term"].update(names="sextortion"),
        lambda r: r["languages"][0].update(code="english"),
        lambda r: r["schedules"][0].update(timezone_name="Mars/Olympus"),
    ],
)
def test_a_malformed_profile_field_makes_a_bad_record_not_a_crash(tmp_path, spoil):
    hsds_listings.build()
    records = export(tmp_path)
    builders.clear_directory()
    kids = next(r for r in records if r["name"] == "Kids Line Example")
    spoil(kids)
    (tmp_path / "spoilt.json").write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(CommandError, match="1 bad record"):
        run_import(tmp_path / "spoilt.json")
    assert not Service.objects.exists()
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    "descriptor",
    [
        '{"resources": [{"name": "service"}]}',
        '{"resources": [{"name": "service", "path": "../services.csv"}]}',
        '{"resources": "all"}',
    ],
)
def test_a_malformed_data_package_is_an_error_not_a_crash(tmp_path, descriptor):
    package = tmp_path / "package"
    package.mkdir()
    (package / "datapackage.json").write_text(descriptor, encoding="utf-8")
    (tmp_path / "services.csv").write_text("id,name\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not a readable data package"):
        run_import(package)
