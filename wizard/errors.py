"""Errors meant for the person at the keyboard: printed without a traceback."""


class UserError(Exception):
    """Bad input: the CLI prints it and exits 2.

    `message` says what is wrong (naming the field, file or host),
    `fix` says what to do about it.
    """

    exit_code = 2

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class EnvironmentProblem(UserError):
    """The machine cannot do what was asked (not root, missing tool): exit 1."""

    exit_code = 1
