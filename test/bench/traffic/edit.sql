-- a salesperson edits a lead's attributes (weight 2)
\set id random(1, :leads)
\set e random(1, 20000)
UPDATE leads SET employees = :e,
       job_title = (ARRAY['Head of Engineering', 'Chief Technology Officer', 'Engineer', 'Buyer'])[1 + :e % 4]
 WHERE id = :id;
