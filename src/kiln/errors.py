"""kiln's own error: a mistake a user can fix, told in one sentence without a traceback."""


class KilnError(Exception):
    """A user-caused problem. The message names the thing at fault and the fix.

    The CLI prints it as one line and exits with status 2; set KILN_DEBUG=1 to see the
    traceback as well.
    """

    exit_code = 2
