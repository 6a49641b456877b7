-- Club offers by SMS (issue 17 item 5, "the parent accepts as for meals"): a club offer to a
-- parent without a chat goes by SMS with a number in the same per-recipient numbering as
-- meal offers (`wallet_offers.number`), answered `N#1` / `N#2`.
ALTER TABLE club_vouchers ADD COLUMN offer_channel TEXT;
ALTER TABLE club_vouchers ADD COLUMN offer_chat_id TEXT;
ALTER TABLE club_vouchers ADD COLUMN offer_number BIGINT;
CREATE UNIQUE INDEX club_vouchers_offer_number
    ON club_vouchers (offer_channel, offer_chat_id, offer_number);
