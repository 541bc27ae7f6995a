from hypothesis import given, settings
from hypothesis import strategies as st

from sms.encoding import MAX_SEGMENTS, segment_count
from sms.replies import (
    LANGUAGES,
    TEXTS,
    Channel,
    Listing,
    Place,
    SearchView,
    detail_reply,
    help_reply,
    how_to_reach,
    notice_reply,
    search_reply,
    short_name,
)

KIDS_LINE = Listing(
    "Fictional Youth Line",
    (Channel("phone", "1-306-555-0100"), Channel("sms", "306-555-0101", "CONNECT")),
    always_open=True,
    description="Counselling for young people, about anything, any time.",
)
LOCAL_POLICE = Listing("Fictional City Police", (Channel("phone", "306-555-0102"),))
TIPLINE = Listing("Fictional Tipline", (Channel("website", "https://tipline.example.org"),))


def test_a_result_shows_its_name_and_the_number_or_keyword_to_use():
    assert how_to_reach(KIDS_LINE, "en") == "1-306-555-0100 or text CONNECT to 306-555-0101"
    assert how_to_reach(KIDS_LINE, "fr") == "1-306-555-0100 ou texto CONNECT au 306-555-0101"
    assert how_to_reach(KIDS_LINE, "es") == "1-306-555-0100 o envía CONNECT al 306-555-0101"


def test_a_long_name_loses_its_bracketed_asides_before_its_words():
    name = "Fictional Provincial Exploitation Unit (Example Org) - North office"
    assert short_name(name) == "Fictional Provincial Exploitation Unit - North office"
    assert short_name("Fictional Centre (Example Org)") == "Fictional Centre (Example Org)"
    assert short_name("Fictional " * 20).endswith("...")
    assert len(short_name("Fictional " * 20)) <= 60


def test_a_listing_without_phone_shows_its_website():
    assert how_to_reach(TIPLINE, "en") == "https://tipline.example.org"


def test_results_are_numbered_in_rank_order():
    composed = search_reply(SearchView("en", (LOCAL_POLICE, TIPLINE, KIDS_LINE), country="CA", emergency="911"))
    assert composed.text.index("1. Fictional City Police") < composed.text.index("2. Fictional Tipline")
    assert "3. Fictional Youth Line: 1-306-555-0100 or text CONNECT to 306-555-0101" in composed.text
    assert composed.consumed == 3


def test_a_number_an_earlier_line_gave_is_passed_over_for_the_listings_next_way():
    portal = Listing(
        "Fictional Portal", (Channel("phone", "306-555-0102"), Channel("website", "https://portal.example"))
    )
    composed = search_reply(SearchView("en", (LOCAL_POLICE, portal), emergency="911"))
    assert "1. Fictional City Police: 306-555-0102" in composed.text
    assert "2. Fictional Portal: https://portal.example" in composed.text
    assert how_to_reach(portal, "en") == "306-555-0102", "alone, its phone comes first"
    # On a later page too: what the first page gave counts.
    later = search_reply(SearchView("en", (LOCAL_POLICE, portal), start=1, emergency="911"))
    assert "2. Fictional Portal: https://portal.example" in later.text


def test_the_emergency_number_comes_first_when_in_danger():
    composed = search_reply(SearchView("en", (LOCAL_POLICE, KIDS_LINE), emergency="911", danger=True))
    assert composed.text.startswith("In danger now? Call 911.")


def test_in_danger_the_24_7_line_follows_the_emergency_number():
    many_local = tuple(Listing(f"Fictional Station {n}", (Channel("phone", f"306-555-01{n:02d}"),)) for n in range(8))
    composed = search_reply(SearchView("en", (*many_local, KIDS_LINE), emergency="911", danger=True))
    assert composed.text.splitlines()[:2] == [
        "In danger now? Call 911.",
        "24/7: Fictional Youth Line: 1-306-555-0100 or text CONNECT to 306-555-0101",
    ]


def test_the_emergency_line_is_in_the_readers_language():
    assert search_reply(SearchView("fr", (KIDS_LINE,), emergency="911", danger=True)).text.startswith(
        "En danger? Appelez le 911."
    )
    assert search_reply(SearchView("es", (KIDS_LINE,), emergency="112", danger=True)).text.startswith(
        "¿En peligro? Llama al 112."
    )


def test_the_24_7_line_is_added_when_it_is_not_on_the_page():
    many_local = tuple(Listing(f"Fictional Station {n}", (Channel("phone", f"306-555-01{n:02d}"),)) for n in range(8))
    composed = search_reply(SearchView("en", (*many_local, KIDS_LINE), emergency="911"))
    assert "24/7: Fictional Youth Line: 1-306-555-0100" in composed.text
    assert "9. Fictional Youth Line" not in composed.text


def test_the_24_7_line_is_not_repeated_when_it_is_a_result_on_the_page():
    composed = search_reply(SearchView("en", (LOCAL_POLICE, KIDS_LINE), emergency="911"))
    assert composed.text.count("Fictional Youth Line") == 1


def test_the_topic_advice_is_shown():
    advice = "Don't pay or reply. Keep the messages."
    composed = search_reply(SearchView("en", (KIDS_LINE,), emergency="911", advice=advice))
    assert advice in composed.text


def test_whole_results_are_dropped_rather_than_cut_when_the_budget_is_full():
    long_names = tuple(
        Listing(f"Fictional Service With A Name Long Enough To Be Clipped, No. {n}", (Channel("phone", number),))
        for n, number in enumerate(f"+1 306 555 01{n:02d}" for n in range(12))
    )
    composed = search_reply(SearchView("en", long_names, emergency="911", advice="Keep the messages. " * 5))
    assert segment_count(composed.text) <= MAX_SEGMENTS
    assert 0 < composed.consumed < 5
    for n in range(composed.consumed):
        assert f"+1 306 555 01{n:02d}" in composed.text
    assert f"+1 306 555 01{composed.consumed:02d}" not in composed.text
    assert "MORE" in composed.text


def test_more_continues_where_the_first_page_stopped():
    results = tuple(Listing(f"Fictional Centre {n}", (Channel("phone", f"306-555-01{n:02d}"),)) for n in range(9))
    first = search_reply(SearchView("en", results, emergency="911"))
    second = search_reply(SearchView("en", results, start=first.consumed, emergency="911"))
    assert f"{first.consumed + 1}. Fictional Centre {first.consumed}" in second.text
    assert "1. Fictional Centre 0" not in second.text


def test_no_more_results_says_so_and_still_gives_the_24_7_line():
    composed = search_reply(SearchView("en", (KIDS_LINE, LOCAL_POLICE), start=2, emergency="911"))
    assert composed.text.startswith("No more results.")
    assert "24/7: Fictional Youth Line" in composed.text


def test_no_postcode_says_what_to_send_with_an_example_for_the_country():
    composed = search_reply(SearchView("en", (KIDS_LINE,), country="CA", emergency="911", place=Place.NO_POSTCODE))
    assert "Text HELP + your postcode (e.g. HELP S4P 3Y2)" in composed.text
    assert "Fictional Youth Line" in composed.text


def test_an_unknown_postcode_is_named_and_national_help_follows():
    composed = search_reply(SearchView("fr", (KIDS_LINE,), country="CA", place=Place.UNKNOWN_POSTCODE))
    assert composed.text.startswith("Code postal non reconnu. Aide nationale:")
    assert "Fictional Youth Line" in composed.text


def test_nothing_found_still_gives_the_emergency_number_and_what_to_send():
    composed = search_reply(SearchView("en", (), country="US", emergency="911"))
    assert "No listing found" in composed.text
    assert "911" in composed.text
    assert "HELP 10001" in composed.text


def test_help_text_says_what_to_send_the_24_7_line_and_how_to_stop():
    text = help_reply("en", country="CA", line=KIDS_LINE, emergency="911")
    assert "Text HELP + your postcode (e.g. HELP S4P 3Y2)" in text
    assert "24/7: Fictional Youth Line: 1-306-555-0100" in text
    assert "Emergency: 911" in text
    assert "Text STOP to stop." in text


def test_help_text_in_french_uses_the_french_words():
    text = help_reply("fr", country="CA", line=None, emergency="911")
    assert "Envoyez AIDE + votre code postal (ex. AIDE S4P 3Y2)" in text
    assert "ARRET" in text


def test_details_show_every_channel_the_hours_and_the_description():
    text = detail_reply("en", 2, KIDS_LINE)
    assert text.splitlines()[:4] == [
        "2. Fictional Youth Line",
        "Open 24/7",
        "Call 1-306-555-0100",
        "Text CONNECT to 306-555-0101",
    ]
    assert "Counselling for young people" in text


def test_details_say_what_a_labelled_line_is_for():
    listing = Listing("Fictional Police", (Channel("phone", "306-555-0150", label="non-emergency"),))
    assert "Llama: 306-555-0150 (non-emergency)" in detail_reply("es", 1, listing)


def test_a_long_description_is_cut_at_a_word_within_the_budget():
    listing = Listing("Fictional Centre", (Channel("phone", "306-555-0199"),), description="Listening " * 200)
    text = detail_reply("en", 1, listing)
    assert segment_count(text) <= MAX_SEGMENTS
    assert text.endswith("Listening...")
    assert "Call 306-555-0199" in text


def test_replies_are_sent_in_gsm7_when_their_characters_allow():
    text = help_reply("fr", country="FR", line=None, emergency="112")
    assert "arreter" in text
    assert segment_count(text) <= MAX_SEGMENTS


def test_every_reply_text_exists_in_english_french_spanish_and_german():
    assert LANGUAGES == ("en", "fr", "es", "de")
    for key, translations in TEXTS.items():
        assert set(translations) == set(LANGUAGES), key


def test_every_notice_fits_in_one_or_two_segments():
    for key in ("opted_out", "opted_in", "rate_limited", "expired", "pick", "language"):
        for language in LANGUAGES:
            assert 1 <= segment_count(notice_reply(key, language, country="CA", emergency="911", count=12)) <= 2


channels = st.builds(
    Channel,
    kind=st.sampled_from(["phone", "sms", "whatsapp", "chat", "email", "web_form", "website", "fax"]),
    display=st.text(max_size=80),
    sms_keyword=st.text(max_size=20),
)
listings = st.builds(
    Listing,
    name=st.text(max_size=300),
    channels=st.lists(channels, max_size=6).map(tuple),
    always_open=st.booleans(),
    description=st.text(max_size=600),
    hours=st.text(max_size=200),
)
languages = st.sampled_from(LANGUAGES)


@settings(max_examples=200, deadline=None)
@given(
    language=languages,
    results=st.lists(listings, max_size=12).map(tuple),
    start=st.integers(min_value=0, max_value=13),
    emergency=st.text(max_size=20),
    danger=st.booleans(),
    advice=st.text(max_size=300),
    place=st.sampled_from(list(Place)),
    country=st.sampled_from(["", "CA", "US", "GB", "FR", "XX"]),
)
def test_any_search_reply_is_non_empty_and_within_three_segments(
    language, results, start, emergency, danger, advice, place, country
):
    view = SearchView(language, results, start, country, emergency, danger, advice, place)
    composed = search_reply(view)
    assert composed.text.strip()
    assert segment_count(composed.text) <= MAX_SEGMENTS
    assert 0 <= composed.consumed <= len(results)


@settings(max_examples=200, deadline=None)
@given(language=languages, number=st.integers(1, 99), listing=listings)
def test_any_detail_reply_is_non_empty_and_within_three_segments(language, number, listing):
    text = detail_reply(language, number, listing)
    assert text.strip()
    assert segment_count(text) <= MAX_SEGMENTS


@settings(max_examples=100, deadline=None)
@given(language=languages, line=st.none() | listings, emergency=st.text(max_size=20), country=st.text(max_size=3))
def test_any_help_reply_is_non_empty_and_within_three_segments(language, line, emergency, country):
    text = help_reply(language, country=country, line=line, emergency=emergency)
    assert text.strip()
    assert segment_count(text) <= MAX_SEGMENTS


def test_a_german_reply_keeps_its_umlauts_in_gsm7_and_gives_the_police_number():
    view = SearchView(language="de", results=(KIDS_LINE, LOCAL_POLICE), country="DE", emergency="112", police="110")
    reply = search_reply(view).text

    assert "Antworte mit einer Nummer für Details." in reply
    assert reply.endswith("Notruf: 112, Polizei 110")
    assert "1-306-555-0100 oder SMS CONNECT an 306-555-0101" in reply
    assert segment_count(reply) <= MAX_SEGMENTS


def test_the_police_number_is_left_out_rather_than_a_result_when_the_budget_is_full():
    results = tuple(
        Listing(f"Fictional Service Number {index} With A Long Name", (Channel("phone", "030 555 0100"),))
        for index in range(5)
    )
    advice = "Zahl kein Geld und antworte nicht mehr. Heb die Nachrichten auf. Melde es - es ist nicht deine Schuld."
    view = SearchView(language="de", results=results, country="DE", emergency="112", police="110", advice=advice)
    reply = search_reply(view).text

    assert segment_count(reply) <= MAX_SEGMENTS
    assert reply.splitlines()[-1] in ("Notruf: 112", "Notruf: 112, Polizei 110")


def test_help_text_in_german_says_what_to_send_and_the_police_number():
    text = help_reply("de", country="DE", line=KIDS_LINE, emergency="112", police="110")

    assert "Sende HILFE + deine Postleitzahl (z.B. HILFE 10115)" in text
    assert "Notruf: 112, Polizei 110" in text
    assert "Sende STOP zum Abbestellen." in text


def test_a_full_page_of_results_never_pushes_out_the_emergency_number():
    # Six results whose names leave just too little room for the emergency line after them.
    results = tuple(Listing("Fictional Unit " + "x" * 32, (Channel("phone", "1-866-555-0100"),)) for _ in range(6))
    advice = "Don't pay or reply. Keep the messages. Report it - it's not your fault."
    view = SearchView(language="en", results=results, country="CA", emergency="911", advice=advice)
    reply = search_reply(view).text

    assert reply.endswith("Emergency: 911")
    assert segment_count(reply) <= MAX_SEGMENTS
