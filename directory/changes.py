"""The one place every change to the directory goes through.

The rule: what the public sees is what a moderator approved. A person's change to a listing or an
organisation, through the API or the admin, is never applied on the spot: it becomes a ``Proposal``
(the full proposed version and its field-level diff against the version it was based on) and the public
keeps getting the approved version until a moderator other than its author approves it with evidence.
Operator commands (``load_seed``, imports) apply their data directly: whoever runs them reviewed it.

Every listing and organisation carries a ``version``. A change names the version it was based on; the
check and the bump are one conditional UPDATE (``... WHERE id = %s AND version = %s``), so of two edits
made on the same version exactly one wins and the other gets ``StaleVersion``.
"""

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


def snapshot(service: Service) -> dict[str, Any]:
    """The listing as plain JSON values, nested parts included (the shape of a proposal's ``data``)."""
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
        {field: getattr(loc, field) for field in LOCATION_FIELDS} for loc in service.locations.order_by("id")
    ]
    return data


def organization_snapshot(organization: Organization) -> dict[str, Any]:
    return {field: getattr(organization, field) for field in ORGANIZATION_FIELDS}


def schedule_data(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "timezone": schedule.timezone,
        "always_open": schedule.always_open,
        "intervals": [
            {"weekday": i.weekday, "opens": _clock(i.opens), "closes": _clock(i.closes)}
            for i in schedule.intervals.order_by("weekday", "opens")
        ],
    }


def _clock(value: time) -> str:
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


def propose_new_service(actor: Any, organization: Organization, data: Mapping[str, Any]) -> Proposal:
    """A new listing: stored only as a proposal, so it appears in no public answer until approved."""
    with transaction.atomic(), acting_as(actor, "proposed a new listing"):
        return Proposal.objects.create(
            action=ProposalAction.CREATE,
            organization=organization,
            data={**data, "organization": organization.pk},
            diff=diff({}, data),
            author=actor,
        )


def propose_service_change(
    actor: Any, service: Service, data: Mapping[str, Any], expected_version: int, action: str = ProposalAction.UPDATE
) -> Proposal:
    """Store a change (or an archive) of a listing as its one pending proposal; the listing stays as it is.

    The edit is made on ``expected_version``; a later pending proposal of the same listing supersedes the
    earlier one (it was made on top of it), and both stay in the history.
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
            diff=_action_diff(action, live, data),
            author=actor,
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
    before = snapshot(service) if service.pk else {}
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
    if "locations" in data and data["locations"] != before.get("locations"):
        service.locations.all().delete()
        Location.objects.bulk_create(Location(service=service, **row) for row in data["locations"])


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
