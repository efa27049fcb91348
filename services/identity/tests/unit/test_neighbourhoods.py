from __future__ import annotations

import pytest
from identity.demo import demo_neighbourhoods_csv
from identity.domain.neighbourhoods import (
    NeighbourhoodCsvError,
    derive_neighbourhood,
    parse_neighbourhood_csv,
)

HEADER = "code,name,lat,lon,postcodes\n"


def test_demo_table_has_five_fictional_neighbourhoods() -> None:
    table = parse_neighbourhood_csv(demo_neighbourhoods_csv())
    assert len(table.neighbourhoods) >= 5
    for n in table.neighbourhoods:
        assert 52.4 <= n.lat <= 52.5 and 4.8 <= n.lon <= 4.9
        assert all(9901 <= int(pc4) <= 9930 for pc4 in n.postcodes)
    assert derive_neighbourhood("9905", table) == "DM02"
    assert derive_neighbourhood("1011", table) is None


def test_space_and_semicolon_separators() -> None:
    table = parse_neighbourhood_csv(
        HEADER + 'A1,Noord,52.4,4.8,"9901; 9902 9903"\nA2,Zuid,52.41,4.81,9904;9905\n'
    )
    assert table.neighbourhoods[0].postcodes == ("9901", "9902", "9903")
    assert table.by_code("A2") is not None and table.by_code("A2").postcodes == ("9904", "9905")  # type: ignore[union-attr]


def test_errors_are_line_numbered_and_all_or_nothing() -> None:
    content = (
        HEADER
        + "A1,Noord,52.4,4.8,9901\n"  # line 2: fine
        + "A2,,52.4,4.8,9902\n"  # line 3: no name
        + "A3,Oost,91,4.8,9903\n"  # line 4: latitude
        + "A4,West,52.4,4.8,9901 1234AB\n"  # line 5: duplicate pc4 and a full postcode
        + "A1,Dubbel,52.4,4.8,9909\n"  # line 6: duplicate code
        + "A7,Kort,52.4\n"  # line 7: columns
    )
    with pytest.raises(NeighbourhoodCsvError) as caught:
        parse_neighbourhood_csv(content)
    lines = [error.line for error in caught.value.errors]
    assert lines == [3, 4, 5, 5, 6, 7]
    rendered = [str(error) for error in caught.value.errors]
    assert "9901" in rendered[2] and "line 2" in rendered[2]
    assert "1234AB" in rendered[3]


def test_header_is_required() -> None:
    with pytest.raises(NeighbourhoodCsvError) as caught:
        parse_neighbourhood_csv("code;name\nA1;x\n")
    assert caught.value.errors[0].line == 1


def test_empty_file_is_an_error() -> None:
    with pytest.raises(NeighbourhoodCsvError):
        parse_neighbourhood_csv(HEADER)


def test_an_unreadable_csv_is_a_line_error_not_a_crash() -> None:
    # A field over the csv module's size limit (a file that is no neighbourhood table).
    content = "code,name,lat,lon,postcodes\n" + "x" * 200_000 + "\n"
    with pytest.raises(NeighbourhoodCsvError) as raised:
        parse_neighbourhood_csv(content)
    assert raised.value.errors[0].line == 2 and "Unreadable CSV" in raised.value.errors[0].text.en
