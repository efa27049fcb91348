"""A tenant's neighbourhood table (code, name, centroid, PC4s) and its CSV import.

The import is all-or-nothing: one bad line rejects the file, with every error listed by line
number, so a tenant admin never ends up with half a table.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from identity.domain.postcodes import validate_pc4
from identity.domain.texts import DomainError, Text

CSV_HEADER = ("code", "name", "lat", "lon", "postcodes")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_POSTCODE_SEPARATORS = re.compile(r"[\s;]+")


class Neighbourhood(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    lat: float
    lon: float
    postcodes: tuple[str, ...]


class NeighbourhoodTable(BaseModel):
    """All neighbourhoods of one tenant; a PC4 belongs to at most one neighbourhood."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    neighbourhoods: tuple[Neighbourhood, ...] = ()

    def derive(self, pc4: str) -> str | None:
        return derive_neighbourhood(pc4, self)

    def by_code(self, code: str) -> Neighbourhood | None:
        return next((n for n in self.neighbourhoods if n.code == code), None)


def derive_neighbourhood(pc4: str, table: NeighbourhoodTable) -> str | None:
    """The code of the neighbourhood that covers ``pc4``, or None when the table has no match."""
    for neighbourhood in table.neighbourhoods:
        if pc4 in neighbourhood.postcodes:
            return neighbourhood.code
    return None


@dataclass(frozen=True, slots=True)
class CsvLineError:
    line: int
    text: Text

    def __str__(self) -> str:
        return f"regel/line {self.line}: {self.text}"


class NeighbourhoodCsvError(DomainError):
    def __init__(self, errors: list[CsvLineError]) -> None:
        super().__init__(
            Text(
                f"Het bestand is niet ingelezen: {len(errors)} fout(en).",
                f"The file was not imported: {len(errors)} error(s).",
            ),
            "file",
        )
        self.errors = errors


def parse_neighbourhood_csv(content: str) -> NeighbourhoodTable:
    """Parse ``code,name,lat,lon,postcodes`` CSV; raise with every line error, or return all."""
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    errors: list[CsvLineError] = []
    try:
        rows = list(reader)
    except csv.Error as error:  # e.g. a field over the csv module's size limit: bad input
        raise NeighbourhoodCsvError(
            [
                CsvLineError(
                    reader.line_num,
                    Text(f"Onleesbare CSV: {error}.", f"Unreadable CSV: {error}."),
                )
            ]
        ) from None
    if not rows or tuple(cell.strip().lower() for cell in rows[0]) != CSV_HEADER:
        raise NeighbourhoodCsvError(
            [
                CsvLineError(
                    1,
                    Text(
                        "De eerste regel moet zijn: code,name,lat,lon,postcodes",
                        "The first line must be: code,name,lat,lon,postcodes",
                    ),
                )
            ]
        )
    result: list[Neighbourhood] = []
    seen_codes: dict[str, int] = {}
    seen_pc4: dict[str, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are harmless
        neighbourhood, line_errors = _parse_row(line_no, row, seen_codes, seen_pc4)
        errors.extend(line_errors)
        if neighbourhood is not None:
            result.append(neighbourhood)
    if not result and not errors:
        errors.append(
            CsvLineError(
                2, Text("Het bestand bevat geen wijken.", "The file has no neighbourhoods.")
            )
        )
    if errors:
        raise NeighbourhoodCsvError(errors)
    return NeighbourhoodTable(neighbourhoods=tuple(result))


def _parse_row(
    line_no: int, row: list[str], seen_codes: dict[str, int], seen_pc4: dict[str, int]
) -> tuple[Neighbourhood | None, list[CsvLineError]]:
    def err(nl: str, en: str) -> CsvLineError:
        return CsvLineError(line_no, Text(nl, en))

    if len(row) != len(CSV_HEADER):
        return None, [
            err(
                f"Verwacht 5 kolommen, gevonden {len(row)}.",
                f"Expected 5 columns, found {len(row)}.",
            )
        ]
    code, name, lat_text, lon_text, postcodes_text = (cell.strip() for cell in row)
    errors: list[CsvLineError] = []
    if _CODE.fullmatch(code) is None:
        errors.append(err(f"Ongeldige wijkcode '{code}'.", f"Invalid neighbourhood code '{code}'."))
    elif code in seen_codes:
        errors.append(
            err(
                f"Wijkcode '{code}' staat ook op regel {seen_codes[code]}.",
                f"Code '{code}' also appears on line {seen_codes[code]}.",
            )
        )
    else:
        seen_codes[code] = line_no
    if not name:
        errors.append(err("Naam ontbreekt.", "Name is missing."))
    lat = _coordinate(lat_text, -90.0, 90.0)
    lon = _coordinate(lon_text, -180.0, 180.0)
    if lat is None:
        errors.append(
            err(f"Ongeldige breedtegraad '{lat_text}'.", f"Invalid latitude '{lat_text}'.")
        )
    if lon is None:
        errors.append(
            err(f"Ongeldige lengtegraad '{lon_text}'.", f"Invalid longitude '{lon_text}'.")
        )
    postcodes: list[str] = []
    for raw in _POSTCODE_SEPARATORS.split(postcodes_text):
        if not raw:
            continue
        try:
            pc4 = validate_pc4(raw)
        except DomainError:
            errors.append(
                err(
                    f"Ongeldige postcode '{raw}' (4 cijfers).",
                    f"Invalid postcode '{raw}' (4 digits).",
                )
            )
            continue
        if pc4 in seen_pc4 and seen_pc4[pc4] != line_no:
            errors.append(
                err(
                    f"Postcode {pc4} hoort al bij regel {seen_pc4[pc4]}.",
                    f"Postcode {pc4} already belongs to line {seen_pc4[pc4]}.",
                )
            )
            continue
        seen_pc4[pc4] = line_no
        if pc4 not in postcodes:
            postcodes.append(pc4)
    if not postcodes_text.strip():
        errors.append(err("Geen postcodes opgegeven.", "No postcodes given."))
    if errors or lat is None or lon is None:
        return None, errors
    return Neighbourhood(code=code, name=name, lat=lat, lon=lon, postcodes=tuple(postcodes)), []


def _coordinate(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or not low <= value <= high:  # NaN or out of range
        return None
    return value
