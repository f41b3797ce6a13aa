"""Tables too large to hold: rows streamed from the database and written out as CSV with bounded memory.

An exporter (``app.exporters[name]``, used by ``cohortbot export NAME`` and ``/report kind:NAME``) returns either a
:class:`~bot.core.messages.Table` (small, in memory) or a :class:`TableStream`: the headers and an async iterator
of batches of rows, typically a database cursor read with ``fetchmany``. :func:`write_csv` writes either to a text file;
:func:`csv_file` writes it to a temporary file and returns it as an attachment, so a 160,000-row export costs a
batch of rows in memory, not the whole table.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from bot.core.messages import Attachment, Table, csv_writer

if TYPE_CHECKING:
    from bot.app import CohortBot


@dataclass
class TableStream:
    """A table read a batch of rows at a time: ``batches`` must be consumed once (by :func:`write_csv`, or
    :func:`collect`). A row is any sequence of values (``str()`` is applied when written)."""

    headers: list[str]
    batches: AsyncIterator[Sequence[Sequence[object]]]


Exported = Table | TableStream
ZIP_OVER = 8 * 1024 * 1024  # a CSV larger than this goes out zipped (Discord lets a bot attach 10 MB at most)
Exporter = Callable[["CohortBot"], Awaitable[Exported]]


async def write_csv(source: Exported, out: IO[str]) -> int:
    """Write ``source`` as CSV (header row first) to the text file ``out``; return the number of rows."""
    writer = csv_writer(out)
    writer.writerow(source.headers)
    if isinstance(source, Table):
        writer.writerows(source.rows)
        return len(source.rows)
    count = 0
    try:
        async for batch in source.batches:
            writer.writerows(batch)
            count += len(batch)
    finally:  # a failed write (a full disk, a closed pipe) ends the read now, while its database is open
        close = getattr(source.batches, "aclose", None)
        if close is not None:
            await close()
    return count


async def csv_file(source: Exported, filename: str, description: str = "") -> tuple[Attachment, int]:
    """``source`` as a CSV attachment backed by a temporary file (deleted with the attachment), and its row count.

    A CSV larger than :data:`ZIP_OVER` is sent zipped (``NAME.csv.zip``, compressed in a thread): an 8-week
    export of 20,000 people is 17 MB of CSV, more than Discord lets a bot attach, and a tenth of that zipped.
    """
    file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed (and deleted) when the attachment is released
        "w+", encoding="utf-8", newline="", prefix="cohortbot-", suffix=".csv"
    )
    try:
        count = await write_csv(source, file)
        file.flush()
        if os.fstat(file.fileno()).st_size > ZIP_OVER:
            with file:
                zipped = await asyncio.to_thread(_zip, file.name, filename)
            return Attachment.from_temporary(f"{filename}.zip", zipped, description), count
    except BaseException:
        file.close()
        raise
    return Attachment.from_temporary(filename, file, description), count


def _zip(path: str, name: str) -> IO[bytes]:
    """A temporary zip file holding the file at ``path`` as ``name``, copied in chunks."""
    out = tempfile.NamedTemporaryFile(prefix="cohortbot-", suffix=".zip")  # noqa: SIM115 - the caller keeps it
    try:
        with (
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
            open(path, "rb") as src,
            archive.open(name, "w", force_zip64=True) as dest,
        ):
            shutil.copyfileobj(src, dest, 1024 * 1024)
    except BaseException:
        out.close()
        raise
    out.flush()
    return out


async def collect(source: Exported) -> Table:
    """Every row of ``source`` in memory, as a :class:`Table` (for tests and small results)."""
    if isinstance(source, Table):
        return source
    return Table(
        headers=source.headers, rows=[[str(v) for v in row] async for batch in source.batches for row in batch]
    )
