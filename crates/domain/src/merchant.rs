//! Merchants: the accounts that accept payments through Payrail.

use crate::{MerchantId, Problem, Timestamp};

/// Where a merchant stands with the platform.
///
/// `pending` merchants work in test mode only; `active` ones may also use live mode;
/// `suspended` ones can do nothing until an operator reactivates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantStatus {
    Pending,
    Active,
    Suspended,
}

impl MerchantStatus {
    pub const ALL: [MerchantStatus; 3] = [MerchantStatus::Pending, MerchantStatus::Active, MerchantStatus::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Pending => "pending",
            MerchantStatus::Active => "active",
            MerchantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<MerchantStatus> {
        MerchantStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The legal moves: approve a pending merchant, suspend an active one, reinstate a
    /// suspended one. Nothing goes back to `pending`.
    pub fn transition(self, to: MerchantStatus) -> Result<MerchantStatus, Problem> {
        use MerchantStatus::*;
        match (self, to) {
            (Pending, Active) | (Active, Suspended) | (Suspended, Active) | (Pending, Suspended) => Ok(to),
            _ => Err(Problem::invalid_request(
                "merchant_status_transition_invalid",
                format!("a {} merchant cannot become {}", self.as_str(), to.as_str()),
            )
            .with_param("status")),
        }
    }
}

/// A merchant's display name: 1 to 100 characters, no control characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantName(String);

impl MerchantName {
    pub const LENGTH_MAX: usize = 100;

    pub fn parse(text: &str) -> Result<MerchantName, Problem> {
        let trimmed = text.trim();
        let invalid =
            |message: &'static str| Err(Problem::invalid_request("parameter_invalid", message).with_param("name"));
        if trimmed.is_empty() {
            return invalid("name must not be empty");
        }
        if trimmed.chars().count() > MerchantName::LENGTH_MAX {
            return invalid("name must be at most 100 characters");
        }
        if trimmed.chars().any(char::is_control) {
            return invalid("name must not contain control characters");
        }
        Ok(MerchantName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: MerchantName,
    pub status: MerchantStatus,
    pub created: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::MerchantStatus::{self, *};
    use super::*;

    #[test]
    fn every_status_transition_is_either_listed_as_legal_or_refused() {
        let legal = [(Pending, Active), (Pending, Suspended), (Active, Suspended), (Suspended, Active)];
        for from in MerchantStatus::ALL {
            for to in MerchantStatus::ALL {
                let result = from.transition(to);
                if legal.contains(&(from, to)) {
                    assert_eq!(result, Ok(to));
                } else {
                    let problem = result.expect_err("illegal transition accepted");
                    assert_eq!(problem.code, "merchant_status_transition_invalid");
                }
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in MerchantStatus::ALL {
            assert_eq!(MerchantStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MerchantStatus::parse("Active"), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(MerchantName::parse("  Tea House ").map(|n| n.0), Ok("Tea House".to_string()));
        assert!(MerchantName::parse("   ").is_err());
        assert!(MerchantName::parse(&"x".repeat(101)).is_err());
        assert!(MerchantName::parse(&"茶".repeat(100)).is_ok());
        assert!(MerchantName::parse("a\u{0}b").is_err());
    }
}
