"""The report cell cache never keeps cells of a transaction that rolled back (nx-27017 lets a
read see a running transaction's writes)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Harness
from effect_measurement.adapters.documents import cell_upserts
from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.adapters.schema import CELLS
from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.keys import CellKey
from effect_measurement.domain.periods import period_of_label
from wijkkracht_common.storage import Session

pytestmark = pytest.mark.integration


class RolledBack(Exception):
    pass


async def test_cells_read_during_a_transaction_that_rolls_back_are_not_served_again(
    harness: Harness, two_tenants
) -> None:  # type: ignore[no-untyped-def]
    tenant = two_tenants.a
    db = await harness.db(tenant)
    storage = harness.app.state.runtime.storage
    period = period_of_label("2026")
    key = CellKey(tenant, "welzijn-a", "DM01", "self-sufficiency-matrix", "finances", period)
    inside, release = asyncio.Event(), asyncio.Event()
    repos = MotorRepositories(db, None, tenant)

    async def write_then_fail(session: Session) -> None:
        await db[CELLS].bulk_write(cell_upserts({key: Accumulator(measured=11)}), session=session)
        inside.set()
        await release.wait()
        raise RolledBack

    transaction = asyncio.create_task(storage.in_transaction(db, write_then_fail))
    await inside.wait()
    _, version = await repos.settings.privacy()
    await repos.cells.read(key.family, period, version)  # may see the cell on nx-27017
    release.set()
    with pytest.raises(RolledBack):
        await transaction

    _, after = await repos.settings.privacy()
    assert after == version  # the projection's version did not move
    served = await repos.cells.read(key.family, period, after)
    assert key not in served
