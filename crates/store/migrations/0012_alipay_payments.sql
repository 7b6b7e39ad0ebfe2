-- Payment methods other than cards (Alipay QR codes), and next actions other than a
-- redirect. `next_action_url` keeps its meaning for redirects; for a QR code it holds the
-- image's URL and `next_action_data` the QR content. A NULL type is a redirect (rows
-- written before types existed).
ALTER TABLE payments ADD COLUMN payment_method_type TEXT;
ALTER TABLE payments ADD COLUMN next_action_type TEXT;
ALTER TABLE payments ADD COLUMN next_action_data TEXT;

-- The QR content a channel gave an attempt, served as an image at the attempt's own
-- unguessable URL while the payer needs it.
ALTER TABLE payment_attempts ADD COLUMN qr_code TEXT;
