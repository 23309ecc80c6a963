-- web events arrive for three existing leads, in one statement (weight 3)
\set a random(1, :leads)
\set b random(1, :leads)
\set c random(1, :leads)
\set t random(0, 11)
INSERT INTO events (lead_id, event_type, occurred_at) VALUES
 (:a, (ARRAY['page_view', 'page_view', 'pricing_visit', 'webinar'])[1 + :t % 4], now()),
 (:b, (ARRAY['page_view', 'pricing_visit', 'page_view', 'demo_request'])[1 + :t % 4], now()),
 (:c, (ARRAY['page_view', 'page_view', 'page_view', 'pricing_visit'])[1 + :t / 4], now());
