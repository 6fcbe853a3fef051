"""Early warning (事前预警): each rated indicator projected three months ahead from the
hospital's own history (`projection`), the hospitals and domains likely to turn red or yellow
with a reason in Chinese (`forecast`), the backtest of those projections over the stored
history against the naive forecast (`backtest`), and the province's bulletin gate (`settings`)."""
