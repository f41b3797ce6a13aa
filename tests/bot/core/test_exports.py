"""Streamed tables as CSV files: written batch by batch to a temporary file, zipped when large."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from bot.core import exports
from bot.core.exports import TableStream, collect, csv_file
from bot.core.messages import Table


async def numbers(n: int, batch: int = 100):
    for start in range(0, n, batch):
        yield [(k, f"row {k}", "x" * 20) for k in range(start, min(n, start + batch))]


async def test_a_stream_becomes_a_csv_file_on_disk():
    attachment, count = await csv_file(TableStream(["n", "name", "pad"], numbers(1_000)), "t.csv")
    assert count == 1_000 and attachment.filename == "t.csv" and attachment.path and not attachment.content
    rows = list(csv.reader(io.StringIO(attachment.data().decode())))
    assert rows[0] == ["n", "name", "pad"] and rows[1] == ["0", "row 0", "x" * 20] and len(rows) == 1_001
    path = Path(attachment.path)
    del attachment  # the temporary file goes with the attachment
    assert not path.exists()  # noqa: ASYNC240 - a test


async def test_a_large_csv_goes_out_zipped(monkeypatch):
    monkeypatch.setattr(exports, "ZIP_OVER", 10_000)
    attachment, count = await csv_file(TableStream(["n", "name", "pad"], numbers(5_000)), "big.csv")
    assert count == 5_000 and attachment.filename == "big.csv.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.data())) as archive:
        [name] = archive.namelist()
        text = archive.read(name).decode()
    assert name == "big.csv" and len(text.splitlines()) == 5_001 and attachment.size < len(text) / 3


async def test_collect_and_small_tables():
    table = await collect(TableStream(["n", "name", "pad"], numbers(3)))
    assert table.rows[2] == ["2", "row 2", "x" * 20]
    small = Table(headers=["a"], rows=[["1"]])
    assert await collect(small) is small
    attachment, count = await csv_file(small, "s.csv")
    assert count == 1 and attachment.data() == b"a\r\n1\r\n"
