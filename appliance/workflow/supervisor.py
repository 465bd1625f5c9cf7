"""The supervisor's confirmation of an exception: PIN, role, and another person."""

from __future__ import annotations

import asyncio

from appliance.accounts import AccountStore, AuthError, LockedOut, Role
from appliance.workflow.finger_step import SupervisorCheck
from appliance.workflow.state import TransitionError


def supervisor_check(accounts: AccountStore) -> SupervisorCheck:
    """Checks ``pin`` for ``supervisor`` (role supervisor, not the operator themselves)."""

    async def confirm(supervisor: str, pin: str, operator: str) -> str:
        try:
            account = await asyncio.to_thread(
                accounts.verify_pin, supervisor, pin, role=Role.SUPERVISOR
            )
        except LockedOut as exc:
            raise TransitionError(
                exc.code, "supervisor locked out", retry_after_s=round(exc.retry_after_s)
            ) from None
        except AuthError as exc:
            raise TransitionError("finger.supervisor_refused", exc.code) from None
        if account.username == operator:
            raise TransitionError("finger.supervisor_same_person", "another person must confirm")
        return account.username

    return confirm
