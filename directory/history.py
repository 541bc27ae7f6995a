"""A listing's change history, assembled from the historical records of the listing and its parts."""

from typing import Any

from directory.models import ContactChannel, Coverage, Language, Location, OpeningInterval, Schedule, Service, Topic

_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
_QUIET_FIELDS = {"updated_at", "latitude_band"}


def service_history(service: Service) -> list[dict[str, Any]]:
    """Every recorded change of the listing and its nested parts, newest first."""
    schedule_ids = set(Schedule.history.filter(service_id=service.pk).values_list("id", flat=True))
    sources: list[tuple[str, Any]] = [
        ("service", Service.history.filter(id=service.pk)),
        ("channel", ContactChannel.history.filter(service_id=service.pk)),
        ("schedule", Schedule.history.filter(service_id=service.pk)),
        ("interval", OpeningInterval.history.filter(schedule_id__in=schedule_ids)),
        ("coverage", Coverage.history.filter(service_id=service.pk)),
        ("location", Location.history.filter(service_id=service.pk)),
    ]
    entries = []
    for part, records in sources:
        previous: dict[int, Any] = {}
        for record in records.select_related("history_user").order_by("history_date", "history_id"):
            entries.append(_entry(part, record, previous.get(record.id)))
            previous[record.id] = record
    entries.sort(key=lambda entry: (entry["date"], entry["_order"]), reverse=True)
    for entry in entries:
        del entry["_order"]
    return entries


def _entry(part: str, record: Any, previous: Any) -> dict[str, Any]:
    fields = [f.name for f in record.instance_type._meta.fields if f.name not in _QUIET_FIELDS]
    m2m = [f.name for f in getattr(record, "_history_m2m_fields", [])]
    if record.history_type == "~" and previous is not None:
        delta = record.diff_against(previous, excluded_fields=_QUIET_FIELDS)
        changes = [
            {"field": c.field, "before": _plain(c.old, c.field), "after": _plain(c.new, c.field)} for c in delta.changes
        ]
    elif record.history_type == "-":
        changes = [{"field": name, "before": _plain(_value(record, name), name), "after": None} for name in fields]
    else:
        changes = [
            {"field": name, "before": None, "after": _plain(_value(record, name), name)} for name in fields + m2m
        ]
    user = record.history_user
    return {
        "date": record.history_date,
        "user": user.get_username() if user is not None else None,
        "reason": record.history_change_reason or "",
        "type": _TYPES[record.history_type],
        "part": part,
        "part_id": record.id,
        "changes": changes,
        "_order": record.history_id,
    }


def _value(record: Any, name: str) -> Any:
    field = record.instance_type._meta.get_field(name)
    if field.is_relation and field.many_to_many:
        return [row[name[:-1]] for row in getattr(record, name).values(name[:-1])]
    return getattr(record, field.attname)


def _plain(value: Any, field: str) -> Any:
    """JSON values; topics and languages by slug and code rather than by through-table rows."""
    if field in _NAMES and isinstance(value, list):
        ids = [row.get(field[:-1]) if isinstance(row, dict) else row for row in value]
        names = dict(_NAMES[field].objects.filter(pk__in=ids).values_list("pk", _NAME_FIELDS[field]))
        return sorted(str(names.get(pk, pk)) for pk in ids)
    if isinstance(value, (str, int, float, bool, type(None), dict)):
        return value
    if isinstance(value, list):
        return [_plain(item, "") for item in value]
    return str(value)


_NAMES: dict[str, Any] = {"topics": Topic, "languages": Language}
_NAME_FIELDS = {"topics": "slug", "languages": "code"}
