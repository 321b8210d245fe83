"""Errors the training job reports to a human: each names the file, column and first bad row."""

from __future__ import annotations


class InputError(Exception):
    """Bad input data. The message is one line a person can act on."""

    def __init__(self, file: str, message: str, column: str | None = None, row: int | None = None):
        self.file = file
        self.column = column
        self.row = row
        self.detail = message
        where = [f"file {file}"]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}")


class QualityGateError(Exception):
    """The trained model does not beat popularity on the validation window: nothing is
    published. The message is one line naming the task, both figures and the `--force` remedy."""
