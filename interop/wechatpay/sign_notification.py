"""Builds a v3 notification the way WeChat Pay sends one, signed with the `wechatpayv3`
SDK's own `utils.rsa_sign` (and its key loader), the resource sealed with AES-256-GCM from
`cryptography` (the SDK's own dependency; the SDK has a decrypt helper but no encrypt one),
so that Payrail's notification verifier can be checked against an independent signer.

Usage: sign_notification.py <input.json>, the same input as sign_notification.js. Prints
{"headers":{…},"body":"…"}.
"""

import base64
import json
import secrets
import string
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3.utils import load_private_key, rsa_sign


def nonce(length):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        given = json.load(file)
    resource_nonce = nonce(12)
    sealed = AESGCM(given["apiv3_key"].encode()).encrypt(
        resource_nonce.encode(), json.dumps(given["resource"]).encode(), b"transaction"
    )
    body = json.dumps({
        "id": "EV-2018022511223320873",
        "create_time": "2026-05-29T04:26:40+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(), "associated_data": "transaction",
            "nonce": resource_nonce,
        },
    })
    timestamp = str(int(time.time()))
    header_nonce = nonce(32)
    key = load_private_key(given["platform_private_key_pem"])
    signature = rsa_sign(key, f"{timestamp}\n{header_nonce}\n{body}\n")
    print(json.dumps({
        "headers": {
            "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": header_nonce, "Wechatpay-Signature": signature,
            "Wechatpay-Serial": given["platform_public_key_id"],
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        },
        "body": body,
    }))


if __name__ == "__main__":
    main()
