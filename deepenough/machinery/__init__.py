"""The book's machinery: paths, the results contract, the runner, the ledger, the linter, the scaffold, the diff."""
