"""Collections of a tenant database `wk_effect_measurement_<tenant>` and their indexes.

Not indexes that name `_id` (nx-27017 refuses inserts into such collections).
"""

from __future__ import annotations

from wijkkracht_common.storage import ASCENDING, IndexModel, IndexSpec

MEASUREMENTS = "measurements"  # one per response (`_id` = response id), with profile snapshot
CELLS = "cells"  # aggregate projection, `_id` = CellKey.as_id(), counters by `$inc`
PERSONA = "persona_cells"  # persona projection, same delta method
PROFILES = "profiles"  # coarse profile per person (from identity events)
#: The service's former consent projection, moved into the platform's one
#: (`wijkkracht_common.consent`, collection `consent_states`) by `service/legacy_consents.py`;
#: remove with it once every deployment has run it.
LEGACY_CONSENTS = "consents"
GOALS = "goals"  # goals per trajectory × dimension (history kept)
INTERVENTIONS = "interventions"  # any person/type/time fact
INSTRUMENTS = "instruments"  # instrument families published by questionnaires
SETTINGS = "settings"  # tenant settings and counters, one document each:
PRIVACY = "privacy"  # SETTINGS doc: k, named (benchmark opt-ins)
PROJECTION_VERSION = "projection"  # SETTINGS doc: a new `version` token per cell change
EPOCH = "person_data_epoch"  # SETTINGS doc: `epoch`, advanced per write of person data

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        MEASUREMENTS,
        (
            # Histories and erasure read by person; the follow-up scheduler by the pair.
            # Nothing queries by trajectory: no index for it (each one slows every insert).
            IndexModel([("person_id", ASCENDING)]),
            IndexModel([("followup_pending", ASCENDING), ("submitted_at", ASCENDING)]),
        ),
    ),
    IndexSpec(CELLS, (IndexModel([("family", ASCENDING), ("period", ASCENDING)]),)),
    IndexSpec(PERSONA, (IndexModel([("family", ASCENDING), ("year", ASCENDING)]),)),
    IndexSpec(GOALS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(INTERVENTIONS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(LEGACY_CONSENTS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(SETTINGS),  # read inside ingestion's transaction (the person-data epoch)
    IndexSpec(PROFILES),  # read inside ingestion's transaction
    IndexSpec(INSTRUMENTS),
)
