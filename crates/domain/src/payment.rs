//! Payment orders: amounts, statuses and the transitions between them.
