"""Errors that tell the user what is wrong and what to do."""


class ActionableError(RuntimeError):
    """An error caused by the input (data, config, checkpoint), whose message
    names the file, key or value and the fix.

    The tools print it as one line instead of a traceback.
    """

    def one_line(self) -> str:
        """The message alone, also when re-raised from a DataLoader worker
        (whose copy of the message carries the worker's traceback)."""
        name = type(self).__name__
        lines = [line for line in str(self).splitlines() if line.strip()]
        last = lines[-1] if lines else ''
        return f'{name}: ' + last.split(f'{name}: ')[-1]
