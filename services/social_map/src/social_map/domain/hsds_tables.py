"""The HSDS 3.0 tabular package as the specification lays it out: one table per object, its
file name and its columns in the order of the official `datapackage.json` (vendored in
`standards/hsds-3.0/`; a unit test checks this transcription against it).

Pure data, so the domain needs no file access; the service writes the descriptor itself into
every exported package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HsdsTable:
    #: the object's name in the specification ("service_at_location")
    name: str
    #: its file in the tabular package ("service_at_location.csv")
    path: str
    columns: tuple[str, ...]


def _table(name: str, path: str, columns: str) -> HsdsTable:
    return HsdsTable(name, path, tuple(columns.split()))


TABLES: tuple[HsdsTable, ...] = (
    _table(
        "organization",
        "organizations.csv",
        "id name alternate_name description email website tax_status tax_id year_incorporated "
        "legal_status logo uri parent_organization_id",
    ),
    _table("program", "programs.csv", "id organization_id name alternate_name description"),
    _table(
        "service",
        "services.csv",
        "id organization_id program_id name alternate_name description url email status "
        "interpretation_services application_process fees_description wait_time fees "
        "accreditations eligibility_description minimum_age maximum_age assured_date assurer_email "
        "licenses alert last_modified",
    ),
    _table(
        "attribute", "attributes.csv", "id link_id taxonomy_term_id link_type link_entity value"
    ),
    _table(
        "service_at_location", "service_at_location.csv", "id service_id location_id description"
    ),
    _table(
        "location",
        "locations.csv",
        "id location_type url organization_id name alternate_name description transportation "
        "latitude longitude external_identifier external_identifier_type",
    ),
    _table(
        "phone",
        "phones.csv",
        "id location_id service_id organization_id contact_id service_at_location_id number "
        "extension type description",
    ),
    _table(
        "contact",
        "contacts.csv",
        "id organization_id service_id service_at_location_id location_id name title department "
        "email",
    ),
    _table(
        "address",
        "addresses.csv",
        "id location_id attention address_1 address_2 city region state_province postal_code "
        "country address_type",
    ),
    _table(
        "schedule",
        "schedules.csv",
        "id service_id location_id service_at_location_id valid_from valid_to dtstart timezone "
        "until count wkst freq interval byday byweekno bymonthday byyearday description opens_at "
        "closes_at schedule_link attending_type notes",
    ),
    _table("funding", "funding.csv", "id organization_id service_id source"),
    _table(
        "service_area", "service_areas.csv", "id service_id name description extent extent_type uri"
    ),
    _table("required_document", "required_documents.csv", "id service_id document uri"),
    _table("language", "languages.csv", "id service_id location_id phone_id name code note"),
    _table("accessibility", "accessibility.csv", "id location_id description details url"),
    _table(
        "taxonomy_term",
        "taxonomy_terms.csv",
        "id code name description parent_id taxonomy language taxonomy_id term_uri",
    ),
    _table(
        "metadata",
        "metadata.csv",
        "id resource_id resource_type last_action_date last_action_type field_name previous_value "
        "replacement_value updated_by",
    ),
    _table(
        "meta_table_description", "meta_table_descriptions.csv", "id name language character_set"
    ),
    _table(
        "cost_option",
        "cost_options.csv",
        "id service_id valid_from valid_to option currency amount amount_description",
    ),
    _table(
        "organization_identifier",
        "organization_identifiers.csv",
        "id organization_id identifier_scheme identifier_type identifier",
    ),
    _table("taxonomy", "taxonomies.csv", "id name description uri version"),
)
BY_NAME: dict[str, HsdsTable] = {t.name: t for t in TABLES}
BY_PATH: dict[str, HsdsTable] = {t.path: t for t in TABLES}
