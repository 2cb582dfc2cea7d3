#!/usr/bin/env bash
# Every test: pytest (tests/unit: the Python side alone; tests/plugins: the collection's
# plugins; tests/integration: ansible, docker and the local lab), then every molecule scenario
# (`molecule test --all`: every directory of molecule/ with a molecule.yml, among them classroom,
# default, distros (Debian 11, 12 and 13 nodes in one lab), mirror and rebuild: the local lab,
# up, idempotence, reset, verify).
# Between them: ansible-lint, yamllint, ansible-test sanity of the collection (tests/sanity/run.sh)
# and its galaxy build.
# Run from anywhere, as root, after the set-up (bootstrap.sh setup or .ci/run).
# Exit status: non-zero when either part failed; both parts always run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${LABTOOL_VENV:-/opt/labtool-venv}
export PATH="$venv/bin:$PATH"
cd "$repo"

status=0
echo "==> pytest tests/unit tests/plugins tests/integration"
pytest tests/unit tests/plugins tests/integration || status=$?
echo "==> ansible-lint (production profile) and yamllint"
ansible-lint --profile production playbooks roles || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
yamllint -s playbooks roles molecule inventory || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
echo "==> ansible-test sanity and ansible-galaxy collection build (the collection labtool.lab)"
tests/sanity/run.sh || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
# the tarball installed and its playbooks run by name: tests/integration/test_playbooks.py
built=$(mktemp -d)
ansible-galaxy collection build --output-path "$built" . || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
rm -rf "$built"
echo "==> molecule test --all"
molecule test --all || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
if [ "$status" -eq 0 ]; then echo "==> all tests passed"; else echo "==> tests FAILED (exit $status)"; fi
exit "$status"
