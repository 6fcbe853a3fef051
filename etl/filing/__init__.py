"""The filing month: periods, deadlines and locks, who filed and when, review decisions
(accept, return for revision, explanations), and deadline reminders."""
