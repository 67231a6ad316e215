"""The converted model is checked against the sha256 noted at its conversion, and converted again when it
does not match (probe 5 of issue #25: 4 KB overwritten used to load silently)."""
from deepenough.machinery import modelcheck


def fake_conversion(cache):
    def convert():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / modelcheck.WEIGHTS).write_bytes(b"weights" * 1000)
        convert.calls += 1
    convert.calls = 0
    return convert


def test_damaged_truncated_or_unnoted_weights_are_converted_again_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEPENOUGH_MODEL_CACHE", str(tmp_path))
    convert = fake_conversion(tmp_path / "smollm2-135m-instruct")
    target = modelcheck.verified(convert)
    weights = target / modelcheck.WEIGHTS
    assert convert.calls == 1 and (target / modelcheck.NOTE).read_text().strip() == modelcheck.sha256(weights)
    assert modelcheck.verified(convert) == target and convert.calls == 1, "a matching cache is used as it is"

    with open(weights, "r+b") as f:  # 4 KB overwritten
        f.seek(100)
        f.write(b"\xff" * 4096)
    modelcheck.verified(convert)
    assert convert.calls == 2 and "does not match the sha256 noted" in capsys.readouterr().out

    weights.write_bytes(weights.read_bytes()[:10])  # truncated
    modelcheck.verified(convert)
    assert convert.calls == 3 and "does not match" in capsys.readouterr().out

    (target / modelcheck.NOTE).unlink()  # a cache from before notes were kept
    modelcheck.verified(convert)
    assert convert.calls == 4 and "has no sha256 noted" in capsys.readouterr().out
