"""Settings of the questionnaires service (env prefix WK_, see BaseServiceSettings)."""

from __future__ import annotations

from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "questionnaires"
    http_port: int = 8002
    #: Base of the links in invitation e-mails (the resident's front end or this API).
    public_url: str = "http://127.0.0.1:8002/questionnaires/v1"
    #: Anonymous starts per client address and tenant per minute (in-process limit).
    anonymous_starts_per_minute: int = 30
    #: Largest request body accepted on anonymous and import routes (bytes).
    max_anonymous_body: int = 64 * 1024
    max_import_body: int = 1024 * 1024
    #: A follow-up invitation (from effect measurement's `followup_due`) stays open this many
    #: days after the follow-up fell due.
    followup_response_days: int = 30
    #: Periodic invitation task (expire overdue, automatic reminder); 0 switches it off.
    invitation_sweep_seconds: float = 3600.0
    #: The automatic reminder goes this many days before the due date (0: none).
    invitation_reminder_days: int = 3
    #: Read batching of responses (`adapters/batched_reads.py`): concurrent reads by id share
    #: one `$in` query. Off (`WK_BATCH_READS=false`): one `find_one` per read.
    batch_reads: bool = True
