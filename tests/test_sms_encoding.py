import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.encoding import GSM_BASIC, GSM_EXTENSION, _replacement, encoding_of, fits, segment_count, to_gsm


def test_accented_letters_of_the_gsm_table_stay_as_they_are():
    text = "é è à ù ì ò Ç É Ñ ñ ü ö ä Ü Ö Ä Å å Ø ø ß ¿ ¡"
    assert to_gsm(text) == text
    assert encoding_of(text) == "GSM-7"


@pytest.mark.parametrize(
    ("original", "replaced"),
    [
        ("ê â î ô û ë ï á í ó ú", "e a i o u e i a i o u"),
        ("français", "francais"),
        ("\u2018quoted\u2019 \u201ctwice\u201d", "'quoted' \"twice\""),
        ("a \u2013 b \u2014 c", "a - b - c"),
        ("wait…", "wait..."),
        ("non\u00a0breaking", "non breaking"),
        ("Sûreté du Québec", "Sureté du Québec"),
        ("cœur", "coeur"),
    ],
)
def test_characters_outside_gsm_get_their_safe_equivalent(original, replaced):
    assert to_gsm(original) == replaced
    assert encoding_of(to_gsm(original)) == "GSM-7"


def test_characters_without_an_equivalent_are_kept_and_force_ucs2():
    assert to_gsm("Привет 你好") == "Привет 你好"
    assert encoding_of("Привет") == "UCS-2"


def test_one_gsm_segment_holds_160_characters():
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2


def test_concatenated_gsm_segments_hold_153_characters_each():
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3
    assert segment_count("a" * 459) == 3
    assert segment_count("a" * 460) == 4


def test_extension_characters_count_twice():
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 81) == 2
    assert segment_count("[" * 80 + "a") == 2


def test_an_escape_pair_is_never_split_between_segments():
    # 152 septets, then "€" (2) would straddle the 153 boundary, so it moves to the next segment.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3
    assert segment_count("a" * 151 + "€" + "a" * 153) == 2


def test_ucs2_segments_hold_70_then_67_code_units():
    assert segment_count("ж" * 70) == 1
    assert segment_count("ж" * 71) == 2
    assert segment_count("ж" * 134) == 2
    assert segment_count("ж" * 135) == 3


def test_characters_outside_the_bmp_take_two_code_units():
    assert segment_count("😀" * 35) == 1
    assert segment_count("😀" * 36) == 2


def test_an_empty_text_takes_no_segment():
    assert segment_count("") == 0
    assert fits("")


def test_the_budget_is_three_segments():
    assert fits("a" * 459)
    assert not fits("a" * 460)
    assert fits("ж" * 201)
    assert not fits("ж" * 202)


def _segments_by_units(text: str) -> int:
    """The plain count: every character's units, a new segment whenever the next would not fit."""
    if not text:
        return 0
    gsm = all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)
    units = [2 if char in GSM_EXTENSION else 1 for char in text] if gsm else [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(units) <= (160 if gsm else 70):
        return 1
    segments, used = 1, 0
    for unit in units:
        if used + unit > (153 if gsm else 67):
            segments, used = segments + 1, 0
        used += unit
    return segments


@given(st.text(alphabet=st.sampled_from("ab€[é😀 日\n"), max_size=700))
def test_segment_count_agrees_with_counting_units_one_by_one(text):
    assert segment_count(text) == _segments_by_units(text)


@given(
    st.text(
        alphabet=st.sampled_from(sorted(GSM_BASIC | GSM_EXTENSION)) | st.characters(exclude_categories=()),
        max_size=80,
    )
)
def test_to_gsm_replaces_each_character_as_its_rule_says(text):
    # The table that ``to_gsm`` fills as it meets characters gives what the per-character rule gives.
    assert to_gsm(text) == "".join(_replacement(char) for char in text)
