"""Drives Payrail's Alipay simulator with Alipay's own Python SDK, PyPI `alipay-sdk-python`
(`alipay.aop.api`), unmodified but for one transport function.

Usage: official_sdk.py <input.json>, the file holding
{ gateway_url, app_id, app_private_key_pem, alipay_public_key_pem, code_paid,
  code_paying_then_paid, queries_until_paid, code_paying_forever }.

`DefaultAlipayClient` signs every request itself (RSA2: common parameters in the query
string, `biz_content` in the form body) and verifies every answer itself: it cuts the
`<method>_response` object's exact text out of the answer and checks `sign` over it,
raising on a mismatch. So each call below checks the simulator's request verification and
answer signing. Notifications are checked with the SDK's own `get_sign_content` and
`verify_with_rsa`, the pieces its documentation assembles for that.

The one patch: the SDK's `WebUtils.get_http_connection` drops the port of the gateway URL
(it connects to port 80 or 443 and then fails concatenating the port to a string), and the
simulator listens on a port the system picks. The replacement below builds the same
connection with the URL's port; signing, encoding and verification stay the SDK's. Prints
one line starting "alipay-sdk-python interop ok", or exits non-zero at the first mismatch.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import rsa

import alipay.aop.api.util.WebUtils as web_utils
from Crypto.PublicKey import RSA
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.domain.AlipayTradeCancelModel import AlipayTradeCancelModel
from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
from alipay.aop.api.domain.AlipayTradeFastpayRefundQueryModel import AlipayTradeFastpayRefundQueryModel
from alipay.aop.api.domain.AlipayTradePagePayModel import AlipayTradePagePayModel
from alipay.aop.api.domain.AlipayTradePayModel import AlipayTradePayModel
from alipay.aop.api.domain.AlipayTradePrecreateModel import AlipayTradePrecreateModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.request.AlipayTradeCancelRequest import AlipayTradeCancelRequest
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradePagePayRequest import AlipayTradePagePayRequest
from alipay.aop.api.request.AlipayTradePayRequest import AlipayTradePayRequest
from alipay.aop.api.request.AlipayTradePrecreateRequest import AlipayTradePrecreateRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.util.SignatureUtils import get_sign_content, verify_with_rsa

RECEIVED = []


def get_http_connection(url, query_string, timeout):
    """The SDK's own function, keeping the URL's port (see the module documentation)."""
    parsed = urllib.parse.urlparse(url)
    connection_class = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(host=parsed.hostname, port=parsed.port, timeout=timeout)
    return f"{parsed.path}?{query_string}", connection


web_utils.get_http_connection = get_http_connection


class NotifyHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        RECEIVED.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args):
        pass


def check(condition, what):
    if not condition:
        sys.exit(f"alipay-sdk-python interop failed: {what}")


def pkcs1(pkcs8_pem):
    """The app key as this SDK reads it: PKCS#1, the form Alipay's key tool makes for every
    language but Java. The sandbox hands out PKCS#8, as it does for Java."""
    return RSA.import_key(pkcs8_pem).export_key(pkcs=1).decode()


def client(credentials, app_id=None):
    config = AlipayClientConfig()
    config.server_url = credentials["gateway_url"]
    config.app_id = app_id or credentials["app_id"]
    config.app_private_key = pkcs1(credentials["app_private_key_pem"])
    config.alipay_public_key = credentials["alipay_public_key_pem"]
    config.sign_type = "RSA2"
    return DefaultAlipayClient(alipay_client_config=config)


def call(alipay, request_class, model_class, notify_url=None, **fields):
    """Executes one API call with a model holding `fields`; the answer object, parsed."""
    model = model_class()
    for name, value in fields.items():
        setattr(model, name, value)
    request = request_class(biz_model=model)
    if notify_url:
        request.notify_url = notify_url
    return json.loads(alipay.execute(request))


def wait_for_notification(number=1):
    for _ in range(500):
        if len(RECEIVED) >= number:
            return RECEIVED[number - 1]
        time.sleep(0.01)
    sys.exit(f"alipay-sdk-python interop failed: notification {number} never arrived")


def notification_verifies(credentials, data):
    fields = {key: value for key, value in data.items() if key not in ("sign", "sign_type")}
    message = get_sign_content(fields).encode("utf-8")
    try:
        return verify_with_rsa(credentials["alipay_public_key_pem"], message, data["sign"])
    except rsa.VerificationError:  # how the SDK says no
        return False


def qr_trade_paid_and_notified(alipay, credentials, notify_url, suffix):
    out_trade_no = f"AOQ{suffix}"
    created = call(alipay, AlipayTradePrecreateRequest, AlipayTradePrecreateModel, notify_url=notify_url,
                   out_trade_no=out_trade_no, total_amount="12.30", subject="official tea")
    check(created["code"] == "10000" and created["out_trade_no"] == out_trade_no, f"precreate {created}")
    unscanned = call(alipay, AlipayTradeQueryRequest, AlipayTradeQueryModel, out_trade_no=out_trade_no)
    check(unscanned.get("sub_code") == "ACQ.TRADE_NOT_EXIST", f"query before the scan {unscanned}")
    urllib.request.urlopen(created["qr_code"], timeout=10).read()
    paid = urllib.request.urlopen(urllib.request.Request(f"{created['qr_code']}/pay", method="POST"), timeout=10)
    check(paid.status == 200, f"buyer page answered {paid.status}")
    queried = call(alipay, AlipayTradeQueryRequest, AlipayTradeQueryModel, out_trade_no=out_trade_no)
    check(queried["trade_status"] == "TRADE_SUCCESS" and queried["total_amount"] == "12.30", f"query {queried}")

    data = dict(urllib.parse.parse_qsl(wait_for_notification(), keep_blank_values=True))
    check(data["out_trade_no"] == out_trade_no and data["trade_status"] == "TRADE_SUCCESS", f"notification {data}")
    check(notification_verifies(credentials, data), "the SDK's verify_with_rsa refused the simulator's notification")
    check(not notification_verifies(credentials, {**data, "total_amount": "0.01"}), "a changed notification verified")
    return queried["trade_no"]


def voucher_paid_and_notified(alipay, credentials, notify_url, suffix):
    """A QR trade paid in part with the sandbox voucher: its notification carries
    `voucher_detail_list` and `fund_bill_list` as JSON text, and still verifies."""
    out_trade_no = f"AOV{suffix}"
    created = call(alipay, AlipayTradePrecreateRequest, AlipayTradePrecreateModel, notify_url=notify_url,
                   out_trade_no=out_trade_no, total_amount="12.30", subject="official voucher")
    urllib.request.urlopen(created["qr_code"], timeout=10).read()
    request = urllib.request.Request(f"{created['qr_code']}/pay_with_coupon", method="POST")
    check(urllib.request.urlopen(request, timeout=10).status == 200, "the buyer page took no voucher")
    data = dict(urllib.parse.parse_qsl(wait_for_notification(2), keep_blank_values=True))
    check(data["out_trade_no"] == out_trade_no and data["buyer_pay_amount"] == "11.30", f"notification {data}")
    check(json.loads(data["voucher_detail_list"])[0]["amount"] == "1.00", f"vouchers {data}")
    check(notification_verifies(credentials, data), "a notification with a voucher did not verify")
    queried = call(alipay, AlipayTradeQueryRequest, AlipayTradeQueryModel, out_trade_no=out_trade_no)
    check(queried["buyer_pay_amount"] == "11.30" and queried["receipt_amount"] == "12.30", f"query {queried}")


def payment_codes(alipay, credentials, suffix):
    pay = lambda number, code, amount: call(  # noqa: E731
        alipay, AlipayTradePayRequest, AlipayTradePayModel,
        out_trade_no=f"AO{number}{suffix}", scene="bar_code", auth_code=code, subject="official", total_amount=amount,
    )
    paid = pay("P", credentials["code_paid"], "8.80")
    check(paid["code"] == "10000" and paid["total_amount"] == "8.80", f"pay {paid}")
    waiting = pay("W", credentials["code_paying_then_paid"], "1.00")
    check(waiting["code"] == "10003", f"pay user paying {waiting}")
    for _ in range(credentials["queries_until_paid"]):
        status = call(alipay, AlipayTradeQueryRequest, AlipayTradeQueryModel, trade_no=waiting["trade_no"])
    check(status["trade_status"] == "TRADE_SUCCESS", f"user paying then {status}")
    forever = pay("F", credentials["code_paying_forever"], "2.00")
    cancelled = call(alipay, AlipayTradeCancelRequest, AlipayTradeCancelModel, out_trade_no=forever["out_trade_no"])
    check(cancelled["code"] == "10000" and cancelled["action"] == "close", f"cancel {cancelled}")
    invalid = pay("I", "1234", "1.00")
    check(invalid["sub_code"] == "ACQ.PAYMENT_AUTH_CODE_INVALID", f"invalid payment code {invalid}")


def refunds_and_close(alipay, trade_no, suffix):
    refund = lambda amount: call(  # noqa: E731
        alipay, AlipayTradeRefundRequest, AlipayTradeRefundModel,
        trade_no=trade_no, refund_amount=amount, out_request_no=f"AOR{suffix}",
    )
    refunded = refund("1.00")
    check(refunded["fund_change"] == "Y" and refunded["refund_fee"] == "1.00", f"refund {refunded}")
    again = refund("1.00")
    check(again["fund_change"] == "N", f"refund repeated {again}")
    found = call(alipay, AlipayTradeFastpayRefundQueryRequest, AlipayTradeFastpayRefundQueryModel,
                 trade_no=trade_no, out_request_no=f"AOR{suffix}")
    check(found["refund_amount"] == "1.00", f"refund query {found}")
    refused = call(alipay, AlipayTradeCloseRequest, AlipayTradeCloseModel, trade_no=trade_no)
    check(refused["sub_code"] == "ACQ.TRADE_STATUS_ERROR", f"close a paid trade {refused}")


def cashier_page(alipay, suffix):
    model = AlipayTradePagePayModel()
    model.out_trade_no, model.total_amount, model.subject = f"AOG{suffix}", "3.00", "official page"
    model.product_code = "FAST_INSTANT_TRADE_PAY"
    url = alipay.page_execute(AlipayTradePagePayRequest(biz_model=model), http_method="GET")
    page = urllib.request.urlopen(url, timeout=10)
    check(page.status == 200 and "/buyer/" in page.geturl(), f"the cashier URL led to {page.geturl()}")


def strangers_are_refused(credentials):
    try:
        call(client(credentials, app_id="2021000000000000"), AlipayTradeQueryRequest, AlipayTradeQueryModel,
             out_trade_no="x")
    except Exception as error:  # the SDK raises on an answer without `sign`
        check("isv.invalid-app-id" in str(error), f"unknown app {error}")
    else:
        sys.exit("alipay-sdk-python interop failed: an unknown app got an answer the SDK accepted")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        credentials = json.load(file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotifyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{server.server_address[1]}/alipay/notify"
    alipay = client(credentials)
    suffix = str(int(time.time() * 1000))
    trade_no = qr_trade_paid_and_notified(alipay, credentials, notify_url, suffix)
    voucher_paid_and_notified(alipay, credentials, notify_url, suffix)
    payment_codes(alipay, credentials, suffix)
    refunds_and_close(alipay, trade_no, suffix)
    cashier_page(alipay, suffix)
    strangers_are_refused(credentials)
    print("alipay-sdk-python interop ok: precreate, query, verify (a voucher too), pay, cancel, refund, refund query,"
          " close, page pay")


if __name__ == "__main__":
    main()
