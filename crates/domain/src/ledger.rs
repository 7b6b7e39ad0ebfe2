//! The double-entry ledger: accounts, postings and journal entries that always balance.
