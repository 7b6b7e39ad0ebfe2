//! `payrail ledger verify`: reads the whole ledger and every money movement back from one
//! consistent snapshot and checks the invariants the write path promises, trusting neither
//! the code that wrote them nor the database's own constraints.
//!
//! Checked: every entry has at least two postings and balances in each currency; every
//! account's cached balance is the sum of its postings; every payment's amounts keep their
//! rules and agree with its refunds; every capture and every succeeded refund has exactly
//! one entry moving the channel receivable by its amount; every entry that records a
//! capture or a refund names one that happened.
//!
//! Boundary: this reads only. A violation is reported, never repaired: a correction is a
//! new entry, made by someone who knows why the ledger broke.

mod rules;
mod violation;

use std::fmt;

use payrail_store::verify::{self, Snapshot};
use payrail_store::{Conn, Store, StoreError};

use crate::ServiceError;

pub use violation::Violation;

/// Rows read per query; a page of whole entries for the entry scans.
const PAGE_ROWS_MAX: u32 = 500;
/// Violations kept for the report; beyond this they are counted, not listed, so a ledger
/// broken everywhere cannot exhaust memory.
pub const VIOLATIONS_LISTED_MAX: usize = 1_000;

/// What a verification read and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerReport {
    pub entries: u64,
    pub postings: u64,
    pub accounts: u64,
    pub payments: u64,
    pub refunds: u64,
    /// The first [`VIOLATIONS_LISTED_MAX`] violations, in the order they were found.
    pub violations: Vec<Violation>,
    /// Violations found beyond those listed.
    pub violations_unlisted: u64,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty() && self.violations_unlisted == 0
    }

    pub fn violations_found(&self) -> u64 {
        u64::try_from(self.violations.len()).unwrap_or(u64::MAX).saturating_add(self.violations_unlisted)
    }

    fn record(&mut self, found: Vec<Violation>) {
        for violation in found {
            if self.violations.len() < VIOLATIONS_LISTED_MAX {
                self.violations.push(violation);
            } else {
                self.violations_unlisted = self.violations_unlisted.saturating_add(1);
            }
        }
    }
}

/// The summary line: what was checked and how many violations were found.
impl fmt::Display for LedgerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LedgerReport { entries, postings, accounts, payments, refunds, .. } = self;
        write!(
            f,
            "checked {entries} journal entries, {postings} postings, {accounts} accounts, {payments} payments and \
             {refunds} refunds: "
        )?;
        match self.violations_found() {
            0 => write!(f, "no violations"),
            1 => write!(f, "1 violation"),
            found if self.violations_unlisted > 0 => {
                write!(f, "{found} violations, the first {} listed", self.violations.len())
            }
            found => write!(f, "{found} violations"),
        }
    }
}

/// Checks every ledger invariant against one snapshot of `store`.
pub async fn verify_ledger(store: &Store) -> Result<LedgerReport, ServiceError> {
    let mut reader = store.reader().await?;
    let mut snapshot = Snapshot::begin(reader.conn()).await?;
    let mut report = LedgerReport {
        entries: 0,
        postings: 0,
        accounts: 0,
        payments: 0,
        refunds: 0,
        violations: Vec::new(),
        violations_unlisted: 0,
    };
    scan(
        &mut snapshot,
        verify::entry_totals,
        |total| &total.entry_id,
        |page| {
            let mut found = Vec::new();
            // A page holds whole entries, each entry's rows together (one per currency).
            for entry in page.chunk_by(|a, b| a.entry_id == b.entry_id) {
                report.entries += 1;
                report.postings += entry.iter().map(|total| u64::try_from(total.postings).unwrap_or(0)).sum::<u64>();
                rules::entry_totals(entry, &mut found);
            }
            report.record(found);
        },
    )
    .await?;
    scan(
        &mut snapshot,
        verify::entry_links,
        |link| &link.entry_id,
        |page| {
            report.record(check_each(page, rules::entry_link));
        },
    )
    .await?;
    scan(
        &mut snapshot,
        verify::account_totals,
        |account| &account.code,
        |page| {
            report.accounts += page.len() as u64;
            report.record(check_each(page, rules::account));
        },
    )
    .await?;
    scan(
        &mut snapshot,
        verify::payment_movements,
        |payment| &payment.payment_id,
        |page| {
            report.payments += page.len() as u64;
            report.record(check_each(page, rules::payment));
        },
    )
    .await?;
    scan(
        &mut snapshot,
        verify::refund_movements,
        |refund| &refund.refund_id,
        |page| {
            report.refunds += page.len() as u64;
            report.record(check_each(page, rules::refund));
        },
    )
    .await?;
    snapshot.end().await?;
    Ok(report)
}

/// The violations `rule` finds in the rows of one page.
fn check_each<Row>(page: &[Row], rule: impl Fn(&Row, &mut Vec<Violation>)) -> Vec<Violation> {
    let mut found = Vec::new();
    for row in page {
        rule(row, &mut found);
    }
    found
}

/// Reads every page of one keyset-paged query, after the empty key (before every id), and
/// hands each to `visit`.
async fn scan<Row>(
    snapshot: &mut Snapshot<'_>,
    read_page: impl AsyncFn(Conn<'_>, &str, u32) -> Result<Vec<Row>, StoreError>,
    key: impl Fn(&Row) -> &String,
    mut visit: impl FnMut(&[Row]),
) -> Result<(), ServiceError> {
    let mut after = String::new();
    loop {
        let page = read_page(snapshot.conn(), &after, PAGE_ROWS_MAX).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after.clone_from(key(last));
        visit(&page);
    }
}
