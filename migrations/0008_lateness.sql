-- 0008: the lateness rule as a function, so every query (pages, submissions, the bulletin)
-- applies the same one.

-- Whether a return was filed late: the date of its FIRST submission (of any version) is after
-- the period's deadline; filing on the deadline day itself is on time. NULL when nothing was
-- filed (or no deadline is known). The date is taken in the session's TimeZone (the app sets
-- the province's clock), hence STABLE, not IMMUTABLE.
CREATE FUNCTION filed_late(first_submitted_at timestamptz, deadline date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT first_submitted_at::date > deadline
$$;
