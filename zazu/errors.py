"""The two kinds of error Zazu knows.

A `ZazuError` is fatal: the user's input (config, zoo registry, dataset) is wrong
and nothing sensible can run. The CLI prints its message on one line and exits 2.

A `TrialFailed` belongs to one trial: it is recorded in the trial's folder and the
search goes on with the next trial.
"""


class ZazuError(Exception):
    """Fatal error caused by user input. `str(error)` is the whole message."""

    exit_code = 2


class ConfigError(ZazuError):
    """A config file, CLI flag or config value is invalid."""


class RegistryError(ZazuError):
    """`models.json` or a zoo adapter breaks the contract."""


class DatasetError(ZazuError):
    """A dataset cannot be read or is unusable."""


class RunFolderError(ZazuError):
    """A run folder's state file is missing, corrupt or truncated: resuming or exporting from it would
    lose or misreport work, so it is refused with the file named."""

    @classmethod
    def not_as_written(cls, path, problem: str, what: str = "the file") -> "RunFolderError":
        """A file Zazu wrote that no longer reads as it wrote it (corrupt, edited, foreign): `problem` names the
        field or the fault, and nothing is changed."""
        return cls(f"{path}: {problem}. Expected {what} as Zazu wrote it; nothing was changed.")


class WeightsError(ZazuError):
    """A pretrained weights file is missing, corrupt, unsafe or does not fit the network."""


class TrialFailed(Exception):
    """One trial failed; the search records it and continues."""
