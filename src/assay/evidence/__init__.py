"""Evidence: collectors, canonical records, the blob store and the ledger."""
