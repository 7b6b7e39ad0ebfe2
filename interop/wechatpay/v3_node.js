// Drives Payrail's WeChat Pay simulator's v3 API with the unmodified npm `wechatpay-node-v3`.
//
// Usage: node v3_node.js <credentials.json>, the simulator's credentials for one merchant
// (base_url, mchid, appid, merchant_serial_no, merchant_private_key_pem,
// platform_public_key_id, platform_public_key_pem, apiv3_key).
//
// The SDK hard-codes https://api.mch.weixin.qq.com and hands each request to an HTTP service
// that `createHttp()` may replace: the one here sends it, unchanged, to the simulator's base
// URL instead, with fetch. The SDK signs only the path after the host, which the simulator
// accepts under its prefix as WeChat sees it without one. The SDK does not check answers by
// itself, so every 2xx answer (the 204 of close included) goes through its `verifySign`,
// in public-key mode (`Pay.certificates` seeded with the platform public key under its
// id), and every notification through `verifySign` and `decipher_gcm`. Prints one line
// starting "wechatpay-node-v3 interop ok", or exits 1 at the first mismatch.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const Pay = require('wechatpay-node-v3');

const WECHAT = 'https://api.mch.weixin.qq.com';
const credentials = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const pay = new Pay({
  appid: credentials.appid,
  mchid: credentials.mchid,
  serial_no: credentials.merchant_serial_no,
  // Only read to find serial_no when it is not given.
  publicKey: Buffer.from(credentials.platform_public_key_pem),
  privateKey: Buffer.from(credentials.merchant_private_key_pem),
  key: credentials.apiv3_key,
});
Pay.certificates[credentials.platform_public_key_id] = credentials.platform_public_key_pem;

async function verified(headers, body) {
  return pay.verifySign({
    timestamp: headers['wechatpay-timestamp'], nonce: headers['wechatpay-nonce'], body,
    serial: headers['wechatpay-serial'], signature: headers['wechatpay-signature'],
  });
}

// The SDK's own PayRequest answers {status, data} or {status, error}; so does this one.
async function send(method, url, params, headers) {
  assert.ok(url.startsWith(WECHAT), url);
  const body = params === undefined ? undefined : JSON.stringify(params);
  const response = await fetch(credentials.base_url + url.slice(WECHAT.length), { method, headers, body });
  const text = await response.text();
  if (!response.ok) return { status: response.status, error: text };
  const answerHeaders = Object.fromEntries(response.headers);
  assert.equal(await verified(answerHeaders, text), true, `${method} ${url}: the answer's signature`);
  return { status: response.status, data: text === '' ? '' : JSON.parse(text) };
}
pay.createHttp({
  post: (url, params, headers) => send('POST', url, params, headers),
  get: (url, headers) => send('GET', url, undefined, headers),
  upload: () => { throw new Error('not used'); },
});

// The merchant's notification endpoint: records each notification, answers 204.
const notifications = [];
const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    notifications.push({ headers: request.headers, body });
    response.statusCode = 204;
    response.end();
  });
});

async function notification(count) {
  for (let i = 0; i < 500 && notifications.length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(notifications.length >= count, `fewer than ${count} notifications arrived`);
  const { headers, body } = notifications[count - 1];
  assert.equal(await verified(headers, body), true, 'the notification signature');
  assert.equal(await verified(headers, body.replace('"id"', '"Id"')), false, 'a changed notification verified');
  const event = JSON.parse(body);
  const { ciphertext, associated_data: aad, nonce } = event.resource;
  return { event, resource: pay.decipher_gcm(ciphertext, aad, nonce) };
}

async function main() {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const notifyUrl = `http://127.0.0.1:${server.address().port}/notify`;
  const suffix = Date.now();
  const order = (prefix, extra = {}) => ({
    description: 'node v3', out_trade_no: `${prefix}${suffix}`, notify_url: notifyUrl, amount: { total: 500 }, ...extra,
  });

  const native = await pay.transactions_native(order('NN'));
  assert.equal(native.status, 200, JSON.stringify(native));
  assert.match(native.data.code_url, /^weixin:\/\/wxpay\/bizpayurl\?pr=/);
  const jsapi = await pay.transactions_jsapi(order('NJ', { payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }));
  assert.match(jsapi.data.package, /^prepay_id=.+/, JSON.stringify(jsapi));
  const h5 = await pay.transactions_h5(order('NH', {
    scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } },
  }));
  assert.match(h5.data.h5_url, /^http:\/\/127\.0\.0\.1:\d+\//, JSON.stringify(h5));
  const unpaid = await pay.query({ out_trade_no: `NN${suffix}` });
  assert.equal(unpaid.data.trade_state, 'NOTPAY', JSON.stringify(unpaid));
  const closed = await pay.close(`NH${suffix}`);
  assert.equal(closed.status, 204, JSON.stringify(closed));

  const token = native.data.code_url.split('pr=')[1];
  const buyer = await fetch(`${credentials.base_url}/buyer/${token}/pay`, { method: 'POST' });
  assert.equal(buyer.status, 200);
  const paid = await notification(1);
  assert.equal(paid.event.event_type, 'TRANSACTION.SUCCESS');
  assert.equal(paid.resource.out_trade_no, `NN${suffix}`);
  assert.equal(paid.resource.trade_state, 'SUCCESS');
  const byId = await pay.query({ transaction_id: paid.resource.transaction_id });
  assert.equal(byId.status, 200, JSON.stringify(byId));
  assert.equal(byId.data.out_trade_no, `NN${suffix}`);

  const refund = await pay.refunds({
    transaction_id: paid.resource.transaction_id, out_refund_no: `NR${suffix}`,
    amount: { refund: 200, total: 500, currency: 'CNY' }, notify_url: notifyUrl,
  });
  assert.equal(refund.status, 200, JSON.stringify(refund));
  assert.equal(refund.data.status, 'PROCESSING');
  const found = await pay.find_refunds(`NR${suffix}`);
  assert.equal(found.data.status, 'SUCCESS', JSON.stringify(found));
  const refunded = await notification(2);
  assert.equal(refunded.event.event_type, 'REFUND.SUCCESS');
  assert.equal(refunded.resource.refund_status, 'SUCCESS');

  const unknown = await pay.query({ out_trade_no: 'NNunknown0001' });
  assert.equal(unknown.status, 404);
  assert.equal(JSON.parse(unknown.error).code, 'ORDER_NOT_EXIST');
  console.log('wechatpay-node-v3 interop ok: native, jsapi, h5, query (both ways), close, notifications, refund');
}

main().catch((error) => {
  console.error('wechatpay-node-v3 interop failed:', error);
  process.exitCode = 1;
}).finally(() => server.close());
