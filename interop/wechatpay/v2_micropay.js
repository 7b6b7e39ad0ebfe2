// Drives Payrail's WeChat Pay simulator's v2 payment-code API with the unmodified
// `wechatpay-axios-plugin` SDK: a micropay and an orderquery, XML signed with
// HMAC-SHA256 under the APIv2 key by the SDK, the simulator's signed answers checked by
// the SDK's own verifier.
//
// Usage: node v2_micropay.js <credentials.json> <payment code>
'use strict';

const fs = require('fs');
const { Wechatpay } = require('wechatpay-axios-plugin');

function check(condition, what) {
  if (!condition) {
    console.error(`wechatpay-axios-plugin interop failed: ${what}`);
    process.exit(1);
  }
}

async function main() {
  const credentials = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const authCode = process.argv[3];
  const wxpay = new Wechatpay({
    mchid: credentials.mchid,
    serial: credentials.merchant_serial_no,
    privateKey: credentials.merchant_private_key_pem,
    certs: { [credentials.platform_public_key_id]: credentials.platform_public_key_pem },
    secret: credentials.v2_key,
    baseURL: `${credentials.base_url}/`,
  });
  const outTradeNo = `JS${Date.now()}`;
  const paid = await wxpay.v2.pay.micropay.post({
    appid: credentials.appid,
    mch_id: credentials.mchid,
    sign_type: 'HMAC-SHA256',
    body: 'interop <coffee & cake>',
    out_trade_no: outTradeNo,
    total_fee: 1234,
    spbill_create_ip: '192.0.2.10',
    auth_code: authCode,
  });
  check(paid.data.result_code === 'SUCCESS', `micropay ${JSON.stringify(paid.data)}`);
  check(paid.data.total_fee === '1234' && paid.data.transaction_id, `micropay ${JSON.stringify(paid.data)}`);

  const queried = await wxpay.v2.pay.orderquery.post({
    appid: credentials.appid,
    mch_id: credentials.mchid,
    sign_type: 'HMAC-SHA256',
    out_trade_no: outTradeNo,
  });
  check(queried.data.trade_state === 'SUCCESS', `orderquery ${JSON.stringify(queried.data)}`);

  let refused;
  try {
    await wxpay.v2.pay.micropay.post({
      appid: credentials.appid,
      mch_id: credentials.mchid,
      sign_type: 'HMAC-SHA256',
      body: 'repeat',
      out_trade_no: outTradeNo,
      total_fee: 1234,
      spbill_create_ip: '192.0.2.10',
      auth_code: authCode,
    });
  } catch (error) {
    refused = error.response && error.response.data;
  }
  check(refused && refused.err_code === 'ORDERPAID', `repeat ${JSON.stringify(refused)}`);
  console.log('wechatpay-axios-plugin interop ok: v2 micropay, orderquery, ORDERPAID on a repeat');
}

main().catch((error) => {
  console.error(`wechatpay-axios-plugin interop failed: ${error.stack || error}`);
  process.exit(1);
});
