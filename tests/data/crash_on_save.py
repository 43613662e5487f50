"""Test-only: kill the training process while it saves a given checkpoint.

Imported through ``custom_imports`` by ``tests/tools/test_crash_resume.py``
(with ``tests/data`` on ``PYTHONPATH``). When the environment variable
``CONTRAFUSION_CRASH_ON_SAVE`` names a file (e.g. ``iter_6.pth``), the first
rename onto a file of that name (the commit step of the atomic checkpoint
writes of ``mmseg_contrafusion.compat``) instead cuts the temporary file to
half its bytes and sends SIGKILL to the process: the disk is left as a kill
in the middle of writing the checkpoint leaves it. Without the variable,
importing this module changes nothing.
"""
import os
import signal

ENV_VAR = 'CONTRAFUSION_CRASH_ON_SAVE'


def _install(target: str) -> None:
    replace, rename = os.replace, os.rename

    def crash_if_target(src, dst):
        if os.path.basename(os.fspath(dst)) != target:
            return False
        size = os.path.getsize(src)
        with open(src, 'r+b') as f:
            f.truncate(size // 2)
            f.flush()
            os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
        return True  # not reached

    def crashing_replace(src, dst, *args, **kwargs):
        crash_if_target(src, dst)
        return replace(src, dst, *args, **kwargs)

    def crashing_rename(src, dst, *args, **kwargs):
        crash_if_target(src, dst)
        return rename(src, dst, *args, **kwargs)

    os.replace = crashing_replace
    os.rename = crashing_rename


if os.environ.get(ENV_VAR):
    _install(os.environ[ENV_VAR])
