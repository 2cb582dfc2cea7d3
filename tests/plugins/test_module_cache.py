"""labtool.lab.module_cache: the AnsiballZ payloads outlive a run, under a digest of the
module sources, so a changed module never reuses a payload built from its old code."""

from __future__ import annotations

import os

import ansible_module  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.labtool.lab.plugins.callback import module_cache


def a_collection(root, name="demo", manifest=False):
    collection = root / "ansible_collections" / "ns" / name
    (collection / "plugins" / "modules").mkdir(parents=True)
    (collection / "plugins" / "modules" / "thing.py").write_text("print('v1')\n")
    if manifest:
        (collection / "MANIFEST.json").write_text("{}")
    return collection


def test_the_digest_changes_when_a_module_of_a_source_collection_changes(tmp_path):
    collection = a_collection(tmp_path)
    before = module_cache.sources_digest([str(tmp_path)], [])
    assert module_cache.sources_digest([str(tmp_path)], []) == before
    (collection / "plugins" / "modules" / "thing.py").write_text("print('version 2')\n")
    assert module_cache.sources_digest([str(tmp_path)], []) != before


def test_an_installed_collection_is_known_by_its_manifest(tmp_path):
    collection = a_collection(tmp_path, manifest=True)
    before = module_cache.sources_digest([str(tmp_path)], [])
    os.utime(collection / "MANIFEST.json", ns=(1, 1))
    assert module_cache.sources_digest([str(tmp_path)], []) != before


def test_the_digest_changes_with_a_legacy_module_of_a_library_dir(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    before = module_cache.sources_digest([], [str(library)])
    (library / "legacy.py").write_text("print(1)\n")
    assert module_cache.sources_digest([], [str(library)]) != before


def test_the_run_cache_points_at_the_lasting_directory_of_its_digest(tmp_path):
    run_tmp = tmp_path / "ansible-local-1abc"
    run_tmp.mkdir()
    assert module_cache.link_run_cache(str(run_tmp), "d1")
    lasting = tmp_path / (module_cache.PREFIX + "d1")
    assert os.path.realpath(run_tmp / "ansiballz_cache") == str(lasting)
    assert oct(lasting.stat().st_mode & 0o777) == oct(0o700)


def test_a_run_that_built_a_payload_already_keeps_its_own_cache(tmp_path):
    run_tmp = tmp_path / "ansible-local-1abc"
    (run_tmp / "ansiballz_cache").mkdir(parents=True)
    assert not module_cache.link_run_cache(str(run_tmp), "d1")
    assert not (run_tmp / "ansiballz_cache").is_symlink()


def test_a_cache_others_may_write_to_is_not_used(tmp_path):
    run_tmp = tmp_path / "ansible-local-1abc"
    run_tmp.mkdir()
    lasting = tmp_path / (module_cache.PREFIX + "d1")
    lasting.mkdir()
    lasting.chmod(0o777)
    assert not module_cache.link_run_cache(str(run_tmp), "d1")
    assert not (run_tmp / "ansiballz_cache").exists()


def test_another_digest_unused_for_a_day_is_removed_and_a_recent_one_kept(tmp_path):
    old, recent = tmp_path / (module_cache.PREFIX + "old"), tmp_path / (module_cache.PREFIX + "recent")
    for folder in (old, recent):
        folder.mkdir(mode=0o700)
    os.utime(old, (0, 0))
    run_tmp = tmp_path / "ansible-local-1abc"
    run_tmp.mkdir()
    module_cache.link_run_cache(str(run_tmp), "new")
    assert not old.exists() and recent.exists()
