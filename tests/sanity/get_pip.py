"""A stand-in for ansible-test's pip bootstrap script (get-pip-<version>.py), which it
downloads from ci-files.testing.ansible.com: that host is not reachable from the machines
labtool is tested on, PyPI is. This script is run the way get-pip.py is (its arguments are
pip install's): it installs the pip that comes with Python (ensurepip), then lets that pip
install the requested packages (the pinned pip, setuptools, wheel) from PyPI.
tests/sanity/run.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py."""

import ensurepip
import os
import runpy
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")  # get-pip.py's own options, not pip install's

environ = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(environ)  # ensurepip points PIP_CONFIG_FILE at /dev/null: pip's config (its CA) counts
sys.argv = ["pip", "install", *(a for a in sys.argv[1:] if a not in GET_PIP_ONLY)]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
