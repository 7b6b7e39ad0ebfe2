//! `verify_ledger` on a ledger written by the real payment flow (card network simulator over
//! HTTP): clean as written, and each kind of tampering reported as its own violation.

use std::sync::Arc;

use payrail_channels::card_network::CardNetworkClient;
use payrail_domain::ledger::AccountKey;
use payrail_domain::{ApiKeySecret, Clock, Currency, MerchantId, Mode, Secret, Timestamp};
use payrail_sandbox::{CardNetwork, card_network_router};
use payrail_service::{
    CardInput, LedgerReport, ManualClock, NewPayment, PaymentMethodInput, Payrail, ServerKeys, Violation, verify_ledger,
};
use payrail_store::{Conn, Engine, Store};
use payrail_testkit::{TestDatabase, on_each_backend};

/// A ledger holding, in USD: `captured` (1000, captured at once, fee 59) with `refund` (300,
/// succeeded); `authorized` (2500, held for a manual capture, no entry); and in EUR a manual
/// capture of 1500 of 2000 (fee 74).
struct Fixture {
    store: Store,
    merchant: MerchantId,
    captured: String,
    capture_entry: String,
    authorized: String,
    refund: String,
    refund_entry: String,
    _db: TestDatabase,
}

impl Fixture {
    async fn new(db: TestDatabase) -> Fixture {
        let clock = ManualClock::starting_at(Timestamp::from_unix_ms(1_780_000_000_000).unwrap());
        let store = Store::open(&db.url, &db.options).await.unwrap();
        store.migrate(clock.now()).await.unwrap();
        let payrail = Payrail::new(store.clone(), Arc::new(clock.clone()), ServerKeys::generate())
            .with_card_network(Mode::Test, start_card_network(&clock).await);
        payrail.verify_server_keys().await.unwrap();
        let secret = payrail.bootstrap().await.unwrap().unwrap().demo_key.secret;
        let caller = payrail.authenticate(&ApiKeySecret::parse(secret.expose()).unwrap()).await.unwrap();
        let pay = |order: &str, amount_minor: i64, currency: &str, capture_method: &str| NewPayment {
            amount_minor,
            currency: currency.to_owned(),
            merchant_order_no: order.to_owned(),
            capture_method: Some(capture_method.to_owned()),
            payment_method: Some(PaymentMethodInput::Card(CardInput {
                number: Secret::new("4242424242424242".to_owned()),
                exp_month: 12,
                exp_year: 2030,
                cvc: Secret::new("123".to_owned()),
            })),
            confirm: true,
            ..NewPayment::default()
        };
        let captured = payrail.create_payment(&caller, pay("captured", 1000, "usd", "automatic")).await.unwrap();
        let authorized = payrail.create_payment(&caller, pay("authorized", 2500, "usd", "manual")).await.unwrap();
        let partial = payrail.create_payment(&caller, pay("partial", 2000, "eur", "manual")).await.unwrap();
        payrail.capture_payment(&caller, &partial.id, Some(1500)).await.unwrap();
        let refund = payrail.create_refund(&caller, &captured.id, Some(300), None).await.unwrap();
        let entry_of = |kind: &str, column: &str, id: &str| {
            format!("SELECT id FROM journal_entries WHERE kind = '{kind}' AND {column} = '{id}'")
        };
        let capture_entry = scalar(&store, &entry_of("payment_captured", "payment_id", captured.id.as_str())).await;
        let refund_entry = scalar(&store, &entry_of("refund_succeeded", "refund_id", refund.id.as_str())).await;
        Fixture {
            store,
            merchant: caller.merchant.id,
            captured: captured.id.to_string(),
            capture_entry,
            authorized: authorized.id.to_string(),
            refund: refund.id.to_string(),
            refund_entry,
            _db: db,
        }
    }

    /// The code of one of the demo merchant's or the platform's test-mode USD accounts.
    fn usd(&self, account: fn(&MerchantId, Currency) -> AccountKey) -> String {
        account(&self.merchant, Currency::parse("USD").unwrap()).code()
    }
}

fn receivable(_: &MerchantId, currency: Currency) -> AccountKey {
    AccountKey::channel_receivable(false, currency)
}
fn pending(merchant: &MerchantId, currency: Currency) -> AccountKey {
    AccountKey::merchant_pending(merchant, false, currency)
}
fn fee_revenue(_: &MerchantId, currency: Currency) -> AccountKey {
    AccountKey::platform_fee_revenue(false, currency)
}

async fn start_card_network(clock: &ManualClock) -> CardNetworkClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let network = CardNetwork::new("test-acquirer-key".to_owned(), url.clone(), Arc::new(clock.clone()));
    tokio::spawn(async move { axum::serve(listener, card_network_router(network)).await });
    CardNetworkClient::new(&url, Secret::new("test-acquirer-key".to_owned()), 5_000).unwrap()
}

/// The one value `query` selects.
async fn scalar(store: &Store, query: &str) -> String {
    let mut reader = store.reader().await.unwrap();
    let query = sqlx::AssertSqlSafe(query.to_owned());
    match reader.conn() {
        Conn::Sqlite(c) => sqlx::query_scalar(query).fetch_one(&mut *c).await.unwrap(),
        Conn::Postgres(c) => sqlx::query_scalar(query).fetch_one(&mut *c).await.unwrap(),
        Conn::Direct(_) => unreachable!("a reader is never the committer's connection"),
    }
}

/// Runs `statements` in one committed transaction, as someone with database access could.
async fn tamper(store: &Store, statements: &[String]) {
    let mut tx = store.begin().await.unwrap();
    for statement in statements {
        let statement = sqlx::AssertSqlSafe(statement.clone());
        match tx.conn() {
            Conn::Sqlite(c) => drop(sqlx::query(statement).execute(&mut *c).await.unwrap()),
            Conn::Postgres(c) => drop(sqlx::query(statement).execute(&mut *c).await.unwrap()),
            Conn::Direct(_) => unreachable!("Store::begin never gives the committer's connection"),
        }
    }
    tx.commit().await.unwrap();
}

/// Statements that let a payment's amounts break the table's CHECKs: SQLite ignores them on
/// this connection meanwhile; PostgreSQL loses them for good (the test database is dropped).
fn without_payment_checks(engine: Engine, statement: String) -> Vec<String> {
    match engine {
        Engine::Sqlite => {
            vec![
                "PRAGMA ignore_check_constraints = ON".into(),
                statement,
                "PRAGMA ignore_check_constraints = OFF".into(),
            ]
        }
        Engine::Postgres => vec![
            "DO $$ DECLARE c record; BEGIN
                 FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'payments'::regclass AND contype = 'c' LOOP
                     EXECUTE format('ALTER TABLE payments DROP CONSTRAINT %I', c.conname);
                 END LOOP;
             END $$"
                .into(),
            statement,
        ],
    }
}

/// Tampers with a fresh fixture and asserts the report lists exactly the expected violations.
async fn check(tampering: fn(&Fixture, Engine) -> Vec<String>, expect: fn(&Fixture) -> Vec<Violation>) {
    on_each_backend(|db| async move {
        let fixture = Fixture::new(db).await;
        tamper(&fixture.store, &tampering(&fixture, fixture.store.engine())).await;
        let report = verify_ledger(&fixture.store).await.unwrap();
        let lines = |violations: Vec<Violation>| {
            let mut lines: Vec<String> = violations.iter().map(Violation::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(lines(report.violations.clone()), lines(expect(&fixture)), "{report}");
        assert!(!report.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_ledger_written_by_the_payment_flow_passes_with_everything_counted() {
    on_each_backend(|db| async move {
        let fixture = Fixture::new(db).await;
        let report = verify_ledger(&fixture.store).await.unwrap();
        let expected = LedgerReport {
            entries: 3,
            postings: 8,
            accounts: 6,
            payments: 3,
            refunds: 1,
            violations: Vec::new(),
            violations_unlisted: 0,
        };
        assert_eq!(report, expected, "{report}");
        assert!(report.to_string().ends_with("no violations"), "{report}");
    })
    .await;
}

#[tokio::test]
async fn a_changed_posting_unbalances_its_entry_and_its_account() {
    check(
        |f, _| {
            vec![format!(
                "UPDATE postings SET amount_minor = -900 WHERE entry_id = '{}' AND position = 1",
                f.capture_entry
            )]
        },
        |f| {
            let entry_id = f.capture_entry.clone();
            vec![
                Violation::EntryUnbalanced { entry_id, currency: "USD".into(), total_minor: 41 },
                Violation::AccountBalanceMismatch {
                    account_code: f.usd(pending),
                    cached_minor: -641,
                    postings_minor: -600,
                },
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_deleted_posting_unbalances_its_entry_and_its_account() {
    check(
        |f, _| vec![format!("DELETE FROM postings WHERE entry_id = '{}' AND position = 2", f.capture_entry)],
        |f| {
            let entry_id = f.capture_entry.clone();
            vec![
                Violation::EntryUnbalanced { entry_id, currency: "USD".into(), total_minor: 59 },
                Violation::AccountBalanceMismatch {
                    account_code: f.usd(fee_revenue),
                    cached_minor: -59,
                    postings_minor: 0,
                },
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_changed_cached_balance_no_longer_matches_its_postings() {
    check(
        |f, _| {
            vec![format!(
                "UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE code = '{}'",
                f.usd(receivable)
            )]
        },
        |f| {
            vec![Violation::AccountBalanceMismatch {
                account_code: f.usd(receivable),
                cached_minor: 701,
                postings_minor: 700,
            }]
        },
    )
    .await;
}

#[tokio::test]
async fn inserted_entries_that_do_not_balance_are_reported_even_when_the_balances_follow_them() {
    check(
        |f, _| {
            let entry = |id: &str| format!("INSERT INTO journal_entries (id, kind, livemode, created_at_ms) VALUES ('{id}', 'fee_correction', FALSE, 1)");
            let posting = |id: &str, position: i64, account: String, amount: i64| {
                format!("INSERT INTO postings (entry_id, position, account_code, currency, amount_minor) VALUES ('{id}', {position}, '{account}', 'USD', {amount})")
            };
            let cached = |account: String, amount: i64| format!("UPDATE ledger_accounts SET balance_minor = balance_minor + {amount} WHERE code = '{account}'");
            vec![
                entry("jrn_lonely"),
                posting("jrn_lonely", 0, f.usd(pending), 5),
                entry("jrn_lopsided"),
                posting("jrn_lopsided", 0, f.usd(pending), 5),
                posting("jrn_lopsided", 1, f.usd(fee_revenue), -3),
                cached(f.usd(pending), 10),
                cached(f.usd(fee_revenue), -3),
            ]
        },
        |_| {
            vec![
                Violation::EntryTooFewPostings { entry_id: "jrn_lonely".into(), postings: 1 },
                Violation::EntryUnbalanced { entry_id: "jrn_lonely".into(), currency: "USD".into(), total_minor: 5 },
                Violation::EntryUnbalanced { entry_id: "jrn_lopsided".into(), currency: "USD".into(), total_minor: 2 },
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_refunded_amount_raised_above_the_capture_is_reported_though_the_checks_were_off() {
    check(
        |f, engine| {
            let raise = format!("UPDATE payments SET amount_refunded_minor = 1500 WHERE id = '{}'", f.captured);
            without_payment_checks(engine, raise)
        },
        |f| {
            vec![
                Violation::PaymentAmountsInvalid {
                    payment_id: f.captured.clone(),
                    rule: "refunded exceeds captured",
                    amount_minor: 1000,
                    capturable_minor: 0,
                    captured_minor: 1000,
                    refunded_minor: 1500,
                },
                Violation::RefundedAmountMismatch {
                    payment_id: f.captured.clone(),
                    refunded_minor: 1500,
                    refunds_succeeded_minor: 300,
                },
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_payment_marked_captured_without_its_entry_is_reported() {
    check(
        |f, _| {
            vec![format!(
                "UPDATE payments SET status = 'succeeded', amount_capturable_minor = 0, amount_captured_minor = 2500 WHERE id = '{}'",
                f.authorized
            )]
        },
        |f| vec![Violation::CaptureEntryMissing { payment_id: f.authorized.clone(), captured_minor: 2500 }],
    )
    .await;
}

#[tokio::test]
async fn a_deleted_capture_entry_leaves_its_payment_without_an_entry_and_the_balances_without_postings() {
    check(
        |f, _| {
            vec![
                format!("DELETE FROM postings WHERE entry_id = '{}'", f.capture_entry),
                format!("DELETE FROM journal_entries WHERE id = '{}'", f.capture_entry),
            ]
        },
        |f| {
            let mismatch = |account_code: String, cached_minor: i64, postings_minor: i64| {
                Violation::AccountBalanceMismatch { account_code, cached_minor, postings_minor }
            };
            vec![
                Violation::CaptureEntryMissing { payment_id: f.captured.clone(), captured_minor: 1000 },
                mismatch(f.usd(receivable), 700, -300),
                mismatch(f.usd(pending), -641, 300),
                mismatch(f.usd(fee_revenue), -59, 0),
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_refund_marked_failed_leaves_an_entry_without_its_movement() {
    check(
        |f, _| vec![format!("UPDATE refunds SET status = 'failed' WHERE id = '{}'", f.refund)],
        |f| {
            vec![
                Violation::EntryWithoutMovement {
                    entry_id: f.refund_entry.clone(),
                    kind: "refund_succeeded".into(),
                    reason: format!("refund {} is failed", f.refund),
                },
                Violation::RefundedAmountMismatch {
                    payment_id: f.captured.clone(),
                    refunded_minor: 300,
                    refunds_succeeded_minor: 0,
                },
            ]
        },
    )
    .await;
}
