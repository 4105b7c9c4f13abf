"""The audit log: every state change writes one event inside the change's transaction.

Each event says what kind of actor did it: a person (a logged-in user, or one at
a login step) or an operator command run from the server's shell, and for the
latter the OS account that ran it and the SSH client it came from; a person's
event carries the address of the SSH client the app runs for (`qmfa serve` sets
$SSH_CLIENT for each session, as sshd does for a login). A user may be
named like the operator's actor ("shell", on databases from before such names
were reserved): the kind, not the name, tells them apart.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass
from datetime import datetime

from peewee import Expression

from qmfa_tui.errors import BadInput, NotPermitted
from qmfa_tui.kinds import Role
from qmfa_tui.served_limits import IDLE_TIMEOUT_ENV, LOGIN_TIMEOUT_ENV
from qmfa_tui.services import clock, identity
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.storage import Account, AuditEvent, Prepared, db, translate_errors

PERSON = "person"
OPERATOR = "operator"

# Every login step writes one: rendered by peewee each time, the INSERT was a good part
# of a security-code check (docs/performance.md). The values come in this order.
_EVENT_COLUMNS = (
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.actor_id,
    AuditEvent.target,
    AuditEvent.target_id,
    AuditEvent.action,
    AuditEvent.detail,
    AuditEvent.actor_kind,
    AuditEvent.origin,
    AuditEvent.host,
)
_INSERT_EVENT = Prepared(
    lambda *values: AuditEvent.insert(dict(zip(_EVENT_COLUMNS, values, strict=True))),
    *(datetime, str, int, str, int, str, str, str, str, str),
)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    target: str | None
    action: str
    detail: str
    actor_kind: str = PERSON
    # For an operator command: "OS account" or "OS account from ADDRESS"; for a person:
    # the address of the SSH client the app runs for, if any.
    origin: str = ""

    @property
    def by_operator(self) -> bool:
        return self.actor_kind == OPERATOR

    @property
    def guarded_login(self) -> GuardedLogin | None:
        """Where a guarded login (``pam.*``) came from, read from its origin; else None."""
        return guarded_login(self.action, self.origin)

    @property
    def where(self) -> str:
        """A guarded login's host, service and remote address in one short line,
        ``web1 (sshd from 10.0.0.5)``; "" for other events."""
        login = self.guarded_login
        if login is None:
            return ""
        remote = f" from {login.remote_host}" if login.remote_host else ""
        return f"{login.host} ({login.service}{remote})"

    @property
    def actor_label(self) -> str:
        """The actor as one line shows it: ``alice``, or ``shell (op: root from 10.0.0.5)``.

        A username holds no space or parenthesis, so no person's name reads as this.
        """
        if not self.by_operator:
            return self.actor
        return f"{self.actor} (op: {self.origin})" if self.origin else f"{self.actor} (op)"

    @property
    def actor_short(self) -> str:
        """For a narrow column: ``alice``, or ``shell (op: root)`` without the address."""
        if not self.by_operator:
            return self.actor
        account = self.origin.split(" from ")[0]
        return f"{self.actor} (op: {account})" if account else f"{self.actor} (op)"


# The events of a guarded login (services.guard writes them; guard imports this module).
# Named whole, not as "pam.%": an IN list is read from the action's index.
GUARDED_LOGIN_EVENTS = ("pam.verified", "pam.refused", "pam.exempted", "pam.failed")
# The longest host name an origin keeps (services.guard.MAX_HOST: a DNS name).
MAX_HOST_LENGTH = 253


def host_key(host: str) -> str:
    """How a guarded login's host is stored and sought (AuditEvent.host): any case, and
    never longer than the column (lower-casing may lengthen a name)."""
    return host.strip().lower()[:MAX_HOST_LENGTH]


@dataclass(frozen=True)
class GuardedLogin:
    """Where a guarded login came from, as its event's origin holds it (``describe``);
    services.guard cleans each field and keeps commas out of them."""

    host: str
    service: str
    remote_host: str = ""
    tty: str = ""
    key_fingerprint: str = ""

    def describe(self) -> str:
        """``host web1, sshd from 10.0.0.5, tty ssh, key SHA256:...``: the event's origin."""
        parts = [f"host {self.host}", self.service]
        if self.remote_host:
            parts[1] += f" from {self.remote_host}"
        if self.tty:
            parts.append(f"tty {self.tty}")
        if self.key_fingerprint:
            parts.append(f"key {self.key_fingerprint}")
        return ", ".join(parts)

    @classmethod
    def parse(cls, origin: str) -> GuardedLogin | None:
        """The fields ``describe`` wrote into ``origin``; None for another kind of origin."""
        if not origin.startswith("host "):
            return None
        fields = origin.split(", ")
        host = fields[0].removeprefix("host ")
        service, _, remote_host = (fields[1] if len(fields) > 1 else "").partition(" from ")
        tagged = {name: value for name, _, value in (field.partition(" ") for field in fields[2:])}
        return cls(host, service, remote_host, tagged.get("tty", ""), tagged.get("key", ""))


def guarded_login(action: str, origin: str) -> GuardedLogin | None:
    """The fields of ``origin`` when ``action`` is a guarded login's."""
    if action not in GUARDED_LOGIN_EVENTS:
        return None
    return GuardedLogin.parse(origin)


def _os_account() -> str:
    """Who ran this command on the server: the effective user, and who sudo'd into it."""
    name = None
    try:
        import pwd

        name = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, AttributeError, KeyError, OSError):
        pass  # no pwd (Windows), or a uid with no passwd entry (containers)
    if not name:
        try:
            import getpass

            name = getpass.getuser()
        except (ImportError, KeyError, OSError):
            name = None
    if not name:
        uid = getattr(os, "geteuid", lambda: None)()
        name = f"uid {uid}" if uid is not None else "unknown"
    sudo_user = os.environ.get("SUDO_USER", "")
    if sudo_user and sudo_user != name:
        name = f"{name} (sudo by {sudo_user})"
    return _one_line(name, 100)


def _ssh_client() -> str | None:
    """The address an SSH session came from: the first field of $SSH_CLIENT."""
    fields = os.environ.get("SSH_CLIENT", "").split()
    if not fields:
        return None
    try:
        return str(ipaddress.ip_address(fields[0]))
    except ValueError:
        return _one_line(fields[0], 64)


def _one_line(text: str, limit: int) -> str:
    """Environment text as stored: printable, bounded (it is shown in the log)."""
    return "".join(c if c.isprintable() else "?" for c in text)[:limit]


def operator_origin() -> str:
    """``root``, or ``root from 10.0.0.5`` over SSH: where an operator command came from."""
    address = _ssh_client()
    account = _os_account()
    return f"{account} from {address}" if address else account


def person_origin() -> str:
    """Where a person's event came from: the SSH client's address (a served session's, or
    that of the SSH login a local `qmfa` runs in), else nothing."""
    return _ssh_client() or ""


def attempt_source() -> str:
    """Where a login attempt comes from, as the password throttle counts it.

    In a session `qmfa serve` started: the client's address (the server sets
    $SSH_CLIENT per session), an IPv6 address by its /64, which one host holds whole.
    Anywhere else: the OS account and the terminal, and the SSH client's address when
    the shell came over SSH.
    """
    address = _ssh_client()
    if LOGIN_TIMEOUT_ENV in os.environ or IDLE_TIMEOUT_ENV in os.environ:
        return f"address {_network_of(address) if address else 'unknown'}"
    local = f"local {_os_account()} on {_terminal()}"
    return f"{local} from {_network_of(address)}" if address else local


def _network_of(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip.exploded}/64", strict=False))
    except ValueError:
        pass
    return address


def _terminal() -> str:
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            return _one_line(os.ttyname(stream.fileno()), 64)
        except (AttributeError, OSError, ValueError):
            continue
    return "no terminal"


def record(
    actor: Actor | Account,
    action: str,
    *,
    target: Account | None = None,
    detail: str = "",
    origin: str | None = None,
) -> None:
    """Write one event. Call it inside the ``db.atomic()`` of the change it describes.

    ``actor`` is an Account for the login steps, where nobody is logged in yet.
    ``origin`` replaces the one worked out from the environment.
    """
    if isinstance(actor, Actor):
        actor_name, actor_id = actor.username, actor.user_id
    else:
        actor_name, actor_id = actor.username, actor.id
    operator = isinstance(actor, Actor) and actor.is_shell
    if origin is None:
        origin = operator_origin() if operator else person_origin()
    guarded = GuardedLogin.parse(origin) if action in GUARDED_LOGIN_EVENTS else None
    _INSERT_EVENT.execute(
        clock.utc(clock.now()),
        actor_name,
        actor_id,
        target.username if target is not None else None,
        target.id if target is not None else None,
        action,
        detail,
        OPERATOR if operator else PERSON,
        origin,
        host_key(guarded.host) if guarded is not None else None,
    )


@translate_errors
def record_ssh_session(action: str, address: str, ssh_username: str, detail: str = "") -> None:
    """An SSH session of `qmfa serve` opened or closed: by the operator's server, for a
    client at ``address`` who gave ``ssh_username`` (any text: shown quoted, bounded)."""
    said = f"SSH user {_one_line(ssh_username, 64)!r}"
    with db.atomic():
        record(
            shell_actor(),
            action,
            detail=f"{said}, {detail}" if detail else said,
            origin=f"{_os_account()} from {_one_line(address, 64)}",
        )


# The longest action stored (AuditEvent.action): a longer filter cannot match.
MAX_ACTION_LENGTH = 50


@translate_errors
def list_events(
    viewer: Actor,
    *,
    since: datetime | None = None,
    username: str | None = None,
    action: str | None = None,
    host: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Events newest first, filtered; only admins and the shell may read the log.

    ``username`` selects the events by or about that user, spelt in any case; the
    operator's name ("shell") selects the operator commands too. ``action`` selects the
    actions that start with it, in any case (``login`` and ``login.`` find login.failed,
    login.recovery_code, ...); ``%`` and ``_`` in it are plain characters. ``host``
    selects the guarded logins (``pam.*``) from that host, its whole name in any case
    (``web1`` is not ``web10``).
    """
    if not viewer.is_shell:
        account = Account.get_or_none(Account.id == viewer.user_id)
        if account is None or not account.active or account.role != Role.ADMIN:
            raise NotPermitted("Only admins can read the audit log.")
    if action is not None and len(action) > MAX_ACTION_LENGTH:
        raise BadInput(f"An action is at most {MAX_ACTION_LENGTH} characters.")
    host = host.strip() if host is not None else None
    if host and len(host) > MAX_HOST_LENGTH:
        raise BadInput(f"A host name is at most {MAX_HOST_LENGTH} characters.")
    if host and "," in host:
        raise BadInput("A host name has no comma.")
    query = AuditEvent.select()
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if username is not None:
        query = query.where(_about(username))
    if action:
        # A LIKE 'text%' whose text peewee escapes (ESCAPE '\\'): no wildcard of the user's.
        query = query.where(AuditEvent.action.startswith(action))
    if host:
        query = query.where(AuditEvent.host == host_key(host))
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return [
        AuditEntry(e.at, e.actor, e.target, e.action, e.detail, e.actor_kind, e.origin)
        for e in query
    ]


@translate_errors
def guarded_logins_recorded() -> bool:
    """Whether any login was guarded through this instance (a ``pam.*`` event): User
    Edit says "not used yet" only where that means something. Names nobody."""
    return bool(AuditEvent.select().where(AuditEvent.action.in_(GUARDED_LOGIN_EVENTS)).exists())


def _about(username: str) -> Expression:
    """Events by or about ``username``: a person's by name (as stored, whatever the case
    typed), and the operator's when the name is the operator's."""
    account = identity.account_named(username)
    name = account.username if account is not None else username.strip()
    condition = (AuditEvent.target == name) | (
        (AuditEvent.actor == name) & (AuditEvent.actor_kind == PERSON)
    )
    if identity.username_key(username.strip()) == identity.username_key(shell_actor().username):
        condition |= AuditEvent.actor_kind == OPERATOR
    return condition
