"""Drives Payrail's Alipay simulator with the unmodified PyPI `python-alipay-sdk` (fzlee).

Usage: python_alipay_sdk.py <input.json>, the file holding
{ gateway_url, app_id, app_private_key_pem, alipay_public_key_pem, code_paid,
  code_paying_then_paid, queries_until_paid, code_paying_forever }.

The SDK's `AliPay` (RSA2) gets its gateway pointed at the simulator (`_gateway`, the
attribute its `debug` switch sets). It sends every parameter in a GET query string, and
verifies every answer itself (`AliPayValidationError` on a bad signature), so each call
below checks the simulator's request verification and answer signing. Amounts are passed
as numbers, as the SDK's own examples do. `verify()` checks the notification the simulator
posts to a local HTTP server. Prints one line starting "python-alipay-sdk interop ok", or
exits non-zero at the first mismatch.
"""

import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alipay import AliPay
from alipay.exceptions import AliPayException

RECEIVED = []


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
        sys.exit(f"python-alipay-sdk interop failed: {what}")


def sdk(credentials, app_id=None):
    alipay = AliPay(
        appid=app_id or credentials["app_id"],
        app_notify_url=None,
        app_private_key_string=credentials["app_private_key_pem"],
        alipay_public_key_string=credentials["alipay_public_key_pem"],
        sign_type="RSA2",
    )
    alipay._gateway = credentials["gateway_url"]
    return alipay


def wait_for_notification():
    for _ in range(500):
        if RECEIVED:
            return RECEIVED[0]
        time.sleep(0.01)
    sys.exit("python-alipay-sdk interop failed: no notification arrived")


def qr_trade_paid_and_notified(alipay, notify_url, suffix):
    out_trade_no = f"PYQ{suffix}"
    created = alipay.api_alipay_trade_precreate(
        subject="python tea", out_trade_no=out_trade_no, total_amount=12.3, notify_url=notify_url
    )
    check(created["code"] == "10000" and created["out_trade_no"] == out_trade_no, f"precreate {created}")
    unscanned = alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    check(unscanned.get("sub_code") == "ACQ.TRADE_NOT_EXIST", f"query before the scan {unscanned}")
    urllib.request.urlopen(created["qr_code"], timeout=10).read()
    paid = urllib.request.urlopen(urllib.request.Request(f"{created['qr_code']}/pay", method="POST"), timeout=10)
    check(paid.status == 200, f"buyer page answered {paid.status}")
    queried = alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    check(queried["trade_status"] == "TRADE_SUCCESS" and queried["total_amount"] == "12.30", f"query {queried}")

    data = dict(urllib.parse.parse_qsl(wait_for_notification(), keep_blank_values=True))
    check(data["out_trade_no"] == out_trade_no and data["trade_status"] == "TRADE_SUCCESS", f"notification {data}")
    signature = data.pop("sign")
    check(alipay.verify(dict(data), signature), "verify() refused the simulator's notification")
    data["total_amount"] = "0.01"
    check(not alipay.verify(dict(data), signature), "verify() accepted a changed notification")
    return queried["trade_no"]


def payment_codes(alipay, credentials, suffix):
    paid = alipay.api_alipay_trade_pay(
        out_trade_no=f"PYP{suffix}", scene="bar_code", auth_code=credentials["code_paid"],
        subject="python coffee", total_amount=8.8,
    )
    check(paid["code"] == "10000" and paid["total_amount"] == "8.80", f"pay {paid}")

    waiting = alipay.api_alipay_trade_pay(
        out_trade_no=f"PYW{suffix}", scene="bar_code", auth_code=credentials["code_paying_then_paid"],
        subject="python wait", total_amount="1.00",
    )
    check(waiting["code"] == "10003", f"pay user paying {waiting}")
    for _ in range(credentials["queries_until_paid"]):
        status = alipay.api_alipay_trade_query(trade_no=waiting["trade_no"])["trade_status"]
    check(status == "TRADE_SUCCESS", f"user paying then {status}")

    forever = alipay.api_alipay_trade_pay(
        out_trade_no=f"PYF{suffix}", scene="bar_code", auth_code=credentials["code_paying_forever"],
        subject="python never", total_amount=2,
    )
    cancelled = alipay.api_alipay_trade_cancel(trade_no=forever["trade_no"])
    check(cancelled["code"] == "10000" and cancelled["action"] == "close", f"cancel by trade_no {cancelled}")
    cancelled = alipay.api_alipay_trade_cancel(out_trade_no=f"PYP{suffix}")
    check(cancelled["code"] == "10000" and cancelled["action"] == "refund", f"cancel a paid trade {cancelled}")

    invalid = alipay.api_alipay_trade_pay(
        out_trade_no=f"PYI{suffix}", scene="bar_code", auth_code="1234", subject="x", total_amount=1
    )
    check(invalid["sub_code"] == "ACQ.PAYMENT_AUTH_CODE_INVALID", f"invalid payment code {invalid}")


def refunds_and_close(alipay, trade_no, suffix):
    refunded = alipay.api_alipay_trade_refund(refund_amount=1, trade_no=trade_no, out_request_no="PYR1")
    check(refunded["fund_change"] == "Y" and refunded["refund_fee"] == "1.00", f"refund {refunded}")
    again = alipay.api_alipay_trade_refund(refund_amount="1.00", trade_no=trade_no, out_request_no="PYR1")
    check(again["fund_change"] == "N" and again["refund_fee"] == "1.00", f"refund repeated {again}")
    found = alipay.api_alipay_trade_fastpay_refund_query(out_request_no="PYR1", trade_no=trade_no)
    check(found["refund_amount"] == "1.00", f"refund query {found}")
    refused = alipay.api_alipay_trade_close(trade_no=trade_no)
    check(refused["sub_code"] == "ACQ.TRADE_STATUS_ERROR", f"close a paid trade {refused}")

    waiting = alipay.api_alipay_trade_pay(
        out_trade_no=f"PYC{suffix}", scene="bar_code", auth_code="280000000000000003", subject="c", total_amount=3
    )
    closed = alipay.api_alipay_trade_close(out_trade_no=f"PYC{suffix}", operator_id="python")
    check(closed["code"] == "10000" and closed["trade_no"] == waiting["trade_no"], f"close {closed}")
    check(alipay.api_alipay_trade_query(out_trade_no=f"PYC{suffix}")["trade_status"] == "TRADE_CLOSED", "closed")


def strangers_are_refused(credentials):
    try:
        sdk(credentials, app_id="2021000000000000").api_alipay_trade_query(out_trade_no="x")
    except AliPayException as error:
        # The SDK raises on an answer without `sign`, which is how Alipay answers an app it
        # does not know (it has no key of that app's to sign with).
        check("isv.invalid-app-id" in str(error), f"unknown app {error}")
    else:
        sys.exit("python-alipay-sdk interop failed: an unknown app got an answer the SDK accepted")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        credentials = json.load(file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotifyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{server.server_address[1]}/alipay/notify"
    alipay = sdk(credentials)
    suffix = str(int(time.time() * 1000))
    trade_no = qr_trade_paid_and_notified(alipay, notify_url, suffix)
    payment_codes(alipay, credentials, suffix)
    refunds_and_close(alipay, trade_no, suffix)
    strangers_are_refused(credentials)
    print("python-alipay-sdk interop ok: precreate, query, verify, pay, cancel, refund, refund query, close")


if __name__ == "__main__":
    main()
