//! The v3 operations: placing native (QR), JSAPI and H5 orders, querying and closing a
//! trade, refunding and querying a refund.

use payrail_domain::payment_record::JsapiParameters;
use reqwest::Method;

use super::signing;
use super::types::{JsapiOrder, OrderRequest, Refund, RefundRequest, Transaction};
use super::wire::{CodeUrlWire, H5Wire, OrderBody, PrepayWire, RefundBody, RefundWire, TransactionWire};
use super::{WechatPayClient, is_not_found};
use crate::error::ChannelError;
use crate::transport::{self, Answer};

impl WechatPayClient {
    /// Places a native (QR) order and returns its `code_url` (`weixin://wxpay/bizpayurl?pr=…`),
    /// the content of the QR code the payer scans.
    pub async fn native(&self, order: &OrderRequest) -> Result<String, ChannelError> {
        let body = OrderBody::new(&self.appid, &self.mchid, order);
        let answer = self.post_json("native", "/v3/pay/transactions/native", &body).await?;
        Ok(transport::parse::<CodeUrlWire>(&answer)?.code_url)
    }

    /// Places a JSAPI order for the payer `openid` and signs the JS bridge parameters.
    pub async fn jsapi(&self, order: &OrderRequest, openid: &str) -> Result<JsapiOrder, ChannelError> {
        let body = OrderBody::new(&self.appid, &self.mchid, order).with_payer(openid);
        let answer = self.post_json("jsapi", "/v3/pay/transactions/jsapi", &body).await?;
        let prepay_id = transport::parse::<PrepayWire>(&answer)?.prepay_id;
        let bridge = self.bridge_parameters(&prepay_id)?;
        Ok(JsapiOrder { prepay_id, bridge })
    }

    /// Places an H5 order (a mobile browser outside WeChat) and returns its `h5_url`.
    pub async fn h5(&self, order: &OrderRequest, payer_client_ip: &str) -> Result<String, ChannelError> {
        let body = OrderBody::new(&self.appid, &self.mchid, order).with_h5_scene(payer_client_ip);
        let answer = self.post_json("h5", "/v3/pay/transactions/h5", &body).await?;
        Ok(transport::parse::<H5Wire>(&answer)?.h5_url)
    }

    /// The trade under `out_trade_no`, or `None` if WeChat Pay has none (`ORDER_NOT_EXIST`):
    /// the order was never placed, and placing it again under the same number is safe.
    pub async fn query(&self, out_trade_no: &str) -> Result<Option<Transaction>, ChannelError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{}?mchid={}", path_segment(out_trade_no)?, self.mchid);
        match self.call_v3("query", Method::GET, &path, None).await {
            Ok(answer) => Ok(Some(self.transaction(&answer, out_trade_no)?)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Closes an unpaid trade (WeChat answers 204). A paid trade is `Rejected` with
    /// `ORDERPAID`, which means the payment succeeded.
    pub async fn close(&self, out_trade_no: &str) -> Result<(), ChannelError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{}/close", path_segment(out_trade_no)?);
        let body = serde_json::json!({ "mchid": self.mchid });
        self.post_json("close", &path, &body).await.map(|_| ())
    }

    /// Asks for a refund under `out_refund_no`; repeating it returns the same refund.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, ChannelError> {
        let answer = self.post_json("refund", "/v3/refund/domestic/refunds", &RefundBody::new(request)).await?;
        self.refund_from(&answer, &request.out_refund_no)
    }

    /// The refund under `out_refund_no`, or `None` if WeChat Pay has none
    /// (`RESOURCE_NOT_EXISTS`).
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, ChannelError> {
        let path = format!("/v3/refund/domestic/refunds/{}", path_segment(out_refund_no)?);
        match self.call_v3("query_refund", Method::GET, &path, None).await {
            Ok(answer) => Ok(Some(self.refund_from(&answer, out_refund_no)?)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The JS bridge parameters for `prepay_id`: `paySign` is SHA256withRSA with the
    /// merchant key over `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub fn bridge_parameters(&self, prepay_id: &str) -> Result<JsapiParameters, ChannelError> {
        let time_stamp = self.clock.now().unix_seconds().to_string();
        let nonce_str = signing::random_nonce();
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{}\n{time_stamp}\n{nonce_str}\n{package}\n", self.appid);
        let pay_sign = self
            .merchant_key
            .sign_base64(message.as_bytes())
            .map_err(|_| ChannelError::Protocol("the JS bridge parameters could not be signed".to_owned()))?;
        Ok(JsapiParameters {
            app_id: self.appid.clone(),
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".to_owned(),
            pay_sign,
        })
    }

    async fn post_json(
        &self,
        operation: &'static str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Answer, ChannelError> {
        let bytes =
            serde_json::to_vec(body).map_err(|_| ChannelError::Transient { code: "request_not_built".to_owned() })?;
        self.call_v3(operation, Method::POST, path, Some(bytes)).await
    }

    /// A queried trade, which must be this merchant's and the one asked for: an answer
    /// about another trade is not believed, whatever its signature.
    fn transaction(&self, answer: &Answer, out_trade_no: &str) -> Result<Transaction, ChannelError> {
        let transaction = transport::parse::<TransactionWire>(answer)?.into_transaction()?;
        if transaction.out_trade_no != out_trade_no || transaction.mchid != self.mchid {
            return Err(ChannelError::Protocol("the answer is about another trade or merchant".to_owned()));
        }
        Ok(transaction)
    }

    fn refund_from(&self, answer: &Answer, out_refund_no: &str) -> Result<Refund, ChannelError> {
        let refund = transport::parse::<RefundWire>(answer)?.into_refund()?;
        if refund.out_refund_no != out_refund_no {
            return Err(ChannelError::Protocol("the answer is about another refund".to_owned()));
        }
        Ok(refund)
    }
}

/// A merchant number placed in a path: WeChat's are letters, digits and `_-|*`, so
/// anything else (a `/` or `?` that would change the path) is refused before sending.
fn path_segment(number: &str) -> Result<&str, ChannelError> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'|' | b'*');
    if (1..=64).contains(&number.len()) && number.bytes().all(allowed) {
        Ok(number)
    } else {
        Err(ChannelError::Rejected {
            status: 400,
            code: "PARAM_ERROR".to_owned(),
            message: "the merchant number may hold only letters, digits and _-|*".to_owned(),
        })
    }
}
