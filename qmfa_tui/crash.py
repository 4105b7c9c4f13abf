"""When qmfa fails in a way it did not expect: the details go to a private file, not the screen.

(Imported on every start: what only a crash needs is imported when one happens.)

Textual's own report of an unhandled exception is a traceback with the local
variables of every frame, printed on the terminal; in qmfa those locals are
passwords, security codes, recovery codes and device secrets, and the terminal
may be an admin's shared screen or a recorded SSH session. The traceback (no
locals) goes to a new file only its owner can read, and the person sees one line.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

EXIT_CRASH = 70  # EX_SOFTWARE (sysexits.h): an internal error, not a refusal (1) or bad usage (2)


def write_report(error: BaseException) -> Path | None:
    """Write ``error``'s traceback to a new 0600 file; its path, or None if none could be made."""
    import platform
    import traceback

    from qmfa_tui import __version__

    lines = [
        f"qmfa {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Python {platform.python_version()} on {platform.platform()}",
        "",
        *traceback.format_exception(error),
    ]
    text = "\n".join(line.rstrip("\n") for line in lines) + "\n"
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for directory in _report_directories():
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = directory / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        return path
    return None


def _report_directories() -> list[Path]:
    import tempfile

    from qmfa_tui.database_url import data_dir

    try:
        preferred = [data_dir() / "crashes"]
    except Exception:  # a crash report must not crash
        preferred = []
    return [*preferred, Path(tempfile.gettempdir())]


def one_line(error: BaseException, report: Path | None, *, remote: bool = False) -> str:
    """What the person is told: what kind of failure, and where the details are (for a
    ``remote`` person, over `qmfa serve`, the file's name only: the server's paths are
    not theirs to know)."""
    if report is None:
        where = "no crash file could be written"
    elif remote:
        where = f"the server's operator finds the details in {report.name}"
    else:
        where = f"the details are in {report}"
    return (
        f"qmfa: internal error ({type(error).__name__}); {where}. "
        "Nothing was shown on screen; please report it."
    )


def report(error: BaseException) -> int:
    """For the command line: write the report, say the one line on stderr, give the exit code."""
    print(one_line(error, write_report(error)), file=sys.stderr)
    return EXIT_CRASH
