"""Publishing flow bundles."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage.flowstore import bundle_by_version, bundles, publish_bundle, published_bundle
from storage.models import FlowBundle

TEXTS_V1 = {"main": "id: main\n", "report": "id: report\n"}
TEXTS_V2 = {"main": "id: main\nversion: 2\n", "report": "id: report\n"}


def _publish(session: Session, texts: dict[str, str], version: str, now: datetime) -> FlowBundle:
    return publish_bundle(
        session=session, texts=texts, version=version, note="", created_by="user:ada", now=now
    )


def test_nothing_is_published_at_first(session: Session) -> None:
    assert published_bundle(session=session) is None
    assert bundles(session=session) == []


def test_publishing_stores_and_activates_a_bundle(session: Session, now: datetime) -> None:
    bundle = _publish(session, TEXTS_V1, "v1", now)
    session.commit()
    assert published_bundle(session=session) == bundle
    assert (bundle.status, bundle.published_at, bundle.texts) == ("published", now, TEXTS_V1)
    assert bundle_by_version(session=session, version="v1") == bundle


def test_publishing_again_is_idempotent(session: Session, now: datetime) -> None:
    first = _publish(session, TEXTS_V1, "v1", now)
    again = _publish(session, TEXTS_V1, "v1", now + timedelta(hours=1))
    assert again.id == first.id
    assert again.published_at == now
    assert len(bundles(session=session)) == 1


def test_a_new_version_retires_the_old_one(session: Session, now: datetime) -> None:
    v1 = _publish(session, TEXTS_V1, "v1", now)
    v2 = _publish(session, TEXTS_V2, "v2", now + timedelta(hours=1))
    session.commit()
    session.refresh(v1)
    assert (v1.status, v2.status) == ("retired", "published")
    assert published_bundle(session=session) == v2
    assert [bundle.version for bundle in bundles(session=session)] == ["v2", "v1"]
    back = _publish(session, TEXTS_V1, "v1", now + timedelta(hours=2))
    session.commit()
    session.refresh(v2)
    assert (back.id, back.status, v2.status) == (v1.id, "published", "retired")


def test_one_version_cannot_hold_two_texts(session: Session, now: datetime) -> None:
    _publish(session, TEXTS_V1, "v1", now)
    with pytest.raises(ValueError, match="different texts"):
        _publish(session, TEXTS_V2, "v1", now)
