"""The project's exception types: one base class so callers can catch every refusal at once."""


class HafmError(Exception):
    """Base class for every error the toolkit raises on purpose (bad input, missing weights...)."""


class AudioError(HafmError):
    """An audio input is unusable: unreadable, empty, non-finite, silent, or of the wrong type.

    The message always names the file (or the argument) and the problem.
    """


class AudioTooLongError(AudioError):
    """An audio input is longer than the caller's limit (a guard against accidental multi-hour inputs).

    ``seconds`` and ``limit_seconds`` carry both lengths, so a front end can word its own way to lift the limit.
    """

    def __init__(self, message: str, seconds: float, limit_seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.limit_seconds = limit_seconds


class MissingWeightsError(HafmError):
    """A pretrained model's weights are not on this machine; the message names the expected path."""


class StaleCacheError(HafmError):
    """A cached artefact was made by other tokenizers/configs than the ones asked for."""


class ConfigError(HafmError, ValueError):
    """A config file is unusable (not TOML, unknown keys); the message names the file or key.

    Also a ``ValueError``, which callers caught before this class existed.
    """


class ConfigNotFoundError(ConfigError, FileNotFoundError):
    """A config name is neither a preset nor an existing file (also a ``FileNotFoundError``)."""
