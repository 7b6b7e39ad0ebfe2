-- Finding a refund's journal entry (ledger verification does it for every refund).
CREATE INDEX journal_entries_by_refund ON journal_entries (refund_id);
