"""`qmfa audit` gives Detail the room its other columns leave (issue 25, item 8)."""

from __future__ import annotations

import json

from cli.test_cli import qmfa
from cli.test_cli_admin import url  # noqa: F401  (the demo database fixture)


def test_a_one_sentence_detail_takes_at_most_two_lines_at_80_columns(url):  # noqa: F811
    assert qmfa("--database", url, "users", "set-role", "bob", "--admin").returncode == 0
    assert qmfa("--database", url, "settings", "grace-period", "48").returncode == 0
    (change,) = json.loads(
        qmfa("--database", url, "audit", "--action", "user.role_changed", "--format", "json").stdout
    )
    sentence = change["detail"]  # "role: user -> admin, users module: no -> no"
    assert len(sentence) > 40
    table = qmfa("--database", url, "audit", env={"COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    column = lines[0].index("DETAIL")
    start = next(i for i, line in enumerate(lines) if "user.role_changed" in line)
    detail = [lines[start][column:]]
    for line in lines[start + 1 :]:
        if line[:column].strip().startswith("20"):  # the next event
            break
        detail.append(line[column:])
    detail = [part for part in detail if part.strip()]
    assert len(detail) <= 2, detail
    assert " ".join(part.strip() for part in detail) == sentence  # wrapped between words
