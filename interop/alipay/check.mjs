// Runs the official Alipay Node SDK (npm `alipay-sdk`, pinned in package.json) against
// Payrail's Alipay simulator, verifying every answer's signature (`validateSign: true`),
// checking a notification the simulator sent with the SDK's `checkNotifySign`, and
// following a `pageExec` GET URL to the simulator's cashier.
//
// Input: the JSON in env PAYRAIL_ALIPAY_INTEROP (or argv[2]):
//   { gateway_url, app_id, app_private_key_pem, alipay_public_key_pem,
//     code_paid, code_paying_then_paid, queries_until_paid,
//     notification_signer_private_key_pem }
// Output: one JSON line on stdout, {"ok":true,"checks":[…],"sdk_signed_notification":"…"},
// where the last is a notification body signed with the SDK's own RSA2 signing helper
// (`signatureV3`, the plain SHA256withRSA the SDK uses) under
// notification_signer_private_key_pem, for Payrail's Rust verifier to accept.
// Any failed check exits 1 with the reason on stderr.

import assert from 'node:assert/strict';
import http from 'node:http';
import { AlipaySdk } from 'alipay-sdk';
// Not exported by the package's entry point; the file is part of the pinned version.
import { signatureV3 } from './node_modules/alipay-sdk/dist/esm/util.js';

const input = JSON.parse(process.env.PAYRAIL_ALIPAY_INTEROP ?? process.argv[2]);
const checks = [];
const check = (name) => checks.push(name);
const unique = (prefix) => `${prefix}_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;

function sdk(privateKey = input.app_private_key_pem) {
  return new AlipaySdk({
    appId: input.app_id,
    privateKey,
    alipayPublicKey: input.alipay_public_key_pem,
    gateway: input.gateway_url,
    keyType: 'PKCS8',
    timeout: 10000,
  });
}

const alipay = sdk();
const exec = (method, bizContent, extra = {}) =>
  alipay.exec(method, { ...extra, bizContent }, { validateSign: true });

// The merchant's notification endpoint: records each form, answers `success`.
const notifications = [];
const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    notifications.push(body);
    response.end('success');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const notifyUrl = `http://127.0.0.1:${server.address().port}/alipay/notify`;

async function waitForNotification(number = 1) {
  for (let i = 0; i < 500 && notifications.length < number; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(notifications.length >= number, `notification ${number} never arrived`);
  return notifications[number - 1];
}

async function browser(url, method = 'GET') {
  const response = await fetch(url, { method, redirect: 'manual' });
  assert.ok(response.status === 200 || response.status === 303, `${method} ${url}: ${response.status}`);
}

async function qrTradePaidOnTheBuyerPage() {
  const outTradeNo = unique('sdk_qr');
  const created = await exec('alipay.trade.precreate',
    { out_trade_no: outTradeNo, total_amount: '12.30', subject: 'SDK tea' }, { notify_url: notifyUrl });
  assert.equal(created.code, '10000');
  assert.equal(created.outTradeNo, outTradeNo);
  assert.match(created.qrCode, /^http:\/\/127\.0\.0\.1:\d+\/.*\/buyer\//);
  check('precreate');
  await browser(created.qrCode);
  await browser(`${created.qrCode}/pay`, 'POST');
  const queried = await exec('alipay.trade.query', { out_trade_no: outTradeNo });
  assert.equal(queried.tradeStatus, 'TRADE_SUCCESS');
  assert.equal(queried.totalAmount, '12.30');
  check('query after buyer paid');

  const body = await waitForNotification();
  const postData = Object.fromEntries(new URLSearchParams(body));
  assert.equal(postData.out_trade_no, outTradeNo);
  assert.equal(alipay.checkNotifySign(postData), true);
  assert.equal(alipay.checkNotifySignV2(postData), true);
  assert.equal(alipay.checkNotifySign({ ...postData, total_amount: '0.01' }), false);
  check('checkNotifySign');
}

// Paid in part with the sandbox voucher: `voucher_detail_list` and `fund_bill_list` are
// JSON text in the form, and the notification still verifies.
async function voucherTradeNotified() {
  const outTradeNo = unique('sdk_voucher');
  const created = await exec('alipay.trade.precreate',
    { out_trade_no: outTradeNo, total_amount: '12.30', subject: 'SDK voucher' }, { notify_url: notifyUrl });
  await browser(created.qrCode);
  await browser(`${created.qrCode}/pay_with_coupon`, 'POST');
  const postData = Object.fromEntries(new URLSearchParams(await waitForNotification(2)));
  assert.equal(postData.out_trade_no, outTradeNo);
  assert.equal(postData.buyer_pay_amount, '11.30');
  assert.equal(JSON.parse(postData.voucher_detail_list)[0].otherContribute, '1.00');
  assert.equal(alipay.checkNotifySign(postData), true);
  assert.equal(alipay.checkNotifySignV2(postData), true);
  check('checkNotifySign with a voucher');
}

async function barcodePayments() {
  const paid = unique('sdk_bar');
  const result = await exec('alipay.trade.pay', {
    out_trade_no: paid, scene: 'bar_code', auth_code: input.code_paid, total_amount: '8.8', subject: 'SDK coffee',
  });
  assert.equal(result.code, '10000');
  assert.equal(result.totalAmount, '8.80');
  check('pay');

  const paying = unique('sdk_bar');
  const waiting = await exec('alipay.trade.pay', {
    out_trade_no: paying, scene: 'bar_code', auth_code: input.code_paying_then_paid, total_amount: '1', subject: 'x',
  });
  assert.equal(waiting.code, '10003');
  let status;
  for (let i = 0; i < input.queries_until_paid; i++) {
    status = (await exec('alipay.trade.query', { out_trade_no: paying })).tradeStatus;
  }
  assert.equal(status, 'TRADE_SUCCESS');
  check('pay user paying then query');
  return paid;
}

async function refundsAndClose(paid) {
  const refund = { out_trade_no: paid, refund_amount: '1.00', out_request_no: 'sdk_r1' };
  assert.equal((await exec('alipay.trade.refund', refund)).fundChange, 'Y');
  const again = await exec('alipay.trade.refund', refund);
  assert.equal(again.fundChange, 'N');
  assert.equal(again.refundFee, '1.00');
  check('refund, repeated');
  const refused = await exec('alipay.trade.close', { out_trade_no: paid });
  assert.equal(refused.code, '40004');
  assert.equal(refused.subCode, 'ACQ.TRADE_STATUS_ERROR');
  check('signed business error');

  const open = unique('sdk_qr');
  const created = await exec('alipay.trade.precreate', { out_trade_no: open, total_amount: '3', subject: 'y' });
  await browser(created.qrCode);
  assert.equal((await exec('alipay.trade.close', { out_trade_no: open })).code, '10000');
  assert.equal((await exec('alipay.trade.query', { out_trade_no: open })).tradeStatus, 'TRADE_CLOSED');
  check('close');
}

async function badSignatureIsRefused() {
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = sdk(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const result = await stranger.exec('alipay.trade.query', { bizContent: { out_trade_no: 'x' } }, { validateSign: true });
  assert.equal(result.code, '40002');
  assert.equal(result.subCode, 'isv.invalid-signature');
  check('invalid signature refused in a signed answer');
}

async function pagePayRedirect() {
  const url = alipay.pageExec('alipay.trade.page.pay', 'GET', {
    bizContent: {
      out_trade_no: unique('sdk_page'), total_amount: '0.01', subject: 'page', product_code: 'FAST_INSTANT_TRADE_PAY',
    },
    returnUrl: 'https://shop.test/return',
  });
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 303, await response.text());
  assert.match(response.headers.get('location'), /\/buyer\/\d+$/);
  check('pageExec GET redirects to the cashier');
}

// A notification as Alipay would send it, signed by the SDK's RSA2 helper over the
// rsaCheckV1 string (every parameter but sign and sign_type, sorted, k=v joined by &).
function sdkSignedNotification() {
  const params = {
    notify_time: '2026-05-29 04:26:40', notify_type: 'trade_status_sync', notify_id: 'sdk_notify_1',
    app_id: input.app_id, charset: 'utf-8', version: '1.0', sign_type: 'RSA2',
    trade_no: '2026052922001400000000000099', out_trade_no: 'sdk_out_1', trade_status: 'TRADE_SUCCESS',
    total_amount: '12.3', buyer_pay_amount: '12.30', gmt_payment: '2026-05-29 04:26:39', subject: 'a&b=c 大',
  };
  const content = Object.keys(params).filter((key) => key !== 'sign_type').sort()
    .map((key) => `${key}=${params[key]}`).join('&');
  const sign = signatureV3(content, input.notification_signer_private_key_pem);
  return new URLSearchParams({ ...params, sign }).toString();
}

try {
  await qrTradePaidOnTheBuyerPage();
  await voucherTradeNotified();
  const paid = await barcodePayments();
  await refundsAndClose(paid);
  await badSignatureIsRefused();
  await pagePayRedirect();
  console.log(JSON.stringify({ ok: true, checks, sdk_signed_notification: sdkSignedNotification() }));
} catch (error) {
  console.error(`alipay-sdk interop failed after [${checks.join(', ')}]:`, error);
  process.exitCode = 1;
} finally {
  server.close();
}
