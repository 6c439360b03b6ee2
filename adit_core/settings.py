"""Deployment-wide settings stored in the database (table `settings`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from adit_core.db.models import Setting
from adit_core.dicom.server import LocalNode


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    value = session.scalar(select(Setting.value).where(Setting.key == key))
    return default if value is None else value


def local_node(session: Session) -> LocalNode:
    """Our identity on the DICOM network: the receiver's AE title, also used when calling."""
    return LocalNode(ae_title=get_setting(session, "receiver_ae_title", "ADIT") or "ADIT")
