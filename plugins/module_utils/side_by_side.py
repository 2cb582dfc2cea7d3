"""Commands run side by side on a node, for modules that read several things in one execution."""

from __future__ import annotations

import subprocess

NOT_STARTED = 127  # the shell's status for a command it could not run


def start(argv):
    """The running command, or the OSError that kept it from starting."""
    try:
        return subprocess.Popen([str(arg) for arg in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        return exc


def finish(proc, timeout):
    """A started command's exit status, output and error output (bytes); killed after timeout s."""
    if isinstance(proc, OSError):
        return NOT_STARTED, b"", str(proc).encode()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += b"\n(killed after %d s)" % timeout
    return proc.returncode, out, err


def as_result(argv, status):
    """A finished command as a module returns it: argv, rc, and stdout and stderr as text."""
    rc, out, err = status
    return {"argv": [str(arg) for arg in argv], "rc": rc,
            "stdout": out.decode("utf-8", "replace").rstrip("\n"),
            "stderr": err.decode("utf-8", "replace").rstrip("\n")}


def run_all(commands, timeout):
    """Each command's result (as_result), in order; all of them run at once."""
    started = [start(argv) for argv in commands]
    return [as_result(argv, finish(proc, timeout)) for argv, proc in zip(commands, started)]
