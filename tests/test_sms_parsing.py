import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms.parsing import (
    Action,
    Intent,
    build_keyword_table,
    country_for_number,
    default_language,
    normalize_number,
    parse_message,
)
from sms.replies import LANGUAGES

KEYWORDS = build_keyword_table(
    [
        (
            "sextortion",
            {"en": ["SEXTORTION", "BLACKMAIL"], "fr": ["SEXTORSION", "CHANTAGE"], "es": ["SEXTORSIÓN", "CHANTAJE"]},
        ),
        ("police_reporting", {"en": ["POLICE"], "fr": ["POLICE"], "es": ["POLICÍA"]}),
        ("intimate_image_abuse", {"en": ["REVENGE PORN"]}),
    ]
)


def parse(body: str, country: str = "CA") -> Intent:
    return parse_message(body, country, KEYWORDS)


@pytest.mark.parametrize(
    "body",
    ["HELP S4P 3Y2", "help s4p3y2", "S4P 3Y2 HELP", "Help! S4P-3Y2.", "help me pls my postcode is s4p3y2", "HELP S4P"],
)
def test_it_finds_the_keyword_and_postcode_in_any_form(body):
    intent = parse(body)
    assert intent.action == Action.SEARCH
    assert intent.keyword == "HELP"
    assert intent.language == "en"
    assert (intent.country, intent.postcode) == ("CA", "S4P")


def test_it_answers_in_french_for_aide():
    intent = parse("AIDE H2X 1Y4")
    assert (intent.action, intent.language, intent.postcode) == (Action.SEARCH, "fr", "H2X")


def test_it_answers_in_spanish_for_ayuda():
    intent = parse("ayuda 10001", country="US")
    assert (intent.action, intent.language, intent.country, intent.postcode) == (Action.SEARCH, "es", "US", "10001")


def test_a_full_postcode_of_another_country_wins_over_the_senders_country():
    intent = parse("HELP SW1A 1AA", country="US")
    assert (intent.country, intent.postcode) == ("GB", "SW1A")


@pytest.mark.parametrize(
    ("body", "sender", "expected"),
    [("REPORT 10001", "CA", ("US", "10001")), ("help m5v", "US", ("CA", "M5V"))],
)
def test_a_postcode_of_the_other_plus_one_country_is_understood(body, sender, expected):
    intent = parse(body, country=sender)
    assert (intent.country, intent.postcode) == expected


def test_a_number_that_fits_neither_plus_one_country_is_not_a_postcode():
    assert parse("help i am 15 and scared", country="CA").postcode == ""


def test_without_a_postcode_the_country_is_the_senders():
    intent = parse("help me", country="AU")
    assert (intent.action, intent.country, intent.postcode) == (Action.SEARCH, "AU", "")


@pytest.mark.parametrize("word", ["STOP", "stop", "Stop.", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE"])
def test_a_single_carrier_stop_word_opts_out(word):
    assert parse(word).action == Action.OPT_OUT


def test_optout_and_arret_opt_out_too():
    assert parse("OPTOUT").action == Action.OPT_OUT
    assert parse("Arrêt").action == Action.OPT_OUT
    assert parse("Arrêt").language == "fr"


def test_stop_inside_a_sentence_is_not_an_opt_out():
    assert parse("please make him stop").action == Action.SEARCH


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_unstop_and_yes_opt_back_in(word):
    assert parse(word).action == Action.OPT_IN


@pytest.mark.parametrize(
    ("word", "language"), [("HELP", "en"), ("info", None), ("Aide", "fr"), ("AYUDA", "es"), ("Hilfe", "de")]
)
def test_a_bare_help_word_asks_for_the_help_text(word, language):
    intent = parse(word)
    assert (intent.action, intent.language) == (Action.HELP, language)


@pytest.mark.parametrize("word", ["MORE", "more", "PLUS", "más", "MEHR", "weiter"])
def test_more_asks_for_the_next_results(word):
    assert parse(word).action == Action.MORE


@pytest.mark.parametrize(("body", "number"), [("1", 1), ("2.", 2), ("#3", 3), (" 12 ", 12)])
def test_a_small_number_asks_for_a_results_details(body, number):
    intent = parse(body)
    assert (intent.action, intent.number) == (Action.DETAIL, number)


def test_zero_is_not_a_result_number():
    assert parse("0").action == Action.SEARCH


@pytest.mark.parametrize(
    ("word", "language"),
    [
        ("ENGLISH", "en"),
        ("français", "fr"),
        ("FRANCAIS", "fr"),
        ("Español", "es"),
        ("espanol", "es"),
        ("Deutsch", "de"),
    ],
)
def test_a_language_word_switches_language(word, language):
    intent = parse(word)
    assert (intent.action, intent.language) == (Action.LANGUAGE, language)


def test_topic_keywords_match_without_accents_or_case():
    intent = parse("policía sextorsión 10001", country="US")
    assert (intent.topic, intent.language, intent.postcode) == ("sextortion", "es", "10001")


def test_an_ambiguous_keyword_takes_its_language_from_another_word():
    intent = parse("sextorsion, chantage", country="US")
    assert (intent.topic, intent.keyword, intent.language) == ("sextortion", "SEXTORSION", "fr")


def test_a_keyword_matches_with_a_plural_or_past_ending():
    intent = parse("I am being blackmailed M5V 2T6")
    assert (intent.topic, intent.keyword, intent.postcode) == ("sextortion", "BLACKMAIL", "M5V")


def test_a_keyword_may_be_a_phrase():
    assert parse("revenge porn of me online").topic == "intimate_image_abuse"


def test_the_help_word_chooses_the_language_over_a_topic_word():
    intent = parse("AIDE sextortion H2X")
    assert (intent.language, intent.topic, intent.keyword) == ("fr", "sextortion", "AIDE")


@pytest.mark.parametrize(
    "body",
    [
        "I'm in danger",
        "i want to kill myself",
        "he said he would hurt me",
        "I feel unsafe",
        "je vais me tuer",
        "Je suis blessée",
        "estoy en peligro",
        "quiero matarme",
        "SUICIDIO",
    ],
)
def test_words_of_danger_are_noticed(body):
    assert parse(body).danger


def test_ordinary_requests_are_not_danger():
    assert not parse("HELP S4P 3Y2").danger
    assert not parse("someone has my photos and wants money").danger


def test_a_postcode_is_never_read_as_a_keyword():
    keywords = build_keyword_table([("demo", {"en": ["S4P"]})])
    assert parse_message("S4P 3Y2", "CA", keywords).topic == ""


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+13065550123", "CA"),
        ("+12125550123", "US"),
        ("+447700900123", "GB"),
        ("+61491570156", "AU"),
        ("+353851234567", "IE"),
        ("+64211234567", "NZ"),
        ("+4915112345678", "DE"),
        ("+33612345678", "FR"),
        ("+919812345678", "IN"),
        ("not a number", ""),
        ("", ""),
    ],
)
def test_the_senders_country_comes_from_their_number(number, country):
    assert country_for_number(number) == country


def test_numbers_are_normalised_to_e164_whatever_the_prefix():
    assert normalize_number(" +1 (306) 555-0123 ") == "+13065550123"
    assert normalize_number("whatsapp:+13065550123") == "+13065550123"


def test_the_default_language_follows_the_country():
    assert (default_language("FR"), default_language("MX"), default_language("CA")) == ("fr", "es", "en")
    assert (default_language("DE"), default_language("AT"), default_language("CH")) == ("de", "de", "en")


def test_it_answers_in_german_for_hilfe_with_a_german_postcode():
    intent = parse("hilfe 10115", country="DE")
    assert (intent.action, intent.language, intent.country, intent.postcode) == (Action.SEARCH, "de", "DE", "10115")


@pytest.mark.parametrize("body", ["ich bin in Gefahr", "ich will mich umbringen", "Notfall 10115"])
def test_german_words_of_danger_are_noticed_and_say_german(body):
    intent = parse(body, country="DE")
    assert (intent.danger, intent.language) == (True, "de")


def test_build_keyword_table_marks_a_word_shared_by_languages():
    assert KEYWORDS["POLICE"] == ("police_reporting", "")
    assert KEYWORDS["POLICIA"] == ("police_reporting", "es")


@settings(max_examples=300, deadline=None)
@given(body=st.text(max_size=400), country=st.sampled_from(["", "CA", "US", "GB", "AU", "IE", "NZ", "DE", "FR", "IN"]))
def test_any_unicode_message_parses_to_an_intent_in_a_supported_language(body, country):
    intent = parse_message(body, country, KEYWORDS)
    assert isinstance(intent.action, Action)
    assert intent.language in (None, *LANGUAGES)


@settings(max_examples=100, deadline=None)
@given(body=st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=5000))
def test_a_huge_message_is_read_without_error(body):
    assert isinstance(parse_message(body, "CA", KEYWORDS), Intent)
