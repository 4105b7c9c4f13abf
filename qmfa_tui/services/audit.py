"""The audit log: every state change writes one event inside the change's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from qmfa_tui.errors import NotPermitted
from qmfa_tui.services import clock
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import Account, AuditEvent, translate_errors


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    target: str | None
    action: str
    detail: str


def record(actor: Actor | Account, action: str, *, target: Account | None = None,
           detail: str = "") -> None:
    """Write one event. Call it inside the ``db.atomic()`` of the change it describes.

    ``actor`` is an Account for the login steps, where nobody is logged in yet.
    """
    if isinstance(actor, Actor):
        actor_name, actor_id = actor.username, actor.user_id
    else:
        actor_name, actor_id = actor.username, actor.id
    AuditEvent.insert(
        at=clock.utc(clock.now()),
        actor=actor_name,
        actor_id=actor_id,
        target=target.username if target is not None else None,
        target_id=target.id if target is not None else None,
        action=action,
        detail=detail,
    ).execute()


@translate_errors
def list_events(viewer: Actor, *, since: datetime | None = None, username: str | None = None,
                action: str | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """Events newest first, filtered; only admins and the shell may read the log."""
    if not viewer.is_shell:
        account = Account.get_or_none(Account.id == viewer.user_id)
        if account is None or not account.active or account.role != "admin":
            raise NotPermitted("Only admins can read the audit log.")
    query = AuditEvent.select()
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if username is not None:
        query = query.where((AuditEvent.target == username) | (AuditEvent.actor == username))
    if action is not None:
        query = query.where(AuditEvent.action == action)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return [AuditEntry(e.at, e.actor, e.target, e.action, e.detail) for e in query]
