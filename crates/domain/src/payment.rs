//! Payment orders: what a merchant asks a customer to pay, where the payment stands and
//! how much of it is authorized, captured and refunded.
//!
//! Invariant: a status changes only through [`PaymentStatus::apply`]; amounts only through
//! [`crate::payment_amounts::PaymentAmounts`], which asserts its invariants on every result (a broken one is a
//! programmer error). A request that cannot be honoured is a [`Problem`] with a stable code.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::{Currency, Money, Problem};

/// A fieldless enum with a stable `snake_case` name per variant, for the wire and the
/// database: `ALL`, `as_str` and `parse` (exact names only). Also used by `card`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text,)+ } }
            pub fn parse(text: &str) -> Option<$name> { $name::ALL.iter().copied().find(|v| v.as_str() == text) }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// Where a payment stands. A declined attempt returns it to `requires_payment_method`;
    /// `succeeded` (captured) and `canceled` are terminal.
    PaymentStatus {
        RequiresPaymentMethod = "requires_payment_method", RequiresConfirmation = "requires_confirmation",
        RequiresAction = "requires_action", Processing = "processing", RequiresCapture = "requires_capture",
        Succeeded = "succeeded", Canceled = "canceled",
    }
);

named_enum!(
    /// Whether an authorization is captured at once or waits for the merchant.
    CaptureMethod { Automatic = "automatic", Manual = "manual", }
);

named_enum!(
    /// Why a payment was canceled. Clients may give the first four; Payrail sets `expired`
    /// (left waiting too long) and `authorization_expired` (the hold ran out uncaptured).
    CancellationReason {
        Duplicate = "duplicate", Fraudulent = "fraudulent", RequestedByCustomer = "requested_by_customer",
        Abandoned = "abandoned", Expired = "expired", AuthorizationExpired = "authorization_expired",
    }
);

impl CancellationReason {
    /// Parses `cancellation_reason` as a client sent it: Payrail's own reasons are refused.
    pub fn parse_requested(text: &str) -> Result<CancellationReason, Problem> {
        let payrail_only = [CancellationReason::Expired, CancellationReason::AuthorizationExpired];
        CancellationReason::parse(text).filter(|reason| !payrail_only.contains(reason)).ok_or_else(|| {
            let message = "cancellation_reason must be one of duplicate, fraudulent, requested_by_customer, abandoned";
            parameter_invalid("cancellation_reason", message)
        })
    }
}

fn parameter_invalid(param: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
    Problem::invalid_request("parameter_invalid", message).with_param(param)
}

/// What a payment asks for: 1 to 10^12 minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentAmount(Money);

impl PaymentAmount {
    pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000;

    pub fn parse(amount_minor: i64, currency: Currency) -> Result<PaymentAmount, Problem> {
        PaymentAmount::parse_with_max(amount_minor, currency, PaymentAmount::AMOUNT_MINOR_MAX)
    }

    /// As `parse`, under a tighter limit (per currency or per merchant) that configuration
    /// has already kept within `1..=AMOUNT_MINOR_MAX`.
    pub fn parse_with_max(amount_minor: i64, currency: Currency, amount_minor_max: i64) -> Result<Self, Problem> {
        assert!((1..=PaymentAmount::AMOUNT_MINOR_MAX).contains(&amount_minor_max), "limit {amount_minor_max}");
        if !(1..=amount_minor_max).contains(&amount_minor) {
            let message = format!("amount must be between 1 and {amount_minor_max} minor units");
            return Err(Problem::invalid_request("amount_invalid", message).with_param("amount"));
        }
        Ok(PaymentAmount(Money::new(amount_minor, currency)))
    }

    pub fn amount_minor(self) -> i64 {
        self.0.amount_minor()
    }

    pub fn money(self) -> Money {
        self.0
    }
}

/// The merchant's own reference: 1 to 64 of `A-Z a-z 0-9 _ - . :`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MerchantOrderNo(String);

impl MerchantOrderNo {
    pub fn parse(text: &str) -> Result<MerchantOrderNo, Problem> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':');
        if text.is_empty() || text.len() > 64 || !text.bytes().all(allowed) {
            let message = "merchant_order_no must be 1 to 64 letters, digits or any of _ - . :";
            return Err(parameter_invalid("merchant_order_no", message));
        }
        Ok(MerchantOrderNo(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text for the merchant, kept as sent: at most 1000 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(text: &str) -> Result<Description, Problem> {
        if text.chars().count() > 1000 || text.chars().any(char::is_control) {
            let message = "description must be at most 1000 characters, none of them control characters";
            return Err(parameter_invalid("description", message));
        }
        Ok(Description(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The merchant's own key-value pairs: at most 50 keys of 1 to 40 characters, values of at
/// most 500. Errors name `metadata`, never the key: keys are client text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub fn parse(map: BTreeMap<String, String>) -> Result<Metadata, Problem> {
        let invalid = |message| Err(Problem::invalid_request("metadata_invalid", message).with_param("metadata"));
        if map.len() > 50 {
            return invalid("metadata may have at most 50 keys");
        }
        if map.keys().any(|key| key.is_empty() || key.chars().count() > 40) {
            return invalid("metadata keys must be 1 to 40 characters");
        }
        if map.values().any(|value| value.chars().count() > 500) {
            return invalid("metadata values must be at most 500 characters");
        }
        Ok(Metadata(map))
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// Something that happens to a payment: a client's request, a channel's answer or a timer
/// (`Expire`: left waiting too long; `AuthorizationExpired`: the hold ran out uncaptured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentTransition {
    AttachPaymentMethod,
    Confirm,
    ChannelRequiresAction,
    ChannelAuthorized {
        capture_method: CaptureMethod,
    },
    ChannelDeclined,
    Capture,
    Cancel,
    Expire,
    AuthorizationExpired,
    /// The channel reports a payment Payrail had given up on (closed, or whose attempt
    /// failed): the money was taken, so the payment succeeded after all.
    LateSuccess,
}

impl PaymentTransition {
    #[rustfmt::skip] // One entry a line would spend ten lines on a plain list.
    pub const ALL: [PaymentTransition; 11] = {
        use PaymentTransition::*;
        [AttachPaymentMethod, Confirm, ChannelRequiresAction, ChannelDeclined, Capture, Cancel, Expire,
            AuthorizationExpired, LateSuccess, ChannelAuthorized { capture_method: CaptureMethod::Automatic },
            ChannelAuthorized { capture_method: CaptureMethod::Manual }]
    };
}

impl PaymentStatus {
    /// The one transition function: the next status, or `payment_unexpected_state` (400, no
    /// param). No cancel from `processing`: an attempt is in flight and its answer decides.
    pub fn apply(self, transition: PaymentTransition) -> Result<PaymentStatus, Problem> {
        use {CaptureMethod::*, PaymentStatus::*, PaymentTransition::*};
        const WITH_CHANNEL: &[PaymentStatus] = &[Processing, RequiresAction];
        const UNCONFIRMED: &[PaymentStatus] = &[RequiresPaymentMethod, RequiresConfirmation];
        // Each transition: the statuses it may leave, the one it leads to, what a refusal says.
        let (from, to, refused): (&[PaymentStatus], _, _) = match transition {
            AttachPaymentMethod => (UNCONFIRMED, RequiresConfirmation, "take a payment method"),
            Confirm => (&[RequiresConfirmation], Processing, "be confirmed"),
            ChannelRequiresAction => (&[Processing], RequiresAction, "require a customer action"),
            ChannelAuthorized { capture_method: Manual } => (WITH_CHANNEL, RequiresCapture, "be authorized"),
            ChannelAuthorized { capture_method: Automatic } => (WITH_CHANNEL, Succeeded, "be authorized"),
            ChannelDeclined => (WITH_CHANNEL, RequiresPaymentMethod, "be declined"),
            Capture => (&[RequiresCapture], Succeeded, "be captured"),
            Cancel => (
                &[RequiresPaymentMethod, RequiresConfirmation, RequiresAction, RequiresCapture],
                Canceled,
                "be canceled",
            ),
            Expire => (&[RequiresPaymentMethod, RequiresConfirmation, RequiresAction], Canceled, "expire"),
            AuthorizationExpired => (&[RequiresCapture], Canceled, "have its authorization expire"),
            LateSuccess => (&[Canceled, RequiresPaymentMethod, RequiresConfirmation], Succeeded, "succeed late"),
        };
        if from.contains(&self) {
            return Ok(to);
        }
        let message = format!("a payment in status {} cannot {refused}", self.as_str());
        Err(Problem::invalid_request("payment_unexpected_state", message))
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;
    use super::PaymentTransition as T;
    use super::*;

    /// Asserts a 400 refusal with `code` on `param` whose message does not repeat `input`
    /// (a single character is too short to tell an echo from the message's own text).
    fn check<V: std::fmt::Debug>(result: Result<V, Problem>, code: &str, param: Option<&str>, input: impl ToString) {
        let (problem, input) = (result.expect_err(code), input.to_string());
        assert_eq!((problem.code, problem.param.as_deref(), problem.status), (code, param, 400), "{input}");
        assert!(input.chars().count() < 2 || !problem.message.contains(&input), "{} echoes it", problem.message);
    }

    #[test]
    fn every_status_and_transition_pair_is_either_listed_as_legal_or_refused() {
        let manual = T::ChannelAuthorized { capture_method: CaptureMethod::Manual };
        let automatic = T::ChannelAuthorized { capture_method: CaptureMethod::Automatic };
        let legal: [(&[PaymentStatus], T, PaymentStatus); 11] = [
            (&[RequiresPaymentMethod, RequiresConfirmation], T::AttachPaymentMethod, RequiresConfirmation),
            (&[RequiresConfirmation], T::Confirm, Processing),
            (&[Processing], T::ChannelRequiresAction, RequiresAction),
            (&[Processing, RequiresAction], manual, RequiresCapture),
            (&[Processing, RequiresAction], automatic, Succeeded),
            (&[Processing, RequiresAction], T::ChannelDeclined, RequiresPaymentMethod),
            (&[RequiresCapture], T::Capture, Succeeded),
            (&[RequiresPaymentMethod, RequiresConfirmation, RequiresAction, RequiresCapture], T::Cancel, Canceled),
            (&[RequiresPaymentMethod, RequiresConfirmation, RequiresAction], T::Expire, Canceled),
            (&[RequiresCapture], T::AuthorizationExpired, Canceled),
            (&[Canceled, RequiresPaymentMethod, RequiresConfirmation], T::LateSuccess, Succeeded),
        ];
        for &from in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(from.as_str()), Some(from));
            for transition in PaymentTransition::ALL {
                let legal_to = legal.iter().find(|(froms, t, _)| froms.contains(&from) && *t == transition);
                match (from.apply(transition), legal_to) {
                    (Ok(to), Some(&(_, _, expected))) => assert_eq!(to, expected, "{from:?} {transition:?}"),
                    (Err(problem), None) => {
                        assert_eq!((problem.code, problem.param), ("payment_unexpected_state", None));
                        assert!(problem.message.starts_with(&format!("a payment in status {} cannot ", from.as_str())));
                    }
                    (result, expected) => panic!("{from:?} {transition:?} gave {result:?}, expected {expected:?}"),
                }
            }
        }
        let refusal = Succeeded.apply(T::Cancel).expect_err("terminal");
        assert_eq!((refusal.status, &*refusal.message), (400, "a payment in status succeeded cannot be canceled"));
    }

    #[test]
    fn request_parameters_are_bounded_and_refused_without_echoing_them() {
        for &reason in CancellationReason::ALL {
            let requestable = !matches!(reason, CancellationReason::Expired | CancellationReason::AuthorizationExpired);
            assert_eq!(CancellationReason::parse_requested(reason.as_str()).ok(), requestable.then_some(reason));
        }
        check(CancellationReason::parse_requested("soon"), "parameter_invalid", Some("cancellation_reason"), "soon");
        let (usd, max) = (Currency::parse("usd").expect("known"), PaymentAmount::AMOUNT_MINOR_MAX);
        assert_eq!(PaymentAmount::parse(max, usd).map(PaymentAmount::money), Ok(Money::new(max, usd)));
        assert_eq!(PaymentAmount::parse(1, usd).map(PaymentAmount::amount_minor), Ok(1));
        for (bad, limit) in [(0, max), (-17, max), (max + 1, max), (i64::MIN, max), (i64::MAX, max), (501, 500)] {
            check(PaymentAmount::parse_with_max(bad, usd, limit), "amount_invalid", Some("amount"), bad);
        }
        assert!(MerchantOrderNo::parse("order-2024.01:A_7").is_ok() && MerchantOrderNo::parse(&"9".repeat(64)).is_ok());
        for bad in ["", &"9".repeat(65), "order 7", "订单7", "a/b", "x\n"] {
            check(MerchantOrderNo::parse(bad), "parameter_invalid", Some("merchant_order_no"), bad);
        }
        assert!(Description::parse("").is_ok() && Description::parse(&"é".repeat(1000)).is_ok());
        for bad in [&"é".repeat(1001), "tea\u{7}pot", "line\nbreak"] {
            check(Description::parse(bad), "parameter_invalid", Some("description"), bad);
        }
        let metadata =
            |pairs: Vec<(String, &str)>| Metadata::parse(pairs.into_iter().map(|(k, v)| (k, v.into())).collect());
        let keys = |count: usize| (0..count).map(|n| (format!("secret_key_{n}"), "v")).collect();
        assert!(metadata(keys(50)).is_ok() && metadata(vec![("茶".repeat(40), &"茶".repeat(500))]).is_ok());
        let (long_key, long_value) = ("secret_key".repeat(5), "v".repeat(501));
        for bad in
            [keys(51), vec![(String::new(), "v")], vec![(long_key, "v")], vec![("secret_key".into(), &long_value)]]
        {
            check(metadata(bad), "metadata_invalid", Some("metadata"), "secret_key");
        }
    }
}
