//! `GET /v1/balance`: the caller's cached merchant balances, in the caller's mode, signed as
//! the merchant reads them; `GET /v1/balance_transactions`: each ledger entry that moved them.

use axum::http::Method;
use payrail_domain::ledger::{
    AccountKey, EntryKind, JournalEntry, Posting, capture_entry, refund_entry, settlement_entry,
};
use payrail_domain::{Currency, JournalEntryId, MerchantId, MerchantStatus, Mode, Money};
use payrail_store::ledger::{self, EntryLinks};
use payrail_testkit::on_each_backend;
use serde_json::{Value, json};

use crate::helpers::{START_MS, TestApp};

async fn pay_1000_usd(app: &TestApp, order: &str) -> String {
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"});
    let body = json!({
        "amount": 1000, "currency": "usd", "merchant_order_no": order, "confirm": true,
        "payment_method": {"type": "card", "card": card},
    });
    let response = app.post_json("/v1/payments", &app.test_key, &body).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

async fn refund_300(app: &TestApp, payment: &str) -> String {
    let response = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment, "amount": 300})).await;
    assert_eq!(response.body["status"], "succeeded", "{}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

fn money(amount_minor: i64, currency: &str) -> Money {
    Money::new(amount_minor, Currency::parse(currency).unwrap())
}

/// Posts `entry` straight to the ledger, as a flow the sandbox cannot drive (a live capture,
/// a settlement) would post it; `merchant` None makes it one of the platform's own.
async fn post_entry(app: &TestApp, entry: &JournalEntry, merchant: Option<&MerchantId>, seed: u8) {
    let now = app.payrail.clock().now();
    let links = EntryLinks { merchant_id: merchant, payment_id: None, refund_id: None };
    let mut tx = app.payrail.store().begin().await.unwrap();
    ledger::post(tx.conn(), &JournalEntryId::generate(now, [seed; 10]), entry, &links, now).await.unwrap();
    tx.commit().await.unwrap();
}

/// The balance transactions `secret` sees with `query`: their ids and `has_more`, after
/// checking the list envelope and that every amount adds up.
async fn transactions(app: &TestApp, secret: &str, query: &str) -> (Vec<Value>, bool) {
    let response = app.get(&format!("/v1/balance_transactions{query}"), secret).await;
    assert_eq!(response.status, 200, "{query}: {}", response.body);
    assert_eq!(
        (response.body["object"].as_str(), response.body["url"].as_str()),
        (Some("list"), Some("/v1/balance_transactions"))
    );
    let data = response.body["data"].as_array().unwrap().clone();
    for transaction in &data {
        let (amount, fee, net) = (&transaction["amount"], &transaction["fee"], &transaction["net"]);
        assert_eq!(amount.as_i64().unwrap() - fee.as_i64().unwrap(), net.as_i64().unwrap(), "{transaction}");
        assert!(transaction["id"].as_str().unwrap().starts_with("je_"), "{transaction}");
    }
    (data, response.body["has_more"].as_bool().unwrap())
}

/// Only the ids and `has_more` of [`transactions`].
async fn page(app: &TestApp, query: &str) -> (Vec<String>, bool) {
    let (data, has_more) = transactions(app, &app.test_key, query).await;
    (data.iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect(), has_more)
}

/// A balance transaction as expected, taking the id (random) from what was found.
fn expected(found: &Value, shown: Value) -> Value {
    let mut expected = json!({"id": found["id"], "object": "balance_transaction"});
    expected.as_object_mut().unwrap().extend(shown.as_object().unwrap().clone());
    expected
}

/// The balance `secret` sees, checked against the expected `pending` and `available` lists.
async fn check(app: &TestApp, secret: &str, livemode: bool, pending: Value, available: Value) {
    let response = app.get("/v1/balance", secret).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let expected = json!({"object": "balance", "livemode": livemode, "pending": pending, "available": available});
    assert_eq!(response.body, expected);
}

#[tokio::test]
async fn a_captured_card_payment_is_pending_less_the_fee() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        check(&app, &app.test_key, false, json!([]), json!([])).await;
        pay_1000_usd(&app, "balance-1").await;
        // 1000 less the default fee of 2.9% + 30 = 59.
        check(&app, &app.test_key, false, json!([{"amount": 941, "currency": "USD"}]), json!([])).await;
    })
    .await;
}

#[tokio::test]
async fn a_refund_beyond_what_is_owed_shows_a_negative_balance() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = pay_1000_usd(&app, "balance-2").await;
        let refund = app.post_json("/v1/refunds", &app.test_key, &json!({"payment": payment})).await;
        assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
        // The fee is not returned, so the merchant owes it: 941 − 1000.
        check(&app, &app.test_key, false, json!([{"amount": -59, "currency": "USD"}]), json!([])).await;
    })
    .await;
}

#[tokio::test]
async fn each_key_sees_only_its_own_merchant_and_mode() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        pay_1000_usd(&app, "balance-3").await;
        let merchant: MerchantId = app.merchant_id.parse().unwrap();
        // The sandbox only charges test cards and nothing settles yet, so these are posted
        // to the ledger directly, as those flows would post them.
        post_entry(&app, &capture_entry(&merchant, true, money(5_000, "EUR"), 175).unwrap(), Some(&merchant), 7).await;
        app.clock.advance_ms(1_000);
        post_entry(&app, &settlement_entry(&merchant, false, money(500, "USD")).unwrap(), Some(&merchant), 8).await;
        // One of the platform's own entries, in the demo merchant's mode: no merchant sees it.
        let (receivable, fees) = (
            AccountKey::channel_receivable(false, Currency::parse("USD").unwrap()),
            AccountKey::platform_fee_revenue(false, Currency::parse("USD").unwrap()),
        );
        let lines = vec![Posting { account: receivable, amount_minor: 5 }, Posting { account: fees, amount_minor: -5 }];
        post_entry(&app, &JournalEntry::new(EntryKind::FeeCorrection, lines).unwrap(), None, 9).await;

        let (_, live_key) = app.demo_key(Mode::Live).await;
        check(&app, &live_key, true, json!([{"amount": 4825, "currency": "EUR"}]), json!([])).await;
        let (pending, available) =
            (json!([{"amount": 441, "currency": "USD"}]), json!([{"amount": 500, "currency": "USD"}]));
        check(&app, &app.test_key, false, pending, available).await;
        let (live, _) = transactions(&app, &live_key, "").await;
        let capture = json!({"type": "payment", "amount": 5000, "fee": 175, "net": 4825, "currency": "EUR",
            "source": null, "balance": "pending", "created": START_MS / 1000, "livemode": true});
        assert_eq!(live, [expected(&live[0], capture)]);
        let (test, _) = transactions(&app, &app.test_key, "").await;
        let settlement = json!({"type": "settlement", "amount": 500, "fee": 0, "net": 500, "currency": "USD",
            "source": null, "balance": "available", "created": START_MS / 1000 + 1, "livemode": false});
        assert_eq!((test.len(), &test[0]), (2, &expected(&test[0], settlement)));
        assert_eq!(test[1]["type"], "payment");
        let (_, other_test_key, other_live_key) = app.other_merchant(MerchantStatus::Active).await;
        check(&app, &other_test_key, false, json!([]), json!([])).await;
        check(&app, &other_live_key, true, json!([]), json!([])).await;
        for secret in [&other_test_key, &other_live_key] {
            assert_eq!(transactions(&app, secret, "").await, (vec![], false));
        }
    })
    .await;
}

#[tokio::test]
async fn a_capture_and_a_partial_refund_are_two_balance_transactions_newest_first() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = pay_1000_usd(&app, "bt-1").await;
        app.clock.advance_ms(2_000);
        let refund = refund_300(&app, &payment).await;
        let (data, has_more) = transactions(&app, &app.test_key, "").await;
        // 2.9% of 1000 is 29, plus 30; the refund returns no fee by default.
        let shown = [
            json!({"type": "refund", "amount": -300, "fee": 0, "net": -300, "currency": "USD", "source": refund,
                "balance": "pending", "created": START_MS / 1000 + 2, "livemode": false}),
            json!({"type": "payment", "amount": 1000, "fee": 59, "net": 941, "currency": "USD", "source": payment,
                "balance": "pending", "created": START_MS / 1000, "livemode": false}),
        ];
        assert_eq!(data.len(), 2, "{data:?}");
        for (found, shown) in data.iter().zip(shown) {
            assert_eq!(found, &expected(found, shown));
        }
        assert!(!has_more);
    })
    .await;
}

#[tokio::test]
async fn pages_follow_the_cursors_and_filters_narrow_by_type_and_source() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let first = pay_1000_usd(&app, "bt-2").await;
        app.clock.advance_ms(1_000);
        let second = pay_1000_usd(&app, "bt-3").await;
        app.clock.advance_ms(1_000);
        let refund = refund_300(&app, &second).await;
        let (all, _) = page(&app, "").await;
        assert_eq!(all.len(), 3);
        let ids = |indexes: &[usize]| indexes.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
        let cases = [
            ("?limit=1".to_owned(), ids(&[0]), true),
            (format!("?limit=1&starting_after={}", all[0]), ids(&[1]), true),
            (format!("?limit=2&starting_after={}", all[0]), ids(&[1, 2]), false),
            (format!("?limit=1&ending_before={}", all[2]), ids(&[1]), true),
            (format!("?limit=5&ending_before={}", all[1]), ids(&[0]), false),
            ("?type=payment".to_owned(), ids(&[1, 2]), false),
            ("?type=refund".to_owned(), ids(&[0]), false),
            ("?type=settlement".to_owned(), ids(&[]), false),
            // A refund's entry is the refund's own: its payment's source shows only the capture.
            (format!("?source={second}"), ids(&[1]), false),
            (format!("?source={first}"), ids(&[2]), false),
            (format!("?source={refund}"), ids(&[0]), false),
            (format!("?source={refund}&type=payment"), ids(&[]), false),
            // Unknown parameters are ignored, as by the other lists.
            ("?colour=blue".to_owned(), ids(&[0, 1, 2]), false),
        ];
        for (query, ids, has_more) in cases {
            assert_eq!(page(&app, &query).await, (ids, has_more), "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_parameters_unknown_cursors_and_missing_keys_are_refused() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let payment = pay_1000_usd(&app, "bt-4").await;
        let (all, _) = page(&app, "").await;
        let entry = &all[0];
        let cases = [
            ("limit=0".to_owned(), 400, "parameter_invalid", "limit"),
            ("limit=101".to_owned(), 400, "parameter_invalid", "limit"),
            ("limit=x".to_owned(), 400, "parameter_invalid", "limit"),
            ("type=charge".to_owned(), 400, "parameter_invalid", "type"),
            ("type=payment_captured".to_owned(), 400, "parameter_invalid", "type"),
            ("source=ch_1".to_owned(), 400, "parameter_invalid", "source"),
            (format!("source={entry}"), 400, "parameter_invalid", "source"),
            ("starting_after=je_nope".to_owned(), 404, "resource_missing", "starting_after"),
            (format!("ending_before={payment}"), 404, "resource_missing", "ending_before"),
            (format!("starting_after={entry}&ending_before={entry}"), 400, "parameter_invalid", "ending_before"),
        ];
        for (query, status, code, param) in cases {
            let response = app.get(&format!("/v1/balance_transactions?{query}"), &app.test_key).await;
            assert_eq!(response.assert_error(status, "invalid_request_error", code)["param"], param, "{query}");
        }
        let unauthenticated = app.call(Method::GET, "/v1/balance_transactions", None).await;
        unauthenticated.assert_error(401, "authentication_error", "api_key_missing");
    })
    .await;
}

/// Guards the read path against panicking on a row no flow writes: a refund's postings
/// labelled as a capture, whose amount − fee ≠ net.
#[tokio::test]
async fn an_entry_whose_amounts_do_not_add_up_is_an_internal_error() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        let merchant: MerchantId = app.merchant_id.parse().unwrap();
        let lines = refund_entry(&merchant, false, money(1_000, "USD"), 59).unwrap().postings().to_vec();
        let mislabelled = JournalEntry::new(EntryKind::PaymentCaptured, lines).unwrap();
        post_entry(&app, &mislabelled, Some(&merchant), 3).await;
        let response = app.get("/v1/balance_transactions", &app.test_key).await;
        response.assert_error(500, "api_error", "internal_error");
    })
    .await;
}

#[tokio::test]
async fn the_balance_needs_an_api_key_and_is_documented() {
    on_each_backend(|db| async {
        let app = TestApp::spawn(db).await;
        app.call(Method::GET, "/v1/balance", None).await.assert_error(401, "authentication_error", "api_key_missing");
        let document = app.call(Method::GET, "/openapi.json", None).await.body;
        assert!(document["paths"]["/v1/balance"]["get"].is_object(), "/v1/balance is not documented");
        assert!(document["components"]["schemas"]["BalanceBody"].is_object(), "BalanceBody is not documented");
        let listed = &document["paths"]["/v1/balance_transactions"]["get"]["parameters"];
        let names: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["limit", "starting_after", "ending_before", "type", "source"]);
    })
    .await;
}
