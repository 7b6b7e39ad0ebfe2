// Drives Payrail's WeChat Pay simulator's `/secapi/pay/reverse` and `/secapi/pay/refund`
// with the unmodified
// `wechatpay-axios-plugin` SDK over mutual TLS: the SDK presents the merchant API
// certificate through its `merchant` option ({cert, key}, passed to `https.Agent` when a
// request has `security: true` and the base URL is https), trusting the simulator's CA.
//
// A micropay over plain HTTP, a partial refund of it over TLS, then the reverse over TLS
// (answers checked by the SDK's verifier), an orderquery that shows REVOKED, and two refusals: no client certificate
// (the TLS handshake fails, no answer) and another merchant's certificate (WeChat's XML
// error, return_code=FAIL).
//
// Usage: node v2_secapi.js <credentials.json> <other merchant's credentials.json> <payment code>
'use strict';

const fs = require('fs');
const https = require('https');
const { Wechatpay } = require('wechatpay-axios-plugin');

function check(condition, what) {
  if (!condition) {
    console.error(`wechatpay-axios-plugin secapi interop failed: ${what}`);
    process.exit(1);
  }
}

function client(credentials, baseURL, merchant) {
  return new Wechatpay({
    mchid: credentials.mchid,
    serial: credentials.merchant_serial_no,
    privateKey: credentials.merchant_private_key_pem,
    certs: { [credentials.platform_public_key_id]: credentials.platform_public_key_pem },
    secret: credentials.v2_key,
    baseURL: `${baseURL}/`,
    merchant,
  });
}

function reverseFields(credentials, outTradeNo) {
  return {
    appid: credentials.appid, mch_id: credentials.mchid, sign_type: 'HMAC-SHA256', out_trade_no: outTradeNo,
  };
}

/** What a failed call threw: the answer's fields, or the error when there was no answer. */
async function refusal(call) {
  try {
    await call();
  } catch (error) {
    return { data: error.response && error.response.data, error };
  }
  return undefined;
}

async function main() {
  const credentials = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const other = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const authCode = process.argv[4];
  const ca = credentials.ca_certificate_pem;
  const plain = client(credentials, credentials.base_url);
  const outTradeNo = `JSR${Date.now()}`;
  const paid = await plain.v2.pay.micropay.post({
    ...reverseFields(credentials, outTradeNo),
    body: 'interop reverse', total_fee: 1234, spbill_create_ip: '192.0.2.10', auth_code: authCode,
  });
  check(paid.data.result_code === 'SUCCESS', `micropay ${JSON.stringify(paid.data)}`);

  const anonymous = client(credentials, credentials.secapi_base_url);
  const bare = await refusal(() => anonymous.v2.secapi.pay.reverse.post(
    reverseFields(credentials, outTradeNo),
    { security: true, httpsAgent: new https.Agent({ ca }) },
  ));
  check(bare && !bare.data, `no certificate was answered: ${bare && JSON.stringify(bare.data)}`);
  console.log(`without a certificate: ${bare.error.code || bare.error.message}`);

  const borrowed = client(credentials, credentials.secapi_base_url, {
    cert: other.merchant_certificate_pem, key: other.merchant_private_key_pem, ca,
  });
  const mixed = await refusal(() => borrowed.v2.secapi.pay.reverse.post(
    reverseFields(credentials, outTradeNo),
    { security: true },
  ));
  check(mixed && mixed.data && mixed.data.return_code === 'FAIL', `another merchant's certificate: ${JSON.stringify(mixed && mixed.data)}`);
  console.log(`with another merchant's certificate: ${mixed.data.return_msg}`);

  const certified = client(credentials, credentials.secapi_base_url, {
    cert: credentials.merchant_certificate_pem, key: credentials.merchant_private_key_pem, ca,
  });
  const refunded = await certified.v2.secapi.pay.refund.post(
    {
      ...reverseFields(credentials, outTradeNo), out_refund_no: `${outTradeNo}R`, total_fee: 1234, refund_fee: 234,
    },
    { security: true },
  );
  check(refunded.data.result_code === 'SUCCESS' && refunded.data.refund_fee === '234', `refund ${JSON.stringify(refunded.data)}`);

  const reversed = await certified.v2.secapi.pay.reverse.post(
    reverseFields(credentials, outTradeNo),
    { security: true },
  );
  check(reversed.data.result_code === 'SUCCESS' && reversed.data.recall === 'N', `reverse ${JSON.stringify(reversed.data)}`);

  const queried = await plain.v2.pay.orderquery.post(reverseFields(credentials, outTradeNo));
  check(queried.data.trade_state === 'REVOKED', `orderquery ${JSON.stringify(queried.data)}`);
  console.log('wechatpay-axios-plugin secapi interop ok: refund and reverse over mutual TLS, REVOKED, refusals without or with another certificate');
}

main().catch((error) => {
  console.error(`wechatpay-axios-plugin secapi interop failed: ${error.stack || error}`);
  process.exit(1);
});
