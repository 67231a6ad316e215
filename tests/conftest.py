"""Session fixtures: the chapters are executed once (quick profile) and the book built once, then
every chapter, book and browser test reads what that produced; and a small random Llama for the unit
tests that need a real model but no download."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from deepenough.machinery import runner, site


@pytest.fixture(scope="session")
def random_llama():
    """SmolLM2's block at toy size, with random weights: ``random_llama(vocab, ff)``."""
    def make(vocab: int = 50, intermediate: int = 80, max_len: int = 64) -> LlamaForCausalLM:
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=intermediate, num_hidden_layers=3,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_len)
        return LlamaForCausalLM(config).eval()

    return make


@pytest.fixture(scope="session")
def chapter_outcomes():
    return {o.chapter: o for o in runner.run_all(profile="quick", seed=0)}


@pytest.fixture(scope="session")
def built_book(chapter_outcomes):
    failed = [o.message for o in chapter_outcomes.values() if not o.ok]
    if failed:
        pytest.fail("chapters failed, so the book was not built:\n" + "\n".join(failed))
    assert site.build_html() == 0, "jupyter-book build -W reported warnings or errors (see its output above)"
    return runner.BUILD / "html"
