"""Cases (风险处置, issue 19): a case for every red domain, from opening to 销号.

`opening` opens cases when rescoring rates a hospital's domain red (called by
etl.ratings.rescoring.rescore under the scoring locks); `lifecycle` moves a case through
plan, review, progress, 销号 or escalation (audited); `plans` reads a plan from a form;
`progress` lays out the months since opening against the plan; `repayment` checks a wages
case's W404 against its schedule; `attachments` checks and keeps files; `listing` lists
cases for a Scope with filters (pages, the export, the CLI, the bulletin).
"""
