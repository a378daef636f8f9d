-- The language of the member's Discord client when they last used /vote: what konomi
-- posts in their private place unasked (the next pair, a new model) is written in it.
-- NULL: the server's preferred language. Deleted with the place by /forget.
ALTER TABLE member_places ADD COLUMN locale TEXT;
