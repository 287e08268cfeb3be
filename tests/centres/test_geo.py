import pytest
from django.core.exceptions import ValidationError

from centres.exceptions import MalformedPostcode, PostcodeError, UnknownPostcode
from centres.geo import distance_km, postcode_coordinates, postcode_normalise, validate_postcode
from centres.models import Centre
from centres.selectors import CentreDistance, centres_by_distance
from centres.services import centres_load

MALFORMED = ["1234", "123456", "abcde", "0106a", "", "   ", None, "０１０６７"]  # last: full-width digits


@pytest.fixture
def saxony_centres(db):
    centres_load()
    return list(Centre.objects.all())


def names(distances: list[CentreDistance]) -> list[str]:
    return [item.centre.name for item in distances]


def test_one_degree_of_latitude_is_about_111_km():
    assert distance_km((51.0, 13.0), (52.0, 13.0)) == pytest.approx(111.19, abs=0.01)


def test_distance_is_symmetric_and_zero_to_itself():
    dresden, leipzig = (51.05089, 13.73832), (51.33962, 12.37129)
    assert distance_km(dresden, dresden) == 0
    assert distance_km(dresden, leipzig) == pytest.approx(distance_km(leipzig, dresden))
    assert 95 < distance_km(dresden, leipzig) < 105  # town centres, as the crow flies


def test_antipodes_do_not_leave_the_domain_of_asin():
    assert distance_km((0.0, 0.0), (0.0, 180.0)) == pytest.approx(20015.1, abs=0.1)


def test_postcode_spaces_are_removed():
    assert postcode_normalise(" 01 067 ") == "01067"
    assert postcode_coordinates("01067\n") == postcode_coordinates("01067")


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_postcode(raw):
    with pytest.raises(MalformedPostcode) as raised:
        postcode_coordinates(raw)
    assert raised.value.message == "Eine Postleitzahl hat fünf Ziffern, zum Beispiel 01067."


def test_unknown_postcode():
    with pytest.raises(UnknownPostcode) as raised:
        postcode_coordinates("00000")
    assert raised.value.message == "Diese Postleitzahl kennen wir nicht. Bitte prüfen Sie die fünf Ziffern."


def test_validate_postcode_returns_the_clean_postcode_or_a_validation_error_with_our_message():
    assert validate_postcode(" 04109") == "04109"
    with pytest.raises(ValidationError) as raised:
        validate_postcode("1234")
    assert raised.value.code == "postcode_malformed"
    assert raised.value.messages == [MalformedPostcode().message]
    with pytest.raises(ValidationError) as raised:
        validate_postcode("00000")
    assert raised.value.code == "postcode_unknown"
    assert raised.value.messages == [UnknownPostcode().message]


def test_dresden_is_nearest_to_dresden(saxony_centres):
    result = centres_by_distance(postcode="01067")
    assert len(result) == len(saxony_centres) == 13
    assert result[0].centre.code == "DD01"
    assert result[0].km < 10
    assert result[0].km_rounded == round(result[0].km)
    assert [item.km for item in result] == sorted(item.km for item in result)


def test_leipzig_is_nearest_to_leipzig(saxony_centres):
    result = centres_by_distance(postcode="04109")
    assert result[0].centre.code == "LZ01"
    assert result[0].km < 10
    assert result[1].centre.code == "BN01"  # Borna, about 25 km south


def test_goerlitz_is_nearest_to_loebau(saxony_centres):
    result = centres_by_distance(postcode="02826")  # Görlitz had no centre of its own
    assert result[0].centre.code == "LB01"
    assert 15 < result[0].km < 30
    assert {"LZ01", "EC01"} >= {item.centre.code for item in result[-2:]}  # the far west


def test_plauen_is_nearest_to_treuen(saxony_centres):
    result = centres_by_distance(postcode="08523")  # Plauen's branch is not among the 13
    assert result[0].centre.code == "EC01"
    assert result[0].km < 20
    assert result[-1].centre.code == "LB01"


def test_a_postcode_outside_saxony_works(saxony_centres):
    result = centres_by_distance(postcode="10115")  # Berlin-Mitte
    assert names(result[:2]) == ["Impfzentrum Belgern", "Impfzentrum Riesa"]  # the north of Saxony
    assert 100 < result[0].km < 130
    assert result[-1].centre.code in {"EC01", "EZ01", "ZW01"}  # the Vogtland and the Erzgebirge


def test_inactive_centres_are_excluded(saxony_centres):
    Centre.objects.filter(code="LZ01").update(active=False)
    result = centres_by_distance(postcode="04109")
    assert "LZ01" not in {item.centre.code for item in result}
    assert len(result) == 12
    assert result[0].centre.code == "BN01"


def test_equal_distances_are_ordered_by_name(saxony_centres):
    Centre.objects.filter(code="RI01").update(latitude="51.05089", longitude="13.73832", name="A-Zentrum")
    result = centres_by_distance(postcode="01067")
    assert names(result[:2]) == ["A-Zentrum", "Impfzentrum Dresden"]
    assert result[0].km == result[1].km


def test_km_rounded_rounds_halves_up():
    centre = Centre(name="x")
    assert CentreDistance(centre=centre, km=2.5).km_rounded == 3
    assert CentreDistance(centre=centre, km=2.49).km_rounded == 2


@pytest.mark.parametrize("raw", ["1234", "00000"])
def test_centres_by_distance_raises_the_postcode_errors(saxony_centres, raw):
    with pytest.raises(PostcodeError):
        centres_by_distance(postcode=raw)
