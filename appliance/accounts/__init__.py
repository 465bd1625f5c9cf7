"""Operator accounts: roles, argon2id-hashed passwords and PINs, lockout and sessions."""

from appliance.accounts.sessions import LoginSession, LoginSessions
from appliance.accounts.store import (
    Account,
    AccountError,
    AccountStore,
    AuthError,
    BadCredentials,
    LockedOut,
    Role,
    WrongRole,
)

__all__ = [
    "Account",
    "AccountError",
    "AccountStore",
    "AuthError",
    "BadCredentials",
    "LockedOut",
    "LoginSession",
    "LoginSessions",
    "Role",
    "WrongRole",
]
