"""The demo province (Sichuan, 136 hospitals, 24 months): deterministic figures written as real
files and taken in through the real pipeline (`build`). Only app/cli and the tests import this
package; production code never does.

Tables: `hospitals` (county seats, the hospitals and their stories, names), `catalogue` (表5
price items), `parameters` (story and season parameters). Generator: `province` (regions,
registry rows, stories, the mapping), `profiles` (what is fixed about a hospital), `returns`
(one month of books, `demo_returns`). Pure Python, no database: every figure is computed in
integer yuan from `random.Random` streams seeded by (seed, hospital, period, purpose) — never
the global generator or the clock — and converted exactly to the hospital's reporting unit
(元, 千元 or 万元). Each return satisfies every rule of shared/design/return-format.md; the
stories make the last month show red, yellow and green in every risk domain of risk.md.
"""
