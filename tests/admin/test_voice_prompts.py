"""The voice prompts pages: coverage, recording kit, uploads (a zip or one file) kept as
drafts after their checks, previews, publish and discard (audited), and the roles."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable

import httpx
import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway import voiceadmin
from storage import voiceprompts
from storage.users import audit_entries
from tests.admin.conftest import Browser

LANG = "fr"


def tone(seconds: float = 1.0, rate: int = 44100, fmt: str = "WAV", channels: int = 1) -> bytes:
    """A short 440 Hz tone, as a recorder would write it."""
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    data = np.column_stack([wave] * channels) if channels > 1 else wave
    out = io.BytesIO()
    soundfile.write(out, data, rate, format=fmt)
    return out.getvalue()


def silence(seconds: float = 1.0, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(int(seconds * rate)), rate, format="WAV")
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def files(app_client: TestClient) -> list[str]:
    """Some prompt files French needs (texts first)."""
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    needed = voiceadmin.needed(runtime, LANG)
    return sorted(f for f, p in needed.items() if p.context == "text")[:4]


def upload(admin: Browser, name: str, data: bytes, prompt: str | None = None) -> httpx.Response:
    form = {"prompt": prompt} if prompt else {}
    return admin.post(
        f"/admin/voice/{LANG}/upload",
        form,
        files={"file": (name, data, "application/octet-stream")},
    )


def drafts(db: sessionmaker[Session]) -> dict[str, int]:
    with db() as session:
        rows = voiceprompts.drafts(session=session, language=LANG)
        return {row.file: row.duration_ms for row in rows}


def test_index_and_language_page_show_coverage_and_every_prompt(
    browser: Callable[[str], Browser], files: list[str]
) -> None:
    admin = browser("admin")
    index = admin.get("/admin/voice")
    assert index.status_code == 200
    assert 'href="/admin/voice/fr"' in index.text
    assert "Voice prompts" in index.text  # the menu entry
    page = admin.get(f"/admin/voice/{LANG}")
    assert page.status_code == 200
    assert "fr: 0/" in page.text  # nothing published yet: the lint's coverage line
    for file in files:
        assert f'<tr id="{file}">' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert admin.get(f"/admin/voice/{LANG}?show=nonsense").status_code == 400
    assert admin.get("/admin/voice/xx").status_code == 404


def test_recording_kit_lists_each_file_with_its_text(
    browser: Callable[[str], Browser], files: list[str]
) -> None:
    response = browser("admin").get(f"/admin/voice/{LANG}/kit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["file", "message_id", "context", "text", "status", "source"]
    listed = {row["file"]: row for row in rows}
    for file in files:
        assert listed[file]["text"]
        assert listed[file]["status"] == "missing"


def test_a_zip_keeps_the_good_files_as_drafts_and_lists_the_others(
    browser: Callable[[str], Browser], files: list[str], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    stem = files[1].removesuffix(".wav")
    archive = zipped(
        {
            f"recordings/{files[0]}": tone(1.2, channels=2),
            f"{stem}.flac": tone(0.8, rate=22050, fmt="FLAC"),
            "t-notaprompt.wav": tone(),
            files[2]: b"this is no audio at all",
            files[3]: silence(),
            "notes.txt": b"read slowly",
            "__MACOSX/._x.wav": b"junk",
        }
    )
    response = upload(admin, "fr.zip", archive)
    assert response.status_code == 200, response.text[:500]
    text = response.text
    assert "2 file(s) kept as drafts, 4 refused" in text
    assert "no prompt of fr is named t-notaprompt.wav" in text
    assert "not a WAV, FLAC or OGG audio file" in text
    assert "silent" in text.lower()
    assert "not named as a prompt file" in text
    kept = drafts(db)
    assert set(kept) == {files[0], files[1]}
    assert 1100 <= kept[files[0]] <= 1300
    # Nothing is published until the admin says so.
    with db() as session:
        assert not voiceprompts.published(session=session, language=LANG)


def test_a_draft_is_previewed_as_8_khz_mono_wav(
    browser: Callable[[str], Browser], files: list[str]
) -> None:
    admin = browser("admin")
    upload(admin, "one.wav", tone(1.0, rate=48000, channels=2), prompt=files[0])
    preview = admin.get(f"/admin/voice/{LANG}/draft/{files[0]}")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(preview.content))
    assert rate == 8000
    assert samples.ndim == 1
    assert abs(len(samples) - 8000) < 80
    page = admin.get(f"/admin/voice/{LANG}?show=drafts")
    assert f'src="/admin/voice/{LANG}/draft/{files[0]}"' in page.text
    assert 'preload="none"' in page.text
    assert admin.get(f"/admin/voice/{LANG}/published/{files[0]}").status_code == 404
    assert admin.get(f"/admin/voice/{LANG}/draft/..%2Fetc.wav").status_code == 404


def test_one_file_for_a_row_and_its_refusals(
    browser: Callable[[str], Browser], files: list[str], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    ok = upload(admin, "anything-named.ogg", tone(0.6, fmt="OGG"), prompt=files[2])
    assert ok.status_code == 200
    assert files[2] in drafts(db)
    bad = upload(admin, "x.wav", b"RIFF nonsense", prompt=files[3])
    assert bad.status_code == 422
    assert "not a WAV, FLAC or OGG" in bad.text
    long = upload(admin, "long.wav", tone(31, rate=8000), prompt=files[3])
    assert long.status_code == 422
    assert "too long" in long.text
    unknown = upload(admin, "x.wav", tone(), prompt="t-nothing00.wav")
    assert unknown.status_code == 422
    assert upload(admin, "x.wav", tone(), prompt="../x").status_code == 400
    assert files[3] not in drafts(db)


def test_oversized_uploads_and_zip_bombs_are_refused_without_a_500(
    browser: Callable[[str], Browser],
    files: list[str],
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = browser("admin")
    # A member that unpacks past the per-file limit (13 MB of zeros, ~13 KB zipped).
    bomb = zipped({files[0]: b"\0" * (voiceadmin.MAX_MEMBER_BYTES + 1), files[1]: tone()})
    assert len(bomb) < 100_000
    response = upload(admin, "bomb.zip", bomb)
    assert response.status_code == 200
    assert "too large" in response.text
    assert set(drafts(db)) == {files[1]}
    # The whole zip unpacking past its limit is refused before anything is read.
    monkeypatch.setattr(voiceadmin, "MAX_UNPACKED_BYTES", 1000)
    refused = upload(admin, "big.zip", zipped({files[2]: tone()}))
    assert refused.status_code == 413
    monkeypatch.setattr(voiceadmin, "MAX_ZIP_BYTES", 1000)
    assert upload(admin, "big.zip", zipped({files[2]: tone()})).status_code == 413
    assert upload(admin, "broken.zip", b"PK\x03\x04broken").status_code == 400
    assert files[2] not in drafts(db)


def test_publish_makes_drafts_the_line_s_prompts_audited_then_discard(
    browser: Callable[[str], Browser], files: list[str], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    upload(admin, "fr.zip", zipped({files[0]: tone(), files[1]: tone(0.5)}))
    published = admin.post(f"/admin/voice/{LANG}/publish")
    assert published.status_code == 303
    assert "Published 2 prompt(s)" in admin.follow(published).text
    with db() as session:
        rows = voiceprompts.published(session=session, language=LANG)
        assert {row.file: row.source for row in rows} == {
            files[0]: "recorded",
            files[1]: "recorded",
        }
        assert not voiceprompts.drafts(session=session, language=LANG)
        entry = audit_entries(session=session, action="voice.publish")[0]
        assert entry.target == LANG
        assert entry.data["prompts"] == 2
    heard = admin.get(f"/admin/voice/{LANG}/published/{files[0]}")
    assert heard.status_code == 200
    assert heard.content.startswith(b"RIFF")
    page = admin.get(f"/admin/voice/{LANG}")
    assert "fr: 2/" in page.text
    assert '<span class="badge recorded">recorded</span>' in page.text

    upload(admin, "again.wav", tone(0.7), prompt=files[0])
    discarded = admin.post(f"/admin/voice/{LANG}/discard")
    assert "Discarded 1 draft(s)" in admin.follow(discarded).text
    assert drafts(db) == {}
    with db() as session:
        assert audit_entries(session=session, action="voice.discard")[0].data["prompts"] == 1
        assert len(voiceprompts.published(session=session, language=LANG)) == 2
    nothing = admin.post(f"/admin/voice/{LANG}/publish")
    assert "no drafts to publish" in admin.follow(nothing).text


def test_other_roles_and_forms_without_csrf_change_nothing(
    browser: Callable[[str], Browser], files: list[str], db: sessionmaker[Session]
) -> None:
    for role in ("coordinator", "analyst"):
        other = browser(role)
        assert other.get("/admin/voice").status_code == 403
        assert upload(other, "x.wav", tone(), prompt=files[0]).status_code == 403
        assert other.post(f"/admin/voice/{LANG}/publish").status_code == 403
        assert "Voice prompts" not in other.get("/admin/").text
    admin = browser("admin")
    upload(admin, "x.wav", tone(), prompt=files[0])
    forged = admin.post(f"/admin/voice/{LANG}/publish", csrf=False)
    assert forged.status_code == 403
    assert set(drafts(db)) == {files[0]}
    admin._use()
    no_token = admin.client.post(
        f"/admin/voice/{LANG}/upload",
        data={"prompt": files[1]},
        files={"file": ("x.wav", tone(), "audio/wav")},
    )
    assert no_token.status_code == 403
    assert set(drafts(db)) == {files[0]}
