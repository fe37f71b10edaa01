"""The schema (SQLAlchemy Core). Migrations in ``migrations/versions`` must match it
(a test compares them).

Times are naive UTC. Money is integer minor units or Decimal text. JSON is stored as text
(portable between SQLite and PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)

stripe_events = sa.Table(
    "stripe_events",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("api_version", sa.String(64)),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("account", sa.String(255)),
    sa.Column("source", sa.String(32), nullable=False, server_default="webhook"),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False, server_default="pending"),
    sa.Column("reason", sa.Text),
    sa.Column("payment_key", sa.String(255)),
    sa.Column("processed_at", sa.DateTime),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("payment_key", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="payment"),
    sa.Column("owner_type", sa.String(32), nullable=False),
    sa.Column("owner_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, server_default="pending"),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("paid_at", sa.DateTime, nullable=False),
    sa.Column("degraded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sale", sa.Text, nullable=False),
    # lower-cased key, owner, buyer names, e-mails and ids (``repo.payment_search``); a
    # trigram index serves the text search (``store/textsearch.py``, migration 0007)
    sa.Column("search", sa.String(500), nullable=False, server_default=""),
    sa.Column("event_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("problems", sa.Text, nullable=False, server_default="[]"),
    sa.Column("overrides", sa.Text),
    sa.Column("refers_to", sa.String(255)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_payments_status_paid_at", "status", "paid_at", "payment_key"),
    # the listing's order, and the text search read from the index (no table row per miss)
    sa.Index("ix_payments_paid_at_search", "paid_at", "payment_key", "search"),
)

series = sa.Table(
    "series",
    metadata,
    sa.Column("code", sa.String(100), primary_key=True),
    sa.Column("prefix", sa.String(32), nullable=False, server_default=""),
    sa.Column("suffix", sa.String(32), nullable=False, server_default=""),
    sa.Column("padding", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_number", sa.BigInteger, nullable=False),
    # the latest issue date of the series' numbers, taken with each (``numbering.allocate``)
    sa.Column("last_issue_date", sa.Date),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("series_code", sa.String(100), sa.ForeignKey("series.code"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("number", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payment_key", sa.String(255), nullable=False),
    sa.Column("refers_to", sa.Integer, sa.ForeignKey("invoices.id")),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total", sa.String(32), nullable=False),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("snapshot", sa.Text, nullable=False),
    # the XML, PDF and signed ZIP live in ``invoice_files`` (migration 0009)
    sa.Column("validation", sa.Text),
    sa.Column("anaf_state", sa.String(32), nullable=False, server_default="pending_upload"),
    sa.Column("upload_index", sa.String(64)),
    sa.Column("download_id", sa.String(64)),
    sa.Column("anaf_messages", sa.Text),
    sa.Column("deadline", sa.Date),
    sa.Column("email_state", sa.String(32), nullable=False, server_default="pending"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # lower-cased number, payment key, buyer name, CUI / CNP, VAT id, e-mail
    # (``textsearch.invoice_search``); trigram-indexed like ``payments.search``
    sa.Column("search", sa.String(500), nullable=False, server_default=""),
    sa.UniqueConstraint("series_code", "seq", name="uq_invoices_series_seq"),
    sa.UniqueConstraint("number", name="uq_invoices_number"),
    sa.UniqueConstraint("payment_key", "kind", name="uq_invoices_payment_key_kind"),
    sa.Index("ix_invoices_anaf_state", "anaf_state"),
    sa.Index("ix_invoices_issue_date", "issue_date", "id"),
)

# An invoice's large documents, one row each, inserted once: ``xml`` (the UBL XML, with the
# invoice), ``pdf`` (when rendered) and ``signed_zip`` (ANAF's signed archive, once validated).
# Outside ``invoices`` so that the small UPDATEs of an invoice row (ANAF state, e-mail state)
# do not rewrite them on SQLite, which rewrites a whole record on every UPDATE. Only ``xml``
# is ever replaced, by a correction before ANAF accepted the invoice (``store/invoices.py``).
invoice_files = sa.Table(
    "invoice_files",
    metadata,
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

invoice_log = sa.Table(
    "invoice_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_invoice_log_invoice_id", "invoice_id"),
)

JOB_MAX_ATTEMPTS = 10
"""Attempts a job gets unless it is enqueued with another number: the column's default, the
job queue's (``jobs.queue.DEFAULT_MAX_ATTEMPTS``) and the webhook batch's (``event_batches``)."""

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("args", sa.Text, nullable=False, server_default="{}"),
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("run_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default=str(JOB_MAX_ATTEMPTS)),
    sa.Column("locked_by", sa.String(64)),
    sa.Column("locked_until", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("dedupe_key", sa.String(255)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
    sa.Index("ix_jobs_status_run_at_id", "status", "run_at", "id"),
    # whether a job of a task is queued (``anaf_invoices.job_queued``), without reading every
    # queued job of a burst; only queued rows are in it
    sa.Index(
        "ix_jobs_queued_task",
        "task",
        sqlite_where=sa.text("status = 'queued'"),
        postgresql_where=sa.text("status = 'queued'"),
    ),
    # the expired leases (``jobs/due.py``), from the start of the index: a finished job's
    # old entry holds a lease in the future; only running rows are in it
    sa.Index(
        "ix_jobs_running_lease",
        "locked_until",
        "id",
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    ),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("interval_seconds", sa.Integer, nullable=False),
    sa.Column("next_run_at", sa.DateTime, nullable=False),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("worker_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("beat_at", sa.DateTime, nullable=False),
    sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
)
"""One row per worker loop: its heartbeat (``jobs/heartbeat.py``), read by readiness."""

anaf_tokens = sa.Table(
    "anaf_tokens",
    metadata,
    sa.Column("cui", sa.String(16), primary_key=True),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("access_expires_at", sa.DateTime),
    sa.Column("refresh_expires_at", sa.DateTime),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

anaf_quota = sa.Table(
    "anaf_quota",
    metadata,
    sa.Column("bucket", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

anaf_downloads = sa.Table(
    "anaf_downloads",
    metadata,
    sa.Column("download_id", sa.String(40), primary_key=True),
    sa.Column("upload_index", sa.String(40)),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String(64), nullable=False),
    sa.Column("retry_after", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

fx_rates = sa.Table(
    "fx_rates",
    metadata,
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("rate_date", sa.Date, primary_key=True),
    sa.Column("rate", sa.String(32), nullable=False),
    sa.Column("fetched_at", sa.DateTime, nullable=False),
)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(255), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("acknowledged_at", sa.DateTime),
    sa.Column("acknowledged_by", sa.String(255)),
    sa.Index("ix_notices_sent_at", "sent_at"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="viewer"),
    sa.Column("name", sa.String(255), nullable=False, server_default=""),
    sa.Column("disabled_at", sa.DateTime),
    sa.Column("password_changed_at", sa.DateTime),
    sa.Column("last_login_at", sa.DateTime),
    sa.UniqueConstraint("email", name="uq_users_email"),
)

registry_answers = sa.Table(
    "registry_answers",
    metadata,
    sa.Column("service", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("fetched_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

registry_wanted = sa.Table(
    "registry_wanted",
    metadata,
    sa.Column("service", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Index("ix_registry_wanted_requested_at", "requested_at"),
)

registry_throttle = sa.Table(
    "registry_throttle",
    metadata,
    sa.Column("service", sa.String(16), primary_key=True),
    sa.Column("next_at", sa.DateTime, nullable=False),
)

payment_log = sa.Table(
    "payment_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("payment_key", sa.String(255), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_payment_log_payment_key", "payment_key"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime),
    sa.Column("revoked_at", sa.DateTime),
    sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    sa.Index("ix_api_tokens_user_id", "user_id"),
)

user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("session_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(255)),
    sa.UniqueConstraint("session_hash", name="uq_user_sessions_session_hash"),
    sa.Index("ix_user_sessions_user_id", "user_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor_user_id", sa.Integer),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("token_id", sa.Integer),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(255), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("ip", sa.String(64)),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_target", "target_type", "target_id"),
)
"""Append-only: migration 0003 adds triggers refusing UPDATE and DELETE on both databases."""
