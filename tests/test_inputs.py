"""One list of inputs: what each engine declares it read is hashed into the manifest and the matrix-cache key."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from planner.context import RunContext, file_digests
from planner.run import run_scenario
from planner.scenario import Scenario
from tests.synthetic import BASE_SCENARIO

ENGINES = {
    "crowfly": {"name": "crowfly"},
    "transit": {"name": "transit"},
    "transit-simple": {"name": "transit-simple"},
    "network": {"name": "network", "osm": "synthetic.osm"},
}


def _scenario(engine: str) -> Scenario:
    import tomllib

    raw = tomllib.loads(BASE_SCENARIO)
    raw["engine"] = ENGINES[engine]
    raw["hubs"] = {"enabled": False}
    raw["name"] = f"inputs-{engine}"
    return Scenario.model_validate(raw)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2
    data[i] = data[i] ^ 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_declared_input_is_in_the_manifest_and_the_cache_key(synthetic_dir, tmp_path, engine):
    data = Path(shutil.copytree(synthetic_dir, tmp_path / "data"))
    spec = _scenario(engine)
    resolved = RunContext(data).resolve(spec)
    declared = list(resolved.engine.input_files())
    if engine != "crowfly":
        assert declared, f"the {engine} engine declares no input file"
    if engine == "network":
        assert [p.name for p in declared] == ["synthetic.osm"]
    run = run_scenario(spec, out=tmp_path / "out", data=data, maps=False)
    manifest = json.loads((run.out_dir / "manifest.json").read_text())
    expected = {Path(p).resolve().relative_to(data.resolve()).as_posix() for p in resolved.input_files}
    assert set(manifest["inputs"]) == expected
    assert {p.resolve().relative_to(data.resolve()).as_posix() for p in declared} <= set(manifest["inputs"])
    named = {"population/", "stations/", "transit/", "osm/"}  # each kind of input the issue names
    flipped = set()
    before = resolved.input_digest()
    for path in resolved.input_files:
        original = path.read_bytes()
        _flip_one_byte(path)
        # what a new invocation would record: the hashes of the files as they are now, and the key made from them
        again = dataclasses.replace(resolved, inputs=file_digests(resolved.input_files, data))
        assert again.inputs != resolved.inputs, f"{path.name} changed but the {engine} manifest hashes did not"
        assert again.input_digest() != before, f"{path.name} changed but the {engine} cache key did not"
        flipped |= {k for k in named if path.resolve().relative_to(data.resolve()).as_posix().startswith(k)}
        path.write_bytes(original)
    assert RunContext(data).resolve(spec).input_digest() == before  # restored: the same key from a new read
    assert flipped >= {"population/", "stations/"} | ({"transit/"} if engine.startswith("transit") else set()) | (
        {"osm/"} if engine == "network" else set()
    )
