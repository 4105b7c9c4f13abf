"""The fixed sets of values the schema stores: auth sources, roles and deployments.

StrEnums, so a member is the very string stored in its column and compares equal
to it (``account.auth_source == AuthSource.LOCAL``). Every layer may use them:
no Textual, no peewee here.
"""

from __future__ import annotations

from enum import StrEnum


class AuthSource(StrEnum):
    """Where a user's password is checked: here (local) or by an identity provider."""

    LOCAL = "local"
    LDAP = "ldap"
    SSO = "sso"

    @property
    def label(self) -> str:
        """As people write it: "local", "LDAP", "SSO"."""
        return self.value if self is AuthSource.LOCAL else self.value.upper()


class Role(StrEnum):
    """An admin may do everything; a user what their Users-module flag allows."""

    ADMIN = "admin"
    USER = "user"


class Deployment(StrEnum):
    """On-prem: every admin is equal. SaaS: the first user (the super-admin) ranks above."""

    ON_PREM = "on-prem"
    SAAS = "saas"


def one_of(kind: type[StrEnum], quote: str = "'") -> str:
    """The values of ``kind`` for a refusal: "'local', 'ldap' or 'sso'"."""
    values = [f"{quote}{member.value}{quote}" for member in kind]
    return ", ".join(values[:-1]) + " or " + values[-1]
