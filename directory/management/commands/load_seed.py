"""Load the topic taxonomy and the seed listings from fixtures/ (idempotent).

Every row of the four ``fixtures/helplines`` files (``known-services.csv``, ``local-services.csv`` and
the NZ, DE, FR, IN and worldwide ones, ``directory.seed.SEED_FILES``) becomes a listing with its
organisation, channels, hours, coverage, location, topics, languages and evidence; rows naming the same
worldwide service are one listing. See ``directory.seed`` for the rules and
``fixtures/helplines/README.md`` for the sources. The report counts rows per country, listings by
verification state per country, channels by kind, and lists every phone or SMS entry it could not read.

Coverage: a listing in a city gets a location (postcode centroid, else city centroid, else no point)
and a radius coverage of 50 km around that point. 50 km takes in a city and its suburbs, the area a
municipal police service, a Garda station or an advocacy centre serves, without claiming the rest of
the province. Units whose own description says they work province-, state- or country-wide are listed
in ``fixtures/helplines/coverage.csv`` and cover that whole area instead; a listing without a city
covers its subdivision, country or the world as its ``region`` says. A city that cannot be placed
falls back to its subdivision, so the listing is still found.

The postcode table is loaded first when it is empty, since locations are placed from it.
"""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from directory.models import PostcodeArea
from directory.seed import PHONE_NOTE, SeedSummary, load_seed


class Command(BaseCommand):
    help = "Load the topic taxonomy and the seed listings (fixtures/) into the directory; safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        if not PostcodeArea.objects.exists():
            call_command("load_postcodes", stdout=self.stdout)
        summary = load_seed()
        self.report(summary, verbose=options["verbosity"] > 1)

    def report(self, summary: SeedSummary, verbose: bool) -> None:
        total = sum(summary.rows_by_country.values())
        by_country = ", ".join(f"{country} {count}" for country, count in sorted(summary.rows_by_country.items()))
        states = ", ".join(f"{state} {count}" for state, count in sorted(summary.states.items()))
        precision = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.locations_by_precision.items()))
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.channels_by_kind.items()))
        unread = [(name, note) for name, note in summary.notes if note.startswith(PHONE_NOTE)]
        self.stdout.write(f"Topics: {summary.topics}")
        self.stdout.write(f"Rows: {total} ({by_country})")
        self.stdout.write(f"Listings: {summary.listings} (rows naming the same worldwide service are one listing)")
        outcomes = summary.outcomes
        self.stdout.write(
            f"  {outcomes['created']} created, {outcomes['updated']} updated, {outcomes['unchanged']} unchanged, "
            f"{outcomes['kept_by_moderator']} left as a moderator verified them"
        )
        self.stdout.write(f"  verification: {states}")
        for country in sorted({country for country, _ in summary.states_by_country}):
            counts = {state: n for (where, state), n in summary.states_by_country.items() if where == country}
            self.stdout.write(f"    {country}: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items())))
        self.stdout.write(f"  {summary.channels} phone/SMS channels parsed ({kinds}), {summary.schedules} schedules")
        self.stdout.write(f"  {len(unread)} phone/SMS entries not parsed (kept in the description):")
        for name, note in unread:
            self.stdout.write(f"    {name}: {note.removeprefix(PHONE_NOTE)}")
        self.stdout.write(f"  locations by precision: {precision}")
        self.stdout.write(f"  {len(summary.notes)} notes kept in descriptions")
        self.stdout.write(f"  {len(summary.unstructured_hours)} hours texts kept only as hours_note")
        if verbose:
            for name, note in summary.notes:
                self.stdout.write(f"    note: {name}: {note}")
            for name, hours in summary.unstructured_hours:
                self.stdout.write(f"    hours: {name}: {hours}")
        self.stdout.write(self.style.SUCCESS("Seed loaded."))
