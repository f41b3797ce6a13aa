"""/report: organizers only; the exporter's table as a CSV file, privately; a clear answer for missing kinds."""

from __future__ import annotations

import asyncio
import csv
import io

from bot.cli import main
from bot.core.messages import Table
from tests.plugin import EXAMPLE_COHORT


async def test_organizer_gets_the_submissions_csv_privately(app, as_):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    reply = await as_("Grace Hopper", "report", kind="submissions")
    assert reply.error is None and reply.private
    [file] = reply.message.files
    assert file.filename.startswith("submissions-") and file.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8"))))
    assert len(rows) == 64
    ada = next(r for r in rows if r["name"] == "Ada Lovelace" and r["week"] == "1")
    assert ada["link"] == "https://example.com/ada" and ada["late"] == "no"
    assert "64 rows" in reply.message.text


async def test_a_kind_without_an_exporter_is_answered_clearly(app, as_):
    app.exporters.pop("attendance", None)
    reply = await as_("Grace Hopper", "report", kind="attendance")
    assert reply.error is not None and "no attendance report yet" in reply.error
    assert "submissions" in reply.error  # what is available


async def test_other_exporters_are_used_when_present(app, as_):
    async def fake(app):
        return Table(headers=["a", "b"], rows=[["1", "x,y"]])

    app.exporters["stipends"] = fake
    reply = await as_("Grace Hopper", "report", kind="stipends")
    assert reply.message.files[0].content == b'a,b\r\n1,"x,y"\r\n'


async def test_only_organizers_and_only_known_kinds(app, as_):
    reply = await as_("Alan Turing", "report", kind="submissions")
    assert reply.error is not None and "only for organizers" in reply.error
    reply = await as_("Grace Hopper", "report", kind="gossip")
    assert reply.error is not None and "must be one of" in reply.error


async def test_the_report_file_is_byte_for_byte_what_the_cli_exports(app, as_, tmp_path):
    await as_("Ada Lovelace", "submit", week="1", link='https://example.com/a,b?q="x"')
    await as_("Emmy Noether", "submit", week="1", text="Ünïcode, with a comma")
    reply = await as_("Grace Hopper", "report", kind="submissions")
    out = tmp_path / "export.csv"
    argv = ["export", "submissions", "--db", app.db.path, "--cohort", str(EXAMPLE_COHORT), "-o", str(out)]
    assert await asyncio.to_thread(main, argv) == 0  # the real command line, on the same database
    assert reply.message.files[0].content == out.read_bytes()
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1][:2] == ["1", "Ada Lovelace"] and rows[1][11] == 'https://example.com/a,b?q="x"'
