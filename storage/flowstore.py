"""Stored flow bundles: which set of flow definitions is live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import BundleStatus, FlowBundle


def bundle_by_version(*, session: Session, version: str) -> FlowBundle | None:
    """Return the bundle with this content hash, whatever its status."""
    return session.scalar(select(FlowBundle).where(FlowBundle.version == version))


def published_version(*, session: Session) -> str | None:
    """Return the version of the live bundle (a cheap check before loading it)."""
    query = (
        select(FlowBundle.version)
        .where(FlowBundle.status == BundleStatus.PUBLISHED)
        .order_by(FlowBundle.published_at.desc(), FlowBundle.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def published_bundle(*, session: Session) -> FlowBundle | None:
    """Return the live bundle, or None before the first publication."""
    query = (
        select(FlowBundle)
        .where(FlowBundle.status == BundleStatus.PUBLISHED)
        .order_by(FlowBundle.published_at.desc(), FlowBundle.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def bundles(*, session: Session) -> Sequence[FlowBundle]:
    """Return every stored bundle, newest first."""
    return session.scalars(select(FlowBundle).order_by(FlowBundle.id.desc())).all()


def _retire_others(session: Session, keep_id: int) -> None:
    session.execute(
        update(FlowBundle)
        .where(FlowBundle.status == BundleStatus.PUBLISHED, FlowBundle.id != keep_id)
        .values(status=BundleStatus.RETIRED)
        .execution_options(synchronize_session="fetch")
    )


def publish_bundle(
    *,
    session: Session,
    texts: Mapping[str, str],
    version: str,
    note: str,
    created_by: str,
    now: datetime,
) -> FlowBundle:
    """Make the bundle `version` the live one, storing it first if it is new.

    Publishing the live version again changes nothing; publishing a retired version
    brings it back. The previously published bundle is retired.
    """
    bundle = bundle_by_version(session=session, version=version)
    if bundle is None:
        bundle = FlowBundle(
            version=version, texts=dict(texts), note=note, created_by=created_by, created_at=now
        )
        session.add(bundle)
        session.flush()
    elif bundle.texts != dict(texts):
        raise ValueError(f"bundle {version} is already stored with different texts")
    if bundle.status != BundleStatus.PUBLISHED:
        bundle.status = BundleStatus.PUBLISHED
        bundle.published_at = now
    _retire_others(session, bundle.id)
    session.flush()
    return bundle


def add_draft(
    *,
    session: Session,
    texts: Mapping[str, str],
    version: str,
    note: str,
    created_by: str,
    now: datetime,
) -> FlowBundle:
    """Store a set of documents as a draft; the same texts stored before are returned as
    they are (a version is its content), whatever their status."""
    bundle = bundle_by_version(session=session, version=version)
    if bundle is not None:
        return bundle
    bundle = FlowBundle(
        version=version,
        texts=dict(texts),
        note=note,
        created_by=created_by,
        created_at=now,
        status=BundleStatus.DRAFT,
    )
    session.add(bundle)
    session.flush()
    return bundle
