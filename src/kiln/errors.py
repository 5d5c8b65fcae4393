"""kiln's own error: a mistake a user can fix, told in one sentence without a traceback."""


class KilnError(Exception):
    """A user-caused problem. The message names the thing at fault and the fix.

    The CLI prints it as one line and exits with status 2; set KILN_DEBUG=1 to see the
    traceback as well.
    """

    exit_code = 2


def not_a_file(path) -> str:
    """What is wrong with a path that should name a file: "is not a file" or "does not exist"."""
    from pathlib import Path

    return "is not a file" if Path(path).exists() else "does not exist"


def why_not_writable(err: OSError, path) -> str:
    """The reason, in words, that ``path`` (a file or folder to create) could not be made."""
    from pathlib import Path

    for parent in Path(path).parents:
        if parent.exists():
            return err.strerror if parent.is_dir() else f"{parent} is a file, not a folder"
    return err.strerror


class Interrupted(KilnError):
    """A run stopped by a signal (a scheduler's SIGTERM): 128 + 15, as a shell reports it, so
    the scheduler does not read success."""

    exit_code = 143
