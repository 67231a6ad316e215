import json

import jsonschema
import pytest

from deepenough.lab import stats
from deepenough.machinery import results


def write_example(tmp_path, **overrides):
    run = results.ChapterRun("example", "quick", 0, tmp_path)
    agree = results.Ruling("supported", "because the numbers agree", "0123456789ab")
    verdicts = overrides.get("verdicts", [results.verdict("C1", agree, key="gap")])
    measurements = {"gap": results.measurement(stats.mean_ci([1.0, 2.0, 3.0]), unit="ms", what="a gap", over="seeds")}
    return run.write(verdicts, measurements, seeds=[0, 1, 2])


def test_written_file_validates_and_records_provenance(tmp_path):
    path = write_example(tmp_path)
    data = json.loads(path.read_text())
    results.validate(data)
    assert data["claims"] == ["C1"] and data["profile"] == "quick" and data["seeds"] == [0, 1, 2]
    assert data["wall_time_s"] >= 0 and "torch" in data["environment"]["packages"]
    assert [p.name for p in tmp_path.iterdir()] == ["example.json"], "no temp file may be left behind"


def test_unknown_verdict_and_profile_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="must be one of"):
        results.verdict("C1", results.Ruling("probably", "a reason long enough"))
    with pytest.raises(ValueError, match="unknown profile"):
        results.ChapterRun("example", "medium", 0, tmp_path)


def test_verdict_citing_a_missing_measurement_fails_validation(tmp_path):
    with pytest.raises(jsonschema.ValidationError, match="unknown measurement"):
        nothing = results.Ruling("refuted", "cites nothing real", "0123456789ab")
        write_example(tmp_path, verdicts=[results.verdict("C1", nothing, key="nope")])


def test_schema_rejects_missing_fields_and_bad_claim_ids(tmp_path):
    data = json.loads(write_example(tmp_path).read_text())
    for broken in ({k: v for k, v in data.items() if k != "commit"}, {**data, "claims": ["X1"]}):
        with pytest.raises(jsonschema.ValidationError):
            results.validate(broken)


def test_read_all_returns_each_chapter(tmp_path):
    write_example(tmp_path)
    assert list(results.read_all(tmp_path)) == ["example"]


def test_an_interval_must_say_what_it_is_over():
    with pytest.raises(ValueError, match="is over"):
        results.measurement(stats.mean_ci([1.0, 2.0, 3.0]), what="a gap")
    assert results.measurement(stats.mean_ci([2.0]), what="a gap")["over"] == "a single value, no interval"


def test_hardware_is_described_one_way():
    assert results.hardware({"gpu": "NVIDIA H100", "cpu_count": 16}) == "one NVIDIA H100 GPU"
    assert results.hardware({"gpu": None, "cpu_count": 2, "torch_threads": 1}) == "a CPU with 2 cores (1 torch thread)"
    assert results.hardware({"gpu": None, "cpu_count": 8}) == "a CPU with 8 cores"
