// Builds a v3 notification the way WeChat Pay sends one, with the
// `wechatpay-axios-plugin` SDK's own primitives (`Aes.AesGcm.encrypt`, `Rsa.sign`,
// `Formatter`), so that Payrail's notification verifier can be checked against an
// independent signer.
//
// Usage: node sign_notification.js <input.json>, the input holding platform_private_key_pem,
// platform_public_key_id, apiv3_key and resource (the plaintext object). Prints
// {"headers":{…},"body":"…"}.
'use strict';

const fs = require('fs');
const { Aes, Rsa, Formatter } = require('wechatpay-axios-plugin');

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nonce = Formatter.nonce(12);
const ciphertext = Aes.AesGcm.encrypt(JSON.stringify(input.resource), input.apiv3_key, nonce, 'transaction');
const body = JSON.stringify({
  id: 'EV-2018022511223320873',
  create_time: '2026-05-29T04:26:40+08:00',
  resource_type: 'encrypt-resource',
  event_type: 'TRANSACTION.SUCCESS',
  summary: '支付成功',
  resource: {
    original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce,
  },
});
const timestamp = String(Formatter.timestamp());
const headerNonce = Formatter.nonce();
const signature = Rsa.sign(Formatter.response(timestamp, headerNonce, body), input.platform_private_key_pem);
process.stdout.write(JSON.stringify({
  headers: {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': headerNonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': input.platform_public_key_id,
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  },
  body,
}));
