"""Drives Payrail's WeChat Pay simulator's v2 XML API with the unmodified PyPI `wechatpy`.

Usage: wechatpy_v2.py <credentials.json> <other-merchant.json>, the simulator's credentials
for one merchant (appid, mchid, v2_key, base_url, secapi_base_url,
merchant_certificate_pem, merchant_private_key_pem, ca_certificate_pem) and for another.

`wechatpy.pay.WeChatPay` signs with MD5, WeChat's default (it never sends `sign_type`), and
its `API_BASE_URL` is pointed at the simulator. The SDK checks `return_code` and
`result_code` but not the answer's `sign`, so each answer is also checked with the SDK's
own `check_signature`. `micropay.create`, `order.query` (by `out_trade_no` and by
`transaction_id`) go to the plain base URL; `refund.apply` and `order.reverse` go to the
secapi listener over mutual TLS with the merchant certificate (`mch_cert`, `mch_key`), the
simulator's CA trusted. Prints one line starting "wechatpy interop ok", or exits non-zero at
the first mismatch.
"""

import json
import os
import sys
import tempfile
import time

import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

CODE_PAID = "134610000000000001"
CODE_USER_PAYING_THEN_SUCCESS = "134610000000000002"
CODE_USER_PAYING_FOREVER = "134610000000000003"


def check(condition, what):
    if not condition:
        sys.exit(f"wechatpy interop failed: {what}")


def pem_file(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return path


def client(credentials, base_url, directory=None):
    """A WeChatPay for `base_url`; with `directory`, one that presents the merchant certificate."""
    cert = key = None
    if directory:
        cert = pem_file(directory, f"{credentials['mchid']}-cert.pem", credentials["merchant_certificate_pem"])
        key = pem_file(directory, f"{credentials['mchid']}-key.pem", credentials["merchant_private_key_pem"])
    wxpay = WeChatPay(
        appid=credentials["appid"], api_key=credentials["v2_key"], mch_id=credentials["mchid"],
        mch_cert=cert, mch_key=key, timeout=10,
    )
    wxpay.API_BASE_URL = base_url.rstrip("/") + "/"
    if directory:
        trust_simulator_ca(wxpay, pem_file(directory, "ca.pem", credentials["ca_certificate_pem"]))
    return wxpay


def trust_simulator_ca(wxpay, ca_path):
    """Makes the SDK's requests session trust the secapi listener's CA, whatever the machine's
    REQUESTS_CA_BUNDLE says (requests lets that variable override a session's `verify`)."""
    wxpay._http.trust_env = False
    wxpay._http.verify = ca_path


def signed(wxpay, answer, what):
    check(wxpay.check_signature(dict(answer)), f"{what}: the answer's MD5 sign does not verify")
    return answer


def fails_with(call, err_code, what):
    try:
        call()
    except WeChatPayException as error:
        check(error.errcode == err_code, f"{what}: {error.return_code} {error.result_code} {error.errcode}")
    else:
        sys.exit(f"wechatpy interop failed: {what} succeeded")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        credentials = json.load(file)
    with open(sys.argv[2], encoding="utf-8") as file:
        other = json.load(file)
    wxpay = client(credentials, credentials["base_url"])
    suffix = str(int(time.time() * 1000))

    paid = signed(wxpay, wxpay.micropay.create(
        body="wechatpy tea", total_fee=1234, auth_code=CODE_PAID, client_ip="127.0.0.1", out_trade_no=f"WPY{suffix}",
    ), "micropay")
    check(paid["trade_type"] == "MICROPAY" and paid["total_fee"] == "1234", f"micropay {paid}")
    by_id = signed(wxpay, wxpay.order.query(transaction_id=paid["transaction_id"]), "orderquery by transaction_id")
    check(by_id["out_trade_no"] == f"WPY{suffix}" and by_id["trade_state"] == "SUCCESS", f"orderquery {by_id}")

    fails_with(lambda: wxpay.micropay.create(
        body="wait", total_fee=5, auth_code=CODE_USER_PAYING_THEN_SUCCESS, client_ip="127.0.0.1",
        out_trade_no=f"WPW{suffix}",
    ), "USERPAYING", "micropay user paying")
    states = [signed(wxpay, wxpay.order.query(out_trade_no=f"WPW{suffix}"), "orderquery")["trade_state"]
              for _ in range(2)]
    check(states == ["USERPAYING", "SUCCESS"], f"orderquery states {states}")
    fails_with(lambda: wxpay.order.query(out_trade_no="WPYunknown"), "ORDERNOTEXIST", "orderquery unknown")

    with tempfile.TemporaryDirectory() as directory:
        secapi = client(credentials, credentials["secapi_base_url"], directory)
        refund = signed(secapi, secapi.refund.apply(
            total_fee=1234, refund_fee=234, out_refund_no=f"WPR{suffix}", transaction_id=paid["transaction_id"],
        ), "refund")
        check(refund["refund_fee"] == "234" and refund["out_trade_no"] == f"WPY{suffix}", f"refund {refund}")

        fails_with(lambda: wxpay.micropay.create(
            body="never", total_fee=7, auth_code=CODE_USER_PAYING_FOREVER, client_ip="127.0.0.1",
            out_trade_no=f"WPF{suffix}",
        ), "USERPAYING", "micropay never confirmed")
        reversed_ = signed(secapi, secapi.order.reverse(out_trade_no=f"WPF{suffix}"), "reverse")
        check(reversed_["recall"] == "N", f"reverse {reversed_}")
        state = wxpay.order.query(out_trade_no=f"WPF{suffix}")["trade_state"]
        check(state == "REVOKED", f"after reverse {state}")

        stranger = client(other, credentials["secapi_base_url"], directory)
        stranger.appid, stranger.mch_id, stranger.api_key = credentials["appid"], credentials["mchid"], credentials["v2_key"]
        try:
            stranger.order.reverse(out_trade_no=f"WPY{suffix}")
        except WeChatPayException as error:
            check(error.return_code == "FAIL", f"another merchant's certificate: {error}")
        else:
            sys.exit("wechatpy interop failed: another merchant's certificate reversed an order")
        bare = client(credentials, credentials["secapi_base_url"])
        trust_simulator_ca(bare, secapi._http.verify)
        try:
            bare.order.reverse(out_trade_no=f"WPY{suffix}")
        except (requests.exceptions.SSLError, requests.exceptions.ConnectionError):
            pass
        else:
            sys.exit("wechatpy interop failed: secapi answered without a client certificate")
    print("wechatpy interop ok: micropay, orderquery, refund and reverse over mutual TLS, MD5 signs checked")


if __name__ == "__main__":
    main()
