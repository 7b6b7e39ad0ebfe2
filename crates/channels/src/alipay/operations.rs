//! The typed operations of [`AlipayClient`]: one method per Alipay API, each building its
//! `biz_content` and reading its verified answer into an outcome.

use payrail_domain::Timestamp;
use payrail_domain::decimal::format_beijing;
use serde_json::{Map, Value, json};

use super::types::{
    BarcodePayRequest, CancelOutcome, CloseOutcome, PayOutcome, PrecreateRequest, Precreated, RedirectPayRequest,
    RefundRecord, RefundRequest, Refunded, Trade, TradeStatus,
};
use super::wire::{
    CODE_BUSINESS_FAILED, CODE_USER_PAYING, CancelWire, PayingWire, PrecreateWire, RefundQueryWire, RefundWire,
    TradeWire, protocol, yuan,
};
use super::{AlipayClient, yuan_text};
use crate::error::ChannelError;

const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";

impl AlipayClient {
    /// `alipay.trade.precreate`: the QR content for the buyer to scan.
    pub async fn precreate(&self, request: &PrecreateRequest) -> Result<Precreated, ChannelError> {
        let mut biz = json!({
            "out_trade_no": request.out_trade_no,
            "total_amount": yuan_text(request.amount)?,
            "subject": request.subject,
        });
        add_time_expire(&mut biz, request.time_expire);
        let notify_url = request.notify_url.as_deref().unwrap_or_default();
        let verified =
            self.call("alipay.trade.precreate", &request.out_trade_no, &biz, &[("notify_url", notify_url)]).await?;
        if !verified.is_success() {
            return Err(verified.refusal(false));
        }
        let wire: PrecreateWire = verified.fields()?;
        if wire.out_trade_no != request.out_trade_no || wire.qr_code.is_empty() {
            return Err(protocol("the precreate answer does not match the request"));
        }
        Ok(Precreated { out_trade_no: wire.out_trade_no, qr_code: wire.qr_code })
    }

    /// `alipay.trade.pay` with `scene=bar_code`: charges the payer's payment code.
    pub async fn pay(&self, request: &BarcodePayRequest) -> Result<PayOutcome, ChannelError> {
        let mut biz = json!({
            "out_trade_no": request.out_trade_no,
            "scene": "bar_code",
            "auth_code": request.auth_code,
            "total_amount": yuan_text(request.amount)?,
            "subject": request.subject,
        });
        add_time_expire(&mut biz, request.time_expire);
        let notify_url = request.notify_url.as_deref().unwrap_or_default();
        let verified =
            self.call("alipay.trade.pay", &request.out_trade_no, &biz, &[("notify_url", notify_url)]).await?;
        match verified.status.code.as_str() {
            _ if verified.is_success() => {
                let trade = verified.fields::<TradeWire>()?.into_trade(&request.out_trade_no, TradeStatus::Success)?;
                Ok(PayOutcome::Paid(trade))
            }
            CODE_USER_PAYING => Ok(PayOutcome::UserPaying {
                out_trade_no: request.out_trade_no.clone(),
                trade_no: verified.fields::<PayingWire>()?.trade_no,
            }),
            CODE_BUSINESS_FAILED if verified.status.sub_code.as_deref() != Some("ACQ.SYSTEM_ERROR") => {
                Ok(PayOutcome::Failed {
                    sub_code: verified.reason().to_owned(),
                    sub_msg: verified.status.sub_msg.clone().unwrap_or_default(),
                })
            }
            _ => Err(verified.refusal(true)),
        }
    }

    /// `alipay.trade.query`: the trade under `out_trade_no`, or `None` if Alipay has none
    /// (for a precreated trade: the buyer has not scanned it yet).
    pub async fn query(&self, out_trade_no: &str) -> Result<Option<Trade>, ChannelError> {
        let biz = json!({ "out_trade_no": out_trade_no });
        let verified = self.call("alipay.trade.query", out_trade_no, &biz, &[]).await?;
        if verified.reason() == TRADE_NOT_EXIST {
            return Ok(None);
        }
        if !verified.is_success() {
            return Err(verified.refusal(false));
        }
        Ok(Some(verified.fields::<TradeWire>()?.into_trade(out_trade_no, TradeStatus::WaitBuyerPay)?))
    }

    /// `alipay.trade.cancel`: closes the trade if unpaid, refunds it in full if paid. For
    /// a barcode payment whose outcome is unknown or that waited too long.
    pub async fn cancel(&self, out_trade_no: &str) -> Result<CancelOutcome, ChannelError> {
        let biz = json!({ "out_trade_no": out_trade_no });
        let verified = self.call("alipay.trade.cancel", out_trade_no, &biz, &[]).await?;
        if verified.reason() == TRADE_NOT_EXIST {
            return Ok(CancelOutcome::NotFound);
        }
        let wire: CancelWire = verified.fields()?;
        if !verified.is_success() {
            // `retry_flag: Y` is Alipay saying the same cancel may succeed later.
            return Err(match wire.retry_flag.as_deref() {
                Some("Y") => ChannelError::Transient { code: verified.reason().to_owned() },
                _ => verified.refusal(true),
            });
        }
        // Alipay documents `action` as returned when the trade exists.
        match wire.action.as_deref() {
            Some("refund") => Ok(CancelOutcome::Refunded),
            Some("close") => Ok(CancelOutcome::Closed),
            None => Ok(CancelOutcome::NotFound),
            Some(_) => Err(protocol("unknown cancel action")),
        }
    }

    /// `alipay.trade.close`: closes an unpaid trade. A paid one is refused
    /// (`ACQ.TRADE_STATUS_ERROR`): query it and treat it as paid.
    pub async fn close(&self, out_trade_no: &str) -> Result<CloseOutcome, ChannelError> {
        let biz = json!({ "out_trade_no": out_trade_no });
        let verified = self.call("alipay.trade.close", out_trade_no, &biz, &[]).await?;
        if verified.reason() == TRADE_NOT_EXIST {
            return Ok(CloseOutcome::NotFound);
        }
        if !verified.is_success() {
            return Err(verified.refusal(false));
        }
        Ok(CloseOutcome::Closed)
    }

    /// `alipay.trade.refund` under the caller's `out_request_no`.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refunded, ChannelError> {
        let mut biz = json!({
            "out_trade_no": request.out_trade_no,
            "out_request_no": request.out_request_no,
            "refund_amount": yuan_text(request.amount)?,
        });
        if let (Some(reason), Some(fields)) = (&request.reason, biz.as_object_mut()) {
            fields.insert("refund_reason".to_owned(), Value::from(reason.as_str()));
        }
        let verified = self.call("alipay.trade.refund", &request.out_request_no, &biz, &[]).await?;
        if !verified.is_success() {
            return Err(verified.refusal(true));
        }
        let wire: RefundWire = verified.fields()?;
        if wire.out_trade_no != request.out_trade_no {
            return Err(protocol("the refund answer is about another out_trade_no"));
        }
        Ok(Refunded {
            out_trade_no: wire.out_trade_no,
            trade_no: wire.trade_no,
            refund_fee_total: yuan(&wire.refund_fee)?,
            fund_change: wire.fund_change == "Y",
        })
    }

    /// `alipay.trade.fastpay.refund.query`: the refund under `out_request_no`, or `None`
    /// if Alipay made none (a refund it reports is a refund that succeeded).
    pub async fn refund_query(
        &self,
        out_trade_no: &str,
        out_request_no: &str,
    ) -> Result<Option<RefundRecord>, ChannelError> {
        let biz = json!({ "out_trade_no": out_trade_no, "out_request_no": out_request_no });
        let verified = self.call("alipay.trade.fastpay.refund.query", out_request_no, &biz, &[]).await?;
        if verified.reason() == TRADE_NOT_EXIST {
            return Ok(None);
        }
        if !verified.is_success() {
            return Err(verified.refusal(false));
        }
        let wire: RefundQueryWire = verified.fields()?;
        let succeeded = matches!(wire.refund_status.as_deref(), None | Some("REFUND_SUCCESS"));
        match wire.refund_amount {
            Some(amount) if succeeded && wire.out_request_no.as_deref() == Some(out_request_no) => {
                Ok(Some(RefundRecord {
                    out_trade_no: out_trade_no.to_owned(),
                    out_request_no: out_request_no.to_owned(),
                    refund_amount: yuan(&amount)?,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The signed URL of `alipay.trade.page.pay` (the desktop cashier,
    /// `FAST_INSTANT_TRADE_PAY`). No call is made; the browser goes there.
    pub fn page_pay_url(&self, request: &RedirectPayRequest) -> Result<String, ChannelError> {
        self.redirect_pay_url("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY", request)
    }

    /// The signed URL of `alipay.trade.wap.pay` (the mobile cashier, `QUICK_WAP_WAY`).
    pub fn wap_pay_url(&self, request: &RedirectPayRequest) -> Result<String, ChannelError> {
        self.redirect_pay_url("alipay.trade.wap.pay", "QUICK_WAP_WAY", request)
    }

    fn redirect_pay_url(
        &self,
        method: &'static str,
        product_code: &str,
        request: &RedirectPayRequest,
    ) -> Result<String, ChannelError> {
        let mut biz = json!({
            "out_trade_no": request.out_trade_no,
            "total_amount": yuan_text(request.amount)?,
            "subject": request.subject,
            "product_code": product_code,
        });
        add_time_expire(&mut biz, request.time_expire);
        let extra = [
            ("notify_url", request.notify_url.as_deref().unwrap_or_default()),
            ("return_url", request.return_url.as_deref().unwrap_or_default()),
        ];
        self.redirect_url(method, &biz, &extra)
    }
}

/// Adds `time_expire` (Beijing time) where the caller set one.
fn add_time_expire(biz: &mut Value, time_expire: Option<Timestamp>) {
    if let (Some(at), Some(fields)) = (time_expire, biz.as_object_mut()) {
        let fields: &mut Map<String, Value> = fields;
        fields.insert("time_expire".to_owned(), Value::from(format_beijing(at)));
    }
}
