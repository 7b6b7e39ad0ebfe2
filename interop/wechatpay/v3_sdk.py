"""Drives Payrail's WeChat Pay simulator with the unmodified `wechatpayv3` SDK.

Usage: v3_sdk.py <credentials.json>, the file holding the simulator's credentials for one
merchant (base_url, mchid, appid, merchant_serial_no, merchant_private_key_pem,
platform_public_key_id, platform_public_key_pem, apiv3_key).

The SDK runs in public-key mode with its gateway pointed at the simulator, so every answer
(the 204 of close included) is verified by the SDK itself, and every request it signs is
verified by the simulator. Its `callback()` verifies and decrypts the simulator's
notifications, received here on a local HTTP server. Exits non-zero on the first mismatch.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

RECEIVED = []


class NotifyHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        RECEIVED.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def check(condition, what):
    if not condition:
        sys.exit(f"wechatpayv3 interop failed: {what}")


def wait_for_notifications(count):
    for _ in range(500):
        if len(RECEIVED) >= count:
            return RECEIVED[count - 1]
        time.sleep(0.01)
    sys.exit(f"wechatpayv3 interop failed: fewer than {count} notifications arrived")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        credentials = json.load(file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotifyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wxpay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=credentials["mchid"],
        private_key=credentials["merchant_private_key_pem"],
        cert_serial_no=credentials["merchant_serial_no"],
        appid=credentials["appid"],
        apiv3_key=credentials["apiv3_key"],
        notify_url=f"http://127.0.0.1:{server.server_address[1]}/notify",
        public_key=credentials["platform_public_key_pem"],
        public_key_id=credentials["platform_public_key_id"],
        timeout=(5, 10),
    )
    wxpay._core._gate_way = credentials["base_url"]
    suffix = str(int(time.time() * 1000))

    code, message = wxpay.pay(description="interop", out_trade_no=f"PY{suffix}", amount={"total": 1234})
    check(code == 200, f"native answered {code} {message}")
    code_url = json.loads(message)["code_url"]
    check(code_url.startswith("weixin://wxpay/bizpayurl?pr="), code_url)

    code, message = wxpay.query(out_trade_no=f"PY{suffix}")
    check(code == 200 and json.loads(message)["trade_state"] == "NOTPAY", f"query {code} {message}")

    code, _ = wxpay.pay(description="to close", out_trade_no=f"PC{suffix}", amount={"total": 1})
    code, message = wxpay.close(out_trade_no=f"PC{suffix}")
    check(code == 204, f"close answered {code} {message}")

    token = code_url.split("pr=", 1)[1]
    paid = requests.post(f"{credentials['base_url']}/buyer/{token}/pay", timeout=10)
    check(paid.status_code == 200, f"buyer page answered {paid.status_code}")
    headers, body = wait_for_notifications(1)
    result = wxpay.callback(headers, body)
    check(result is not None, "callback refused the simulator's notification")
    check(result["event_type"] == "TRANSACTION.SUCCESS", result["event_type"])
    check(result["resource"]["trade_state"] == "SUCCESS", result["resource"])
    check(result["resource"]["out_trade_no"] == f"PY{suffix}", result["resource"])
    check(wxpay.callback(headers, body.replace(b'"id"', b'"Id"')) is None, "callback accepted a changed body")

    code, message = wxpay.query(out_trade_no=f"PY{suffix}")
    check(code == 200 and json.loads(message)["trade_state"] == "SUCCESS", f"query {code} {message}")

    amount = {"refund": 1000, "total": 1234, "currency": "CNY"}
    code, message = wxpay.refund(out_refund_no=f"PR{suffix}", amount=amount, out_trade_no=f"PY{suffix}")
    check(code == 200 and json.loads(message)["status"] == "PROCESSING", f"refund {code} {message}")
    code, message = wxpay.query_refund(out_refund_no=f"PR{suffix}")
    check(code == 200 and json.loads(message)["status"] == "SUCCESS", f"refund query {code} {message}")
    headers, body = wait_for_notifications(2)
    result = wxpay.callback(headers, body)
    check(result is not None and result["event_type"] == "REFUND.SUCCESS", f"refund callback {result}")
    check(result["resource"]["refund_status"] == "SUCCESS", result["resource"])

    code, message = wxpay.query(out_trade_no="PYunknown0001")
    check(code == 404 and json.loads(message)["code"] == "ORDER_NOT_EXIST", f"unknown query {code} {message}")
    print("wechatpayv3 interop ok: native, query, close (204), buyer pay, callback, refund, refund query")


if __name__ == "__main__":
    main()
