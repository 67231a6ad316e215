"""The linter asks every claim for the scope of its verdict, keeps expected verdicts in the vocabulary and
finds the parameters papermill sets."""
from deepenough.machinery import lint, paths


def test_a_claim_without_scope_and_an_expected_verdict_outside_the_vocabulary_are_named(tmp_path):
    page = tmp_path / "book" / "kv_cache.md"
    page.parent.mkdir()
    text = (paths.BOOK / "kv_cache.md").read_text()
    start, end = text.index("  scope:\n"), text.index("---\n", text.index("  scope:\n"))
    page.write_text((text[:start] + text[end:]).replace("expected: {C1: nuanced}", "expected: {C1: probably}"))
    messages = [p.message for p in lint.lint(page, root=paths.ROOT)]
    assert "front matter lacks the scope of C1's verdict" in messages
    assert "expected verdict 'probably' for C1 is not in the vocabulary" in messages


def test_the_real_chapter_with_its_scope_has_no_scope_problem():
    messages = [p.message for p in lint.lint(paths.BOOK / "kv_cache.md")]
    assert not [m for m in messages if "scope" in m or "vocabulary" in m]


def test_a_parameters_cell_papermill_cannot_set_the_seed_in_is_named(tmp_path):
    page = tmp_path / "book" / "kv_cache.md"
    page.parent.mkdir()
    text = (paths.BOOK / "kv_cache.md").read_text()
    assert "\nseed = 0\n" in text
    page.write_text(text.replace("\nseed = 0\n", '\nglobals()["seed"] = 0\n'))
    messages = [p.message for p in lint.lint(page, root=paths.ROOT)]
    assert "the parameters cell does not define `seed`" in messages
    assert "the parameters cell does not define `profile`" not in messages
