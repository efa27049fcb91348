"""The export contract (architecture §9): this service's part of a person's data export.

Everything the service holds about the person, JSON-ready: their responses (answers, scores,
instrument id and version, dates; in progress too), their invitations (with the e-mail
address an invitation was sent to, if any; also an e-mail invitation whose response they
attached), the shares of their responses (shown to which organisation, exported to the GP,
allowed to the inviting organisation at the end of an invited response; when), and their
submitted responses as FHIR R4 `QuestionnaireResponse` resources in a `Bundle` of type
`collection`; `counts` says how many of each. Stored in the export bucket and answered with
`questionnaires.person_data_exported` by `wijkkracht_common.export.contribute` (once per
request; nothing for an erased person).
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common import export as export_contract
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataExported
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database

from questionnaires.adapters.repositories import ShareMarker
from questionnaires.domain.fhir_response import response_to_fhir
from questionnaires.domain.response_record import ResponseRecord
from questionnaires.service import instruments, invitations, responses
from questionnaires.service.context import Context


async def fhir_bundle(ctx: Context, tenant: str, records: list[ResponseRecord]) -> dict[str, Any]:
    """The submitted responses as a FHIR R4 Bundle (type `collection`)."""
    entries = []
    for record in records:
        if record.status != "submitted":
            continue
        response = record.response
        definition = await instruments.definition(
            ctx, tenant, response.instrument_id, response.version
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:{response.id}",
                "resource": response_to_fhir(definition, response),
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": ctx.now().isoformat(),
        "entry": entries,
    }


async def part(ctx: Context, tenant: str, person_id: str) -> dict[str, Any]:
    """The person's part of the export."""
    repos = await ctx.reader(tenant)
    records = await repos.responses.of_person(person_id)
    invited = await invitations.belonging_to(repos, person_id, records)
    shares = await repos.shares.of_responses([r.id for r in records])
    # The invited resident's "yes" at the end of a response is a share too.
    shares += [
        ShareMarker(r.id, share.organisation, "invitation_answers", share.at)
        for r in records
        if (share := r.shared_with_inviter) is not None
    ]
    bundle = await fhir_bundle(ctx, tenant, records)
    now = ctx.now()
    return {
        "responses": [responses.present(r) for r in records],
        "invitations": [{**invitations.present(i, now), "email": i.email} for i in invited],
        "shares": [
            {
                "response_id": s.response_id,
                "shared_with": s.shared_with,
                "format": s.format,
                "at": s.at.isoformat() if s.at else None,
            }
            for s in shares
        ],
        "fhir": bundle,
        "counts": {
            "responses": len(records),
            "invitations": len(invited),
            "shares": len(shares),
            "fhir_resources": len(bundle["entry"]),
        },
    }


async def contribute(
    ctx: Context,
    runtime: ServiceRuntime,
    envelope: Envelope[PersonExportRequested],
    delivery: Delivery,
) -> bool:
    """Consumer of identity's `person_export_requested`: the contract needs the runtime's
    storage, object store and commit (behind the shutdown gate, like every consumer's)."""
    tenant = envelope.tenant

    async def build(_db: Database[dict[str, Any]], person_id: str) -> dict[str, Any]:
        # `_db` is the tenant's database, which the context's repositories read.
        return await part(ctx, tenant, person_id)

    return await export_contract.contribute(
        runtime, envelope, delivery, build=build, answer=QuestionnairesPersonDataExported
    )


__all__ = ["contribute", "fhir_bundle", "part"]
