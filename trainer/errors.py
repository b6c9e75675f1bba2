"""The two ways a run stops on purpose, each shown as one line."""


class UsageError(ValueError):
    """Bad input found before training starts; str() is the one line."""


class TrainingStopped(RuntimeError):
    """Training stopped on purpose; str() is the one line to show."""
