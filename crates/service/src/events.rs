//! Reading the events a merchant's objects have recorded.

use payrail_domain::EventId;
use payrail_store::events::{self, EventRow};

use crate::{Caller, Payrail, ServiceError};

/// The most events one list call returns.
pub const EVENT_LIST_LIMIT_MAX: u32 = 100;

impl Payrail {
    /// The caller's events in the caller's mode, newest first.
    pub async fn list_events(
        &self,
        caller: &Caller,
        starting_after: Option<&EventId>,
        limit: u32,
    ) -> Result<Vec<EventRow>, ServiceError> {
        // One more than a page, so the caller can tell whether there is a next one.
        let limit = limit.clamp(1, EVENT_LIST_LIMIT_MAX + 1);
        let mut reader = self.store.reader().await?;
        Ok(events::list(reader.conn(), &caller.merchant.id, caller.mode.is_live(), starting_after, limit).await?)
    }
}
