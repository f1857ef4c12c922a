"""The `sauti` command."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from gateway.release import database, prepare
from gateway.services import ensure_redis, setup_logging
from storage.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from flows.engine import Bundle
    from gateway.prompts.publishing import Shortfall
    from storage.privacy import Crypto

log = logging.getLogger("sauti")


def _settings() -> Settings:
    """The settings from the environment; unusable ones stop the command with each problem
    named (never the value given), not with a traceback."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(f"the settings cannot be used:\n{exc}") from None
    setup_logging(settings)
    return settings


@click.group(help="Sauti: anonymous incident reporting by USSD, SMS, WhatsApp and voice.")
def main() -> None:
    """The command group."""


# -- database and data ---------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to DATABASE_URL."""
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.db_url)
    click.echo("database is up to date")


def _now() -> datetime:
    return datetime.now(UTC)


@main.group("import")
def import_() -> None:
    """Import places and committees."""


@import_.command("locations")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def import_locations(file: TextIO) -> None:
    """Import places from a CSV file (code,name,parent_code,level); re-import updates by code."""
    from storage.places import LocationImportError, import_locations_csv

    settings = _settings()
    try:
        with database(settings) as sessions, sessions.begin() as session:
            result = import_locations_csv(session=session, source=file)
    except LocationImportError as exc:
        raise click.ClickException(f"nothing imported:\n{exc}") from exc
    click.echo(f"{result.created} places created, {result.updated} updated")


@import_.command("committees")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def import_committees(file: TextIO) -> None:
    """Import committees from a YAML file; re-import updates by code, a bad file changes nothing."""
    from storage.committees import CommitteeImportError, import_committees_yaml
    from storage.keys import load_crypto

    settings = _settings()
    crypto = load_crypto(settings)
    try:
        with database(settings) as sessions, sessions.begin() as session:
            result = import_committees_yaml(
                session=session,
                crypto=crypto,
                source=file,
                default_region=settings.sauti_default_region,
            )
    except CommitteeImportError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException("nothing imported: fix the problems above") from exc
    click.echo(
        f"{result.created} committees created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


# -- flows and translations ------------------------------------------------------------------


@main.group()
def flows() -> None:
    """Flow definitions."""


@flows.command("lint")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--languages", default=None, help="Comma-separated language codes (default: all enabled)."
)
def flows_lint(files: tuple[Path, ...], languages: str | None) -> None:
    """Render every screen in every language and fail on any breach (default: the shipped flows)."""
    from flows import lint
    from gateway.templates import sms_templates

    settings = _settings()
    langs = [c.strip() for c in (languages or settings.sauti_languages).split(",") if c.strip()]
    code = lint.run(list(files), langs, templates=sms_templates())
    _print_prompt_coverage(settings, files)
    sys.exit(code)


def _print_prompt_coverage(settings: Settings, files: tuple[Path, ...]) -> None:
    """The voice prompts each voice language has of the linted flows (from the database),
    whenever they compile."""
    from sqlalchemy.exc import SQLAlchemyError

    from flows.loader import BundleError, load_bundle, texts_with
    from gateway.prompts.needed import coverages, load_sources

    if not settings.voice_languages:
        return
    try:
        bundle = load_bundle(texts_with(files))
    except (BundleError, OSError, UnicodeDecodeError):
        return  # the lint has said why
    try:
        with database(settings) as sessions, sessions() as session:
            found = coverages(session, settings, load_sources(session, settings, bundle=bundle))
    except SQLAlchemyError as exc:
        # A checkout with no database yet (a fresh clone): nothing to count prompts in.
        click.echo(
            f"voice prompts: not checked, the database cannot be read ({type(exc).__name__});"
            " `sauti db upgrade` then `sauti voice build` make it"
        )
        return
    click.echo("voice prompts:")
    for coverage in found.values():
        click.echo("  " + coverage.line())


@flows.command("publish")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--note", default="", help="What changed, for the version history.")
def flows_publish(files: tuple[Path, ...], note: str) -> None:
    """Publish flow files (others stay as published); sessions in progress keep their version."""
    from flows import lint
    from flows.loader import bundle_version, load_bundle, shipped_texts
    from gateway.prompts.publishing import refusal
    from gateway.templates import sms_templates
    from storage import flowstore

    settings = _settings()
    with database(settings) as sessions, sessions.begin() as session:
        current = flowstore.published_bundle(session=session)
        texts = dict(current.texts) if current is not None else shipped_texts()[0]
        texts.update({path.stem: path.read_text(encoding="utf-8") for path in files})
        if lint.run_texts(texts, list(settings.languages), templates=sms_templates()) != 0:
            raise click.ClickException("not published: fix the lint errors above")
        version = bundle_version(texts)
        short = _voice_shortfalls(session, settings, load_bundle(texts))
        if short:
            raise click.ClickException(refusal(short))
        flowstore.publish_bundle(
            session=session, texts=texts, version=version, note=note, created_by="cli", now=_now()
        )
    click.echo(f"published version {version[:12]}")


def _voice_shortfalls(session: Session, settings: Settings, bundle: Bundle) -> list[Shortfall]:
    """What publishing `bundle` would leave unplayable on the voice line (and synthesise
    what text-to-speech can first): `gateway.prompts.publishing`."""
    from gateway.prompts import publishing
    from gateway.prompts.needed import load_sources

    return publishing.check(session, settings, load_sources(session, settings), bundle)


# -- the voice line's prompts ----------------------------------------------------------------


@main.group()
def voice() -> None:
    """The voice line's audio prompts."""


@voice.command("build")
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="A language to build (repeatable; default: every language of SAUTI_LANGUAGES).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Synthesise every text-to-speech prompt again (never a recording).",
)
@click.option(
    "--kit",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where recording kits go, one folder per language (default: var/voice-kit).",
)
def voice_build(languages: tuple[str, ...], force: bool, kit: Path | None) -> None:
    """Synthesise the missing or outdated prompts of each language text-to-speech speaks
    (sw, fr, en), and write a recording kit for the others."""
    import time

    from gateway.prompts.build import build

    settings = _settings()
    unknown = [code for code in languages if code not in settings.languages]
    if unknown:
        raise click.ClickException(
            f"not a language of SAUTI_LANGUAGES: {', '.join(unknown)} "
            f"(enabled: {', '.join(settings.languages)})"
        )
    started = time.perf_counter()
    with database(settings) as sessions:
        found = build(sessions, settings, languages, force=force, kit=kit)
    for built in found:
        click.echo(built.line())
    total = sum(built.built for built in found)
    click.echo(f"{total} prompts built in {time.perf_counter() - started:.1f} s")


@voice.command("lint")
def voice_lint() -> None:
    """Print each voice language's prompt coverage; fail when a language offered by voice
    has prompts that cannot be played (missing, and not in its fallback language)."""
    from gateway.prompts.needed import coverages, load_sources

    settings = _settings()
    if not settings.voice_languages:
        click.echo("no language is offered by voice (SAUTI_VOICE_LANGUAGES is empty)")
        return
    with database(settings) as sessions, sessions() as session:
        found = coverages(session, settings, load_sources(session, settings))
    failed = []
    for coverage in found.values():
        click.echo(coverage.line())
        if coverage.unplayable:
            failed.append(f"{coverage.language} ({coverage.unplayable})")
    if failed:
        click.echo(
            "prompts that cannot be played: " + ", ".join(failed) + ". Run `sauti voice build`"
            " where text-to-speech speaks the language; record the others from the kit it"
            " writes, or set SAUTI_VOICE_FALLBACK",
            err=True,
        )
        sys.exit(1)


@main.group()
def i18n() -> None:
    """Translation catalogs."""


@i18n.command("extract")
def i18n_extract() -> None:
    """Extract every message of the flows and the code, and the demo place names, into the
    .pot template."""
    from flows.i18n import extract_pot
    from storage.seed import place_names

    click.echo(f"wrote {extract_pot(places=place_names())}")


@i18n.command("update")
@click.option(
    "--languages",
    default=None,
    help="Comma-separated codes; one without a catalog gets a new one "
    "(default: every catalog and every language of SAUTI_LANGUAGES).",
)
def i18n_update(languages: str | None) -> None:
    """Merge the template into each language catalog, creating the missing ones."""
    from flows.i18n import available_languages, update_catalogs

    if languages is None:
        chosen = [*available_languages(), *_settings().languages]
    else:
        chosen = [code.strip() for code in languages.split(",") if code.strip()]
    for path in update_catalogs(languages=dict.fromkeys(chosen)):
        click.echo(f"updated {path}")


@i18n.command("compile")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def i18n_compile(out: Path | None) -> None:
    """Compile the catalogs to .mo files (the service itself reads the .po files at start)."""
    from flows.i18n import compile_catalogs

    for path in compile_catalogs(out):
        click.echo(f"compiled {path}")


# -- users -------------------------------------------------------------------------------------


@main.group()
def admin() -> None:
    """Console and API users."""


def _read_password() -> str:
    """One line from standard input when it is not a terminal; else a hidden prompt, twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _scope_data(committees: tuple[str, ...], place: str | None) -> dict[str, object]:
    """What the audit log keeps of a scope: the codes, as given."""
    if place is not None:
        return {"place": place}
    return {"committees": list(committees)} if committees else {}


_COMMITTEE_HELP = (
    "Limit the user to the cases held by this committee (its code); repeat for several."
)
_PLACE_HELP = "Limit the user to the cases of this place (its code) and everything under it."


@admin.command("create-user")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "coordinator", "analyst"]), help="Role."
)
@click.option("--committee", "committees", multiple=True, metavar="CODE", help=_COMMITTEE_HELP)
@click.option("--place", metavar="CODE", default=None, help=_PLACE_HELP)
def admin_create_user(name: str, role: str, committees: tuple[str, ...], place: str | None) -> None:
    """Create a user; the password comes from standard input or a prompt (12+ characters).

    Without --committee or --place the user sees every case; admins always do.
    """
    from storage.migrate import upgrade
    from storage.users import InvalidUser, audit, check_password, create_user, set_scope

    settings = _settings()
    password = _read_password()
    try:
        check_password(password)
        upgrade(settings.db_url)
        with database(settings) as sessions, sessions.begin() as session:
            user = create_user(
                session=session, username=name, password=password, role=role, now=_now()
            )
            scope = set_scope(session=session, user=user, committees=committees, place=place)
            audit(
                session=session,
                actor="cli",
                action="user.create",
                target=name,
                now=_now(),
                data={"role": role, **_scope_data(committees, place)},
            )
    except InvalidUser as exc:
        raise click.ClickException(f"no user created: {exc}") from exc
    click.echo(f"created {role} {name}, who sees {scope.label}")


@admin.command("scope")
@click.argument("name")
@click.option("--committee", "committees", multiple=True, metavar="CODE", help=_COMMITTEE_HELP)
@click.option("--place", metavar="CODE", default=None, help=_PLACE_HELP)
@click.option("--clear", is_flag=True, help="Remove the scope: the user sees every case.")
def admin_scope(name: str, committees: tuple[str, ...], place: str | None, clear: bool) -> None:
    """Set which cases a coordinator or analyst sees: some committees, or a place and
    everything under it (the new scope replaces the old one); --clear: every case."""
    from storage.migrate import upgrade
    from storage.users import InvalidUser, audit, find_user, set_scope

    if clear == bool(committees or place):
        raise click.UsageError("give --committee or --place, or --clear alone")
    settings = _settings()
    upgrade(settings.db_url)
    try:
        with database(settings) as sessions, sessions.begin() as session:
            user = find_user(session=session, username=name)
            if user is None:
                raise InvalidUser(f"no user is named {name!r}")
            scope = set_scope(session=session, user=user, committees=committees, place=place)
            audit(
                session=session,
                actor="cli",
                action="user.scope",
                target=name,
                now=_now(),
                data=_scope_data(committees, place) or {"cleared": True},
            )
    except InvalidUser as exc:
        raise click.ClickException(f"scope not changed: {exc}") from exc
    click.echo(f"{name} now sees {scope.label}")


# -- retention and keys -------------------------------------------------------------------------


def _checked_crypto(settings: Settings) -> Crypto:
    """The keys for a data-changing command; a malformed key is reported, never a traceback."""
    from storage.keys import load_crypto

    try:
        return load_crypto(settings)
    except ValueError as exc:  # a key of the wrong length or alphabet; the text names no key
        raise click.ClickException(f"invalid key: {exc}") from None


@main.group()
def retention() -> None:
    """Erase the personal content of cases closed long ago."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
def retention_run(dry_run: bool) -> None:
    """Purge cases closed more than SAUTI_RETENTION_DAYS days ago (the daily job does the same)."""
    from storage import retention as store

    settings = _settings()
    days, now = settings.sauti_retention_days, _now()
    before = store.cutoff(now=now, days=days)
    with database(settings) as sessions:
        if dry_run:
            with sessions() as session:
                counts = store.due_counts(session=session, before=before, now=now)
        else:
            crypto = _checked_crypto(settings)
            unlinked = now - timedelta(seconds=settings.sauti_draft_ttl)
            counts = store.purge_expired(
                sessions=sessions, crypto=crypto, days=days, now=now, unlinked_before=unlinked
            )
    verb = "would be purged" if dry_run else "purged"
    click.echo(
        f"{counts.cases} cases closed before {before:%Y-%m-%d} {verb}: "
        f"{counts.event_texts} event texts, {counts.messages} SMS"
    )


@main.group()
def report() -> None:
    """Reports for committees."""


@report.command("quarterly")
@click.option("--committee", "code", required=True, help="The committee's code.")
@click.option("--quarter", required=True, help="A calendar quarter in UTC, written like 2026Q4.")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["html", "pdf"]),
    default="html",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
def report_quarterly(code: str, quarter: str, kind: str, out: Path | None) -> None:
    """Write a committee's quarterly report: its figures, categories, places and actions,
    with no words of reporters (an internal committee document: counts are not hidden)."""
    from gateway.backoffice.reports import report_html, report_pdf
    from storage.performance import BadQuarter, Quarter
    from storage.quarterly import quarterly_report
    from storage.stats import UnknownFilter

    try:
        period = Quarter.parse(quarter)
    except BadQuarter as exc:
        raise click.BadParameter(str(exc), param_hint="--quarter") from None
    settings = _settings()
    with database(settings) as sessions, sessions() as session:
        try:
            found = quarterly_report(session=session, committee=code, quarter=period, now=_now())
        except UnknownFilter:
            raise click.BadParameter(
                "no committee has this code", param_hint="--committee"
            ) from None
    data = report_pdf(found) if kind == "pdf" else report_html(found).encode()
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        click.echo(f"{out}: quarterly report {period} of {code} ({kind}, {len(data)} bytes)")


@main.group()
def keys() -> None:
    """Rotate the encryption and pseudonym keys (see docs/operations.md first)."""


@keys.command("rotate-encryption")
def keys_rotate_encryption() -> None:
    """Re-encrypt every stored value with the first key of SAUTI_ENCRYPTION_KEY."""
    from storage.key_rotation import Rewrite, rotate_encryption

    settings = _settings()
    crypto = _checked_crypto(settings)

    def report(tally: Rewrite) -> None:
        click.echo(
            f"{tally.table}: {tally.rewritten} rewritten, {tally.current} already current, "
            f"{tally.unreadable} unreadable, {tally.changed} changed meanwhile"
        )

    with database(settings) as sessions:
        tallies = rotate_encryption(sessions=sessions, crypto=crypto, now=_now(), progress=report)
    unreadable = sum(tally.unreadable for tally in tallies)
    if unreadable:
        raise click.ClickException(
            f"{unreadable} values match no configured key and were left as they are: put the "
            "old key back at the end of SAUTI_ENCRYPTION_KEY and run this again"
        )
    if any(tally.changed for tally in tallies):
        click.echo("some rows changed while this ran: run it again to check them")
    click.echo("every value is under the first key: the other keys can be removed")


@keys.command("rotate-pseudonym")
@click.option("--yes", is_flag=True, help="Confirm: reporters' languages and STOP entries go.")
def keys_rotate_pseudonym(yes: bool) -> None:
    """Re-key members' pseudonyms after SAUTI_PSEUDONYM_KEY changed; drop reporters' rows."""
    from storage.key_rotation import KeyUnchanged, rotate_pseudonyms

    if not yes:
        raise click.UsageError(
            "this deletes every reporter's language choice and STOP entry, which the new key "
            "cannot find again: add --yes to go ahead"
        )
    settings = _settings()
    crypto = _checked_crypto(settings)
    try:
        with database(settings) as sessions, sessions.begin() as session:
            done = rotate_pseudonyms(session=session, crypto=crypto, now=_now())
    except KeyUnchanged as exc:
        raise click.ClickException(f"nothing changed: {exc}") from exc
    click.echo(
        f"{done.members} member pseudonyms recomputed, {done.member_prefs} member preferences "
        f"kept, {done.messages} member SMS re-keyed, {done.prefs_dropped} reporter "
        "preferences deleted"
    )


# -- processes ---------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: SAUTI_PORT.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option(
    "--forwarded-allow-ips",
    envvar="FORWARDED_ALLOW_IPS",
    default="127.0.0.1",
    show_default=True,
    help="Proxies whose X-Forwarded-For/-Proto are believed (comma-separated, or *).",
)
def web(host: str, port: int | None, workers: int, forwarded_allow_ips: str) -> None:
    """Serve the webhooks, the console, the API, health and metrics."""
    import uvicorn

    settings, embedded = ensure_redis(_settings())
    os.environ["REDIS_URL"] = settings.redis_url
    try:
        uvicorn.run(
            "gateway.app:create_app",
            factory=True,
            host=host,
            port=port or settings.sauti_port,
            workers=workers,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            log_config=None,
        )
    finally:
        if embedded is not None:
            embedded.stop()


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool) -> None:
    """Run jobs from every queue."""
    from gateway.channels.registry import recorders, senders
    from storage import redis_connect
    from workers import context
    from workers.supervise import run_worker

    # Redis first: a sender may keep state there (Twilio reads WhatsApp's 24-hour window).
    settings, embedded = ensure_redis(_settings())
    try:
        chosen = senders(settings)  # a provider without its settings stops the start here
    except ValueError as exc:
        if embedded is not None:
            embedded.stop()
        raise click.ClickException(str(exc)) from None
    connection = redis_connect.connect(settings.redis_url)
    context.use(context.build(settings, senders=chosen, recorders=recorders(settings)))
    try:
        run_worker(settings=settings, connection=connection, burst=burst)
    finally:
        if embedded is not None:
            embedded.stop()


@main.command()
def scheduler() -> None:
    """Enqueue the periodic jobs (sweep, digests) on time."""
    from storage import redis_connect
    from workers.supervise import run_scheduler

    settings, embedded = ensure_redis(_settings())
    try:
        connection = redis_connect.connect(settings.redis_url)
        run_scheduler(settings=settings, connection=connection)
    finally:
        if embedded is not None:
            embedded.stop()


@main.command()
def run() -> None:
    """Start everything on this machine: migrations, demo data, the voice prompts when there
    are none, Redis, web, worker, scheduler.

    Every process logs to SAUTI_LOG_FILE (default var/log/sauti.log); the terminal shows
    where to dial once the web server answers, warnings, and the start and stop."""
    from gateway import launcher

    settings = _settings()
    settings = settings.model_copy(update={"sauti_log_file": launcher.log_file(settings)})
    setup_logging(settings)
    launcher.run(settings, prepare=_prepare_with_prompts)


def _prepare_with_prompts(settings: Settings) -> None:
    """`prepare`, then the voice prompts by text-to-speech when there are none at all."""
    from gateway.prompts.build import first_build

    prepare(settings)
    line = first_build(settings)
    if line:
        click.echo(line)


@main.command()
@click.option("--url", default=None, help="A running server (default: in process).")
@click.option(
    "--phone", default="+243812345678", show_default=True, help="The number to dial from."
)
@click.option("--service-code", default=None, help="Default: SAUTI_SERVICE_CODE.")
@click.option(
    "--voice",
    type=click.Choice(["twilio", "africastalking"]),
    default=None,
    help="Call the voice line instead, posted as this provider posts a call (Twilio's "
    "signed with TWILIO_AUTH_TOKEN); each screen is printed as what its prompts say.",
)
def simulate(url: str | None, phone: str, service_code: str | None, voice: str | None) -> None:
    """Dial the USSD service in this terminal, as Africa's Talking would (or, with --voice,
    call the voice line)."""
    from gateway.simulate import run_call, run_simulation

    settings = _settings()
    if voice is not None:
        run_call(settings=settings, url=url, phone=phone, provider=voice)
        return
    run_simulation(settings=settings, url=url, phone=phone, service_code=service_code)


if __name__ == "__main__":
    main()
