-- School meals move onto the voucher engine (issue 17 item 1) and parents may receive the
-- child's meal QR each school morning (item 6).
--
-- Each school is a provider of kind 'canteen' with the school's BIN and name; canteen
-- operators and their invites move to the engine's tables unchanged (same chats, same
-- times, same hashes: an invite sent before still works once). The ledger is not touched:
-- its rows keep their version-1 lines and the chain verifies as before.

INSERT INTO voucher_providers (kind, bin, name, created_at)
    SELECT 'canteen', bin, name, created_at FROM wallet_schools WHERE true
    ON CONFLICT (kind, bin) DO NOTHING;

INSERT INTO provider_staff (provider_id, channel, chat_id, added_at, removed_at)
    SELECT p.id, c.channel, c.chat_id, c.added_at, c.removed_at
    FROM canteen_staff c
    JOIN wallet_schools s ON s.id = c.school_id
    JOIN voucher_providers p ON p.kind = 'canteen' AND p.bin = s.bin
    ORDER BY c.id;

INSERT INTO provider_invites (provider_id, token_hash, created_at, expires_at, used_at,
        used_channel, used_chat_id)
    SELECT p.id, i.token_hash, i.created_at, i.expires_at, i.used_at, i.used_channel,
        i.used_chat_id
    FROM canteen_invites i
    JOIN wallet_schools s ON s.id = i.school_id
    JOIN voucher_providers p ON p.kind = 'canteen' AND p.bin = s.bin
    ORDER BY i.id;

DROP TABLE canteen_invites;
DROP TABLE canteen_staff;

-- The parent's opt-in to the morning QR, and the last local day it was queued (a
-- conditional update claims a voucher once a day, also across replicas).
ALTER TABLE wallet_vouchers ADD COLUMN morning_qr BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_vouchers ADD COLUMN morning_sent_day TEXT;
