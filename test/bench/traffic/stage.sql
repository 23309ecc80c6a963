-- a salesperson sets a stage by hand (weight 1)
\set id random(1, :leads)
\set s random(0, 3)
UPDATE leads SET stage = (ARRAY['sql', 'won', 'lost', 'nurture'])[1 + :s]::leadqual.stage WHERE id = :id;
