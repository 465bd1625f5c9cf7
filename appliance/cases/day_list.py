"""Today's signed appointment list on the kiosk: verified, sealed at rest, purged at day end.

``<state>/cases/day-list-YYYY-MM-DD.sealed`` holds the list exactly as central
signed it (signature and signer chain included), sealed to the device key
(:mod:`appliance.cases.sealed_file`, context ``day-list|SITE|DAY``). It is
verified when it arrives and again when it is read back after a restart, so a
list on disk is never trusted more than one fresh from central. Only the list of
the current day (site time zone) is kept: :meth:`DayListStore.purge` deletes
every other one and forgets the list in memory once its day (its ``not_after``)
is over.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from appliance.cases.sealed_file import (
    KeyAgreement,
    SealedFileError,
    read_sealed,
    write_sealed,
)
from appliance.durable import fsync_directory
from packet.daylist import DayList, DayListInvalid, SignedDayList, verify_day_list
from packet.trust import TrustStore

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^day-list-(\d{4}-\d{2}-\d{2})\.sealed$")


class DayListStore:
    def __init__(
        self,
        directory: Path,
        key: KeyAgreement,
        trust: TrustStore,
        *,
        site_id: str,
        device_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory = directory
        self._key = key
        self._public = key.public_key()
        self._trust = trust
        self._site = site_id
        self._device = device_id
        self._clock = clock
        self.current: DayList | None = None

    def path(self, day: date) -> Path:
        return self.directory / f"day-list-{day.isoformat()}.sealed"

    def _context(self, day: date) -> bytes:
        return f"day-list|{self._site}|{day.isoformat()}".encode()

    def verify(self, signed: SignedDayList, day: date) -> DayList:
        """Every check of packet.daylist.verify_day_list, for this site, device and day."""
        return verify_day_list(
            signed,
            self._trust,
            site_id=self._site,
            day=day,
            device_id=self._device,
            now=self._clock(),
        )

    def accept(self, signed: SignedDayList, day: date) -> DayList:
        """Verify a list fresh from central, seal it to disk, make it current."""
        listed = self.verify(signed, day)
        write_sealed(self.path(day), self._public, self._context(day), signed.to_bytes())
        self.current = listed
        logger.info("day list of %s kept: %d appointments", day, len(listed.appointments))
        return listed

    def load(self, day: date) -> DayList | None:
        """The list of ``day`` from disk (after a restart), verified again; None if absent."""
        path = self.path(day)
        if not path.exists():
            return None
        try:
            signed = SignedDayList.from_bytes(read_sealed(path, self._key, self._context(day)))
            listed = self.verify(signed, day)
        except (SealedFileError, DayListInvalid) as exc:
            code = getattr(exc, "code", type(exc).__name__)
            logger.error("the stored day list of %s is unusable (%s): deleted", day, code)
            path.unlink(missing_ok=True)
            return None
        self.current = listed
        return listed

    def for_day(self, day: date) -> DayList | None:
        """The current list if it is ``day``'s and not expired."""
        listed = self.current
        if listed is None or listed.day != day or listed.not_after <= self._clock():
            return None
        return listed

    def purge(self, today: date) -> list[date]:
        """Delete every stored list but ``today``'s (and an expired one); returns the days."""
        removed: list[date] = []
        for path in sorted(self.directory.glob("day-list-*.sealed")):
            match = _NAME.match(path.name)
            if match is None:
                continue
            day = date.fromisoformat(match.group(1))
            expired = (
                self.current is not None
                and self.current.day == day
                and (self.current.not_after <= self._clock())
            )
            if day != today or expired:
                path.unlink(missing_ok=True)
                removed.append(day)
        for stray in self.directory.glob(".day-list-*.tmp"):
            stray.unlink(missing_ok=True)
        if removed:
            fsync_directory(self.directory)
        if self.current is not None and (
            self.current.day != today or self.current.not_after <= self._clock()
        ):
            self.current = None
        return removed
