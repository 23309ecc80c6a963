-- a lead arrives (weight 3)
\set r random(1, 10000000)
INSERT INTO leads (email, company, job_title, industry, employees, country, source)
VALUES ('n' || :r || (ARRAY['@gmail.com', '@example.com', '@corp.example'])[1 + :r % 3],
        'Company ' || (:r % 5000),
        (ARRAY['Head of Engineering', 'Chief Technology Officer', 'Engineer', 'Buyer', 'VP Sales'])[1 + :r % 5],
        (ARRAY['Software', 'Manufacturing', 'Healthcare', 'Retail', 'Education'])[1 + (:r / 5) % 5],
        :r % 10000,
        (ARRAY['DE', 'AT', 'CH', 'FR', 'US', 'GB', 'BR'])[1 + (:r / 25) % 7],
        (ARRAY['web', 'partner', 'event', 'ads'])[1 + (:r / 175) % 4]);
