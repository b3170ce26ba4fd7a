"""Tokenization writes: token classes, investors and wallets, the ledger, operations."""
