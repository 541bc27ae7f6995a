"""The one place every change to the directory goes through.

The rule: what the public sees is what a moderator approved. A person's change to a listing or an
organisation, through the API or the admin, is never applied on the spot: it becomes a ``Proposal``
(the full proposed version and its field-level diff against the version it was based on) and the public
keeps getting the approved version until a moderator other than its author approves it with evidence.
Imports go through it too (``import_hsds`` proposes as the account it is run as); only ``load_seed``,
the operator's bootstrap of the directory's own curated data, writes listings directly.

Every listing and organisation carries a ``version``. A change names the version it was based on; the
check and the bump are one conditional UPDATE (``... WHERE id = %s AND version = %s``), so of two edits
made on the same version exactly one wins and the other gets ``StaleVersion``.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import time, timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from directory.audit import acting_as
from directory.models import (
    ContactChannel,
    Coverage,
    Language,
    Location,
    OpeningInterval,
    Organization,
    Proposal,
    ProposalAction,
    ProposalState,
    Schedule,
    Service,
    Topic,
    VerificationState,
)
from directory.permissions import is_moderator
from directory.validators import language_for

SERVICE_SCALARS = (
    "kind",
    "name",
    "description",
    "translations",
    "min_age",
    "max_age",
    "is_free",
    "is_anonymous",
    "is_confidential",
    "status",
    "hours_note",
    "review_interval_days",
)
SERVICE_NESTED = ("topics", "languages", "channels", "hours", "coverage", "locations")
ORGANIZATION_FIELDS = ("name", "description", "website", "email", "kind")
CHANNEL_FIELDS = ("kind", "value", "display", "extension", "sms_keyword", "label", "is_primary")
COVERAGE_FIELDS = ("scope", "country", "subdivision", "latitude", "longitude", "radius_km")
LOCATION_FIELDS = (
    "name",
    "address",
    "city",
    "postcode",
    "country",
    "subdivision",
    "latitude",
    "longitude",
    "precision",
)


class ChangeError(Exception):
    """A change that cannot be made; the API maps each kind to its status."""


class StaleVersion(ChangeError):
    """The target changed since the version the change was based on."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"This record has changed since (now version {current_version}); fetch it and try again.")
        self.current_version = current_version


class ReviewConflict(ChangeError):
    """A proposal's base version is no longer the target's version: it cannot be approved blind."""


class NotAllowed(ChangeError):
    """The actor may not make this decision (e.g. approve their own proposal)."""


class NotPending(ChangeError):
    """The proposal was already decided."""


# Snapshots: the write representation of a listing, the same shape the write API accepts.


def snapshot(service: Service, *, ids: bool = False) -> dict[str, Any]:
    """The listing as plain JSON values, nested parts included (the shape of a proposal's ``data``).

    ``ids``: with the listing's and its locations' HSDS ids (``hsds_id``), as an import's proposals carry
    them so that approval keeps the ids of the other directory's records. The write API's shape has none.
    """
    schedules = list(Schedule.objects.filter(service=service).prefetch_related("intervals"))
    by_channel = {s.channel_id: s for s in schedules}
    data: dict[str, Any] = {"organization": service.organization_id}
    data.update({field: getattr(service, field) for field in SERVICE_SCALARS})
    data["topics"] = sorted(service.topics.values_list("slug", flat=True))
    data["languages"] = sorted(service.languages.values_list("code", flat=True))
    data["channels"] = [
        {**{field: getattr(c, field) for field in CHANNEL_FIELDS}, "hours": schedule_data(by_channel.get(c.id))}
        for c in service.channels.order_by("position", "id")
    ]
    data["hours"] = schedule_data(by_channel.get(None))
    data["coverage"] = [
        {field: getattr(c, field) for field in COVERAGE_FIELDS} for c in service.coverage.order_by("id")
    ]
    data["locations"] = [
        {field: getattr(loc, field) for field in LOCATION_FIELDS} | ({"hsds_id": str(loc.hsds_id)} if ids else {})
        for loc in service.locations.order_by("id")
    ]
    if ids:
        data["hsds_id"] = str(service.hsds_id)
    return data


def without_ids(data: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal's data without the HSDS ids an import adds: what a listing says, not what it is called."""
    content = _without_id(data)
    if isinstance(content.get("locations"), list):
        content["locations"] = [_without_id(row) if isinstance(row, Mapping) else row for row in content["locations"]]
    return content


def _without_id(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "hsds_id"}


def organization_snapshot(organization: Organization) -> dict[str, Any]:
    return {field: getattr(organization, field) for field in ORGANIZATION_FIELDS}


def schedule_data(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "timezone": schedule.timezone,
        "always_open": schedule.always_open,
        "intervals": [
            {"weekday": i.weekday, "opens": clock_text(i.opens), "closes": clock_text(i.closes)}
            for i in schedule.intervals.order_by("weekday", "opens")
        ],
    }


def clock_text(value: time) -> str:
    """A time as the write shape holds it: HH:MM."""
    return value.strftime("%H:%M")


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level differences: ``{field: {"before": …, "after": …}}`` for every field that changed."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


# Proposals: how people change the directory.


def current_draft(service: Service) -> dict[str, Any]:
    """What a new edit of the listing starts from: its pending proposal if it has one, else the listing."""
    pending = service.proposals.filter(state=ProposalState.PENDING).first()
    if pending is not None and pending.action == ProposalAction.UPDATE:
        return dict(pending.data)
    return snapshot(service)


def propose_new_service(
    actor: Any, organization: Organization, data: Mapping[str, Any], *, source_url: str = "", source_note: str = ""
) -> Proposal:
    """A new listing: stored only as a proposal, so it appears in no public answer until approved.

    ``source_url`` and ``source_note`` say where the data comes from, for the moderator (kept in the
    proposal's evidence fields until a moderator's own evidence replaces them on approval). A new listing
    that names its HSDS id (an import's) supersedes a pending proposal of the same new listing.
    """
    with transaction.atomic(), acting_as(actor, "proposed a new listing"):
        if data.get("hsds_id"):
            Proposal.objects.filter(
                action=ProposalAction.CREATE, state=ProposalState.PENDING, data__hsds_id=data["hsds_id"]
            ).update(state=ProposalState.SUPERSEDED, decided_at=timezone.now())
        return Proposal.objects.create(
            action=ProposalAction.CREATE,
            organization=organization,
            data={**data, "organization": organization.pk},
            diff=diff({}, without_ids(data)),
            author=actor,
            evidence_url=source_url,
            evidence_note=source_note,
        )


def pending_new_listing(hsds_id: str) -> Proposal | None:
    """The pending proposal of a new listing with this HSDS id (an import's), if there is one."""
    return Proposal.objects.filter(
        action=ProposalAction.CREATE, state=ProposalState.PENDING, data__hsds_id=hsds_id
    ).first()


def propose_service_change(
    actor: Any,
    service: Service,
    data: Mapping[str, Any],
    expected_version: int,
    action: str = ProposalAction.UPDATE,
    *,
    source_url: str = "",
    source_note: str = "",
) -> Proposal:
    """Store a change (or an archive) of a listing as its one pending proposal; the listing stays as it is.

    The edit is made on ``expected_version``; a later pending proposal of the same listing supersedes the
    earlier one (it was made on top of it), and both stay in the history. ``source_url`` and
    ``source_note``: as for ``propose_new_service``.
    """
    with transaction.atomic(), acting_as(actor, f"proposed: {action}"):
        version = _claim(Service, service.pk, expected_version)
        service.version = version
        live = snapshot(service)
        Proposal.objects.filter(service=service, state=ProposalState.PENDING).update(
            state=ProposalState.SUPERSEDED, decided_at=timezone.now()
        )
        return Proposal.objects.create(
            action=action,
            organization_id=service.organization_id,
            service=service,
            base_version=version,
            data=dict(data),
            diff=_action_diff(action, live, without_ids(data)),
            author=actor,
            evidence_url=source_url,
            evidence_note=source_note,
        )


def _action_diff(action: str, live: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    if action == ProposalAction.ARCHIVE:
        return {"archived": {"before": False, "after": True}}
    if action == ProposalAction.CONFIRM:
        return {}
    return diff(live, data)


def propose_confirmation(actor: Any, service: Service, expected_version: int) -> Proposal:
    """'Still correct': a proposal with no change, which a moderator verifies like any other."""
    return propose_service_change(actor, service, {}, expected_version, ProposalAction.CONFIRM)


def propose_organization_change(
    actor: Any, organization: Organization, data: Mapping[str, Any], expected_version: int
) -> Proposal:
    with transaction.atomic(), acting_as(actor, "proposed: update_organization"):
        version = _claim(Organization, organization.pk, expected_version)
        organization.version = version
        Proposal.objects.filter(
            organization=organization, action=ProposalAction.UPDATE_ORGANIZATION, state=ProposalState.PENDING
        ).update(state=ProposalState.SUPERSEDED, decided_at=timezone.now())
        return Proposal.objects.create(
            action=ProposalAction.UPDATE_ORGANIZATION,
            organization=organization,
            base_version=version,
            data=dict(data),
            diff=diff(organization_snapshot(organization), data),
            author=actor,
        )


def in_conflict(proposal: Proposal) -> bool:
    """A pending proposal whose target changed since it was made: it cannot be approved."""
    if proposal.state != ProposalState.PENDING or proposal.base_version is None:
        return False
    target: Any = proposal.service if proposal.service_id else proposal.organization
    return bool(target is not None and target.version != proposal.base_version)


def withdraw(actor: Any, proposal: Proposal) -> Proposal:
    with transaction.atomic(), acting_as(actor, f"withdrew proposal #{proposal.pk}"):
        _decide(proposal, ProposalState.WITHDRAWN, actor)
        proposal.save()
    return proposal


def reject(actor: Any, proposal: Proposal, reason: str) -> Proposal:
    if not is_moderator(actor):
        raise NotAllowed("Only moderators review proposals.")
    with transaction.atomic(), acting_as(actor, f"rejected proposal #{proposal.pk}"):
        _decide(proposal, ProposalState.REJECTED, actor)
        proposal.reason = reason
        proposal.save()
    return proposal


def approve(actor: Any, proposal: Proposal, *, evidence_url: str = "", evidence_note: str = "") -> Proposal:
    """Apply a proposal atomically, as verified by ``actor`` with the given evidence.

    Refused when the actor wrote the proposal, when no evidence is given, or when the target changed
    since the proposal was made (``ReviewConflict``: its author must propose again on the new version).
    """
    if not is_moderator(actor):
        raise NotAllowed("Only moderators review proposals.")
    if proposal.author_id is not None and proposal.author_id == actor.pk:
        raise NotAllowed("A moderator cannot approve their own proposal; another moderator must review it.")
    if not (evidence_url or evidence_note):
        raise ChangeError("Approval needs evidence: an evidence_url or an evidence_note.")
    try:
        return _apply_approved(actor, proposal, evidence_url, evidence_note)
    except IntegrityError as error:
        raise ReviewConflict(
            f"This proposal cannot be applied as it stands ({error}); nothing was changed. "
            "Its author must propose again."
        ) from error


def _apply_approved(actor: Any, proposal: Proposal, evidence_url: str, evidence_note: str) -> Proposal:
    with transaction.atomic(), acting_as(actor, f"approved proposal #{proposal.pk}"):
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        _decide(locked, ProposalState.APPROVED, actor)
        locked.evidence_url, locked.evidence_note = evidence_url, evidence_note
        now = timezone.now()
        verification = {
            "verification_state": VerificationState.VERIFIED,
            "verified_at": now,
            "verified_by": actor,
            "evidence_url": evidence_url,
            "evidence_note": evidence_note,
        }
        if locked.action == ProposalAction.UPDATE_ORGANIZATION:
            organization = locked.organization
            _claim_for_review(Organization, int(organization.pk), locked.base_version)
            apply_organization(organization, locked.data)
        elif locked.action == ProposalAction.CREATE:
            service = Service(organization_id=locked.organization_id, **verification)
            apply_service(service, locked.data)
            locked.service = service
        else:
            service = Service.objects.get(pk=int(locked.service_id or 0))
            _claim_for_review(Service, service.pk, locked.base_version)
            service.refresh_from_db()
            if locked.action == ProposalAction.ARCHIVE:
                service.archived_at = now
                service.save()
            else:
                for key, value in verification.items():
                    setattr(service, key, value)
                # A confirmation carries no data: the listing is verified as it stands.
                apply_service(service, locked.data)
        locked.save()
    return locked


def restore(actor: Any, service: Service, expected_version: int) -> Service:
    """Bring an archived listing back into public answers as it was approved (moderators only)."""
    if not is_moderator(actor):
        raise NotAllowed("Only moderators restore archived listings.")
    with transaction.atomic(), acting_as(actor, "restored the listing"):
        _claim(Service, service.pk, expected_version)
        service.refresh_from_db()
        service.archived_at = None
        service.save()
    return service


def _decide(proposal: Proposal, state: str, actor: Any) -> None:
    if proposal.state != ProposalState.PENDING:
        raise NotPending(f"This proposal is already {proposal.state}.")
    proposal.state, proposal.decided_by, proposal.decided_at = state, actor, timezone.now()


def _claim(model: type[models.Model], pk: int, expected_version: int) -> int:
    """Bump the version if it is still ``expected_version``, in one conditional UPDATE; return the new one."""
    updated = model.objects.filter(pk=pk, version=expected_version).update(  # type: ignore[attr-defined]
        version=F("version") + 1, updated_at=timezone.now()
    )
    if not updated:
        current = model.objects.filter(pk=pk).values_list("version", flat=True).first()  # type: ignore[attr-defined]
        raise StaleVersion(int(current or 0))
    return expected_version + 1


def _claim_for_review(model: type[models.Model], pk: int, base_version: int | None) -> None:
    try:
        _claim(model, pk, base_version or 0)
    except StaleVersion as stale:
        raise ReviewConflict(
            f"The listing changed after this proposal was made (it was version {base_version}, now "
            f"{stale.current_version}); it cannot be approved blind. Its author must propose again."
        ) from stale


# Applying data: used by approvals and by operator commands.


def apply_organization(organization: Organization, data: Mapping[str, Any]) -> None:
    for field in ORGANIZATION_FIELDS:
        if field in data:
            setattr(organization, field, data[field])
    organization.save()


def apply_service(service: Service, data: Mapping[str, Any]) -> None:
    """Make ``service`` (saved or not) what ``data`` says, replacing only the nested parts that differ."""
    before = snapshot(service, ids=True) if service.pk else {}
    if service.pk is None and data.get("hsds_id"):
        service.hsds_id = uuid.UUID(str(data["hsds_id"]))  # an imported listing keeps its source's id
    for field in SERVICE_SCALARS:
        if field in data:
            setattr(service, field, data[field])
    if service.verification_state == VerificationState.VERIFIED and service.verified_at is not None:
        service.review_due = service.verified_at + timedelta(days=service.review_interval_days)
    service.save()
    if "topics" in data and data["topics"] != before.get("topics"):
        service.topics.set(Topic.objects.filter(slug__in=data["topics"]))
    if "languages" in data and data["languages"] != before.get("languages"):
        service.languages.set([_language(code) for code in data["languages"]])
    if any(key in data and data[key] != before.get(key) for key in ("channels", "hours")):
        _replace_channels(service, data.get("channels", before.get("channels", [])), data.get("hours"))
    if "coverage" in data and data["coverage"] != before.get("coverage"):
        service.coverage.all().delete()
        Coverage.objects.bulk_create(Coverage(service=service, **row) for row in data["coverage"])
    if "locations" in data and not _same_locations(data["locations"], before.get("locations", [])):
        service.locations.all().delete()
        Location.objects.bulk_create(Location(service=service, **row) for row in data["locations"])


def _same_locations(wanted: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]) -> bool:
    """The live locations (with their ids) already say what ``wanted`` says, ids included where it gives them."""
    return len(wanted) == len(live) and all(
        dict(row) == (dict(current) if "hsds_id" in row else _without_id(current))
        for row, current in zip(wanted, live, strict=True)
    )


def _language(code: str) -> Language:
    found = language_for(code)
    return Language.objects.get_or_create(code=code, defaults={"name": found.name if found else code})[0]


def _replace_channels(service: Service, channels: Sequence[Mapping[str, Any]], hours: Mapping[str, Any] | None) -> None:
    Schedule.objects.filter(service=service).delete()
    service.channels.all().delete()
    for position, row in enumerate(channels):
        channel = ContactChannel.objects.create(
            service=service, position=position, **{field: row[field] for field in CHANNEL_FIELDS}
        )
        if row.get("hours"):
            _create_schedule(service, channel, row["hours"])
    if hours:
        _create_schedule(service, None, hours)


def _create_schedule(service: Service, channel: ContactChannel | None, hours: Mapping[str, Any]) -> None:
    schedule = Schedule.objects.create(
        service=service, channel=channel, timezone=hours["timezone"], always_open=hours["always_open"]
    )
    OpeningInterval.objects.bulk_create(
        OpeningInterval(
            schedule=schedule,
            weekday=row["weekday"],
            opens=time.fromisoformat(row["opens"]),
            closes=time.fromisoformat(row["closes"]),
        )
        for row in hours["intervals"]
    )


def bump_version(service: Service) -> None:
    """Mark a listing changed by an operator command, so edits based on the old version are refused."""
    Service.objects.filter(pk=service.pk).update(version=F("version") + 1)
