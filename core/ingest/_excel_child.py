"""Reading one sheet with fastexcel in a process of its own, under a memory and a time limit.

:mod:`core.ingest._excel` runs this file as a script (``python -P _excel_child.py ORDER``, the
order as JSON); the app imports it only for its path and constants, and :func:`main` never
runs in the app's process. calamine holds a sheet's whole used range as a grid of 32-byte
cells, and when it cannot have the memory for one (two cells far apart ask for hundreds of
gigabytes) Rust aborts the process that asked. Here that process is this one, whose address
space is limited (``RLIMIT_AS``) to its size after the imports plus ``order["memory"]`` bytes
and whose processor time is limited (``RLIMIT_CPU``) to ``order["seconds"]``, so a hostile
sheet ends this process and nothing else.

The order names the workbook's path (the parent hands over the file it opened, or a temporary
file holding the bytes it was given, as ``/proc/self/fd/N``), the sheet, its header row
(0-based) and the two limits. The sheet's columns go to stdout as one Arrow IPC stream, with
the columns' names, positions and where their names came from in the schema's metadata under
:data:`COLUMNS_KEY`. When fastexcel refuses the workbook, the first line of
its error goes to stderr and the exit status is :data:`REFUSED`; when Python or Arrow runs out
of the memory allowed, it is :data:`OUT_OF_MEMORY` (when calamine does, Rust aborts: SIGABRT).
"""

from __future__ import annotations

import json
import logging
import resource
import sys
from pathlib import Path

import fastexcel
import pyarrow as pa

COLUMNS_KEY = b"tabwright.columns"
"""Schema metadata: JSON list of ``[name, absolute_index, column_name_from]``, a column each."""
REFUSED = 3
"""Exit status when fastexcel raised an error (a damaged workbook), its first line on stderr."""
OUT_OF_MEMORY = 4
"""Exit status when Python or Arrow could not have the memory they asked for."""


def main() -> int:
    order = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort leaves no core file behind
    # the soft limit sends SIGXCPU, which tells the time limit from other ends; the hard one kills
    resource.setrlimit(resource.RLIMIT_CPU, (order["seconds"], order["seconds"] + 5))
    size = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + order["memory"], size + order["memory"]))
    # fastexcel logs a warning for a column without a type (all empty); the notes say so instead.
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        sheet = fastexcel.read_excel(order["path"]).load_sheet(
            order["sheet"], header_row=order["header_row"], schema_sample_rows=None,
            whitespace_as_null=True)
        batch = sheet.to_arrow()
        columns = [[c.name, c.absolute_index, c.column_name_from] for c in sheet.selected_columns]
        batch = batch.replace_schema_metadata({COLUMNS_KEY: json.dumps(columns)})
        with pa.ipc.new_stream(sys.stdout.buffer, batch.schema) as writer:
            writer.write_batch(batch)
    except fastexcel.FastExcelError as exc:
        sys.stderr.write((str(exc).splitlines() or [type(exc).__name__])[0])
        return REFUSED
    except MemoryError:  # pyarrow's ArrowMemoryError too
        return OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(main())
