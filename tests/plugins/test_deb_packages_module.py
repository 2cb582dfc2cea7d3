"""The labtool.lab.deb_packages module, run against stand-ins for dpkg-query, apt-get and
debconf-set-selections that record their calls: installs only what dpkg lacks, refreshes only
a stale index, and fails with apt-get's own words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ansible_module  # tests/plugins/ansible_module.py

MODULE = (Path(__file__).resolve().parents[2]
          / "plugins/modules/deb_packages.py")

# dpkg-query prints the packages in $FAKE_DIR/installed; apt-get install adds its arguments
# there (unless $FAKE_DIR/broken), apt-get update fails when $FAKE_DIR/offline exists.
FAKES = {
    "dpkg-query": """#!/bin/sh
shift 2
for p in "$@"; do
  if grep -qx "$p" "$FAKE_DIR/installed"; then printf '%s\\tinstall ok installed\\n' "$p"
  else echo "dpkg-query: no packages found matching $p" >&2; fi
done
exit 0
""",
    "apt-get": """#!/bin/sh
echo "apt-get $*" >> "$FAKE_DIR/calls"
case " $* " in
  *" update "*) [ -e "$FAKE_DIR/offline" ] && { echo "E: Temporary failure resolving 'deb.debian.org'" >&2; exit 100; }; exit 0 ;;
  *" install "*) [ -e "$FAKE_DIR/broken" ] && exit 0
    echo "$*" | sed 's/.* install //' | tr ' ' '\\n' >> "$FAKE_DIR/installed"; exit 0 ;;
esac
""",
    "debconf-set-selections": """#!/bin/sh
cat >> "$FAKE_DIR/debconf"
echo "debconf-set-selections" >> "$FAKE_DIR/calls"
""",
}


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in FAKES.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "installed").write_text("iptables\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    return tmp_path


def calls(fake: Path) -> list[str]:
    path = fake / "calls"
    return path.read_text().splitlines() if path.exists() else []


def run(fake: Path, **args) -> dict:
    return ansible_module.run(MODULE, fake, args)


ANSWER = {"name": "iptables-persistent", "question": "iptables-persistent/autosave_v4",
          "vtype": "boolean", "value": "false"}


def test_installs_only_the_missing_packages_after_the_debconf_answers(fake_apt):
    result = run(fake_apt, names=["iptables", "containerd", "socat"], debconf=[ANSWER],
                 update_cache=True)
    assert result["changed"] is True and result["installed"] == ["containerd", "socat"]
    assert result["cache_updated"] is True
    made = calls(fake_apt)
    assert made[0].startswith("apt-get") and made[0].endswith(" update")
    assert made[1] == "debconf-set-selections"
    assert made[2].endswith("install containerd socat")
    assert "DPkg::Lock::Timeout=60" in made[2]
    assert (fake_apt / "debconf").read_text() == \
        "iptables-persistent iptables-persistent/autosave_v4 boolean false\n"


def test_nothing_missing_and_a_fresh_index_runs_no_apt_get(fake_apt):
    result = run(fake_apt, names=["iptables"], debconf=[ANSWER], cache_valid_time=10**10)
    assert result["changed"] is False and result["installed"] == [] and result["cache_updated"] is False
    assert calls(fake_apt) == []


def test_check_mode_says_what_it_would_install_and_runs_nothing(fake_apt):
    result = run(fake_apt, names=["iptables", "socat"], update_cache=True, _ansible_check_mode=True)
    assert result["changed"] is True and result["installed"] == ["socat"]
    assert calls(fake_apt) == []


def test_a_failed_refresh_fails_with_apt_gets_words(fake_apt):
    (fake_apt / "offline").touch()
    result = run(fake_apt, names=["socat"], update_cache=True)
    assert result["failed"] is True
    assert "exited 100: E: Temporary failure resolving 'deb.debian.org'" in result["msg"]


def test_a_package_dpkg_still_lacks_after_the_install_fails(fake_apt):
    (fake_apt / "broken").touch()
    result = run(fake_apt, names=["socat"], cache_valid_time=10**10)
    assert result["failed"] is True
    assert result["msg"] == "apt-get install succeeded but dpkg lists socat as not installed"


def test_a_sources_list_is_read_alone_with_lists_of_its_own_refreshed_when_it_has_none(fake_apt):
    sources = str(fake_apt / "debs" / "bookworm.list")
    result = run(fake_apt, names=["socat"], cache_valid_time=10**10, sources_list=sources)
    assert result["changed"] is True and result["cache_updated"] is True
    update, install = calls(fake_apt)
    for call in (update, install):
        assert f"Dir::Etc::SourceList={sources} " in call
        assert f"Dir::State::Lists={sources}.lists " in call
    assert update.endswith(" update") and install.endswith(" install socat")


def test_a_sources_list_whose_lists_exist_is_not_refreshed_by_age(fake_apt):
    sources = fake_apt / "bookworm.list"
    Path(f"{sources}.lists").mkdir()
    result = run(fake_apt, names=["iptables"], cache_valid_time=0, sources_list=str(sources))
    assert result["cache_updated"] is False and calls(fake_apt) == []
