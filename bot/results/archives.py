"""Reading JUnit XML out of an artifact's zip archive, within bounds an untrusted archive cannot break.

Artifacts are uploaded by workflows anyone can change (forks included). The archive's own size claims are
checked first (entry count, total size, compression ratio), then every entry is decompressed in chunks
counting the real bytes, because a crafted archive can lie about its sizes.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO

from bot.results.junit import JUnitError, JUnitReport, parse_junit_xml
from bot.untrusted import code_span

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # uncompressed, all XML entries together
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # uncompressed, one XML file
# XML compresses well, but not a thousandfold; zip bombs do. Checked for entries above a MiB.
MAX_COMPRESSION_RATIO = 200
_RATIO_CHECK_FROM = 1024 * 1024
_CHUNK = 256 * 1024


class UnsafeArchive(Exception):
    """The archive is refused as a whole; the message says why."""


@dataclass(frozen=True)
class ArchiveReports:
    reports: tuple[JUnitReport, ...]
    problems: tuple[str, ...]  # XML files that could not be read, and why


def read_junit_archive(archive: IO[bytes]) -> ArchiveReports:
    """Parse every ``*.xml`` in the zip archive; refuse the archive if it could be a bomb."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            entries = [e for e in bundle.infolist() if not e.is_dir() and e.filename.lower().endswith(".xml")]
            _check_claims(bundle, entries)
            reports: list[JUnitReport] = []
            problems: list[str] = []
            budget = MAX_TOTAL_BYTES
            for entry in entries:
                data = _read_entry(bundle, entry, min(budget, MAX_ENTRY_BYTES))
                budget -= len(data)
                try:
                    reports.append(parse_junit_xml(data))
                except JUnitError as error:
                    problems.append(f"{code_span(entry.filename)}: {code_span(str(error))}")
            return ArchiveReports(tuple(reports), tuple(problems))
    except zipfile.BadZipFile:
        raise UnsafeArchive("not a readable zip archive") from None
    except (NotImplementedError, RuntimeError, OSError, EOFError) as error:
        # Unsupported compression, encryption, or a truncated archive.
        raise UnsafeArchive(f"unreadable zip archive ({type(error).__name__})") from None


def _check_claims(bundle: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    if len(bundle.infolist()) > MAX_ENTRIES:
        raise UnsafeArchive(f"more than {MAX_ENTRIES} entries")
    if sum(e.file_size for e in entries) > MAX_TOTAL_BYTES:
        raise UnsafeArchive(f"XML files larger than {MAX_TOTAL_BYTES // 2**20} MiB uncompressed")
    for entry in entries:
        if entry.file_size > _RATIO_CHECK_FROM and entry.file_size > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            raise UnsafeArchive("compression ratio too high: a zip bomb?")
        if entry.file_size > MAX_ENTRY_BYTES:
            raise UnsafeArchive(f"an XML file larger than {MAX_ENTRY_BYTES // 2**20} MiB uncompressed")


def _read_entry(bundle: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, refusing it as soon as more than ``limit`` come out."""
    parts: list[bytes] = []
    size = 0
    with bundle.open(entry) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise UnsafeArchive("an entry decompresses to more than its limit: a zip bomb?")
            parts.append(chunk)
    return b"".join(parts)
