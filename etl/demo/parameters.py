"""The demo's story and season parameters: balance sheets per story, lessors, monthly factors."""

# Balance-sheet ratios per story, at (DEMO_FIRST, DEMO_LAST), interpolated between: cash,
# current ratio (cr), debt ratio (dr), construction in progress (cip); the rest are drawn
# per hospital. Amounts are multiples of the annual revenue.
STORY_BALANCE = {
    "deficit_red": {"cash": (0.28, 0.20), "cr": (1.3, 1.1), "dr": (0.38, 0.47)},
    "deficit_yellow": {"cash": (0.30, 0.25), "cr": (1.3, 1.2), "dr": (0.36, 0.42)},
    "deficit_recovered": {"cash": (0.24, 0.28), "cr": (1.25, 1.25), "dr": (0.42, 0.40)},
    "construction_debt": {"cash": (0.10, 0.06), "cr": (1.0, 0.82), "dr": (0.62, 0.76), "cip": (0.30, 0.48)},
    "overdue_debt": {"cash": (0.17, 0.11), "cr": (1.05, 0.9), "dr": (0.50, 0.58)},
    "wage_red": {"cash": (0.14, 0.10), "cr": (1.05, 0.9), "dr": (0.45, 0.55)},
    "wage_yellow": {"cash": (0.16, 0.12), "cr": (1.1, 1.0), "dr": (0.42, 0.48)},
}
DEBT_YELLOW_BALANCE = {  # debt_yellow variants: high debt ratio, low cash, heavy long-term debt
    "ratio": {"cash": (0.30, 0.30), "cr": (1.3, 1.3), "dr": (0.52, 0.57)},
    "cash": {"cash": (0.20, 0.12), "cr": (1.15, 1.15), "dr": (0.40, 0.40)},
    "long": {"cash": (0.28, 0.28), "cr": (1.3, 1.3), "dr": (0.46, 0.47)},
}

LESSORS = ("锦城医疗融资租赁有限公司", "蜀康融资租赁有限公司")

# Monthly factors: medical revenue, and the surplus rate offset (Spring Festival in
# February, National Day in October, year-end settlements in December).
SEASON = (0.97, 0.86, 1.02, 1.00, 1.00, 1.01, 1.04, 1.04, 1.00, 0.96, 1.01, 1.06)
SURPLUS_SEASON = (-0.004, -0.018, 0.0, 0.002, 0.0, 0.0, 0.004, 0.004, 0.0, -0.004, 0.0, -0.012)
