//! Payment-code pay over WeChat Pay's v2 XML API: `/pay/micropay`, `/pay/orderquery`,
//! `/secapi/pay/reverse` and `/secapi/pay/refund`, signed with `sign_type=HMAC-SHA256` under
//! the APIv2 key.
//!
//! The flow the caller runs: `micropay`; on [`MicropayOutcome::Waiting`] (`USERPAYING`,
//! `SYSTEMERROR`, `BANKERROR`) or an unknown outcome (a timeout), `order_query` with
//! backoff until the trade is `SUCCESS` or failed; when its own deadline passes, `reverse`
//! (repeated while WeChat answers `recall=Y`). Every answer's `sign` is checked before it
//! is believed, and must be about this merchant and app.
//!
//! `/secapi/…` calls go through the mutual-TLS client (see `secapi`), the others through
//! the plain one. The v3 refund ([`WechatPayClient::refund`]) works for payment-code trades
//! too; [`WechatPayClient::refund_v2`] is for accounts that only use v2.

use std::collections::BTreeMap;

use reqwest::header::CONTENT_TYPE;

use super::signing::random_nonce;
use super::types::{Fen, Refund, RefundRequest, RefundStatus, TradeState, Transaction};
use super::{WechatPayClient, xml};
use crate::error::ChannelError;
use crate::transport;

/// A payment-code payment to take. `out_trade_no` is the attempt id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicropayRequest {
    pub out_trade_no: String,
    /// What is bought (v2's `body`).
    pub description: String,
    pub amount: Fen,
    /// The 18-digit code the cashier scanned from the payer's phone.
    pub auth_code: String,
    /// The till's IP address (`spbill_create_ip`).
    pub device_ip: String,
}

/// What `/pay/micropay` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicropayOutcome {
    /// Paid at once.
    Paid(Transaction),
    /// Not decided yet: the payer is entering a password (`USERPAYING`) or WeChat could not
    /// tell (`SYSTEMERROR`, `BANKERROR`). Query; reverse when the wait is over.
    Waiting { code: String },
    /// Refused for good (`AUTHCODEEXPIRE`, `AUTH_CODE_INVALID`, `NOTENOUGH`, `ORDERPAID`, …).
    Failed(V2Failure),
}

/// A v2 business failure: `err_code` and `err_code_des`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Failure {
    pub code: String,
    pub description: String,
}

/// The v2 codes that mean "not decided yet".
const WAITING_CODES: [&str; 3] = ["USERPAYING", "SYSTEMERROR", "BANKERROR"];

impl WechatPayClient {
    /// Takes a payment-code payment.
    pub async fn micropay(&self, request: &MicropayRequest) -> Result<MicropayOutcome, ChannelError> {
        let total_fee = request.amount.amount_minor().to_string();
        let fields = [
            ("body", request.description.as_str()),
            ("out_trade_no", request.out_trade_no.as_str()),
            ("total_fee", total_fee.as_str()),
            ("fee_type", "CNY"),
            ("spbill_create_ip", request.device_ip.as_str()),
            ("auth_code", request.auth_code.as_str()),
        ];
        let answer = self.call_v2("micropay", "/pay/micropay", &fields).await?;
        if answer.get("result_code").map(String::as_str) == Some("SUCCESS") {
            return Ok(MicropayOutcome::Paid(self.v2_transaction(&answer, &request.out_trade_no, "SUCCESS")?));
        }
        let failure = failure(&answer);
        if WAITING_CODES.contains(&failure.code.as_str()) {
            return Ok(MicropayOutcome::Waiting { code: failure.code });
        }
        Ok(MicropayOutcome::Failed(failure))
    }

    /// The payment-code trade under `out_trade_no`, or `None` if WeChat has none
    /// (`ORDERNOTEXIST`).
    pub async fn order_query(&self, out_trade_no: &str) -> Result<Option<Transaction>, ChannelError> {
        let answer = self.call_v2("order_query", "/pay/orderquery", &[("out_trade_no", out_trade_no)]).await?;
        if answer.get("result_code").map(String::as_str) != Some("SUCCESS") {
            let failure = failure(&answer);
            return match failure.code.as_str() {
                "ORDERNOTEXIST" => Ok(None),
                "SYSTEMERROR" => Err(ChannelError::Transient { code: failure.code }),
                _ => Err(rejected(failure)),
            };
        }
        let state = answer.get("trade_state").cloned().unwrap_or_default();
        Ok(Some(self.v2_transaction(&answer, out_trade_no, &state)?))
    }

    /// Reverses (cancels, refunding if paid) a payment-code trade. `Ok(true)` means WeChat
    /// asks for the call to be repeated (`recall=Y`).
    pub async fn reverse(&self, out_trade_no: &str) -> Result<bool, ChannelError> {
        let answer = self.call_v2("reverse", "/secapi/pay/reverse", &[("out_trade_no", out_trade_no)]).await?;
        let recall = answer.get("recall").map(String::as_str) == Some("Y");
        if answer.get("result_code").map(String::as_str) == Some("SUCCESS") {
            return Ok(recall);
        }
        let failure = failure(&answer);
        if recall || failure.code == "SYSTEMERROR" {
            return Err(ChannelError::Transient { code: failure.code });
        }
        Err(rejected(failure))
    }

    /// Refunds (part of) a trade over v2. The answer only says the refund was accepted, so
    /// its status is `Processing`; its outcome is read with [`WechatPayClient::query_refund`].
    /// `notify_url` is not sent (v2 refund notifications are not supported here).
    pub async fn refund_v2(&self, request: &RefundRequest) -> Result<Refund, ChannelError> {
        let refund_fee = request.refund.amount_minor().to_string();
        let total_fee = request.total.amount_minor().to_string();
        let mut fields = vec![
            ("out_trade_no", request.out_trade_no.as_str()),
            ("out_refund_no", request.out_refund_no.as_str()),
            ("total_fee", total_fee.as_str()),
            ("refund_fee", refund_fee.as_str()),
            ("refund_fee_type", "CNY"),
        ];
        if let Some(reason) = &request.reason {
            fields.push(("refund_desc", reason.as_str()));
        }
        let answer = self.call_v2("refund_v2", "/secapi/pay/refund", &fields).await?;
        if answer.get("result_code").map(String::as_str) != Some("SUCCESS") {
            let failure = failure(&answer);
            return Err(match failure.code.as_str() {
                "SYSTEMERROR" | "BIZERR_NEED_RETRY" => ChannelError::Transient { code: failure.code },
                _ => rejected(failure),
            });
        }
        let field = |key: &str| answer.get(key).filter(|value| !value.is_empty()).cloned();
        let amount = |key: &str| answer.get(key).and_then(|text| text.parse::<i64>().ok());
        if field("out_refund_no").as_deref() != Some(request.out_refund_no.as_str()) {
            return Err(ChannelError::Protocol("the v2 refund answer is about another refund".to_owned()));
        }
        let refund_id = field("refund_id").ok_or_else(|| ChannelError::Protocol("no refund_id".to_owned()))?;
        Ok(Refund {
            refund_id,
            out_refund_no: request.out_refund_no.clone(),
            out_trade_no: request.out_trade_no.clone(),
            transaction_id: field("transaction_id"),
            status: RefundStatus::Processing,
            refund_minor: amount("refund_fee").unwrap_or_default(),
            total_minor: amount("total_fee").unwrap_or_default(),
            success_time: None,
        })
    }

    /// Signs and sends one v2 call; returns the answer's fields once `return_code` is
    /// `SUCCESS` and the `sign` checks out.
    async fn call_v2(
        &self,
        operation: &'static str,
        path: &str,
        business: &[(&str, &str)],
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        let v2_key = self.v2_key.as_ref().ok_or_else(|| ChannelError::Rejected {
            status: 0,
            code: "v2_key_missing".to_owned(),
            message: "payment-code pay needs the account's APIv2 key".to_owned(),
        })?;
        let (http, base_url) = self.v2_endpoint(path)?;
        let mut fields: BTreeMap<String, String> =
            business.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        for (key, value) in
            [("appid", self.appid.clone()), ("mch_id", self.mchid.clone()), ("nonce_str", random_nonce())]
        {
            fields.insert(key.to_owned(), value);
        }
        fields.insert("sign_type".to_owned(), "HMAC-SHA256".to_owned());
        let sign = xml::sign_hmac_sha256(&fields, v2_key.expose());
        fields.insert("sign".to_owned(), sign);
        let body = xml::write(fields.iter().map(|(key, value)| (key.as_str(), value.as_str())));
        let request = http.post(format!("{base_url}{path}")).header(CONTENT_TYPE, "text/xml; charset=utf-8").body(body);
        let answer = transport::send(request).await?;
        tracing::debug!(operation, mchid = %self.mchid, status = answer.status.as_u16(), "wechat pay v2 call");
        if !answer.status.is_success() {
            return Err(ChannelError::Protocol(format!("unexpected HTTP {} from the v2 API", answer.status.as_u16())));
        }
        let text = std::str::from_utf8(&answer.body).map_err(|_| ChannelError::Protocol("answer not UTF-8".into()))?;
        let fields = xml::read(text).map_err(|error| ChannelError::Protocol(error.to_string()))?;
        if fields.get("return_code").map(String::as_str) != Some("SUCCESS") {
            let message = fields.get("return_msg").cloned().unwrap_or_default();
            return Err(ChannelError::Rejected { status: 200, code: "FAIL".to_owned(), message });
        }
        if !xml::verify_hmac_sha256(&fields, v2_key.expose()) {
            return Err(ChannelError::Protocol("the v2 answer's sign does not match".to_owned()));
        }
        if fields.get("mch_id") != Some(&self.mchid) || fields.get("appid") != Some(&self.appid) {
            return Err(ChannelError::Protocol("the v2 answer is for another merchant or app".to_owned()));
        }
        Ok(fields)
    }

    /// The client and base URL for `path`: `/secapi/…` needs the mutual-TLS client, and
    /// fails without one rather than going out without a certificate.
    fn v2_endpoint(&self, path: &str) -> Result<(&reqwest::Client, &str), ChannelError> {
        if !path.starts_with("/secapi/") {
            return Ok((&self.http, &self.base_url));
        }
        let secapi = self.secapi.as_ref().ok_or_else(super::secapi::certificate_missing)?;
        Ok((&secapi.http, &secapi.base_url))
    }

    fn v2_transaction(
        &self,
        answer: &BTreeMap<String, String>,
        out_trade_no: &str,
        state: &str,
    ) -> Result<Transaction, ChannelError> {
        let trade_state =
            TradeState::parse(state).ok_or_else(|| ChannelError::Protocol(format!("unknown trade_state {state:?}")))?;
        if answer.get("out_trade_no").is_some_and(|number| number != out_trade_no) {
            return Err(ChannelError::Protocol("the v2 answer is about another trade".to_owned()));
        }
        let fee = |key: &str| answer.get(key).and_then(|text| text.parse::<i64>().ok());
        Ok(Transaction {
            appid: self.appid.clone(),
            mchid: self.mchid.clone(),
            out_trade_no: out_trade_no.to_owned(),
            transaction_id: answer.get("transaction_id").filter(|id| !id.is_empty()).cloned(),
            trade_type: answer.get("trade_type").cloned(),
            trade_state,
            trade_state_desc: answer.get("trade_state_desc").cloned(),
            success_time: answer.get("time_end").and_then(|text| parse_compact_beijing(text)),
            amount_total_minor: fee("total_fee"),
            payer_total_minor: fee("cash_fee"),
            payer_openid: answer.get("openid").cloned(),
        })
    }
}

fn failure(answer: &BTreeMap<String, String>) -> V2Failure {
    V2Failure {
        code: answer.get("err_code").cloned().unwrap_or_else(|| "FAIL".to_owned()),
        description: answer.get("err_code_des").cloned().unwrap_or_default(),
    }
}

fn rejected(failure: V2Failure) -> ChannelError {
    ChannelError::Rejected { status: 200, code: failure.code, message: failure.description }
}

/// v2's `time_end`, `yyyyMMddHHmmss` in Beijing time.
fn parse_compact_beijing(text: &str) -> Option<payrail_domain::Timestamp> {
    if text.len() != 14 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let spaced =
        format!("{}-{}-{} {}:{}:{}", &text[..4], &text[4..6], &text[6..8], &text[8..10], &text[10..12], &text[12..]);
    payrail_domain::decimal::parse_beijing(&spaced)
}
