\echo Use "ALTER EXTENSION leadqual UPDATE TO '1.1'" to load this file. \quit

-- leadqual 1.0 -> 1.1.  A fresh 1.1 is the frozen 1.0 script followed by this one
-- (see the Makefile), so an upgraded 1.0 and a fresh 1.1 are the same by construction;
-- whatever depends on existing data (triggers that 1.0's attach created) is done by
-- statements that find nothing to do on a fresh install.
