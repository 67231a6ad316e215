"""One module per chapter, named like its page in ``book/``. Chapters import the lab and the results contract,
never each other."""
